"""The store's tables (SQLAlchemy Core). Every data row carries `seq`, its place in the audit
chain (quantdesk/audit/chain.py), unique across all data tables; rows are only ever inserted.

- `events`: one row per Anchor event of any of the five programs: where it happened (signature,
  top-level instruction index, event index within that instruction, slot, block time, the fee
  payer) and its fields as canonical JSON text (text, not a JSON column, so that both backends
  return the exact bytes that were hashed; PostgreSQL queries cast it: `fields::jsonb`).
- typed tables, one row per event of the kinds a desk queries (TYPED below): the same
  location columns, `kind` (the event name) and the event's fields as columns. An integer field
  beyond the signed 64-bit range is NULL there (the full value stays in `events.fields`).
- `exceptions`: failed transactions that touched a program (error and logs as JSON text).
- `cursors`: per program, the newest signature indexed (mutable state, outside the chain).
- `audit_chain`, `audit_blocks`: the hash chain and the Merkle roots of its blocks.

Times are microseconds since the epoch: `block_time_us` (the block's time, whole seconds on
Solana) and `received_us` (when the indexer received the transaction)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

__all__ = ["AUDITED", "TYPED", "TypedTable", "audit_blocks", "audit_chain", "cursors", "events", "exceptions", "metadata"]

metadata = MetaData()


def _location() -> list[Column[object]]:
    return [
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("signature", String(88), nullable=False),
        Column("ix_index", Integer, nullable=False),
        Column("event_index", Integer, nullable=False),
        Column("slot", BigInteger, nullable=False),
        Column("block_time_us", BigInteger),
        Column("received_us", BigInteger, nullable=False),
        Column("signer", String(44), nullable=False),
        Column("program", String(16), nullable=False),
        Column("kind", String(40), nullable=False),
    ]


def _event_table(name: str, *columns: Column[object], indexed: tuple[str, ...] = ()) -> Table:
    table = Table(name, metadata, *_location(), *columns, UniqueConstraint("signature", "ix_index", "event_index", name=f"uq_{name}_location"))
    Index(f"ix_{name}_time", table.c.block_time_us)
    Index(f"ix_{name}_slot", table.c.slot)
    for column in indexed:
        Index(f"ix_{name}_{column}", table.c[column], table.c.block_time_us)
    return table


events = _event_table("events", Column("fields", Text, nullable=False))
Index("ix_events_kind", events.c.kind, events.c.block_time_us)


@dataclass(frozen=True)
class TypedTable:
    """A typed table: which events fill it and, per column, the event field it takes (the first
    of several that the event has; dotted paths reach into a nested struct such as `order`)."""

    table: Table
    kinds: frozenset[str]
    sources: dict[str, tuple[str, ...]]


def _typed(name: str, kinds: str, indexed: tuple[str, ...], **columns: str) -> TypedTable:
    """`columns`: column name -> "field|fallback|..." (`account`, `*_account`, `taker`, `maker`,
    `owner`... are base58 addresses; every other column an integer)."""
    addresses = {"account", "counterparty", "liquidator", "mint", "taker", "maker", "actor", "target", "subject", "owner", "session", "session_key",
                 "by", "fund", "staker", "feed", "publisher"}
    table = _event_table(name, *(Column(c, String(44) if c in addresses else BigInteger) for c in columns), indexed=indexed)
    return TypedTable(table, frozenset(kinds.split()), {c: tuple(source.split("|")) for c, source in columns.items()})


TYPED: list[TypedTable] = [
    _typed("fills", "Fill", ("taker", "maker", "market_index"),
           fill_id="fill_id", market_index="market_index", taker="taker", taker_order_id="taker_order_id", maker="maker",
           maker_order_id="maker_order_id", taker_side="taker_side", price="price", base="base", quote="quote", taker_fee="taker_fee",
           maker_fee="maker_fee"),
    _typed("order_actions", "OrderPlaced ScaleOrdersPlaced OrderModified OrderCancelled OrderTriggered OrderReduced IcebergRefreshed "
           "TwapSlicePlaced OrdersCancelled", ("account", "market_index"),
           account="margin_account", order_id="order.order_id|slice.order_id|order_id|first_order_id|parent_id",
           client_order_id="order.client_order_id|client_order_id|first_client_order_id",
           market_index="order.market_index|slice.market_index|market_index", side="order.side|slice.side|side",
           order_kind="order.kind|slice.kind", price="order.price|slice.price", base_size="order.base_size|slice.base_size|base_size",
           reason="reason"),
    _typed("liquidations", "PerpLiquidated CollateralLiquidated BankruptcyResolved LossSocialized LiquidationOrdersCancelled LiquidationEnded",
           ("account", "liquidator", "market_index"),
           account="margin_account", liquidation_id="liquidation_id", market_index="market_index", liquidator="liquidator", base="base",
           price="price", quote="quote|repaid", collateral="collateral", liquidator_fee="liquidator_fee", insurance_fee="insurance_fee",
           debt="debt", insurance="insurance", socialized="socialized", unbacked="unbacked"),
    _typed("funding", "FundingUpdated", ("market_index",),
           market_index="market_index", mark_twap="mark_twap", oracle_twap="oracle_twap", delta="delta",
           cumulative_funding_long="cumulative_funding_long", cumulative_funding_short="cumulative_funding_short", ts="ts"),
    _typed("settlements", "PnlSettled", ("account", "market_index"),
           account="margin_account", market_index="market_index", funding="funding", closed_base="closed_base", pnl="pnl",
           unsettled="unsettled", settled_pnl="settled_pnl"),
    _typed("transfers", "BalanceChanged Transferred BalanceAdjusted FeesCollected InsuranceCovered", ("account", "counterparty", "mint"),
           account="margin_account|from|config", counterparty="to|caller|destination|source", mint="mint",
           amount="amount|delta|to_insurance", balance="balance|from_balance|protocol_balance"),
    _typed("admin_actions", "AuditEvent ProposalEvent MarketStatusChanged MarketParamsChanged MarketOracleChanged CollateralParamsChanged "
           "CollateralOracleChanged MaxSubAccountsChanged LiquidationBufferChanged InsuranceParamsChanged FeedUpdated DelegateChanged "
           "LimitsChanged", ("actor", "target"),
           actor="actor|by|signer|admin|authority|owner", target="target|proposal|market|config|fund|feed|margin_account",
           subject="subject|new_oracle|new_authority|new", action="action|status", value="value|id|index"),
    _typed("sessions", "SessionCreated SessionRevoked", ("owner", "session"),
           owner="owner", session="session", session_key="session_key", by="by", scopes="scopes", markets="markets",
           max_notional="max_notional", expires_at="expires_at", budget="budget"),
    _typed("insurance", "Staked UnstakeRequested UnstakeCancelled Unstaked InsurancePaid FeesSwept", ("staker", "fund"),
           fund="fund", staker="staker|margin_account", market_index="market_index", amount="amount|value|to_insurance", shares="shares",
           balance="balance", total_shares="total_shares"),
    _typed("prices", "PricePublished", ("feed",),
           feed="feed", publisher="publisher", price="price", conf="conf", publish_time="publish_time", agg_price="agg_price",
           agg_conf="agg_conf", ema_price="ema_price"),
]

exceptions = Table(
    "exceptions", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("signature", String(88), nullable=False, unique=True),
    Column("slot", BigInteger, nullable=False),
    Column("block_time_us", BigInteger),
    Column("received_us", BigInteger, nullable=False),
    Column("signer", String(44), nullable=False),
    Column("programs", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("logs", Text, nullable=False),
)
Index("ix_exceptions_time", exceptions.c.block_time_us)

AUDITED: list[Table] = [events, *(t.table for t in TYPED), exceptions]
"""The tables whose rows join the audit chain, each row once, in `seq` order."""

cursors = Table(
    "cursors", metadata,
    Column("program", String(44), primary_key=True),
    Column("signature", String(88), nullable=False),
    Column("slot", BigInteger, nullable=False),
)

audit_chain = Table(
    "audit_chain", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("table_name", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_blocks = Table(
    "audit_blocks", metadata,
    Column("block", BigInteger, primary_key=True, autoincrement=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("root", String(64), nullable=False),
    Column("head", String(64), nullable=False),
    Column("sealed_us", BigInteger, nullable=False),
)
