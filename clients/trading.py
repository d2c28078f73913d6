"""Client for qd-trading: order, auction, maker and market parameters as dataclasses, instruction
builders with each instruction's health accounts, read-only views of markets and positions, an
L2 order book aggregated from on-chain trading accounts, and an async client that places,
makes, fills and cancels orders, cranks funding and settles PnL.

Accounts are decoded by clients/trading_state (bytes) and clients/collateral (balances and
configs); health figures come from the engine's mirror, clients/health."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from enum import IntEnum
from typing import Any, Final

from anchorpy import Context, Program, Provider
from anchorpy.program.common import Event
from based58 import b58encode
from quantdesk.clients import collateral, core, security, sysvar, trading_state
from quantdesk.clients import health as health_mod
from quantdesk.clients import idl as idl_mod
from quantdesk.clients import oracle as oracle_mod
from quantdesk.clients.collateral import CollateralBalances, CollateralConfig, HealthState, PerpRow
from quantdesk.clients.oracle import Action, GuardConfig
from quantdesk.clients.rpc import AccountReads, ProgramClient, Receipt
from quantdesk.clients.trading_state import Order, PerpMarket, Position, TradingAccount, funding_index, market_address, trading_address
from solana.rpc.types import MemcmpOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID

__all__ = ["AUTHORITY", "AuctionParams", "BASE_DECIMALS", "CancelReason", "FLAG_POST_ONLY", "FLAG_REDUCE_ONLY", "FUNDING_DECIMALS", "Fill", "L2Book",
           "ExitParams", "Level", "MAX_MAKERS", "MakerParams", "MarketParams", "MarketStatus", "MarketView", "NAME", "NO_SESSION", "OrderKind", "OrderParams", "ScaleDistribution", "ScaleParams", "TriggerCondition", "TriggerParams", "TwapParams",
           "PRICE_DECIMALS", "PRICE_UNIT", "PROGRAM_ID", "PositionView", "PostOnly", "Side", "TimeInForce", "TradingClient", "TradingInstructions",
           "auction_price", "base_decimal", "book_filters", "expired", "find_order", "health_accounts", "in_auction", "maker_price", "open_order",
           "order_id_from", "order_session", "parse_events", "price_decimal", "round_to_tick", "slices_due", "trigger_due"]


NAME = "qd_trading"
PROGRAM_ID = trading_state.PROGRAM_ID
AUTHORITY = Pubkey.find_program_address([collateral.AUTHORITY_SEED], PROGRAM_ID)[0]
"""qd-trading's [b"authority"] PDA (qd_ids::TRADING_AUTHORITY): signs its balance adjustments."""
NO_SESSION = PROGRAM_ID
"""The session slot without a session (Anchor's convention for an absent optional account)."""
MAX_MAKERS = 4

PRICE_DECIMALS: Final = 6
BASE_DECIMALS: Final = 9
FUNDING_DECIMALS: Final = 12
"""The funding index is quote native units (6 decimals) per whole base, scaled by 1e6."""
PRICE_UNIT = Decimal(1).scaleb(-PRICE_DECIMALS)

FLAG_POST_ONLY = 1 << 0
FLAG_REDUCE_ONLY = 1 << 1


class Side(IntEnum):
    BID = 0
    """Buy (long)."""
    ASK = 1
    """Sell (short)."""

    @property
    def opposite(self) -> Side:
        return Side.ASK if self == Side.BID else Side.BID


class OrderKind(IntEnum):
    MARKET = 0
    """An auction toward `price`, the worst price accepted."""
    LIMIT = 1
    ORACLE_OFFSET = 2
    """Price = oracle + `price` (the offset), rounded to a tick against the order's side."""
    TWAP = 3
    """A TWAP parent: outside the book, it places IOC slices."""


class TimeInForce(IntEnum):
    GTC = 0
    IOC = 1
    FOK = 2
    GTT = 3
    """Good till `expiry_ts`."""


class PostOnly(IntEnum):
    NONE = 0
    REJECT = 1
    """A crossing post-only order is refused."""
    SLIDE = 2
    """A crossing post-only order is repriced one tick behind the oracle."""


class MarketStatus(IntEnum):
    ACTIVE = 0
    REDUCE_ONLY = 1
    SETTLEMENT = 2


class CancelReason(IntEnum):
    """`OrderCancelled.reason`."""

    USER = 0
    EXPIRED = 1
    REDUCE_ONLY = 2
    SETTLEMENT = 3
    LIQUIDATION = 4
    OCO = 5
    """A bracket exit whose other exit filled as much as it had left."""
    BRACKET = 6
    """A bracket exit whose entry left the book unfilled."""
    TWAP_FINISHED = 7
    TWAP_NEXT_SLICE = 8
    HEALTH = 9
    """A trigger or TWAP slice that would break initial health or the leverage limit."""
    LIMITS = 10
    """A trigger or TWAP slice that would add risk while only reducing is allowed."""
    PRICE = 11
    """A triggered market order whose worst price is beyond the auction band."""


def price_decimal(price: int) -> Decimal:
    """A 6-decimal price (or quote amount) as a Decimal: 150_250_000 -> 150.250000."""
    return Decimal(price).scaleb(-PRICE_DECIMALS)


def base_decimal(base: int) -> Decimal:
    """A 9-decimal base amount as a Decimal."""
    return Decimal(base).scaleb(-BASE_DECIMALS)


# ---------------------------------------------------------------- the program's pure rules

def round_to_tick(price: int, tick: int, side: Side | int) -> int:
    """`price` rounded to a multiple of `tick` against the order's side: a bid down, an ask up
    (crates/qd-trading-state `round_to_tick`)."""
    below = price - price % tick
    return below if side == Side.BID or below == price else below + tick


def auction_price(order: Order, slot: int, tick: int) -> int:
    """The price of `order`'s auction at `slot`: linear from its start to its end price over
    `auction_slots` from `placed_slot`, the step truncated toward the start, rounded to a tick
    against the side (the end price afterwards and without an auction)."""
    n = order.auction_slots
    elapsed = min(max(slot - order.placed_slot, 0), n)
    span = order.auction_end_price - order.auction_start_price
    step = abs(span) * elapsed // n if elapsed < n else abs(span)
    return round_to_tick(order.auction_start_price + (step if span >= 0 else -step), tick, order.side)


def in_auction(order: Order, slot: int) -> bool:
    """The auction runs for slots `placed_slot..placed_slot + auction_slots`."""
    return slot < order.placed_slot + order.auction_slots


def expired(order: Order, slot: int, ts: int) -> bool:
    """Past its GTT time or its last fillable slot."""
    return (order.expiry_ts != 0 and order.expiry_ts <= ts) or (order.expiry_slot != 0 and slot > order.expiry_slot)


def trigger_due(order: Order, oracle_price: int) -> bool:
    """The oracle meets the untriggered order's condition (Rust `Order::trigger_due`): at or above
    its trigger price (ABOVE), at or below (BELOW)."""
    if order.trigger_condition == TriggerCondition.ABOVE:
        return oracle_price >= order.trigger_price
    return order.trigger_condition == TriggerCondition.BELOW and oracle_price <= order.trigger_price


def slices_due(parent: Order, slot: int) -> int:
    """How many of the TWAP's slices are due at `slot` (programs/qd-trading advanced.rs
    `slices_due`): the first at its placement, one more every `interval_slots`, at most all of
    them. crank_twap places one when this exceeds `slices_done`."""
    elapsed = max(slot - parent.placed_slot, 0) // max(parent.interval_slots, 1) + 1
    return min(elapsed, parent.slices)


def maker_price(order: Order, oracle_price: int, tick: int) -> int | None:
    """The price a priced order fills at as a maker now: its limit, or the oracle plus its
    offset rounded to a tick against its side; None where the program refuses it (a market
    order, an order off the book: waiting for its trigger or a TWAP parent, or an oracle-offset
    price at or below zero)."""
    if order.kind == OrderKind.MARKET or not order.live:
        return None
    if order.kind == OrderKind.LIMIT:
        return order.price
    price = round_to_tick(oracle_price + order.price, tick, order.side)
    return price if price > 0 else None


# ---------------------------------------------------------------- instruction arguments

@dataclass(frozen=True)
class AuctionParams:
    """An order's own auction: start and end price (tick multiples) and its length in slots."""

    start_price: int
    end_price: int
    duration_slots: int

    def to_idl(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OrderParams:
    """`place_order`'s arguments. `price`: the limit (LIMIT), the worst price (MARKET) or the
    offset from the oracle (ORACLE_OFFSET); `base_size` with 9 decimals; `expiry_ts` for GTT;
    `auction` None for the market's defaults."""

    market_index: int
    side: Side
    base_size: int
    price: int
    kind: OrderKind = OrderKind.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    post_only: PostOnly = PostOnly.NONE
    reduce_only: bool = False
    client_order_id: int = 0
    expiry_ts: int = 0
    auction: AuctionParams | None = None

    def to_idl(self) -> dict[str, Any]:
        return {
            "market_index": self.market_index,
            "side": int(self.side),
            "kind": int(self.kind),
            "tif": int(self.tif),
            "post_only": int(self.post_only),
            "reduce_only": self.reduce_only,
            "client_order_id": self.client_order_id,
            "base_size": self.base_size,
            "price": self.price,
            "expiry_ts": self.expiry_ts,
            "auction": None if self.auction is None else self.auction.to_idl(),
        }


class TriggerCondition(IntEnum):
    """When an untriggered order fires, judged against the oracle price."""

    ABOVE = 1
    BELOW = 2


@dataclass(frozen=True)
class TriggerParams:
    """`place_trigger_order`'s trigger: fire when the oracle is at or above (ABOVE) or at or below (BELOW) `trigger_price`."""

    trigger_price: int
    condition: TriggerCondition

    def to_idl(self) -> dict[str, Any]:
        return {"trigger_price": self.trigger_price, "condition": int(self.condition)}


@dataclass(frozen=True)
class ExitParams:
    """A bracket's take-profit or stop-loss: fires at `trigger_price`, then closes what the entry filled as an IOC market
    order (`price` its worst price) or a resting limit order."""

    trigger_price: int
    price: int
    kind: OrderKind = OrderKind.MARKET

    def to_idl(self) -> dict[str, Any]:
        return {"trigger_price": self.trigger_price, "kind": int(self.kind), "price": self.price}


@dataclass(frozen=True)
class TwapParams:
    """`place_twap_order`: `base_size` in `duration_secs / interval_secs` IOC slices, each worst `tolerance_bps` from the
    oracle and no worse than `limit_price` (0: none)."""

    market_index: int
    side: Side
    base_size: int
    duration_secs: int
    interval_secs: int
    tolerance_bps: int
    limit_price: int = 0
    reduce_only: bool = False
    client_order_id: int = 0

    def to_idl(self) -> dict[str, Any]:
        return {"market_index": self.market_index, "side": int(self.side), "reduce_only": self.reduce_only, "client_order_id": self.client_order_id,
                "base_size": self.base_size, "duration_secs": self.duration_secs, "interval_secs": self.interval_secs,
                "tolerance_bps": self.tolerance_bps, "limit_price": self.limit_price}


class ScaleDistribution(IntEnum):
    FLAT = 0
    ASCENDING = 1
    DESCENDING = 2


@dataclass(frozen=True)
class ScaleParams:
    """`place_scale_orders`: `count` (2..=32) limit orders from `start_price` to `end_price` sharing `total_size`; client
    order ids `client_order_id + i`; GTT when `expiry_ts` is set."""

    market_index: int
    side: Side
    count: int
    total_size: int
    start_price: int
    end_price: int
    distribution: ScaleDistribution = ScaleDistribution.FLAT
    post_only: PostOnly = PostOnly.NONE
    reduce_only: bool = False
    client_order_id: int = 0
    expiry_ts: int = 0

    def to_idl(self) -> dict[str, Any]:
        return {"market_index": self.market_index, "side": int(self.side), "count": self.count, "distribution": int(self.distribution),
                "tif": int(TimeInForce.GTT if self.expiry_ts else TimeInForce.GTC), "post_only": int(self.post_only),
                "reduce_only": self.reduce_only, "client_order_id": self.client_order_id, "total_size": self.total_size,
                "start_price": self.start_price, "end_price": self.end_price, "expiry_ts": self.expiry_ts}


@dataclass(frozen=True)
class MakerParams:
    """`place_and_make`'s maker order: filled at once against the taker's auction, never rested."""

    price: int
    base_size: int
    client_order_id: int = 0

    def to_idl(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MarketParams:
    """A market's tunable parameters (borsh order of the IDL's MarketParams)."""

    tick_size: int
    lot_size: int
    min_order_size: int
    init_margin_bps: int
    maint_margin_bps: int
    size_margin_factor: int
    upnl_init_weight_bps: int
    upnl_maint_weight_bps: int
    taker_fee_bps: int
    maker_fee_bps: int
    max_open_interest: int
    auction_min_slots: int
    auction_default_slots: int
    auction_max_slots: int
    auction_max_deviation_bps: int
    post_auction_slots: int
    funding_period_secs: int
    funding_max_rate_bps: int
    mark_band_bps: int
    mark_depth_base: int
    delegated_band_bps: int
    liquidator_fee_bps: int
    """A perp liquidation's discount (bps of the oracle) to the liquidator."""
    insurance_fee_bps: int
    """To the insurance fund; with the liquidator's, below maint_margin_bps."""
    liquidation_max_fraction_bps: int
    """Most of a large position's |base| one liquidation step takes."""
    liquidation_whole_base: int
    """A position of at most this base is liquidated whole."""
    insurance_cap: int
    """Most the insurance fund pays for this market's bankruptcies (quote)."""
    trigger_fee: int = 0
    """Paid by an order's owner to whoever triggers it (quote, at most 100 USDC)."""
    twap_slice_fee: int = 0
    """Paid by a TWAP's owner to whoever places each of its slices (quote, at most 100 USDC)."""

    def to_idl(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, market: PerpMarket) -> MarketParams:
        """The parameters `market` holds now (to change a few with `dataclasses.replace`)."""
        return cls(**{f.name: getattr(market, f.name) for f in fields(cls)})


def _guards_idl(guards: dict[Action, GuardConfig]) -> dict[str, Any]:
    return {"by_action": [guards[a].to_idl() for a in Action]}


def _meta(key: Pubkey, writable: bool = False) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=writable)


def find_order(account: TradingAccount | None, order_id: int) -> Order | None:
    """`account`'s open order `order_id`, None when it is not open."""
    return next((o for o in account.orders if o.order_id == order_id), None) if account is not None else None


def order_session(account: TradingAccount | None, order_id: int) -> Pubkey | None:
    """The Session that placed `account`'s order `order_id`, when a session key placed it (a
    fill of that order passes it, and its fills count against that session's budget)."""
    order = find_order(account, order_id)
    if account is None or order is None or order.actor != security.Actor.SESSION:
        return None
    return security.session_address(account.owner, order.signer)


def health_accounts(balances: CollateralBalances, configs: dict[Pubkey, CollateralConfig], trading: TradingAccount | None,
                    markets: dict[int, PerpMarket], market_index: int) -> list[AccountMeta]:
    """One account's health list for a qd-trading instruction in market `market_index`: for each
    balance entry except the quote mint's, its config and oracle; then for each position outside
    this market, its market and oracle (the instruction holds the quote config and this market
    as fixed accounts). `configs` by mint, `markets` by index."""
    return collateral.health_accounts(balances, configs, trading, markets, quote_held=True, fixed_market=market_index)


class TradingInstructions:
    """Builds qd-trading instructions with anchorpy's IDL coder (no network use). `health`
    arguments are `health_accounts` lists; `session` is the signer's qd-security Session when
    it signs as a session key."""

    def __init__(self, program: Program | None = None) -> None:
        self.program = program if program is not None else idl_mod.program(NAME)

    def _ix(self, name: str, *args: Any, accounts: dict[str, Pubkey], remaining: list[AccountMeta] | None = None) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts, remaining_accounts=remaining or []))

    def create_market(self, admin: Pubkey, index: int, symbol: str, oracle: Pubkey, params: MarketParams,
                      guards: dict[Action, GuardConfig] | None = None) -> Instruction:
        """`guards` default to the collateral defaults; the oracle's feed id is pinned by the program."""
        return self._ix("create_market", index, list(oracle_mod.encode_symbol(symbol)), params.to_idl(), _guards_idl(guards or collateral.DEFAULT_GUARDS),
                        accounts={"admin": admin, "security_config": security.CONFIG, "market": market_address(index), "oracle": oracle,
                                  "system_program": SYSTEM_PROGRAM_ID, "instructions": security.INSTRUCTIONS_SYSVAR})

    def set_market_params(self, index: int, params: MarketParams) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction`."""
        return self._ix("set_market_params", params.to_idl(), accounts={"timelock": security.AUTHORITY, "market": market_address(index)})

    def set_market_status(self, signer: Pubkey, index: int, oracle: Pubkey, status: MarketStatus) -> Instruction:
        return self._ix("set_market_status", int(status), accounts={"signer": signer, "security_config": security.CONFIG,
                                                                    "market": market_address(index), "oracle": oracle,
                                                                    "instructions": security.INSTRUCTIONS_SYSVAR})

    def set_market_oracle(self, index: int, oracle: Pubkey, guards: dict[Action, GuardConfig]) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction`."""
        return self._ix("set_market_oracle", _guards_idl(guards), accounts={"timelock": security.AUTHORITY, "security_config": security.CONFIG,
                                                                            "market": market_address(index), "oracle": oracle})

    def open_trading_account(self, owner: Pubkey, margin_account: Pubkey) -> Instruction:
        return self._ix("open_trading_account", accounts={"owner": owner, "margin_account": margin_account,
                                                          "trading_account": trading_address(margin_account), "system_program": SYSTEM_PROGRAM_ID})

    def close_trading_account(self, owner: Pubkey, margin_account: Pubkey) -> Instruction:
        return self._ix("close_trading_account", accounts={"owner": owner, "security_config": security.CONFIG, "margin_account": margin_account,
                                                           "trading_account": trading_address(margin_account)})

    def _order_accounts(self, signer: Pubkey, margin_account: Pubkey, market_index: int, oracle: Pubkey, quote_mint: Pubkey,
                        session: Pubkey | None) -> dict[str, Pubkey]:
        return {"signer": signer, "security_config": security.CONFIG, "margin_account": margin_account,
                "trading_account": trading_address(margin_account), "market": market_address(market_index), "oracle": oracle,
                "balances": collateral.balances_address(margin_account), "quote_config": collateral.config_address(quote_mint),
                "session": session or NO_SESSION}

    def place_order(self, signer: Pubkey, margin_account: Pubkey, params: OrderParams, oracle: Pubkey, quote_mint: Pubkey,
                    health: list[AccountMeta], session: Pubkey | None = None) -> Instruction:
        """`oracle`: the market's; returns the order id as return data."""
        return self._ix("place_order", params.to_idl(), accounts=self._order_accounts(signer, margin_account, params.market_index, oracle, quote_mint, session),
                        remaining=health)

    def modify_order(self, signer: Pubkey, margin_account: Pubkey, market_index: int, oracle: Pubkey, quote_mint: Pubkey, order_id: int,
                     health: list[AccountMeta], price: int | None = None, base_size: int | None = None, session: Pubkey | None = None) -> Instruction:
        """`base_size` is the new total size; None leaves a value as it is."""
        return self._ix("modify_order", order_id, price, base_size,
                        accounts=self._order_accounts(signer, margin_account, market_index, oracle, quote_mint, session), remaining=health)

    def place_trigger_order(self, signer: Pubkey, margin_account: Pubkey, params: OrderParams, trigger: TriggerParams, oracle: Pubkey,
                            quote_mint: Pubkey, health: list[AccountMeta], session: Pubkey | None = None) -> Instruction:
        """A stop or take-profit order (market: `params.price` its worst price, IOC or FOK; or limit) resting outside the book
        until `trigger_order` fires it; returns the order id."""
        return self._ix("place_trigger_order", params.to_idl(), trigger.to_idl(),
                        accounts=self._order_accounts(signer, margin_account, params.market_index, oracle, quote_mint, session), remaining=health)

    def place_bracket(self, signer: Pubkey, margin_account: Pubkey, entry: OrderParams, oracle: Pubkey, quote_mint: Pubkey,
                      health: list[AccountMeta], take_profit: ExitParams | None = None, stop_loss: ExitParams | None = None,
                      session: Pubkey | None = None) -> Instruction:
        """An entry with one-cancels-other exits; returns the entry's id (the exits take the next ids, take-profit first)."""
        return self._ix("place_bracket", entry.to_idl(), None if take_profit is None else take_profit.to_idl(),
                        None if stop_loss is None else stop_loss.to_idl(),
                        accounts=self._order_accounts(signer, margin_account, entry.market_index, oracle, quote_mint, session), remaining=health)

    def place_iceberg_order(self, signer: Pubkey, margin_account: Pubkey, params: OrderParams, display_size: int, oracle: Pubkey,
                            quote_mint: Pubkey, health: list[AccountMeta], session: Pubkey | None = None) -> Instruction:
        """A resting limit order showing `display_size` at a time; returns its id."""
        return self._ix("place_iceberg_order", params.to_idl(), display_size,
                        accounts=self._order_accounts(signer, margin_account, params.market_index, oracle, quote_mint, session), remaining=health)

    def place_scale_orders(self, signer: Pubkey, margin_account: Pubkey, params: ScaleParams, oracle: Pubkey, quote_mint: Pubkey,
                           health: list[AccountMeta], session: Pubkey | None = None) -> Instruction:
        """2 to 32 limit orders between two prices; returns the first order's id."""
        return self._ix("place_scale_orders", params.to_idl(),
                        accounts=self._order_accounts(signer, margin_account, params.market_index, oracle, quote_mint, session), remaining=health)

    def place_twap_order(self, signer: Pubkey, margin_account: Pubkey, params: TwapParams, oracle: Pubkey, quote_mint: Pubkey,
                         health: list[AccountMeta], session: Pubkey | None = None) -> Instruction:
        """A TWAP parent (crank_twap places its slices); returns its id."""
        return self._ix("place_twap_order", params.to_idl(),
                        accounts=self._order_accounts(signer, margin_account, params.market_index, oracle, quote_mint, session), remaining=health)

    def _crank_accounts(self, cranker: Pubkey, margin_account: Pubkey, market_index: int, oracle: Pubkey, quote_mint: Pubkey,
                        fee_account: Pubkey | None) -> dict[str, Pubkey]:
        return {"cranker": cranker, "security_config": security.CONFIG, "margin_account": margin_account,
                "trading_account": trading_address(margin_account), "market": market_address(market_index), "oracle": oracle,
                "balances": collateral.balances_address(margin_account), "quote_config": collateral.config_address(quote_mint),
                "fee_account": fee_account or NO_SESSION}

    def trigger_order(self, cranker: Pubkey, margin_account: Pubkey, market_index: int, oracle: Pubkey, quote_mint: Pubkey, order_id: int,
                      health: list[AccountMeta], fee_account: Pubkey | None = None) -> Instruction:
        """Fires `margin_account`'s due trigger order; the market's trigger fee goes to `fee_account` (a trading account; None: no fee).
        `health`: the order owner's list."""
        return self._ix("trigger_order", order_id, accounts=self._crank_accounts(cranker, margin_account, market_index, oracle, quote_mint, fee_account),
                        remaining=health)

    def crank_twap(self, cranker: Pubkey, margin_account: Pubkey, market_index: int, oracle: Pubkey, quote_mint: Pubkey, order_id: int,
                   health: list[AccountMeta], fee_account: Pubkey | None = None) -> Instruction:
        """Places the due slice of `margin_account`'s TWAP `order_id`; the slice fee goes to `fee_account` (None: no fee)."""
        return self._ix("crank_twap", order_id, accounts=self._crank_accounts(cranker, margin_account, market_index, oracle, quote_mint, fee_account),
                        remaining=health)

    def _cancel_accounts(self, signer: Pubkey, margin_account: Pubkey, session: Pubkey | None) -> dict[str, Pubkey]:
        return {"signer": signer, "security_config": security.CONFIG, "margin_account": margin_account,
                "trading_account": trading_address(margin_account), "session": session or NO_SESSION}

    def cancel_order(self, signer: Pubkey, margin_account: Pubkey, order_id: int, session: Pubkey | None = None) -> Instruction:
        return self._ix("cancel_order", order_id, accounts=self._cancel_accounts(signer, margin_account, session))

    def cancel_order_by_client_id(self, signer: Pubkey, margin_account: Pubkey, client_order_id: int, session: Pubkey | None = None) -> Instruction:
        return self._ix("cancel_order_by_client_id", client_order_id, accounts=self._cancel_accounts(signer, margin_account, session))

    def cancel_orders(self, signer: Pubkey, margin_account: Pubkey, market_index: int | None = None, session: Pubkey | None = None) -> Instruction:
        """Every order in `market_index`, or in every market for None."""
        return self._ix("cancel_orders", market_index, accounts=self._cancel_accounts(signer, margin_account, session))

    def place_and_make(self, maker_signer: Pubkey, maker_margin: Pubkey, taker_margin: Pubkey, market_index: int, oracle: Pubkey, quote_mint: Pubkey,
                       taker_order_id: int, maker: MakerParams, maker_health: list[AccountMeta], taker_health: list[AccountMeta],
                       session: Pubkey | None = None, taker_session: Pubkey | None = None) -> Instruction:
        """The maker fills the taker's order during its auction, at the auction price. `session`:
        the maker signer's Session when it is a session key; `taker_session`: the Session that
        placed the taker's order, when a session key did (`order_session`)."""
        return self._ix("place_and_make", taker_order_id, maker.to_idl(), accounts={
            "maker_signer": maker_signer,
            "security_config": security.CONFIG,
            "maker_margin_account": maker_margin,
            "maker_trading_account": trading_address(maker_margin),
            "maker_balances": collateral.balances_address(maker_margin),
            "taker_margin_account": taker_margin,
            "taker_trading_account": trading_address(taker_margin),
            "taker_balances": collateral.balances_address(taker_margin),
            "market": market_address(market_index),
            "oracle": oracle,
            "quote_config": collateral.config_address(quote_mint),
            "trading_authority": AUTHORITY,
            "session": session or NO_SESSION,
            "taker_session": taker_session or NO_SESSION,
            "security_program": security.PROGRAM_ID,
        }, remaining=maker_health + taker_health)

    def fill_order(self, filler: Pubkey, taker_margin: Pubkey, market_index: int, oracle: Pubkey, quote_mint: Pubkey, taker_order_id: int,
                   makers: list[tuple[Pubkey, int]], taker_health: list[AccountMeta], maker_health: list[list[AccountMeta]],
                   taker_session: Pubkey | None = None, maker_sessions: list[Pubkey | None] | None = None) -> Instruction:
        """Matches the taker's order (auction over) with resting maker orders, `makers` being
        (maker margin account, order id) pairs (1..=4) and `maker_health` their lists in the same
        order; `taker_session` and `maker_sessions` the Sessions that placed those orders, where
        session keys did (`order_session`)."""
        sessions = maker_sessions if maker_sessions is not None else [None] * len(makers)
        if not 1 <= len(makers) <= MAX_MAKERS or len(maker_health) != len(makers) or len(sessions) != len(makers):
            raise ValueError(f"1..={MAX_MAKERS} makers, each with its health list and session")
        per_maker = [m for (margin, _), session in zip(makers, sessions)
                     for m in (_meta(margin), _meta(trading_address(margin), True), _meta(collateral.balances_address(margin)),
                               _meta(session or NO_SESSION, session is not None))]
        return self._ix("fill_order", taker_order_id, [order_id for _, order_id in makers], accounts={
            "filler": filler,
            "security_config": security.CONFIG,
            "taker_margin_account": taker_margin,
            "taker_trading_account": trading_address(taker_margin),
            "taker_balances": collateral.balances_address(taker_margin),
            "market": market_address(market_index),
            "oracle": oracle,
            "quote_config": collateral.config_address(quote_mint),
            "trading_authority": AUTHORITY,
            "taker_session": taker_session or NO_SESSION,
            "security_program": security.PROGRAM_ID,
        }, remaining=per_maker + taker_health + [m for h in maker_health for m in h])

    def update_funding(self, market_index: int, oracle: Pubkey) -> Instruction:
        return self._ix("update_funding", accounts={"security_config": security.CONFIG, "market": market_address(market_index), "oracle": oracle})

    def settle_pnl(self, signer: Pubkey, margin_account: Pubkey, market_index: int, quote_mint: Pubkey) -> Instruction:
        """Permissionless: anyone may settle anyone's PnL."""
        return self._ix("settle_pnl", market_index, accounts={
            "signer": signer,
            "security_config": security.CONFIG,
            "margin_account": margin_account,
            "trading_account": trading_address(margin_account),
            "balances": collateral.balances_address(margin_account),
            "market": market_address(market_index),
            "quote_config": collateral.config_address(quote_mint),
            "collateral_program": collateral.PROGRAM_ID,
            "trading_authority": AUTHORITY,
        })

    def expire_orders(self, signer: Pubkey, margin_account: Pubkey) -> Instruction:
        return self._ix("expire_orders", accounts={"signer": signer, "trading_account": trading_address(margin_account)})

    # -- qd-core's CPIs (its authority PDA signs); built here for tests
    def liquidate_orders(self, core_authority: Pubkey, margin_account: Pubkey) -> Instruction:
        """Only valid as qd-core's CPI (liquidate_orders)."""
        return self._ix("liquidate_orders", accounts={"core_authority": core_authority, "trading_account": trading_address(margin_account)})

    def liquidate_position(self, core_authority: Pubkey, market_index: int, margin_account: Pubkey, liquidator_margin: Pubkey, base: int,
                           price: int, liquidator_fee: int, insurance_fee: int) -> Instruction:
        """Only valid as qd-core's CPI (liquidate_perp): `base` is the account's change, toward zero."""
        return self._ix("liquidate_position", base, price, liquidator_fee, insurance_fee, accounts={
            "core_authority": core_authority, "market": market_address(market_index), "trading_account": trading_address(margin_account),
            "liquidator_trading_account": trading_address(liquidator_margin)})

    def repay_pnl(self, core_authority: Pubkey, market_index: int, margin_account: Pubkey, amount: int) -> Instruction:
        """Only valid as qd-core's CPI (liquidate_collateral)."""
        return self._ix("repay_pnl", amount, accounts={"core_authority": core_authority, "market": market_address(market_index),
                                                      "trading_account": trading_address(margin_account)})

    def resolve_bankrupt_position(self, core_authority: Pubkey, market_index: int, margin_account: Pubkey, insurance: int) -> Instruction:
        """Only valid as qd-core's CPI (resolve_bankruptcy)."""
        return self._ix("resolve_bankrupt_position", insurance, accounts={"core_authority": core_authority, "market": market_address(market_index),
                                                                          "trading_account": trading_address(margin_account)})

    def take_fees(self, core_authority: Pubkey, market_index: int, liquidation_fees: int, trading_fees: int) -> Instruction:
        """Only valid as qd-core's CPI (its authority PDA signs: the insurance fund's sweep); built here for tests."""
        return self._ix("take_fees", liquidation_fees, trading_fees, accounts={"core_authority": core_authority, "market": market_address(market_index)})


# ---------------------------------------------------------------- views

@dataclass(frozen=True)
class MarketView:
    """A market as a reader wants it (`MarketView.of(market)`): prices and quote amounts as
    Decimals with 6 decimals, base amounts with 9, the funding indices with 12 (quote per whole
    base); TWAPs None before their first sample, the last fill price before the first fill."""

    market: PerpMarket
    index: int
    symbol: str
    status: MarketStatus
    tick_size: Decimal
    lot_size: Decimal
    min_order_size: Decimal
    taker_fee_bps: int
    maker_fee_bps: int
    """Negative: a rebate."""
    open_interest: Decimal
    """Base per side (long and short open interest are equal)."""
    max_open_interest: Decimal
    cumulative_funding_long: Decimal
    cumulative_funding_short: Decimal
    last_funding_delta: Decimal
    mark_twap: Decimal | None
    oracle_twap: Decimal | None
    last_fill_price: Decimal | None
    settlement_price: Decimal | None
    total_volume: Decimal
    total_fees: Decimal
    fee_pool: Decimal
    """Fees charged and not yet swept: a senior claim on the PnL pool."""
    pnl_pool: Decimal
    """What losers have paid into the market and winners not yet taken out."""

    @classmethod
    def of(cls, m: PerpMarket) -> MarketView:
        sampled = m.twap_ts != 0
        status = MarketStatus(m.status)
        return cls(
            m, m.index, m.symbol_str, status, price_decimal(m.tick_size), base_decimal(m.lot_size), base_decimal(m.min_order_size),
            m.taker_fee_bps, m.maker_fee_bps, base_decimal(m.open_interest_long), base_decimal(m.max_open_interest),
            Decimal(m.cumulative_funding_long).scaleb(-FUNDING_DECIMALS), Decimal(m.cumulative_funding_short).scaleb(-FUNDING_DECIMALS),
            Decimal(m.last_funding_delta).scaleb(-FUNDING_DECIMALS),
            price_decimal(m.mark_twap) if sampled else None, price_decimal(m.oracle_twap) if sampled else None,
            price_decimal(m.last_fill_price) if m.last_fill_ts else None,
            price_decimal(m.settlement_price) if status == MarketStatus.SETTLEMENT else None,
            price_decimal(m.total_volume_quote), price_decimal(m.total_fees), price_decimal(m.fee_pool), price_decimal(m.pnl_pool),
        )

    @property
    def address(self) -> Pubkey:
        return market_address(self.index)

    def summary(self) -> str:
        m = self.market
        twaps = "-" if self.mark_twap is None else f"mark {self.mark_twap} oracle {self.oracle_twap}"
        return (f"#{m.index} {self.symbol} {self.status.name} tick {self.tick_size} lot {self.lot_size} fees {m.taker_fee_bps}/{m.maker_fee_bps} bps"
                f" OI {self.open_interest}/{self.max_open_interest} funding {self.cumulative_funding_long}/{self.cumulative_funding_short} twaps {twaps}"
                f" volume {self.total_volume} pools: PnL {self.pnl_pool} fees {self.fee_pool}")


@dataclass(frozen=True)
class PositionView:
    """A perp position at the price its health check reads, with its liquidation price (the
    engine's, over the whole margin account)."""

    position: Position
    market: PerpMarket
    price: int
    liquidation_price_raw: int | None = None

    @classmethod
    def of(cls, row: PerpRow, liquidation_price: int | None) -> PositionView:
        return cls(row.position, row.market, row.price, liquidation_price)

    @property
    def market_index(self) -> int:
        return self.position.market_index

    @property
    def base(self) -> Decimal:
        """Negative: short."""
        return base_decimal(self.position.base)

    @property
    def side(self) -> Side | None:
        """None when flat."""
        return None if self.position.base == 0 else Side.BID if self.position.base > 0 else Side.ASK

    @property
    def entry_price(self) -> Decimal | None:
        """The average entry price, -quote_entry * 1e9 / base (6 decimals); None when flat."""
        if self.position.base == 0:
            return None
        return (Decimal(-self.position.quote_entry * 10**BASE_DECIMALS) / self.position.base).scaleb(-PRICE_DECIMALS).quantize(PRICE_UNIT)

    def unrealized_pnl_at(self, price: int) -> int:
        """Quote native units the position gains (loses) if closed at `price` (floor, as the engine)."""
        return self.position.base * price // 10**BASE_DECIMALS + self.position.quote_entry

    @property
    def unrealized_pnl(self) -> Decimal:
        return price_decimal(self.unrealized_pnl_at(self.price))

    @property
    def realized_unsettled(self) -> Decimal:
        """Realized PnL and funding not yet settled into the quote balance."""
        return price_decimal(self.position.realized_pnl)

    @property
    def funding_owed(self) -> Decimal:
        """Funding accrued since the position's snapshot (< 0: owed), not yet realized."""
        return price_decimal(health_mod.funding_pnl(self.position.base, self.position.funding_snapshot, funding_index(self.market, self.position.base)))

    @property
    def liquidation_price(self) -> Decimal | None:
        return None if self.liquidation_price_raw is None else price_decimal(self.liquidation_price_raw)

    def summary(self) -> str:
        return (f"{self.market.symbol_str} {self.base} entry {self.entry_price or '-'} mark {price_decimal(self.price)} uPnL {self.unrealized_pnl}"
                f" realized {self.realized_unsettled} funding {self.funding_owed} liq {self.liquidation_price or '-'} orders {self.position.open_orders}")


@dataclass(frozen=True)
class Level:
    """One price level of the book: raw price (6 decimals), total remaining size (9 decimals)
    and how many orders rest there."""

    price: int
    size: int
    orders: int


@dataclass(frozen=True)
class L2Book:
    """A market's resting liquidity, aggregated by price: bids best (highest) first, asks best
    (lowest) first. Built from trading accounts, so it is what `fill_order` could match now."""

    market_index: int
    bids: list[Level]
    asks: list[Level]
    oracle_price: int
    slot: int
    ts: int

    @classmethod
    def from_accounts(cls, market_index: int, accounts: Iterable[TradingAccount], oracle_price: int, slot: int, ts: int, tick_size: int) -> L2Book:
        """The resting LIMIT and ORACLE_OFFSET orders of `market_index` in `accounts` (oracle-offset
        ones priced at `oracle_price` + offset, rounded to `tick_size` like the program), without
        expired orders, orders still in their auction and orders off the book (untriggered, TWAP
        parents); an iceberg shows only its clip."""
        sides: dict[Side, dict[int, tuple[int, int]]] = {Side.BID: {}, Side.ASK: {}}
        for account in accounts:
            for order in account.orders:
                if order.market_index != market_index or in_auction(order, slot) or expired(order, slot, ts):
                    continue
                price = maker_price(order, oracle_price, tick_size)
                remaining = order.visible
                if price is None or remaining <= 0:
                    continue
                size, count = sides[Side(order.side)].get(price, (0, 0))
                sides[Side(order.side)][price] = (size + remaining, count + 1)

        def levels(side: Side) -> list[Level]:
            return [Level(p, s, n) for p, (s, n) in sorted(sides[side].items(), reverse=side == Side.BID)]

        return cls(market_index, levels(Side.BID), levels(Side.ASK), oracle_price, slot, ts)

    @property
    def best_bid(self) -> Decimal | None:
        return price_decimal(self.bids[0].price) if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return price_decimal(self.asks[0].price) if self.asks else None

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid (negative while the book is crossed, until a filler matches it)."""
        return None if not self.bids or not self.asks else price_decimal(self.asks[0].price - self.bids[0].price)

    @property
    def mid(self) -> Decimal | None:
        return None if not self.bids or not self.asks else price_decimal(self.bids[0].price + self.asks[0].price) / 2

    def table(self, depth: int = 10) -> str:
        """The top `depth` levels, bids left and asks right."""
        header = f"{'orders':>6} {'size':>16} {'bid':>14} | {'ask':<14} {'size':<16} {'orders':<6}"
        lines = [f"market {self.market_index}  oracle {price_decimal(self.oracle_price)}  slot {self.slot}", header]
        for i in range(min(max(len(self.bids), len(self.asks)), depth)):
            bid = self.bids[i] if i < len(self.bids) else None
            ask = self.asks[i] if i < len(self.asks) else None
            left = f"{bid.orders:>6} {base_decimal(bid.size):>16} {price_decimal(bid.price):>14}" if bid else " " * 38
            right = f"{price_decimal(ask.price):<14} {base_decimal(ask.size):<16} {ask.orders:<6}" if ask else ""
            lines.append(f"{left} | {right}".rstrip())
        lines.append(f"spread {self.spread if self.spread is not None else '-'}  mid {self.mid if self.mid is not None else '-'}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Fill:
    """A decoded `Fill` event."""

    fill_id: int
    market_index: int
    taker: Pubkey
    taker_order_id: int
    maker: Pubkey
    maker_order_id: int
    taker_side: Side
    price: int
    base: int
    quote: int
    taker_fee: int
    maker_fee: int
    """Negative: a rebate."""
    slot: int
    ts: int

    @classmethod
    def from_event(cls, event: Event) -> Fill:
        d = event.data
        return cls(d.fill_id, d.market_index, d.taker, d.taker_order_id, d.maker, d.maker_order_id, Side(d.taker_side), d.price, d.base,
                   d.quote, d.taker_fee, d.maker_fee, d.slot, d.ts)


def parse_events(logs: list[str], program: Program | None = None) -> list[Event]:
    """The program's Anchor events in a transaction's logs, in order."""
    return idl_mod.parse_events(program or idl_mod.program(NAME), logs)


def book_filters() -> list[int | MemcmpOpts]:
    """getProgramAccounts filters for trading accounts with an open order: size, has_open_order @10 == 1."""
    return [trading_state.TRADING_LEN, MemcmpOpts(trading_state.TRADING_HAS_OPEN_ORDER_OFFSET, b58encode(b"\x01").decode())]


# ---------------------------------------------------------------- the async client

def order_id_from(receipt: Receipt) -> int:
    """The order id a place or modify transaction returned (u64 LE return data)."""
    if len(receipt.return_data) != 8:
        raise RuntimeError(f"{receipt.signature} returned {receipt.return_data!r}, not an order id")
    return int.from_bytes(receipt.return_data, "little")


def open_order(account: TradingAccount | None, order_id: int) -> Order:
    """`account`'s open order `order_id` (`LookupError` when it is not open)."""
    found = find_order(account, order_id)
    if found is None:
        raise LookupError(f"order {order_id} is not open")
    return found


class TradingClient(ProgramClient):
    """Orders, fills, funding and settlement through an RPC node (the local validator or a
    cluster). The provider's wallet pays fees; the signer keypairs sign. Every health list is
    built from the accounts as they are on chain when the call is made, read in batches: an
    order costs three HTTP requests whatever the account holds (see `place_order`)."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(NAME, provider)
        self.ix = TradingInstructions(self.program)
        self.core = core.CoreClient(provider)
        self.collateral = self.core.collateral

    def _quote_keys(self) -> list[Pubkey]:
        return self.core.quote_keys()

    def _quote_from(self, reads: AccountReads) -> Pubkey:
        return self.core.quote_from(reads)

    async def fetch_quote_mint(self) -> Pubkey:
        """The venue's quote mint (qd-core's GlobalConfig; read once)."""
        return await self.core.fetch_quote_mint()

    @staticmethod
    async def _market(reads: AccountReads, index: int) -> PerpMarket:
        """Market `index` from `reads` (read now when it is not there yet)."""
        await reads.load([market_address(index)])
        return trading_state.decode_market(reads.data(market_address(index), PROGRAM_ID, f"perp market {index}"))

    async def fetch_market(self, index: int) -> PerpMarket:
        return await self._market(self.reads(), index)

    async def fetch_market_view(self, index: int) -> MarketView:
        return MarketView.of(await self.fetch_market(index))

    async def fetch_trading_account(self, margin_account: Pubkey) -> TradingAccount:
        """`margin_account`'s trading account (`LookupError` when it has none)."""
        return trading_state.decode_trading_account(await self.fetch_account_data(trading_address(margin_account), "trading account"))

    async def fetch_health_accounts(self, margin_account: Pubkey, market_index: int) -> list[AccountMeta]:
        """`health_accounts` of `margin_account` for an instruction in `market_index`."""
        [state] = await self.collateral.fetch_health_states([margin_account])
        return health_accounts(state.balances, state.configs, state.trading, state.markets, market_index)

    async def open_trading_account(self, owner: Keypair, margin_account: Pubkey) -> Signature:
        return await self.send([self.ix.open_trading_account(owner.pubkey(), margin_account)], [owner])

    async def close_trading_account(self, owner: Keypair, margin_account: Pubkey) -> Signature:
        return await self.send([self.ix.close_trading_account(owner.pubkey(), margin_account)], [owner])

    async def place_order(self, signer: Keypair, margin_account: Pubkey, params: OrderParams, session: Pubkey | None = None) -> int:
        """Places the order and returns its id (the instruction's return data). Three HTTP
        requests whatever the account holds: (1) getMultipleAccounts of the market, the
        account's balances and trading account (and GlobalConfig for the quote mint, the first
        time) with getLatestBlockhash, one JSON-RPC batch; (2) getMultipleAccounts of the held
        mints' configs and the other positions' markets (skipped when there are none); (3)
        sendTransaction with getTransaction, one batch (see `submit` for confirmation)."""
        return await self._place(signer, margin_account, params.market_index,
                                 lambda oracle, quote, health: self.ix.place_order(signer.pubkey(), margin_account, params, oracle, quote, health, session))

    async def _place(self, signer: Keypair, margin_account: Pubkey, market_index: int,
                     build: Callable[[Pubkey, Pubkey, list[AccountMeta]], Instruction]) -> int:
        """Sends the placement `build(oracle, quote_mint, health)` makes, as `place_order` does; returns the id it returns."""
        reads = self.reads()
        [state] = await self.collateral.fetch_health_states([margin_account], reads, markets=[market_index], extra=self._quote_keys(), blockhash=True)
        health = health_accounts(state.balances, state.configs, state.trading, state.markets, market_index)
        ix = build(state.markets[market_index].oracle, self._quote_from(reads), health)
        return order_id_from(await self.submit([ix], [signer], reads.blockhash))

    async def place_trigger_order(self, signer: Keypair, margin_account: Pubkey, params: OrderParams, trigger: TriggerParams,
                                  session: Pubkey | None = None) -> int:
        """A stop or take-profit order (outside the book until fired); returns its id."""
        return await self._place(signer, margin_account, params.market_index, lambda oracle, quote, health: self.ix.place_trigger_order(
            signer.pubkey(), margin_account, params, trigger, oracle, quote, health, session))

    async def place_bracket(self, signer: Keypair, margin_account: Pubkey, entry: OrderParams, take_profit: ExitParams | None = None,
                            stop_loss: ExitParams | None = None, session: Pubkey | None = None) -> int:
        """An entry with one-cancels-other exits; returns the entry's id (the exits follow it, take-profit first)."""
        return await self._place(signer, margin_account, entry.market_index, lambda oracle, quote, health: self.ix.place_bracket(
            signer.pubkey(), margin_account, entry, oracle, quote, health, take_profit, stop_loss, session))

    async def place_iceberg_order(self, signer: Keypair, margin_account: Pubkey, params: OrderParams, display_size: int,
                                  session: Pubkey | None = None) -> int:
        """A resting limit order showing `display_size` at a time; returns its id."""
        return await self._place(signer, margin_account, params.market_index, lambda oracle, quote, health: self.ix.place_iceberg_order(
            signer.pubkey(), margin_account, params, display_size, oracle, quote, health, session))

    async def place_scale_orders(self, signer: Keypair, margin_account: Pubkey, params: ScaleParams, session: Pubkey | None = None) -> int:
        """2 to 32 resting limit orders between two prices; returns the first one's id."""
        return await self._place(signer, margin_account, params.market_index, lambda oracle, quote, health: self.ix.place_scale_orders(
            signer.pubkey(), margin_account, params, oracle, quote, health, session))

    async def place_twap_order(self, signer: Keypair, margin_account: Pubkey, params: TwapParams, session: Pubkey | None = None) -> int:
        """A TWAP parent (crank_twap places its slices); returns its id."""
        return await self._place(signer, margin_account, params.market_index, lambda oracle, quote, health: self.ix.place_twap_order(
            signer.pubkey(), margin_account, params, oracle, quote, health, session))

    async def _crank(self, name: str, cranker: Keypair, margin_account: Pubkey, order_id: int, fee_account: Pubkey | None) -> Signature:
        reads = self.reads()
        [state] = await self.collateral.fetch_health_states([margin_account], reads, extra=self._quote_keys(), blockhash=True)
        index = open_order(state.trading, order_id).market_index
        market = await self._market(reads, index)
        health = health_accounts(state.balances, state.configs, state.trading, state.markets, index)
        ix = getattr(self.ix, name)(cranker.pubkey(), margin_account, index, market.oracle, self._quote_from(reads), order_id, health, fee_account)
        return await self.send([ix], [cranker], reads.blockhash)

    async def trigger_order(self, cranker: Keypair, margin_account: Pubkey, order_id: int, fee_account: Pubkey | None = None) -> Signature:
        """Fires a due trigger order; the market's trigger fee goes to `fee_account` (a trading account; None: no fee)."""
        return await self._crank("trigger_order", cranker, margin_account, order_id, fee_account)

    async def crank_twap(self, cranker: Keypair, margin_account: Pubkey, order_id: int, fee_account: Pubkey | None = None) -> Signature:
        """Places a TWAP's due slice; the slice fee goes to `fee_account` (None: no fee)."""
        return await self._crank("crank_twap", cranker, margin_account, order_id, fee_account)

    async def fetch_order(self, margin_account: Pubkey, order_id: int) -> Order:
        """One open order of `margin_account` (`LookupError` when it is not open)."""
        return open_order(await self.fetch_trading_account(margin_account), order_id)

    async def modify_order(self, signer: Keypair, margin_account: Pubkey, order_id: int, price: int | None = None, base_size: int | None = None,
                           session: Pubkey | None = None) -> int:
        """Reprices and/or resizes (`base_size`: the new total) a resting order; returns its id."""
        reads = self.reads()
        [state] = await self.collateral.fetch_health_states([margin_account], reads, extra=self._quote_keys(), blockhash=True)
        index = open_order(state.trading, order_id).market_index
        market = await self._market(reads, index)
        health = health_accounts(state.balances, state.configs, state.trading, state.markets, index)
        ix = self.ix.modify_order(signer.pubkey(), margin_account, index, market.oracle, self._quote_from(reads), order_id, health, price, base_size,
                                  session)
        return order_id_from(await self.submit([ix], [signer], reads.blockhash))

    async def cancel_order(self, signer: Keypair, margin_account: Pubkey, order_id: int, session: Pubkey | None = None) -> Signature:
        return await self.send([self.ix.cancel_order(signer.pubkey(), margin_account, order_id, session)], [signer])

    async def cancel_by_client_id(self, signer: Keypair, margin_account: Pubkey, client_order_id: int, session: Pubkey | None = None) -> Signature:
        return await self.send([self.ix.cancel_order_by_client_id(signer.pubkey(), margin_account, client_order_id, session)], [signer])

    async def cancel_orders(self, signer: Keypair, margin_account: Pubkey, market_index: int | None = None, session: Pubkey | None = None) -> Signature:
        return await self.send([self.ix.cancel_orders(signer.pubkey(), margin_account, market_index, session)], [signer])

    async def place_and_make(self, maker_signer: Keypair, maker_margin: Pubkey, taker_margin: Pubkey, taker_order_id: int, maker: MakerParams,
                             session: Pubkey | None = None) -> Signature:
        """Fills the taker's order during its auction with an immediate maker order."""
        reads = self.reads()
        maker_state, taker_state = await self.collateral.fetch_health_states([maker_margin, taker_margin], reads, extra=self._quote_keys(),
                                                                             blockhash=True)
        index = open_order(taker_state.trading, taker_order_id).market_index
        market = await self._market(reads, index)
        maker_health = health_accounts(maker_state.balances, maker_state.configs, maker_state.trading, maker_state.markets, index)
        taker_health = health_accounts(taker_state.balances, taker_state.configs, taker_state.trading, taker_state.markets, index)
        ix = self.ix.place_and_make(maker_signer.pubkey(), maker_margin, taker_margin, index, market.oracle, self._quote_from(reads), taker_order_id,
                                    maker, maker_health, taker_health, session, order_session(taker_state.trading, taker_order_id))
        return await self.send([ix], [maker_signer], reads.blockhash)

    async def fill_order(self, filler: Keypair, taker_margin: Pubkey, taker_order_id: int, makers: list[tuple[Pubkey, int]]) -> Signature:
        """Matches the taker's order (auction over) with resting orders, `makers` being (maker
        margin account, order id) pairs in the order to fill from."""
        reads = self.reads()
        taker_state, *maker_states = await self.collateral.fetch_health_states([taker_margin] + [m for m, _ in makers], reads,
                                                                               extra=self._quote_keys(), blockhash=True)
        index = open_order(taker_state.trading, taker_order_id).market_index
        market = await self._market(reads, index)

        def health(state: HealthState) -> list[AccountMeta]:
            return health_accounts(state.balances, state.configs, state.trading, state.markets, index)

        ix = self.ix.fill_order(filler.pubkey(), taker_margin, index, market.oracle, self._quote_from(reads), taker_order_id, makers,
                                health(taker_state), [health(s) for s in maker_states], order_session(taker_state.trading, taker_order_id),
                                [order_session(s.trading, order_id) for s, (_, order_id) in zip(maker_states, makers)])
        return await self.send([ix], [filler], reads.blockhash)

    async def update_funding(self, market_index: int) -> Signature:
        """The funding crank (permissionless; the provider's wallet pays)."""
        reads = self.reads()
        await reads.load([market_address(market_index)], blockhash=True)
        market = await self._market(reads, market_index)
        return await self.send([self.ix.update_funding(market_index, market.oracle)], blockhash=reads.blockhash)

    async def settle_pnl(self, signer: Keypair, margin_account: Pubkey, market_index: int) -> Signature:
        reads = self.reads()
        await reads.load(self._quote_keys(), blockhash=True)
        return await self.send([self.ix.settle_pnl(signer.pubkey(), margin_account, market_index, self._quote_from(reads))], [signer], reads.blockhash)

    async def expire_orders(self, signer: Keypair, margin_account: Pubkey) -> Signature:
        return await self.send([self.ix.expire_orders(signer.pubkey(), margin_account)], [signer])

    async def fetch_positions(self, margin_account: Pubkey, action: Action = Action.MARGIN) -> list[PositionView]:
        """The account's positions at `action`'s prices, with their liquidation prices."""
        report = await self.collateral.fetch_health(margin_account, action)
        return [PositionView.of(row, liq) for row, liq in zip(report.perps, report.result.liquidation_prices)]

    async def fetch_position(self, margin_account: Pubkey, market_index: int, action: Action = Action.MARGIN) -> PositionView:
        """The account's position in `market_index` (`LookupError` when it has none)."""
        found = next((p for p in await self.fetch_positions(margin_account, action) if p.market_index == market_index), None)
        if found is None:
            raise LookupError(f"{margin_account} has no position in market {market_index}")
        return found

    async def fetch_book(self, market_index: int) -> L2Book:
        """The market's L2 book from every trading account with an open order (getProgramAccounts),
        oracle-offset orders priced at the Trade-guarded oracle price, at the current slot and time."""
        reads = self.reads()
        await reads.load([market_address(market_index), sysvar.CLOCK])
        market = await self._market(reads, market_index)
        clock = sysvar.decode_clock(reads.data(sysvar.CLOCK, sysvar.SYSVAR_OWNER, "Clock sysvar"))
        price = await self.collateral.fetch_market_price(market, Action.TRADE)
        resp = await self.connection.get_program_accounts(PROGRAM_ID, encoding="base64", filters=book_filters())
        accounts = [trading_state.decode_trading_account(bytes(a.account.data)) for a in resp.value]
        return L2Book.from_accounts(market_index, accounts, price, clock.slot, clock.unix_timestamp, market.tick_size)

    async def fetch_fills(self, signature: Signature) -> list[Fill]:
        """The fills of a confirmed transaction, from its `Fill` events."""
        return [Fill.from_event(e) for e in parse_events(await self.fetch_logs(signature), self.program) if e.name == "Fill"]
