"""What trade surveillance reads, as plain records built from the programs' events (the indexer's
rows), and what it reports: alerts with their evidence. Times in microseconds (block time), as the
store keeps them; `ref` names the event row an alert cites (signature, instruction and event
index), so an officer can open the transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from solders.pubkey import Pubkey

__all__ = ["Alert", "AlertKind", "Fill", "FundingCrank", "Liquidation", "OraclePrice", "OrderEvent", "Ownership", "Ref", "SessionKey",
           "Transfer"]


@dataclass(frozen=True, slots=True, order=True)
class Ref:
    """An event row: its transaction, instruction and event index."""

    signature: str
    instruction: int = 0
    event: int = 0


@dataclass(frozen=True, slots=True)
class Fill:
    """qd-trading `Fill`."""

    ref: Ref
    slot: int
    ts_us: int
    market: int
    taker: Pubkey
    maker: Pubkey
    taker_side: int  # 0 bid, 1 ask
    price: int
    base: int
    taker_order_id: int = 0
    maker_order_id: int = 0


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order's placement or its leaving the book (qd-trading `OrderPlaced`, `OrderCancelled`)."""

    ref: Ref
    slot: int
    ts_us: int
    account: Pubkey
    order_id: int
    market: int
    side: int
    placed: bool  # False: cancelled (by its owner, reason 0)
    base: int  # placed: its size; cancelled: what was left
    price: int = 0


@dataclass(frozen=True, slots=True)
class OraclePrice:
    """qd-oracle `PricePublished` of a market's feed (the aggregate the programs read)."""

    ref: Ref
    slot: int
    ts_us: int
    market: int
    price: int
    publisher: Pubkey


@dataclass(frozen=True, slots=True)
class FundingCrank:
    """qd-trading `FundingUpdated`."""

    ref: Ref
    slot: int
    ts_us: int
    market: int


@dataclass(frozen=True, slots=True)
class Liquidation:
    """qd-core `PerpLiquidated` (or `CollateralLiquidated`): one step."""

    ref: Ref
    slot: int
    ts_us: int
    market: int
    liquidator: Pubkey
    account: Pubkey


@dataclass(frozen=True, slots=True)
class Ownership:
    """Who acts for a margin account: its owner (qd-core `MarginAccountCreated`) or its delegate
    (`DelegateChanged`)."""

    ref: Ref
    account: Pubkey
    agent: Pubkey
    delegate: bool = False


@dataclass(frozen=True, slots=True)
class SessionKey:
    """qd-security `SessionCreated`: `key` acts for `owner`'s accounts within its scopes."""

    ref: Ref
    owner: Pubkey
    key: Pubkey


@dataclass(frozen=True, slots=True)
class Transfer:
    """qd-collateral `Transferred`: collateral between two margin accounts."""

    ref: Ref
    source: Pubkey
    destination: Pubkey
    amount: int


class AlertKind(StrEnum):
    WASH_TRADE = "wash_trade"
    SPOOFING = "spoofing"
    LAYERING = "layering"
    MARKING = "marking"
    ORACLE_LIQUIDATION = "oracle_liquidation"


@dataclass(frozen=True, slots=True)
class Alert:
    """One finding: its kind, the market and accounts it concerns, a one-line reason with the
    figures that triggered it, and the event rows that show it."""

    kind: AlertKind
    market: int
    accounts: tuple[Pubkey, ...]
    reason: str
    evidence: tuple[Ref, ...] = field(default=())
    ts_us: int = 0  # when it happened (the last evidence's time)
