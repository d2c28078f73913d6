"""Trade surveillance over the indexed events: wash trades between linked accounts, spoofing and
layering, marking the mark around funding, and oracle moves followed by liquidations of the same
counterparties. Each detector reads plain records (`records`) and returns alerts with the event
rows that show them; `scan` runs them all."""
from __future__ import annotations

from dataclasses import dataclass, field

from quantdesk.surveillance.links import Groups
from quantdesk.surveillance.marking import MarkingParams, marking
from quantdesk.surveillance.oracle_liquidation import OracleLiquidationParams, oracle_liquidations
from quantdesk.surveillance.records import (
    Alert,
    AlertKind,
    Fill,
    FundingCrank,
    Liquidation,
    OraclePrice,
    OrderEvent,
    Ownership,
    SessionKey,
    Transfer,
)
from quantdesk.surveillance.spoofing import SpoofingParams, spoofing
from quantdesk.surveillance.wash import wash_trades

__all__ = ["Alert", "AlertKind", "Params", "Records", "scan"]


@dataclass
class Records:
    fills: list[Fill] = field(default_factory=list)
    orders: list[OrderEvent] = field(default_factory=list)
    prices: list[OraclePrice] = field(default_factory=list)
    cranks: list[FundingCrank] = field(default_factory=list)
    liquidations: list[Liquidation] = field(default_factory=list)
    ownerships: list[Ownership] = field(default_factory=list)
    sessions: list[SessionKey] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)


@dataclass(frozen=True)
class Params:
    spoofing: SpoofingParams = SpoofingParams()
    marking: MarkingParams = MarkingParams()
    oracle_liquidation: OracleLiquidationParams = OracleLiquidationParams()


def scan(r: Records, p: Params = Params()) -> list[Alert]:
    """Every detector's alerts, oldest first."""
    groups = Groups(r.ownerships, r.sessions, r.transfers)
    alerts = (wash_trades(r.fills, groups) + spoofing(r.orders, r.fills, p.spoofing) + marking(r.fills, r.cranks, r.prices, p.marking)
              + oracle_liquidations(r.prices, r.liquidations, r.fills, groups, r.ownerships, p.oracle_liquidation))
    return sorted(alerts, key=lambda a: (a.ts_us, a.kind))
