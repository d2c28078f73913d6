"""Spoofing and layering: large orders placed and cancelled by their owner before they could fill.
A candidate is an order whose notional is at least `large_notional`, or at least `large_multiple`
times the market's median order size, cancelled with nothing filled within `max_life_us` of its
placement. Spoofing: an account with `min_orders` candidates in one market within `window_us`
(its fills on the other side in that window are cited too: the trade the orders leaned toward).
Layering: `min_levels` candidates on one side at distinct prices, all placed within `layer_span_us`."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import median

from solders.pubkey import Pubkey

from quantdesk.surveillance.records import Alert, AlertKind, Fill, OrderEvent, Ref

__all__ = ["SpoofingParams", "spoofing"]

BASE_SCALE = 10**9


@dataclass(frozen=True)
class SpoofingParams:
    large_notional: int = 50_000 * 10**6  # quote units
    large_multiple: int = 10
    max_life_us: int = 5_000_000
    window_us: int = 60_000_000
    min_orders: int = 3
    layer_span_us: int = 2_000_000
    min_levels: int = 3


@dataclass(frozen=True)
class _Candidate:
    placed: OrderEvent
    cancelled: OrderEvent


def _candidates(orders: Iterable[OrderEvent], fills: Iterable[Fill], p: SpoofingParams) -> list[_Candidate]:
    placed: dict[tuple[Pubkey, int], OrderEvent] = {}
    cancelled: list[OrderEvent] = []
    for o in orders:
        if o.placed:
            placed[(o.account, o.order_id)] = o
        else:
            cancelled.append(o)
    filled = {(f.taker, f.taker_order_id) for f in fills} | {(f.maker, f.maker_order_id) for f in fills}
    sizes: defaultdict[int, list[int]] = defaultdict(list)
    for o in placed.values():
        sizes[o.market].append(o.base)
    typical = {m: median(v) for m, v in sizes.items()}
    found = []
    for c in cancelled:
        start = placed.get((c.account, c.order_id))
        if start is None or (c.account, c.order_id) in filled or c.base < start.base or c.ts_us - start.ts_us > p.max_life_us:
            continue
        notional = start.base * start.price // BASE_SCALE
        if notional >= p.large_notional or start.base >= p.large_multiple * typical[start.market]:
            found.append(_Candidate(start, c))
    return sorted(found, key=lambda c: c.placed.ts_us)


def spoofing(orders: list[OrderEvent], fills: list[Fill], p: SpoofingParams = SpoofingParams()) -> list[Alert]:
    alerts: list[Alert] = []
    by_account: defaultdict[tuple[Pubkey, int], list[_Candidate]] = defaultdict(list)
    for c in _candidates(orders, fills, p):
        by_account[(c.placed.account, c.placed.market)].append(c)
    for (account, market), cs in by_account.items():
        alerts += _spoofs(account, market, cs, fills, p)
        alerts += _layers(account, market, cs, p)
    return alerts


def _refs(cs: list[_Candidate]) -> tuple[Ref, ...]:
    return tuple(r for c in cs for r in (c.placed.ref, c.cancelled.ref))


def _spoofs(account: Pubkey, market: int, cs: list[_Candidate], fills: list[Fill], p: SpoofingParams) -> list[Alert]:
    alerts, start = [], 0
    while start < len(cs):
        end = start
        while end + 1 < len(cs) and cs[end + 1].placed.ts_us - cs[start].placed.ts_us <= p.window_us:
            end += 1
        group = cs[start:end + 1]
        if len(group) >= p.min_orders:
            t0, t1 = group[0].placed.ts_us, group[-1].cancelled.ts_us
            sides = {c.placed.side for c in group}
            trades = [f for f in fills if f.market == market and t0 <= f.ts_us <= t1 and account in (f.taker, f.maker)
                      and _side_of(f, account) not in sides]
            reason = (f"{len(group)} large orders ({sum(c.placed.base for c in group)} base) placed and cancelled unfilled within "
                      f"{(t1 - t0) / 1e6:.1f} s" + (f", trading {sum(f.base for f in trades)} base on the other side meanwhile" if trades else ""))
            alerts.append(Alert(AlertKind.SPOOFING, market, (account,), reason, _refs(group) + tuple(f.ref for f in trades), t1))
            start = end + 1
        else:
            start += 1
    return alerts


def _side_of(f: Fill, account: Pubkey) -> int:
    return f.taker_side if f.taker == account else 1 - f.taker_side


def _layers(account: Pubkey, market: int, cs: list[_Candidate], p: SpoofingParams) -> list[Alert]:
    alerts = []
    for side in (0, 1):
        same = [c for c in cs if c.placed.side == side]
        start = 0
        while start < len(same):
            end = start
            while end + 1 < len(same) and same[end + 1].placed.ts_us - same[start].placed.ts_us <= p.layer_span_us:
                end += 1
            group = same[start:end + 1]
            prices = {c.placed.price for c in group}
            if len(prices) >= p.min_levels:
                reason = f"{len(group)} large {'bids' if side == 0 else 'asks'} at {len(prices)} price levels placed within {p.layer_span_us / 1e6:g} s, cancelled unfilled"
                alerts.append(Alert(AlertKind.LAYERING, market, (account,), reason, _refs(group), group[-1].cancelled.ts_us))
                start = end + 1
            else:
                start += 1
    return alerts
