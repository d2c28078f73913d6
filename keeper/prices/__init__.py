"""Price sources for the oracle publisher bot, each an async iterator of `Quote`s in a feed's
integer units (its exponent, read from the feed account).

Modules: `units` (decimal and exponent conversion), `stamps` (publish times from the cluster
clock), `walk` (a seeded random walk with shocks), `csv_replay` (a recorded file replayed), `hermes`
(Pyth's Hermes REST API over httpx)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

__all__ = ["PriceSource", "Quote", "SourceError"]


@dataclass(frozen=True, slots=True)
class Quote:
    """One price for a feed: `price` and `conf` in the feed's units (10^expo), `publish_time` in
    unix seconds (what the publish instruction carries)."""

    symbol: str
    price: int
    conf: int
    publish_time: int


class PriceSource(Protocol):
    name: str  # the `source` label of the publisher's metrics

    def quotes(self) -> AsyncIterator[Quote]: ...


class SourceError(Exception):
    """A price source's input (a file, a response) it refuses."""
