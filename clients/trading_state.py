"""The bytes of qd-trading's accounts (crates/qd-trading-state): PerpMarket and TradingAccount
with its positions and orders, as dataclasses with every field, decoded and encoded by one
layout each (little-endian `struct` formats whose offsets the Rust layout tests pin), and their
addresses. Pure: no IDL coder (only its program id), no network; clients/collateral (health accounts) and clients/trading
build on it."""
from __future__ import annotations

import struct
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar, Self

from quantdesk.clients import health as health_mod
from quantdesk.clients.idl import discriminator, program_id
from quantdesk.clients.oracle import Action, GuardConfig
from solders.pubkey import Pubkey

__all__ = ["INSURANCE_PAID_OFFSET", "KIND_TWAP", "LIQUIDATOR_FEE_OFFSET", "MARKET_DISCRIMINATOR", "MARKET_LEN", "MARKET_SEED", "MARKET_STATUS_OFFSET", "MAX_ORDERS", "MAX_POSITIONS", "ORDER_FLAG_EXIT", "ORDER_FLAG_SLICE", "ORDER_FLAG_UNTRIGGERED", "Order", "PROGRAM_ID",
           "PerpMarket", "Position", "TRADING_DISCRIMINATOR", "TRADING_HAS_OPEN_AUCTION_OFFSET", "TRADING_HAS_OPEN_ORDER_OFFSET",
           "TRADING_HAS_TRIGGER_OFFSET", "TRADING_LEN",
           "TRADING_MARGIN_OFFSET", "TRADING_OWNER_OFFSET", "TRADING_SEED", "TradingAccount", "decode_market", "decode_trading_account",
           "encode_market", "funding_index", "market_address", "market_params", "perp_input", "trading_address"]


PROGRAM_ID = program_id("qd_trading")
MARKET_SEED = b"market"
TRADING_SEED = b"trading"
MAX_POSITIONS = 8
MAX_ORDERS = 32
MARKET_DISCRIMINATOR = discriminator("account", "PerpMarket")
TRADING_DISCRIMINATOR = discriminator("account", "TradingAccount")
MARKET_LEN = 520
TRADING_LEN = 7488
KIND_TWAP = 3
ORDER_FLAG_UNTRIGGERED = 1 << 2
ORDER_FLAG_EXIT = 1 << 4
ORDER_FLAG_SLICE = 1 << 5
"""A bracket's take-profit or stop-loss (`parent_id`: its entry)."""

# Fixed offsets keepers filter on.
MARKET_STATUS_OFFSET = 10
LIQUIDATOR_FEE_OFFSET = 432
INSURANCE_PAID_OFFSET = 456
"""PerpMarket's liquidation terms: liquidator fee, insurance fee, max fraction (u16 each), 2 bytes, whole-step base (u64)."""
TRADING_HAS_OPEN_ORDER_OFFSET = 10
TRADING_HAS_OPEN_AUCTION_OFFSET = 11
TRADING_HAS_TRIGGER_OFFSET = 14
TRADING_MARGIN_OFFSET = 16
TRADING_OWNER_OFFSET = 48


def market_address(index: int) -> Pubkey:
    """The PerpMarket PDA [b"market", index u16 LE]."""
    return Pubkey.find_program_address([MARKET_SEED, index.to_bytes(2, "little")], PROGRAM_ID)[0]


def trading_address(margin_account: Pubkey) -> Pubkey:
    """The TradingAccount PDA [b"trading", margin_account]."""
    return Pubkey.find_program_address([TRADING_SEED, bytes(margin_account)], PROGRAM_ID)[0]


def _guards(raw: bytes) -> dict[Action, GuardConfig]:
    return {a: GuardConfig.from_bytes(raw[16 * a: 16 * a + 16]) for a in Action}


def _guards_bytes(guards: dict[Action, GuardConfig]) -> bytes:
    return b"".join(guards[a].to_bytes() for a in Action)


# Field conversions between struct values and dataclass values (identity when absent).
_DECODE: dict[str, Any] = {"pubkey": Pubkey, "guards": _guards, "bytes": bytes}
_ENCODE: dict[str, Any] = {"pubkey": bytes, "guards": _guards_bytes, "bytes": bytes}


class _Layout:
    """A flat record: its `struct` format lists exactly the dataclass fields, in order, with the
    padding as `x`; a field's metadata `kind` names its conversion. Subclasses are dataclasses."""

    FORMAT: ClassVar[struct.Struct]
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # set by @dataclass on each subclass

    @classmethod
    def unpack(cls, data: bytes, offset: int = 0) -> Self:
        values = cls.FORMAT.unpack_from(data, offset)
        return cls(*(_DECODE.get(f.metadata.get("kind", ""), lambda v: v)(v) for f, v in zip(fields(cls), values)))

    def pack(self) -> bytes:
        return self.FORMAT.pack(*(_ENCODE.get(f.metadata.get("kind", ""), lambda v: v)(getattr(self, f.name)) for f in fields(self)))


def _pubkey() -> Any:
    return field(default_factory=Pubkey.default, metadata={"kind": "pubkey"})


def _bytes(n: int) -> Any:
    return field(default=bytes(n), metadata={"kind": "bytes"})


def _no_guards() -> dict[Action, GuardConfig]:
    return {a: GuardConfig(0, 0, 0, 0, False) for a in Action}


@dataclass(frozen=True)
class PerpMarket(_Layout):
    """A decoded PerpMarket (offsets from the account start, after the discriminator)."""

    FORMAT: ClassVar[struct.Struct] = struct.Struct("<BBBxHHHHHHhHHH16s32s32s64sQQQQQHHH2xqQQqqqqqqqqQqqqqQQHH4xQqqqqqqHHH2xQQQQQQQQQ8x")

    version: int = 1
    bump: int = 0
    status: int = 0
    index: int = 0
    init_margin_bps: int = 0
    maint_margin_bps: int = 0
    upnl_init_weight_bps: int = 0
    upnl_maint_weight_bps: int = 0
    taker_fee_bps: int = 0
    maker_fee_bps: int = 0
    auction_min_slots: int = 0
    auction_default_slots: int = 0
    auction_max_slots: int = 0
    symbol: bytes = _bytes(16)
    oracle: Pubkey = _pubkey()
    oracle_feed_id: bytes = _bytes(32)
    guards: dict[Action, GuardConfig] = field(default_factory=_no_guards, metadata={"kind": "guards"})
    tick_size: int = 0
    lot_size: int = 0
    min_order_size: int = 0
    size_margin_factor: int = 0
    max_open_interest: int = 0
    auction_max_deviation_bps: int = 0
    funding_max_rate_bps: int = 0
    post_auction_slots: int = 0
    funding_period_secs: int = 0
    open_interest_long: int = 0
    open_interest_short: int = 0
    cumulative_funding_long: int = 0
    """The longs' funding index (a long pays when it rises)."""
    last_funding_ts: int = 0
    last_funding_delta: int = 0
    mark_twap: int = 0
    oracle_twap: int = 0
    twap_ts: int = 0
    last_fill_price: int = 0
    last_fill_ts: int = 0
    fill_seq: int = 0
    total_fees: int = 0
    total_funding_settled: int = 0
    total_pnl_settled: int = 0
    settlement_price: int = 0
    audit_seq: int = 0
    total_volume_quote: int = 0
    mark_band_bps: int = 0
    delegated_band_bps: int = 0
    mark_depth_base: int = 0
    mark_premium: int = 0
    """The prevailing premium of the mark over the oracle (fills move it, each funding crank resets it)."""
    oracle_sample: int = 0
    cumulative_funding_short: int = 0
    """The shorts' funding index (a short pays when it falls); the funding crank moves both alike."""
    fee_pool: int = 0
    """Trading fees charged and not yet swept (a claim on `pnl_pool`)."""
    liquidation_fee_pool: int = 0
    """Insurance shares of liquidation fees not yet swept (a claim on `pnl_pool`)."""
    pnl_pool: int = 0
    """Quote paid into the market: all that winners and the sweep can take."""
    liquidator_fee_bps: int = 0
    insurance_fee_bps: int = 0
    liquidation_max_fraction_bps: int = 0
    liquidation_whole_base: int = 0
    insurance_cap: int = 0
    insurance_paid: int = 0
    socialized_loss: int = 0
    unbacked_loss: int = 0
    liquidation_seq: int = 0
    fees_swept: int = 0
    """Fees swept out of the pools to the protocol and the insurance fund."""
    trigger_fee: int = 0
    """Paid by an order's owner to whoever triggers it (quote)."""
    twap_slice_fee: int = 0
    """Paid by a TWAP's owner to whoever places each of its slices (quote)."""

    @property
    def symbol_str(self) -> str:
        return self.symbol.rstrip(b"\0").decode("utf-8", "replace")


@dataclass(frozen=True)
class Position(_Layout):
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<HB5xqqqqqqqqq")

    market_index: int = 0
    open_orders: int = 0
    base: int = 0
    quote_entry: int = 0
    realized_pnl: int = 0
    funding_snapshot: int = 0
    bids_base: int = 0
    bids_quote: int = 0
    asks_base: int = 0
    asks_quote: int = 0
    total_realized: int = 0


@dataclass(frozen=True)
class Order(_Layout):
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<QQHBBBBBBqQQqQqqqHHIQ32sqQQQQQQQHH4x")

    order_id: int = 0
    client_order_id: int = 0
    market_index: int = 0
    side: int = 0
    kind: int = 0
    tif: int = 0
    flags: int = 0
    actor: int = 0
    """Who placed it: 0 owner, 1 delegate, 2 session key (qd_access::Actor)."""
    trigger_condition: int = 0
    """0 none, 1 fires at or above `trigger_price`, 2 at or below (judged against the oracle)."""
    price: int = 0
    base_size: int = 0
    base_filled: int = 0
    reserved_price: int = 0
    placed_slot: int = 0
    expiry_ts: int = 0
    auction_start_price: int = 0
    auction_end_price: int = 0
    auction_slots: int = 0
    tolerance_bps: int = 0
    """TWAP: each slice's worst price from the oracle."""
    interval_slots: int = 0
    """TWAP: slots between slices."""
    expiry_slot: int = 0
    signer: Pubkey = _pubkey()
    """The key that placed it (owner, delegate or session key)."""
    trigger_price: int = 0
    parent_id: int = 0
    """A bracket exit: its entry's id; a TWAP slice: its parent's."""
    linked_id: int = 0
    """A bracket exit: the other exit's id; a TWAP parent: its live slice's."""
    display_size: int = 0
    """Iceberg: the displayed clip."""
    clip_start: int = 0
    """Iceberg: `base_filled` when the clip was last refreshed."""
    slice_size: int = 0
    executed: int = 0
    """TWAP: base its slices have filled."""
    next_due_slot: int = 0
    slices: int = 0
    slices_done: int = 0

    @property
    def remaining(self) -> int:
        return max(self.base_size - self.base_filled, 0)

    @property
    def untriggered(self) -> bool:
        """Waiting for its trigger price, outside the book."""
        return bool(self.flags & ORDER_FLAG_UNTRIGGERED)

    @property
    def is_twap(self) -> bool:
        return self.kind == KIND_TWAP

    @property
    def is_exit(self) -> bool:
        return bool(self.flags & ORDER_FLAG_EXIT)

    @property
    def is_slice(self) -> bool:
        """A TWAP's slice (Rust `Order::is_slice`)."""
        return bool(self.flags & ORDER_FLAG_SLICE)

    @property
    def live(self) -> bool:
        """On the book: neither waiting for a trigger nor a TWAP parent (Rust `Order::is_live`)."""
        return not self.untriggered and not self.is_twap

    @property
    def visible(self) -> int:
        """What a taker may fill of it now: an iceberg shows only what is left of its clip (Rust `Order::visible`)."""
        if self.display_size == 0:
            return self.remaining
        return min(max(self.display_size - max(self.base_filled - self.clip_start, 0), 0), self.remaining)


@dataclass(frozen=True)
class TradingAccount:
    """A decoded TradingAccount: the positions and orders in use, in account order (the
    positions' order is the health-account order)."""

    HEADER: ClassVar[struct.Struct] = struct.Struct("<BBBBBBBx32s32sQQQQqq")

    version: int = 2
    bump: int = 0
    has_open_order: int = 0
    has_open_auction: int = 0
    margin_account: Pubkey = field(default_factory=Pubkey.default)
    owner: Pubkey = field(default_factory=Pubkey.default)
    bucket_tokens_milli: int = 0
    bucket_last_slot: int = 0
    next_order_id: int = 0
    seq: int = 0
    settled_pnl: int = 0
    fees_paid: int = 0
    positions: list[Position] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    has_trigger: int = 0
    """1 while an order waits for its trigger or a TWAP runs (keeper filter at TRADING_HAS_TRIGGER_OFFSET)."""

    def position(self, market_index: int) -> Position | None:
        return next((p for p in self.positions if p.market_index == market_index), None)

    def encode(self) -> bytes:
        """The account data (discriminator included)."""
        if len(self.positions) > MAX_POSITIONS or len(self.orders) > MAX_ORDERS:
            raise ValueError("too many positions or orders")
        header = self.HEADER.pack(self.version, self.bump, self.has_open_order, self.has_open_auction, len(self.positions), len(self.orders),
                                  self.has_trigger, bytes(self.margin_account), bytes(self.owner), self.bucket_tokens_milli, self.bucket_last_slot,
                                  self.next_order_id, self.seq, self.settled_pnl, self.fees_paid)
        positions = b"".join(p.pack() for p in self.positions).ljust(MAX_POSITIONS * Position.FORMAT.size, b"\0")
        orders = b"".join(o.pack() for o in self.orders).ljust(MAX_ORDERS * Order.FORMAT.size, b"\0")
        return (TRADING_DISCRIMINATOR + header + positions + orders).ljust(TRADING_LEN, b"\0")


def encode_market(market: PerpMarket) -> bytes:
    """The account data (discriminator included)."""
    return MARKET_DISCRIMINATOR + market.pack()


def decode_market(data: bytes) -> PerpMarket:
    """PerpMarket account data (`ValueError` for another account type or size)."""
    if len(data) != MARKET_LEN or data[:8] != MARKET_DISCRIMINATOR:
        raise ValueError("account data is not a PerpMarket")
    return PerpMarket.unpack(data, 8)


def decode_trading_account(data: bytes) -> TradingAccount:
    """TradingAccount account data (`ValueError` for another account type or size)."""
    if len(data) != TRADING_LEN or data[:8] != TRADING_DISCRIMINATOR:
        raise ValueError("account data is not a TradingAccount")
    (version, bump, has_open_order, has_open_auction, position_count, order_count, has_trigger, margin, owner, tokens_milli, last_slot,
     next_order_id, seq, settled_pnl, fees_paid) = TradingAccount.HEADER.unpack_from(data, 8)
    positions_at = 8 + TradingAccount.HEADER.size
    orders_at = positions_at + MAX_POSITIONS * Position.FORMAT.size
    # Counts clamped as on-chain: a corrupt count never reads past the arrays.
    positions = [Position.unpack(data, positions_at + i * Position.FORMAT.size) for i in range(min(position_count, MAX_POSITIONS))]
    orders = [Order.unpack(data, orders_at + i * Order.FORMAT.size) for i in range(min(order_count, MAX_ORDERS))]
    return TradingAccount(version, bump, has_open_order, has_open_auction, Pubkey(margin), Pubkey(owner), tokens_milli, last_slot, next_order_id,
                          seq, settled_pnl, fees_paid, positions, orders, has_trigger)


def market_params(market: PerpMarket) -> health_mod.PerpMarketParams:
    """The risk parameters the health engine applies to the market's positions."""
    return health_mod.PerpMarketParams(market.init_margin_bps, market.maint_margin_bps, market.size_margin_factor, market.upnl_init_weight_bps,
                                       market.upnl_maint_weight_bps)


def funding_index(market: PerpMarket, base: int) -> int:
    """The funding index of the side of `base` (Rust `PerpMarket::funding_index`): the longs' for
    base >= 0, the shorts' for base < 0. A position's snapshot is always its side's index."""
    return market.cumulative_funding_short if base < 0 else market.cumulative_funding_long


def perp_input(position: Position, market: PerpMarket, price: int) -> health_mod.PerpInput:
    """The health engine's view of `position` in `market` at `price` (Rust `Position::perp_input`)."""
    return health_mod.PerpInput(position.base, position.quote_entry + position.realized_pnl, position.funding_snapshot, funding_index(market, position.base),
                                position.bids_base, position.bids_quote, position.asks_base, position.asks_quote, price, market_params(market))
