"""Which margin accounts are liquidatable, kept current incrementally.

Every account is judged exactly by the health mirror (clients/health.py through the venue view)
when its own accounts change. A price move must not re-judge every account: for each position
the index keeps the price at which the account's maintenance health turns negative (the
mirror's `liquidation_price`, the other prices held where they are), longs and shorts of a
market each in a sorted list. A market's price move then re-judges only
- the accounts whose threshold the new price crossed (two bisections),
- the accounts exposed to that market together with another market or a non-quote collateral
  (their thresholds elsewhere assumed this price: they are re-judged and re-indexed), and
- the accounts being liquidated (they stay liquidatable down to the liquidation-end level,
  which the thresholds do not track) and those held liquidatable (the move may have cured them).
A collateral's price move re-judges the accounts that hold it; a market's risk terms or funding
indices changing re-judges the accounts with a position in it.

`on_verdict(margin, liquidatable, shortage, received_at)` is called for every judged account
whose verdict is liquidatable, or that is being liquidated and no longer is (exit_liquidation
applies); `shortage` is how far below zero the binding health level is (0 when not)."""
from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable
from typing import Any

from quantdesk.keeper.view import Event, VenueView
from solders.pubkey import Pubkey

__all__ = ["HealthIndex", "Verdict"]

Verdict = Callable[[Pubkey, bool, int, float], None]


class _Thresholds:
    """One market's liquidation prices: longs are liquidatable at or below theirs, shorts at or above."""

    def __init__(self) -> None:
        self.longs: list[tuple[int, bytes]] = []
        self.shorts: list[tuple[int, bytes]] = []

    def add(self, long: bool, price: int, key: bytes) -> None:
        bisect.insort(self.longs if long else self.shorts, (price, key))

    def remove(self, long: bool, price: int, key: bytes) -> None:
        side = self.longs if long else self.shorts
        i = bisect.bisect_left(side, (price, key))
        if i < len(side) and side[i] == (price, key):
            del side[i]

    def crossed(self, price: int) -> Iterable[bytes]:
        for _, key in self.longs[bisect.bisect_left(self.longs, (price, b"")):]:
            yield key
        for _, key in self.shorts[:bisect.bisect_right(self.shorts, (price, b"\xff" * 33))]:
            yield key


class HealthIndex:
    def __init__(self, view: VenueView, on_verdict: Verdict) -> None:
        self.view = view
        self.on_verdict = on_verdict
        self.exposure: dict[Pubkey, set[Any]] = {}  # margin -> market indices and mints
        self.exposed: dict[Any, set[Pubkey]] = {}  # market index or mint -> margins
        self.indexed: dict[Pubkey, list[tuple[int, bool, int]]] = {}  # margin -> (market, long, threshold)
        self.thresholds: dict[int, _Thresholds] = {}
        self.watched: dict[Any, set[Pubkey]] = {}  # key -> its exposed margins a move re-judges whatever the thresholds say
        self.liquidatable: dict[Pubkey, int] = {}  # margin -> shortage
        self.unjudged: set[Pubkey] = set()  # accounts whose inputs are not all cached yet
        self.judged = 0  # exact judgements made (the work a price move costs)
        view.listen(self.on_event)

    def judge_all(self) -> None:
        for margin in list(self.view.margin_accounts()):
            self.judge(margin, time.monotonic())

    # -- events --------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        match event.kind:
            case "account":
                self.judge(event.key, event.received_at)
            case "price" if isinstance(event.key, int):
                self._market_moved(event.key, event.received_at)
            case "price" | "config":
                for margin in list(self.exposed.get(event.key, ())):
                    self.judge(margin, event.received_at)
                if event.kind == "config":
                    self._retry_unjudged(event.received_at)
            case "market":
                for margin in list(self.exposed.get(event.key, ())):
                    self.judge(margin, event.received_at)
                self._retry_unjudged(event.received_at)
            case "global":
                self.judge_all()

    def _market_moved(self, index: int, at: float) -> None:
        price = self.view.market_price(index)
        if price is None:
            return
        todo: set[Pubkey] = set()
        thresholds = self.thresholds.get(index)
        if thresholds is not None:
            todo.update(Pubkey.from_bytes(key) for key in thresholds.crossed(price))
        todo.update(self.watched.get(index, ()))
        for margin in todo:
            self.judge(margin, at)
        self._retry_unjudged(at)

    def _retry_unjudged(self, at: float) -> None:
        for margin in list(self.unjudged):
            self.judge(margin, at)

    # -- judging -------------------------------------------------------------------------------

    def judge(self, margin: Pubkey, at: float) -> None:
        """Judges the account exactly at the cached prices and re-indexes its thresholds."""
        self._unindex(margin)
        account = self.view.margins.get(margin)
        if account is None:
            self.liquidatable.pop(margin, None)
            self.unjudged.discard(margin)
            return
        try:
            h, inputs = self.view.health(margin)
        except KeyError:  # a market, config or price it needs is not cached (yet)
            self.unjudged.add(margin)
            return
        self.unjudged.discard(margin)
        self.judged += 1
        keys = self.view.exposures(margin)
        self.exposure[margin] = keys
        for key in keys:
            self.exposed.setdefault(key, set()).add(margin)
        entries = []
        for market, p in inputs:
            threshold = h.liquidation_price(p)
            if threshold is not None:
                entries.append((market.index, p.base > 0, threshold))
                self.thresholds.setdefault(market.index, _Thresholds()).add(p.base > 0, threshold, bytes(margin))
        self.indexed[margin] = entries
        being = account.being_liquidated
        liquidatable = h.is_liquidatable(being)
        if len(keys) > 1 or being or liquidatable:
            for key in keys:
                self.watched.setdefault(key, set()).add(margin)
        if liquidatable:
            shortage = -(h.liquidation_end_health() if being and h.maint_health() >= 0 else h.maint_health())
            self.liquidatable[margin] = shortage
            self.on_verdict(margin, True, shortage, at)
        else:
            self.liquidatable.pop(margin, None)
            if being:
                self.on_verdict(margin, False, 0, at)

    def _unindex(self, margin: Pubkey) -> None:
        for key in self.exposure.pop(margin, set()):
            for table in (self.exposed, self.watched):
                margins = table.get(key)
                if margins is not None:
                    margins.discard(margin)
        key = bytes(margin)
        for index, long, threshold in self.indexed.pop(margin, []):
            self.thresholds[index].remove(long, threshold, key)
