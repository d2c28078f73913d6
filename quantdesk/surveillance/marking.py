"""Marking the mark around funding: fills priced away from the oracle shortly before a funding
crank. A fill moves the mark premium the next funding payment is computed from, so fills at least
`band_bps` from the oracle (the feed's last publish at or before the fill's slot) within `window_us`
before a crank are flagged, one alert per crank with its fills, the oracle rows and the crank."""
from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from quantdesk.surveillance.records import Alert, AlertKind, Fill, FundingCrank, OraclePrice

__all__ = ["MarkingParams", "marking"]


@dataclass(frozen=True)
class MarkingParams:
    window_us: int = 300_000_000
    band_bps: int = 50


class _Oracle:
    """Each market's published prices by slot, for the price in force at a slot."""

    def __init__(self, prices: Iterable[OraclePrice]) -> None:
        self._by_market: defaultdict[int, list[OraclePrice]] = defaultdict(list)
        for p in prices:
            self._by_market[p.market].append(p)
        for v in self._by_market.values():
            v.sort(key=lambda p: p.slot)
        self._slots = {m: [p.slot for p in v] for m, v in self._by_market.items()}

    def at(self, market: int, slot: int) -> OraclePrice | None:
        i = bisect.bisect_right(self._slots.get(market, []), slot)
        return self._by_market[market][i - 1] if i else None


def marking(fills: list[Fill], cranks: Iterable[FundingCrank], prices: Iterable[OraclePrice], p: MarkingParams = MarkingParams()) -> list[Alert]:
    oracle = _Oracle(prices)
    alerts = []
    for crank in cranks:
        away = []
        for f in fills:
            if f.market != crank.market or not crank.ts_us - p.window_us <= f.ts_us <= crank.ts_us:
                continue
            at = oracle.at(f.market, f.slot)
            if at is not None and abs(f.price - at.price) * 10_000 >= p.band_bps * at.price:
                away.append((f, at))
        if away:
            worst = max(abs(f.price - at.price) * 10_000 // at.price for f, at in away)
            accounts = tuple(sorted({a for f, _ in away for a in (f.taker, f.maker)}, key=bytes))
            reason = (f"{len(away)} fill(s) of {sum(f.base for f, _ in away)} base up to {worst} bps from the oracle within "
                      f"{p.window_us / 1e6:g} s before a funding crank")
            evidence = tuple(r for f, at in away for r in (f.ref, at.ref)) + (crank.ref,)
            alerts.append(Alert(AlertKind.MARKING, crank.market, accounts, reason, evidence, crank.ts_us))
    return alerts
