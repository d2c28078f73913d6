"""Wash trades: fills between accounts one party controls (linked: quantdesk.surveillance.links).
qd-trading refuses fills between two accounts of one owner (SelfTrade) and an agent's fills against
accounts it owns (AgentSelfDealing), so what reaches the chain is linked further apart: a delegate
or session key owning the counterparty, or collateral moved between the two. One alert per group
and market, every such fill and the linking rows as evidence."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from solders.pubkey import Pubkey

from quantdesk.surveillance.links import Groups
from quantdesk.surveillance.records import Alert, AlertKind, Fill, Ref

__all__ = ["wash_trades"]


def wash_trades(fills: Iterable[Fill], groups: Groups) -> list[Alert]:
    found: defaultdict[tuple[Pubkey, int], list[Fill]] = defaultdict(list)
    for f in fills:
        if groups.linked(f.taker, f.maker):
            found[(groups.group(f.taker), f.market)].append(f)
    alerts = []
    for (_, market), fs in sorted(found.items(), key=lambda kv: (kv[0][1], bytes(kv[0][0]))):
        accounts = tuple(sorted({a for f in fs for a in (f.taker, f.maker)}, key=bytes))
        links: set[Ref] = {ref for f in fs for ref in groups.evidence(f.taker, f.maker)}
        volume = sum(f.base for f in fs)
        reason = f"{len(fs)} fill(s) of {volume} base between {len(accounts)} linked accounts ({len(links)} linking row(s))"
        alerts.append(Alert(AlertKind.WASH_TRADE, market, accounts, reason, tuple(f.ref for f in fs) + tuple(sorted(links)), max(f.ts_us for f in fs)))
    return alerts
