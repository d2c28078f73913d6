"""Oracle moves followed by liquidations of the same counterparties: after a feed moves at least
`move_bps` within `move_slots`, the accounts one liquidator (or its linked group) liquidates within
`after_slots` are checked against who traded with it before: `min_accounts` liquidated
counterparties of one group make an alert, citing the move, the liquidations and the earlier fills,
and saying when the move's publisher acts for the liquidator's group (one publisher capturing the
oracle to liquidate its own counterparties)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from quantdesk.surveillance.links import Groups
from quantdesk.surveillance.records import Alert, AlertKind, Fill, Liquidation, OraclePrice, Ownership

__all__ = ["OracleLiquidationParams", "oracle_liquidations"]


@dataclass(frozen=True)
class OracleLiquidationParams:
    move_bps: int = 500
    move_slots: int = 150
    after_slots: int = 300
    min_accounts: int = 2


def _moves(prices: Iterable[OraclePrice], p: OracleLiquidationParams) -> list[tuple[OraclePrice, OraclePrice]]:
    """(from, to) pairs of one market's prices at most `move_slots` apart that differ by `move_bps`,
    the first one reaching the threshold from each start."""
    by_market: defaultdict[int, list[OraclePrice]] = defaultdict(list)
    for x in prices:
        by_market[x.market].append(x)
    moves = []
    for series in by_market.values():
        series.sort(key=lambda x: x.slot)
        start = 0
        for end, x in enumerate(series):
            while series[start].slot < x.slot - p.move_slots:
                start += 1
            base = series[start]
            if abs(x.price - base.price) * 10_000 >= p.move_bps * base.price:
                moves.append((base, x))
                start = end
    return moves


def oracle_liquidations(prices: list[OraclePrice], liquidations: list[Liquidation], fills: list[Fill], groups: Groups, ownerships: Iterable[Ownership],
                        p: OracleLiquidationParams = OracleLiquidationParams()) -> list[Alert]:
    acts_for: defaultdict[Pubkey, set[Pubkey]] = defaultdict(set)
    for o in ownerships:
        acts_for[o.agent].add(groups.group(o.account))
    alerts = []
    for before, after in _moves(prices, p):
        following = [q for q in liquidations if q.market == after.market and after.slot <= q.slot <= after.slot + p.after_slots]
        by_group: defaultdict[Pubkey, list[Liquidation]] = defaultdict(list)
        for q in following:
            by_group[groups.group(q.liquidator)].append(q)
        for group, steps in by_group.items():
            prior = {q.account: [f for f in fills if f.slot <= before.slot and {groups.group(f.taker), groups.group(f.maker)} == {group, groups.group(q.account)}]
                     for q in steps}
            counterparties = {a for a, fs in prior.items() if fs}
            if len(counterparties) < p.min_accounts:
                continue
            bps = abs(after.price - before.price) * 10_000 // before.price
            captured = group in acts_for.get(after.publisher, set())
            reason = (f"the feed moved {bps} bps in {after.slot - before.slot} slots, then one liquidator group liquidated "
                      f"{len(counterparties)} of its counterparties" + ("; the move's publisher acts for that group" if captured else ""))
            evidence = (before.ref, after.ref) + tuple(q.ref for q in steps) + tuple(f.ref for a in sorted(counterparties, key=bytes) for f in prior[a])
            accounts = (steps[0].liquidator, *sorted(counterparties, key=bytes))
            alerts.append(Alert(AlertKind.ORACLE_LIQUIDATION, after.market, accounts, reason, evidence, max(q.ts_us for q in steps)))
    return alerts
