"""Prices as integers at a power-of-ten exponent: from decimal text, and from one exponent to another."""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

__all__ = ["rescale", "to_units"]


def to_units(value: Decimal, expo: int, *, up: bool = False) -> int:
    """`value` as an integer count of 10^expo: rounded half-even, or up (`up`, for a confidence:
    rounding must never make a price look more certain than its source said)."""
    return int(value.scaleb(-expo).to_integral_value(ROUND_CEILING if up else ROUND_HALF_EVEN))


def rescale(value: int, from_expo: int, to_expo: int, *, up: bool = False) -> int:
    """An integer at 10^from_expo as an integer at 10^to_expo (exact when to_expo <= from_expo)."""
    return to_units(Decimal(value).scaleb(from_expo), to_expo, up=up)
