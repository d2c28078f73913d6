"""clients/trading without the program: the tick and auction rules, argument encoding, every
builder's accounts in the specification's order, the health lists of trading instructions, the
market and position views, the L2 book and Fill events."""
from __future__ import annotations

import base64
import dataclasses
import struct
from decimal import Decimal
from pathlib import Path

import pytest
from anchorpy import Provider, Wallet
from quantdesk.clients import collateral, core, health, idl, oracle, security, sysvar, token, trading
from quantdesk.clients.collateral import Balance, CollateralBalances, CollateralConfig, Params, PerpRow, Status
from quantdesk.clients.errors import ProgramError
from quantdesk.clients.trading import (
    AuctionParams,
    ExitParams,
    L2Book,
    Level,
    MakerParams,
    MarketParams,
    MarketStatus,
    MarketView,
    OrderKind,
    OrderParams,
    PositionView,
    ScaleParams,
    Side,
    TimeInForce,
    TradingClient,
    TriggerCondition,
    TriggerParams,
    TwapParams,
    auction_price,
    parse_events,
    round_to_tick,
)
from quantdesk.clients.trading_state import Order, PerpMarket, Position, TradingAccount, market_address, trading_address
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from quantdesk.localnet import run_in_background
from quantdesk.localnet.controls_client import ValidatorClock
from quantdesk.world import BASE, USDC

ROOT = Path(__file__).resolve().parents[1]
E = idl.error_codes(trading.NAME)
TICK = 10_000  # 0.01
LOT = 100_000  # 0.0001 base: tick * lot = 1e9
PARAMS = MarketParams(TICK, LOT, LOT, 1_000, 500, 0, 10_000, 10_000, 5, -2, 10**6 * BASE, 1, 10, 100, 500, 20, 3_600, 100, 100, 10 * BASE, 50,
                      100, 50, 2_500, 10 * BASE, 100_000 * USDC)


def key() -> Pubkey:
    return Pubkey.new_unique()


def market(index: int = 0, **changes: int) -> PerpMarket:
    values = {f.name: getattr(PARAMS, f.name) for f in dataclasses.fields(MarketParams)}
    return PerpMarket(index=index, symbol=b"SOL-PERP".ljust(16, b"\0"), oracle=key(), **(values | changes))  # type: ignore[arg-type]


# ---------------------------------------------------------------- rules

def test_round_to_tick_rounds_bids_down_and_asks_up() -> None:
    assert [round_to_tick(p, 100, Side.BID) for p in (1_250, 1_200, 1_299, -50)] == [1_200, 1_200, 1_200, -100]
    assert [round_to_tick(p, 100, Side.ASK) for p in (1_250, 1_200, 1_201, -50)] == [1_300, 1_200, 1_300, 0]


def test_auction_price_moves_linearly_truncated_toward_the_start_then_rounds_per_side() -> None:
    bid = Order(side=Side.BID, placed_slot=100, auction_slots=3, auction_start_price=100_000_000, auction_end_price=100_100_000)
    # Steps of 33_333.3: truncated toward the start, then a bid rounds down to the 0.01 tick.
    assert [auction_price(bid, s, TICK) for s in (99, 100, 101, 102, 103, 500)] == [100_000_000, 100_000_000, 100_030_000, 100_060_000,
                                                                                    100_100_000, 100_100_000]
    ask = dataclasses.replace(bid, side=Side.ASK, auction_start_price=100_100_000, auction_end_price=100_000_000)
    assert [auction_price(ask, s, TICK) for s in (100, 101, 102, 103)] == [100_100_000, 100_070_000, 100_040_000, 100_000_000]
    assert auction_price(dataclasses.replace(bid, auction_slots=0, auction_end_price=99_000_000), 0, TICK) == 99_000_000


def test_order_state_predicates() -> None:
    gtt = Order(placed_slot=10, auction_slots=5, expiry_ts=1_000)
    assert trading.in_auction(gtt, 14) and not trading.in_auction(gtt, 15)
    assert not trading.expired(gtt, 0, 999) and trading.expired(gtt, 0, 1_000)
    ioc = Order(placed_slot=10, auction_slots=5, expiry_slot=40)
    assert not trading.expired(ioc, 40, 10**12) and trading.expired(ioc, 41, 0)
    offset = Order(kind=OrderKind.ORACLE_OFFSET, side=Side.ASK, price=-1_234_567)
    assert trading.maker_price(offset, 100 * USDC, TICK) == 98_770_000  # 98.765433 rounded up for an ask
    assert trading.maker_price(dataclasses.replace(offset, price=-100 * USDC), 100 * USDC, TICK) is None
    assert trading.maker_price(Order(kind=OrderKind.MARKET, price=5), 100 * USDC, TICK) is None


# ---------------------------------------------------------------- arguments and builders

def test_order_params_encode_in_borsh_order() -> None:
    params = OrderParams(3, Side.ASK, 2 * BASE, 150 * USDC, OrderKind.LIMIT, TimeInForce.GTT, trading.PostOnly.SLIDE, True, 77, 1_700_000_000,
                         AuctionParams(151 * USDC, 150 * USDC, 12))
    ix = trading.TradingInstructions().place_order(key(), key(), params, key(), key(), [])
    body = ix.data[8:]
    assert ix.data[:8] == idl.discriminator("global", "place_order")
    assert struct.unpack("<HBBBB?QQqqBqqH", body) == (3, 1, 1, 3, 2, True, 77, 2 * BASE, 150 * USDC, 1_700_000_000, 1, 151 * USDC, 150 * USDC, 12)
    no_auction = trading.TradingInstructions().place_order(key(), key(), OrderParams(0, Side.BID, BASE, USDC), key(), key(), []).data[8:]
    assert no_auction[-1:] == b"\0" and len(no_auction) == 2 + 4 + 1 + 8 + 8 + 8 + 8 + 1


def test_market_params_round_trip_through_a_market() -> None:
    m = market()
    assert MarketParams.of(m) == PARAMS
    ix = trading.TradingInstructions().set_market_params(0, dataclasses.replace(PARAMS, taker_fee_bps=7))
    assert ix.data[8:] == struct.pack("<QQQHHQHHHhQHHHHHqHHQHHHHQQQQ", *dataclasses.astuple(dataclasses.replace(PARAMS, taker_fee_bps=7)))


class Keys:
    """Named keys for one instruction, so that a builder's metas read as the spec's account names."""

    def __init__(self) -> None:
        self.signer, self.margin, self.oracle, self.quote_mint = key(), key(), key(), key()
        self.maker_margin, self.taker_margin = key(), key()
        self.session = key()
        self.names = {
            security.CONFIG: "security",
            SYSTEM_PROGRAM_ID: "system_program",
            collateral.PROGRAM_ID: "collateral_program",
            security.PROGRAM_ID: "security_program",
            security.AUTHORITY: "timelock",
            security.INSTRUCTIONS_SYSVAR: "instructions",
            trading.AUTHORITY: "trading_authority",
            trading.PROGRAM_ID: "no_session",
            self.signer: "signer",
            self.oracle: "oracle",
            self.session: "session",
            collateral.config_address(self.quote_mint): "quote_config",
            market_address(2): "market",
        }
        for name, margin in (("", self.margin), ("maker_", self.maker_margin), ("taker_", self.taker_margin)):
            self.names |= {margin: f"{name}margin", trading_address(margin): f"{name}trading", collateral.balances_address(margin): f"{name}balances"}

    def read(self, ix: Instruction) -> list[str]:
        """The metas as "name" plus " s" (signer) and " w" (writable)."""
        return [self.names.get(m.pubkey, str(m.pubkey)) + " s" * m.is_signer + " w" * m.is_writable for m in ix.accounts]


HEALTH = [AccountMeta(Pubkey.new_unique(), False, False) for _ in range(4)]


PLACED = ["signer s", "security", "margin", "trading w", "market", "oracle", "balances", "quote_config", "no_session"]


def test_builders_list_accounts_in_the_specified_order() -> None:
    ix, k = trading.TradingInstructions(), Keys()
    s, o, q = k.signer, k.oracle, k.quote_mint
    order = OrderParams(2, Side.BID, BASE, USDC)
    cases: list[tuple[Instruction, list[str]]] = [
        (ix.create_market(s, 2, "SOL-PERP", o, PARAMS), ["signer s w", "security", "market w", "oracle", "system_program", "instructions"]),
        (ix.set_market_params(2, PARAMS), ["timelock s", "market w"]),
        (ix.set_market_status(s, 2, o, MarketStatus.REDUCE_ONLY), ["signer s", "security", "market w", "oracle", "instructions"]),
        (ix.set_market_oracle(2, o, collateral.DEFAULT_GUARDS), ["timelock s", "security", "market w", "oracle"]),
        (ix.open_trading_account(s, k.margin), ["signer s w", "margin", "trading w", "system_program"]),
        (ix.close_trading_account(s, k.margin), ["signer s w", "security", "margin", "trading w"]),
        (ix.place_order(s, k.margin, order, o, q, HEALTH[:2]),
         ["signer s", "security", "margin", "trading w", "market", "oracle", "balances", "quote_config", "no_session"] + [str(m.pubkey) for m in HEALTH[:2]]),
        (ix.modify_order(s, k.margin, 2, o, q, 9, [], price=USDC, session=k.session),
         ["signer s", "security", "margin", "trading w", "market", "oracle", "balances", "quote_config", "session"]),
        (ix.place_trigger_order(s, k.margin, order, TriggerParams(USDC, TriggerCondition.ABOVE), o, q, []), PLACED),
        (ix.place_bracket(s, k.margin, order, o, q, [], stop_loss=ExitParams(USDC, USDC)), PLACED),
        (ix.place_iceberg_order(s, k.margin, order, BASE // 10, o, q, []), PLACED),
        (ix.place_scale_orders(s, k.margin, ScaleParams(2, Side.BID, 4, BASE, USDC, USDC // 2), o, q, []), PLACED),
        (ix.place_twap_order(s, k.margin, TwapParams(2, Side.BID, BASE, 300, 30, 50), o, q, []), PLACED),
        (ix.trigger_order(s, k.margin, 2, o, q, 3, HEALTH[:1], trading_address(k.maker_margin)),
         ["signer s", "security", "margin", "trading w", "market", "oracle", "balances", "quote_config", "maker_trading w", str(HEALTH[0].pubkey)]),
        (ix.crank_twap(s, k.margin, 2, o, q, 3, []), ["signer s", "security", "margin", "trading w", "market", "oracle", "balances", "quote_config",
                                                    "no_session w"]),
        (ix.cancel_order(s, k.margin, 1), ["signer s", "security", "margin", "trading w", "no_session"]),
        (ix.cancel_order_by_client_id(s, k.margin, 1, k.session), ["signer s", "security", "margin", "trading w", "session"]),
        (ix.cancel_orders(s, k.margin), ["signer s", "security", "margin", "trading w", "no_session"]),
        (ix.place_and_make(s, k.maker_margin, k.taker_margin, 2, o, q, 5, MakerParams(USDC, BASE), HEALTH[:1], HEALTH[1:2]),
         ["signer s", "security", "maker_margin", "maker_trading w", "maker_balances", "taker_margin", "taker_trading w", "taker_balances",
          "market w", "oracle", "quote_config", "trading_authority", "no_session w", "no_session w", "security_program", str(HEALTH[0].pubkey),
          str(HEALTH[1].pubkey)]),
        (ix.fill_order(s, k.taker_margin, 2, o, q, 5, [(k.maker_margin, 7), (k.margin, 8)], HEALTH[:1], [HEALTH[1:3], HEALTH[3:]]),
         ["signer s", "security", "taker_margin", "taker_trading w", "taker_balances", "market w", "oracle", "quote_config",
          "trading_authority", "no_session w", "security_program", "maker_margin", "maker_trading w", "maker_balances", "no_session", "margin", "trading w", "balances",
          "no_session"]
         + [str(m.pubkey) for m in HEALTH]),
        (ix.update_funding(2, o), ["security", "market w", "oracle"]),
        (ix.settle_pnl(s, k.margin, 2, q), ["signer s", "security", "margin", "trading w", "balances w", "market w", "quote_config w",
                                            "collateral_program", "trading_authority"]),
        (ix.expire_orders(s, k.margin), ["signer s", "trading w"]),
        (ix.take_fees(s, 2, 1, 2), ["signer s", "market w"]),
        (ix.liquidate_orders(s, k.margin), ["signer s", "trading w"]),
        (ix.liquidate_position(s, 2, k.margin, k.maker_margin, -1, USDC, 1, 1), ["signer s", "market w", "trading w", "maker_trading w"]),
        (ix.repay_pnl(s, 2, k.margin, 5), ["signer s", "market w", "trading w"]),
        (ix.resolve_bankrupt_position(s, 2, k.margin, 5), ["signer s", "market w", "trading w"]),
    ]
    for instruction, expected in cases:
        assert instruction.program_id == trading.PROGRAM_ID
        assert k.read(instruction) == expected
    names = {i.data[:8] for i, _ in cases}
    assert len(names) == len(cases) == len(idl.load_idl(trading.NAME).instructions)


def test_fill_order_arguments_and_limits() -> None:
    ix = trading.TradingInstructions().fill_order(key(), key(), 0, key(), key(), 5, [(key(), 7), (key(), 8)], [], [[], []])
    assert ix.data[8:] == struct.pack("<QIQQ", 5, 2, 7, 8)
    with pytest.raises(ValueError):
        trading.TradingInstructions().fill_order(key(), key(), 0, key(), key(), 5, [], [], [])
    with pytest.raises(ValueError):
        trading.TradingInstructions().fill_order(key(), key(), 0, key(), key(), 5, [(key(), i) for i in range(5)], [], [[]] * 5)


def config(mint: Pubkey, is_quote: bool = False) -> CollateralConfig:
    return CollateralConfig(collateral.config_address(mint), mint, 6 if is_quote else 9, Status.ACTIVE, is_quote, Params(8_000, 9_000, 10**15),
                            collateral.vault_address(mint), None if is_quote else key(), SYSTEM_PROGRAM_ID, 0, 0, 0, collateral.DEFAULT_GUARDS, bytes(32))


def test_health_accounts_skip_the_quote_config_and_the_instructions_market() -> None:
    usdc, sol, eth = key(), key(), key()
    configs = {m: config(m, m == usdc) for m in (usdc, sol, eth)}
    margin = key()
    balances = CollateralBalances(collateral.balances_address(margin), margin, key(), 0, [Balance(sol, 1), Balance(usdc, 5), Balance(eth, 2)])
    markets = {i: market(i) for i in (4, 1, 7)}
    account = TradingAccount(margin_account=margin, positions=[Position(market_index=i, base=BASE) for i in (4, 1, 7)])
    metas = trading.health_accounts(balances, configs, account, markets, 1)
    assert [m.pubkey for m in metas] == [configs[sol].address, configs[sol].oracle, configs[eth].address, configs[eth].oracle,
                                         market_address(4), markets[4].oracle, market_address(7), markets[7].oracle]
    assert not any(m.is_signer or m.is_writable for m in metas)
    # A market the account has no position in yet: every position is listed.
    assert len(trading.health_accounts(balances, configs, account, markets, 9)) == 10
    assert trading.health_accounts(balances, configs, None, {}, 1) == metas[:4]


# ---------------------------------------------------------------- views

def test_market_view_shows_decimals() -> None:
    m = market(index=3, status=MarketStatus.ACTIVE, open_interest_long=12 * BASE, open_interest_short=12 * BASE, cumulative_funding_long=-2_500_000_000,
               cumulative_funding_short=-1_000_000_000, mark_twap=150_120_000, oracle_twap=150_000_000, twap_ts=5, last_fill_price=150_130_000,
               last_fill_ts=9, total_volume_quote=10**12, fee_pool=3 * USDC, pnl_pool=7 * USDC)
    v = MarketView.of(m)
    assert (v.index, v.symbol, v.status, v.address) == (3, "SOL-PERP", MarketStatus.ACTIVE, market_address(3))
    assert (v.tick_size, v.lot_size, v.min_order_size) == (Decimal("0.010000"), Decimal("0.000100000"), Decimal("0.000100000"))
    assert (v.open_interest, v.cumulative_funding_long, v.cumulative_funding_short) == (Decimal(12), Decimal("-0.0025"), Decimal("-0.001"))
    assert (v.mark_twap, v.oracle_twap, v.fee_pool, v.pnl_pool) == (Decimal("150.12"), Decimal(150), Decimal(3), Decimal(7))
    assert (v.last_fill_price, v.settlement_price, v.total_volume, v.taker_fee_bps, v.maker_fee_bps) == (Decimal("150.13"), None, Decimal(10**6), 5, -2)
    assert str(v.mark_twap) == "150.120000"
    assert MarketView.of(market()).mark_twap is None
    assert "SOL-PERP" in v.summary() and "ACTIVE" in v.summary()


def test_position_view_entry_pnl_funding_and_liquidation_price() -> None:
    m = market(cumulative_funding_long=3_000_000, cumulative_funding_short=-5_000_000)
    # Long 2.0 bought at 100 and 101: entry 100.5; funding index +3.0 since a snapshot of 1.0 per whole base.
    long = Position(market_index=0, base=2 * BASE, quote_entry=-201 * USDC, realized_pnl=-4 * USDC, funding_snapshot=1_000_000, open_orders=1)
    row = PerpRow(long, m, 110 * USDC)
    result = health.compute([health.CollateralInput(50 * USDC, 6, USDC, 10_000, 10_000)], [row.input()])
    view = PositionView.of(row, result.liquidation_prices[0])
    assert (view.base, view.side, view.entry_price) == (Decimal(2), Side.BID, Decimal("100.500000"))
    assert view.unrealized_pnl == Decimal(19) and view.unrealized_pnl_at(99 * USDC) == -3 * USDC
    assert view.realized_unsettled == Decimal(-4)
    assert view.funding_owed == Decimal("-0.000004")  # -(2e9 * 2e6) / 1e15 quote native units
    assert view.liquidation_price is not None and view.liquidation_price < Decimal("100.5")
    assert view.liquidation_price == Decimal(result.liquidation_prices[0]).scaleb(-6)
    short = PositionView(Position(base=-3 * BASE, quote_entry=301 * USDC), m, 100 * USDC)
    assert (short.side, short.entry_price, short.unrealized_pnl, short.liquidation_price) == (Side.ASK, Decimal("100.333333"), Decimal(1), None)
    # A short owes at the shorts' index: down 6.0 since its snapshot of 1.0, so it pays.
    short_funding = PositionView(Position(base=-BASE, quote_entry=100 * USDC, funding_snapshot=1_000_000), m, 100 * USDC)
    assert short_funding.funding_owed == Decimal("-0.000006")
    flat = PositionView(Position(), m, 100 * USDC)
    assert (flat.side, flat.entry_price, flat.funding_owed) == (None, None, Decimal(0))
    assert "SOL-PERP" in view.summary()


# ---------------------------------------------------------------- the book

def resting(side: Side, price: int, size: int, filled: int = 0, **changes: int) -> Order:
    values = {"market_index": 0, "side": side, "kind": OrderKind.LIMIT, "price": price, "base_size": size, "base_filled": filled, "placed_slot": 10}
    return Order(**(values | changes))


def test_book_aggregates_resting_orders_by_price() -> None:
    oracle = 100 * USDC
    maker_a = TradingAccount(orders=[
        resting(Side.BID, 99 * USDC, 2 * BASE, BASE // 2),
        resting(Side.BID, 98 * USDC, BASE),
        resting(Side.ASK, 101 * USDC, BASE),
        # Oracle-offset: 100 - 0.005 rounds down to 99.99 for a bid; 100 + 1.004 rounds up to 101.01 for an ask.
        resting(Side.BID, -5_000, BASE, kind=OrderKind.ORACLE_OFFSET),
        resting(Side.ASK, 1_004_000, 3 * BASE, kind=OrderKind.ORACLE_OFFSET),
    ])
    maker_b = TradingAccount(orders=[
        resting(Side.BID, 99 * USDC, BASE),
        resting(Side.ASK, 101 * USDC, 2 * BASE, expiry_ts=2_000),
        # Left out: another market, still in its auction, GTT past, post-auction window past, a market order.
        dataclasses.replace(resting(Side.BID, 99 * USDC, BASE), market_index=1),
        resting(Side.BID, 99_500_000, BASE, auction_slots=50),
        resting(Side.ASK, 100_500_000, BASE, expiry_ts=1_000),
        resting(Side.ASK, 100_500_000, BASE, tif=TimeInForce.IOC, expiry_slot=30),
        resting(Side.BID, 120 * USDC, BASE, kind=OrderKind.MARKET),
    ])
    book = L2Book.from_accounts(0, [maker_a, maker_b], oracle, 40, 1_500, TICK)
    assert book.bids == [Level(99_990_000, BASE, 1), Level(99 * USDC, 5 * BASE // 2, 2), Level(98 * USDC, BASE, 1)]
    assert book.asks == [Level(101 * USDC, 3 * BASE, 2), Level(101_010_000, 3 * BASE, 1)]
    assert (book.best_bid, book.best_ask, book.spread, book.mid) == (Decimal("99.99"), Decimal(101), Decimal("1.01"), Decimal("100.495"))
    # Later the GTT ask at 101 has expired and the auctioning bid rests.
    later = L2Book.from_accounts(0, [maker_a, maker_b], oracle, 60, 2_000, TICK)
    assert later.asks[0] == Level(101 * USDC, BASE, 1)
    assert later.bids[0] == Level(99_990_000, BASE, 1) and later.bids[1] == Level(99_500_000, BASE, 1)


def test_empty_book_and_table() -> None:
    empty = L2Book.from_accounts(0, [], 100 * USDC, 1, 1, TICK)
    assert (empty.bids, empty.asks, empty.best_bid, empty.spread, empty.mid) == ([], [], None, None, None)
    book = L2Book.from_accounts(0, [TradingAccount(orders=[resting(Side.BID, 99 * USDC, 2 * BASE), resting(Side.BID, 98 * USDC, BASE),
                                                           resting(Side.ASK, 101 * USDC, BASE)])], 100 * USDC, 40, 0, TICK)
    lines = book.table().splitlines()
    assert "oracle 100.000000" in lines[0] and "bid" in lines[1] and "ask" in lines[1]
    assert "2.000000000" in lines[2] and "99.000000 | 101.000000" in lines[2]
    assert lines[3].endswith("98.000000 |")
    assert lines[-1] == "spread 2.000000  mid 100.000000"
    assert len(book.table(depth=1).splitlines()) == 4


def test_book_filters_select_accounts_with_open_orders() -> None:
    size, memcmp = trading.book_filters()
    assert size == 7488
    assert (memcmp.offset, memcmp.bytes) == (10, "2")  # base58 of 0x01


# ---------------------------------------------------------------- events

def test_fill_events_decode_from_logs() -> None:
    program = idl.program(trading.NAME)
    taker, maker = key(), key()
    values = {"fill_id": 4, "market_index": 0, "taker": taker, "taker_order_id": 9, "maker": maker, "maker_order_id": 2, "taker_side": 1,
              "price": 100 * USDC, "base": BASE, "quote": 100 * USDC, "taker_fee": 50_000, "maker_fee": -20_000, "slot": 77, "ts": 1_700_000_000}
    payload = idl.discriminator("event", "Fill") + program.coder.events.layouts["Fill"].build(values)
    logs = [f"Program {trading.PROGRAM_ID} invoke [1]", f"Program data: {base64.b64encode(payload).decode()}", f"Program {trading.PROGRAM_ID} success"]
    [event] = trading.parse_events(logs)
    fill = trading.Fill.from_event(event)
    assert fill == trading.Fill(4, 0, taker, 9, maker, 2, Side.ASK, 100 * USDC, BASE, 100 * USDC, 50_000, -20_000, 77, 1_700_000_000)


# ---------------------------------------------------------------- the client over RPC (local validator)

async def test_trading_client_over_rpc() -> None:
    async with run_in_background(paused=True, root=ROOT) as node:
        async with AsyncClient(node.rpc_url, commitment=Confirmed) as rpc:
            wallet, maker_owner, taker_owner, publisher = Keypair(), Keypair(), Keypair(), Keypair()
            for kp in (wallet, maker_owner, taker_owner, publisher):
                await rpc.request_airdrop(kp.pubkey(), 10 * 10**9)
            provider = Provider(rpc, Wallet(wallet))
            client, cc, coll, feeds = TradingClient(provider), core.CoreClient(provider), collateral.CollateralClient(provider), oracle.OracleClient(provider)
            usdc = Keypair()
            rent = (await rpc.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
            await cc.send(token.create_mint(wallet.pubkey(), usdc.pubkey(), wallet.pubkey(), 6, rent), [usdc])
            await cc.send([security.SecurityInstructions().initialize(wallet.pubkey()), cc.ix.initialize(wallet.pubkey(), usdc.pubkey())])
            await coll.send([coll.ix.create_collateral(wallet.pubkey(), usdc.pubkey(), None, Params(10_000, 10_000, 10**15))])
            feed = oracle.feed_address("SOL/USD")
            await feeds.send([feeds.ix.initialize_feed(wallet.pubkey(), "SOL/USD", -6, 30, [publisher.pubkey()])])

            async def publish(price: int = 100 * USDC) -> None:
                now = (await sysvar.fetch_clock(rpc)).unix_timestamp
                await feeds.send([feeds.ix.publish(publisher.pubkey(), feed, price, price // 10_000, now)], [publisher])

            await publish()
            params = dataclasses.replace(PARAMS, lot_size=1_000_000, min_order_size=10_000_000, auction_min_slots=2, auction_default_slots=5,
                                         post_auction_slots=100)
            await client.send([client.ix.create_market(wallet.pubkey(), 0, "SOL-PERP", feed, params)])
            view = await client.fetch_market_view(0)
            assert (view.symbol, view.status, view.tick_size, view.oracle_twap) == ("SOL-PERP", MarketStatus.ACTIVE, Decimal("0.01"), None)

            margins = {}
            for owner in (maker_owner, taker_owner):
                margin = await cc.create(owner, 0)
                await coll.open(owner, margin)
                ata = token.associated_address(owner.pubkey(), usdc.pubkey())
                await coll.send([token.create_associated_account(wallet.pubkey(), owner.pubkey(), usdc.pubkey()),
                                 token.mint_to_instruction(usdc.pubkey(), ata, wallet.pubkey(), 10_000 * USDC)])
                await coll.deposit(owner, margin, usdc.pubkey(), 10_000 * USDC)
                await client.open_trading_account(owner, margin)
                margins[owner.pubkey()] = margin
            maker, taker = margins[maker_owner.pubkey()], margins[taker_owner.pubkey()]

            # The maker quotes: an ask at 101 and a bid one dollar under the oracle.
            ask_id = await client.place_order(maker_owner, maker, OrderParams(0, Side.ASK, 2 * BASE, 101 * USDC, client_order_id=11))
            bid_id = await client.place_order(maker_owner, maker, OrderParams(0, Side.BID, BASE, -USDC, OrderKind.ORACLE_OFFSET))
            assert (ask_id, bid_id) == (1, 2)
            book = await client.fetch_book(0)
            assert (book.bids, book.asks) == ([Level(99 * USDC, BASE, 1)], [Level(101 * USDC, 2 * BASE, 1)])
            assert (book.best_bid, book.best_ask, book.mid) == (Decimal(99), Decimal(101), Decimal(100))

            # A market buy of 1.5 (worst price 102): its auction starts at the oracle; the maker
            # takes 0.5 of it at once at 100, the rest fills from the resting ask after the auction.
            taker_id = await client.place_order(taker_owner, taker, OrderParams(0, Side.BID, 3 * BASE // 2, 102 * USDC, OrderKind.MARKET, TimeInForce.IOC))
            assert (await client.fetch_book(0)).bids == book.bids  # a taker in its auction is not on the book
            made = await client.place_and_make(maker_owner, maker, taker, taker_id, MakerParams(100 * USDC, BASE // 2))
            [jit] = await client.fetch_fills(made)
            assert (jit.price, jit.base, jit.taker, jit.maker, jit.taker_side, jit.taker_order_id) == (100 * USDC, BASE // 2, taker, maker, Side.BID, taker_id)
            assert (jit.taker_fee, jit.maker_fee) == (25_000, -10_000)  # 5 bps, a 2 bps rebate
            before = (await rpc.get_slot()).value
            assert await ValidatorClock(node.rpc_url).warp(6) == before + 6
            await publish()
            filled = await client.fill_order(wallet, taker, taker_id, [(maker, ask_id)])
            [rest] = await client.fetch_fills(filled)
            assert (rest.price, rest.base, rest.maker_order_id, rest.quote) == (101 * USDC, BASE, ask_id, 101 * USDC)
            assert (await client.fetch_trading_account(taker)).orders == []
            assert (await client.fetch_book(0)).asks == [Level(101 * USDC, BASE, 1)]

            [long] = await client.fetch_positions(taker)
            [short] = await client.fetch_positions(maker)
            assert (long.base, long.entry_price) == (Decimal("1.5"), Decimal("100.666667"))
            assert (short.base, short.entry_price) == (Decimal("-1.5"), Decimal("100.666667"))
            assert long.unrealized_pnl == Decimal("-1") and short.unrealized_pnl == Decimal("1")
            report, on_chain = await coll.fetch_health(taker), await coll.fetch_health_view(taker)
            assert (report.result.init_health, report.result.maint_health) == (on_chain.init_health, on_chain.maint_health)
            assert long.liquidation_price == (None if report.result.liquidation_prices[0] is None else Decimal(report.result.liquidation_prices[0]).scaleb(-6))

            # The taker sells 0.5 back through an IOC auction the maker fills at 100: a realized
            # loss of 0.333334, and its three taker fees (0.025 + 0.0505 + 0.025) are realized in
            # the position too; settle_pnl pays them from its quote balance into the PnL pool.
            sell_id = await client.place_order(taker_owner, taker, OrderParams(0, Side.ASK, BASE // 2, 99 * USDC, tif=TimeInForce.IOC))
            await client.place_and_make(maker_owner, maker, taker, sell_id, MakerParams(100 * USDC, BASE // 2))
            [long] = await client.fetch_positions(taker)
            assert (long.base, long.realized_unsettled) == (Decimal(1), Decimal("-0.433834"))
            before = (await coll.fetch_balances(taker)).balance_of(usdc.pubkey())
            await client.settle_pnl(wallet, taker, 0)
            assert (await coll.fetch_balances(taker)).balance_of(usdc.pubkey()) == before - 433_834 == 10_000 * USDC - 433_834
            assert (await client.fetch_market(0)).pnl_pool == 433_834
            assert (await client.fetch_positions(taker))[0].realized_unsettled == 0

            # Quotes move and leave: modify keeps the id, cancels by client id and by id, then all.
            assert await client.modify_order(maker_owner, maker, bid_id, price=-2 * USDC) == bid_id
            assert (await client.fetch_book(0)).bids == [Level(98 * USDC, BASE, 1)]
            await client.cancel_by_client_id(maker_owner, maker, 11)
            await client.cancel_order(maker_owner, maker, bid_id)
            await client.cancel_orders(maker_owner, maker)
            assert (await client.fetch_book(0)).bids == (await client.fetch_book(0)).asks == []

            # Advanced orders over RPC: an iceberg shows its clip; a stop waits off the book until the
            # price reaches it, fired by anyone for the market's fee; a bracket, a scale ladder and a TWAP.
            ice = await client.place_iceberg_order(maker_owner, maker, OrderParams(0, Side.ASK, 10 * BASE, 103 * USDC), 2 * BASE)
            assert (await client.fetch_book(0)).asks == [Level(103 * USDC, 2 * BASE, 1)]
            stop = await client.place_trigger_order(taker_owner, taker, OrderParams(0, Side.ASK, BASE // 2, 90 * USDC, OrderKind.MARKET, TimeInForce.IOC),
                                                    TriggerParams(95 * USDC, TriggerCondition.BELOW))
            with pytest.raises(ProgramError) as not_due:
                await client.trigger_order(wallet, taker, stop, trading_address(maker))
            assert not_due.value.code == E["TriggerNotDue"]
            await ValidatorClock(node.rpc_url).warp(2)
            await publish(95 * USDC)
            fired = await client.trigger_order(wallet, taker, stop, trading_address(maker))
            [ev] = [e for e in parse_events(await client.fetch_logs(fired), client.program) if e.name == "OrderTriggered"]
            assert (ev.data.fee, ev.data.order.order_id) == (params.trigger_fee, stop)
            assert (await client.fetch_order(taker, stop)).live
            entry = await client.place_bracket(taker_owner, taker, OrderParams(0, Side.BID, BASE // 2, 94 * USDC), stop_loss=ExitParams(90 * USDC, 89 * USDC))
            ladder = await client.place_scale_orders(maker_owner, maker, ScaleParams(0, Side.BID, 4, BASE, 93 * USDC, 90 * USDC))
            twap = await client.place_twap_order(taker_owner, taker, TwapParams(0, Side.BID, BASE, 300, 30, 100))
            await client.crank_twap(wallet, taker, twap)
            account = await client.fetch_trading_account(taker)
            assert {o.order_id for o in account.orders} >= {entry, entry + 1, twap} and account.has_trigger == 1
            assert ladder > ice and (await client.fetch_order(taker, twap)).slices_done == 1
            await client.cancel_orders(maker_owner, maker)
            await client.cancel_orders(taker_owner, taker)
            await ValidatorClock(node.rpc_url).warp(2)
            await publish()
            with pytest.raises(ProgramError) as too_early:
                await client.simulate([client.ix.update_funding(0, feed)])
            assert too_early.value.code == E["FundingTooEarly"]
            with pytest.raises(ProgramError) as nothing:
                await client.simulate([client.ix.expire_orders(wallet.pubkey(), maker)])
            assert nothing.value.code == E["NothingToExpire"]
            market_now = await client.fetch_market_view(0)
            assert (market_now.open_interest, market_now.last_fill_price) == (Decimal(1), Decimal(100))
