"""qd-trading CU scenarios: every instruction in LiteSVM, with qd-security (rate limit on),
qd-core, qd-oracle and qd-collateral deployed and 8 perp markets, each on its own qd-oracle feed.

The health check's cost grows with the account's positions: `place_order_n` is a resting limit
order in market 0 by an account holding n positions (market 0 and n - 1 others, each long with
a bid and an ask resting, so every other market's PerpMarket and oracle are in the health list);
`place_order_0` opens the account's first position. `place_and_make_n` fills a market order
during its auction with n positions on each side (both grow, so both are health-checked);
`fill_order_n` matches a taker after its auction with n resting makers. Cancels run on a full
account (32 orders). The issue's budgets are the TARGETS."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.bench.collateral import balances_on, config_on, market_on, trading_on
from quantdesk.bench.cu import CuTable
from quantdesk.chain import Chain, TxResult
from quantdesk.clients import collateral, core, oracle, security, token
from quantdesk.clients import trading as tr
from quantdesk.clients.collateral import Params
from quantdesk.clients.trading import AuctionParams, MakerParams, MarketParams, OrderKind, OrderParams, Side, TimeInForce
from quantdesk.clients.trading_state import MAX_ORDERS, MAX_POSITIONS, TradingAccount

TARGETS = {"place_order_8": 20_000, "place_and_make_1": 40_000, "place_and_make_8": 40_000, "cancel_order": 6_000, "update_funding": 10_000}
USDC, BASE = 10**6, 10**9
PRICE = 100 * USDC
TICK, LOT = 1_000, 1_000_000
PARAMS = MarketParams(tick_size=TICK, lot_size=LOT, min_order_size=LOT, init_margin_bps=1_000, maint_margin_bps=500, size_margin_factor=100_000_000,
                      upnl_init_weight_bps=5_000, upnl_maint_weight_bps=8_000, taker_fee_bps=5, maker_fee_bps=-1, max_open_interest=10**6 * BASE,
                      auction_min_slots=2, auction_default_slots=10, auction_max_slots=60, auction_max_deviation_bps=500, post_auction_slots=20,
                      funding_period_secs=3_600, funding_max_rate_bps=100, mark_band_bps=100,
                      mark_depth_base=10 * BASE, delegated_band_bps=50)


@dataclass(frozen=True)
class Trader:
    owner: Keypair
    margin: Pubkey


class Venue:
    """The programs initialized, USDC the quote, markets 0..7 at PRICE with their feeds."""

    def __init__(self, table: CuTable) -> None:
        self.table = table
        self.chain = Chain()
        self.ix = tr.TradingInstructions()
        self.cix, self.oix = collateral.CollateralInstructions(), oracle.OracleInstructions()
        sec, cor = security.SecurityInstructions(), core.CoreInstructions()
        self.core = cor
        self.admin = self.chain.payer
        self.usdc = self.chain.create_mint(6)
        # A rate limit as a venue runs one, so placements pay for their token bucket.
        self.send([sec.initialize(self.admin.pubkey(), timelock_delay=security.LOCAL_TIMELOCK_DELAY), cor.initialize(self.admin.pubkey(), self.usdc),
                   self.cix.create_collateral(self.admin.pubkey(), self.usdc, None, Params(10_000, 10_000, 10**15))])
        self.ok(security.enact(self.chain, self.admin, security.Change.set_rate_limit(64, 4_000)))
        self.publisher = self.chain.keypair()
        self.feeds = [oracle.feed_address(f"PERP{k}/USD") for k in range(MAX_POSITIONS)]
        self.send([self.oix.initialize_feed(self.admin.pubkey(), f"PERP{k}/USD", -6, 30, [self.publisher.pubkey()]) for k in range(MAX_POSITIONS)])
        self.publish()
        for k, feed in enumerate(self.feeds):
            result = self.chain.send([self.ix.create_market(self.admin.pubkey(), k, f"PERP{k}", feed, PARAMS)])
            self.table.record("create_market", result) if k == 0 else self.ok(result)
        # Timelocked: the figure is the proposal's execution (qd-security invoking the change).
        self.table.record("set_market_params", security.enact_instruction(self.chain, self.admin, self.ix.set_market_params(0, PARAMS)))

    @staticmethod
    def ok(result: TxResult) -> TxResult:
        if not result.ok:
            raise RuntimeError(f"bench set-up failed: {result.error}\n" + "\n".join(result.logs))
        return result

    def send(self, ixs: list[Instruction], *signers: Keypair) -> TxResult:
        return self.ok(self.chain.send(ixs, signers))

    def publish(self) -> None:
        """A fresh PRICE on every feed, one slot and one second later."""
        self.chain.advance(1, 1)
        now = self.chain.clock.unix_timestamp
        self.send([self.oix.publish(self.publisher.pubkey(), feed, PRICE, PRICE // 10_000, now) for feed in self.feeds], self.publisher)

    def advance(self, slots: int, seconds: int | None = None) -> None:
        """`slots` slots (and as many seconds unless given) later, prices fresh."""
        self.chain.advance(slots - 1, slots - 1 if seconds is None else seconds - 1)
        self.publish()

    def trader(self, deposit: int = 100_000 * USDC, record: bool = False) -> Trader:
        owner = self.chain.keypair()
        margin = core.margin_account_address(owner.pubkey(), 0)
        self.send([self.core.create_margin_account(owner.pubkey(), 0), self.cix.open_balances(owner.pubkey(), margin)], owner)
        result = self.chain.send([self.ix.open_trading_account(owner.pubkey(), margin)], [owner])
        self.table.record("open_trading_account", result) if record else self.ok(result)
        if deposit:
            ata = token.associated_address(owner.pubkey(), self.usdc)
            self.send([token.create_associated_account(self.admin.pubkey(), owner.pubkey(), self.usdc),
                       token.mint_to_instruction(self.usdc, ata, self.admin.pubkey(), deposit)])
            self.send([self.cix.deposit(owner.pubkey(), margin, self.usdc, deposit)], owner)
        return Trader(owner, margin)

    # -- reads
    def account(self, t: Trader) -> TradingAccount:
        account = trading_on(self.chain, t.margin)
        assert account is not None
        return account

    def health(self, t: Trader, market: int) -> list[Any]:
        """`t`'s health list for an instruction in `market`, from the chain's current state."""
        balances = balances_on(self.chain, t.margin)
        trading = trading_on(self.chain, t.margin)
        markets = {p.market_index: market_on(self.chain, p.market_index) for p in (trading.positions if trading is not None else [])}
        return tr.health_accounts(balances, {e.mint: config_on(self.chain, e.mint) for e in balances.entries}, trading, markets, market)

    # -- instructions
    def place(self, t: Trader, params: OrderParams) -> TxResult:
        m = params.market_index
        return self.chain.send([self.ix.place_order(t.owner.pubkey(), t.margin, params, self.feeds[m], self.usdc, self.health(t, m))], [t.owner])

    def placed(self, t: Trader, params: OrderParams, name: str | None = None) -> int:
        """Places the order (recording its CU as `name`) and returns its id."""
        result = self.place(t, params)
        self.table.record(name, result) if name else self.ok(result)
        return int.from_bytes(result.return_data, "little")

    def make(self, maker: Trader, taker: Trader, order_id: int, size: int, name: str | None = None) -> TxResult:
        """`maker` fills `size` of the taker's order at the auction's current price."""
        order = next(o for o in self.account(taker).orders if o.order_id == order_id)
        price = tr.auction_price(order, self.chain.clock.slot, TICK)
        m = order.market_index
        ix = self.ix.place_and_make(maker.owner.pubkey(), maker.margin, taker.margin, m, self.feeds[m], self.usdc, order_id, MakerParams(price, size),
                                    self.health(maker, m), self.health(taker, m))
        result = self.chain.send([ix], [maker.owner])
        return self.table.record(name, result) if name else self.ok(result)

    def fill(self, taker: Trader, order_id: int, makers: list[tuple[Trader, int]], name: str) -> TxResult:
        ix = self.ix.fill_order(self.admin.pubkey(), taker.margin, 0, self.feeds[0], self.usdc, order_id, [(m.margin, i) for m, i in makers],
                                self.health(taker, 0), [self.health(m, 0) for m, _ in makers])
        return self.table.record(name, self.chain.send([ix]))


def limit(market: int, side: Side, price: int, size: int = BASE, client_order_id: int = 0) -> OrderParams:
    return OrderParams(market, side, size, price, client_order_id=client_order_id)


def market_buy(market: int, size: int = BASE, worst: int = PRICE + USDC, auction: AuctionParams | None = None) -> OrderParams:
    return OrderParams(market, Side.BID, size, worst, kind=OrderKind.MARKET, tif=TimeInForce.IOC, auction=auction)


def curve(table: CuTable) -> list[int]:
    """Increments of place_order_1..8: the cost of each extra position in the health check."""
    values = [table.cu[f"place_order_{n}"] for n in range(1, MAX_POSITIONS + 1)]
    return [b - a for a, b in zip(values, values[1:])]


def measure() -> CuTable:
    table = CuTable("qd_trading", TARGETS)
    v = Venue(table)
    fresh = v.trader(record=True)
    v.placed(fresh, limit(0, Side.BID, PRICE - USDC), "place_order_0")
    # The fills below happen late in the first funding period, so its crank sees a premium.
    v.advance(1, PARAMS.funding_period_secs - 600)

    # The desk account `a` goes long in each market against `m` (both then hold 8 positions),
    # both keep a bid and an ask resting there, and `a` places a limit in market 0 after each.
    a, m = v.trader(), v.trader()
    for k in range(MAX_POSITIONS):
        buy = v.placed(a, market_buy(k, auction=AuctionParams(PRICE + 10 * TICK, PRICE + USDC, 10)))
        v.advance(2)
        v.make(m, a, buy, BASE)
        for t in (a, m):
            v.placed(t, limit(k, Side.BID, PRICE - 2 * USDC))
            v.placed(t, limit(k, Side.ASK, PRICE + 2 * USDC))
        v.placed(a, limit(0, Side.BID, PRICE - 3 * USDC), f"place_order_{k + 1}")
    table.derive("place_order_per_position", max(curve(table)))
    resting = v.account(a).orders[-1].order_id
    v.advance(1)
    table.record("modify_order_8", v.chain.send([v.ix.modify_order(a.owner.pubkey(), a.margin, 0, v.feeds[0], v.usdc, resting, v.health(a, 0),
                                                                   price=PRICE - 4 * USDC, base_size=2 * BASE)], [a.owner]))
    buy = v.placed(a, market_buy(0), "place_order_market_8")
    v.advance(3)
    v.make(m, a, buy, BASE, "place_and_make_8")

    # One position on each side: a fresh taker's market order (2, half filled, the rest expires).
    taker, maker = v.trader(), v.trader()
    buy_1 = v.placed(taker, market_buy(0, 2 * BASE), "place_order_market")
    v.advance(3)
    v.make(maker, taker, buy_1, BASE, "place_and_make_1")

    # Resting asks above the oracle; takers cross them with limit IOC bids, filled after their auction.
    asks = [(v.trader(), PRICE + (i + 1) * 100 * TICK) for i in range(4)]
    ask_ids = [v.placed(t, limit(0, Side.ASK, price, 2 * BASE if i == 0 else BASE)) for i, (t, price) in enumerate(asks)]
    makers = [(t, i) for (t, _), i in zip(asks, ask_ids)]
    ioc = OrderParams(0, Side.BID, BASE, PRICE + 100 * TICK, tif=TimeInForce.IOC)
    taker_1 = v.trader()
    one = v.placed(taker_1, ioc)
    taker_4 = v.trader()
    four = v.placed(taker_4, OrderParams(0, Side.BID, 4 * BASE, PRICE + 400 * TICK, tif=TimeInForce.IOC))
    v.advance(PARAMS.auction_default_slots)
    v.fill(taker_1, one, makers[:1], "fill_order_1")
    v.fill(taker_4, four, makers, "fill_order_4")

    # Cancels on a full account: the first order (every later one moves down), the last by client id, then all 32.
    c = v.trader()
    ids = [v.placed(c, limit(0, Side.BID, PRICE - (i + 1) * 10 * TICK, client_order_id=1_000 + i)) for i in range(MAX_ORDERS)]
    table.record("cancel_order", v.chain.send([v.ix.cancel_order(c.owner.pubkey(), c.margin, ids[0])], [c.owner]))
    v.placed(c, limit(0, Side.BID, PRICE - 10 * TICK, client_order_id=999))
    table.record("cancel_order_by_client_id", v.chain.send([v.ix.cancel_order_by_client_id(c.owner.pubkey(), c.margin, 1_000 + MAX_ORDERS - 1)],
                                                           [c.owner]))
    v.placed(c, limit(0, Side.BID, PRICE - 5 * TICK))
    assert len(v.account(c).orders) == MAX_ORDERS
    table.record("cancel_orders_32", v.chain.send([v.ix.cancel_orders(c.owner.pubkey(), c.margin)], [c.owner]))

    # The period's end: the crank (the fills above the oracle are the mark), then `a` settles the funding it owes.
    v.advance(PARAMS.post_auction_slots + 1, market_on(v.chain, 0).last_funding_ts + PARAMS.funding_period_secs - v.chain.clock.unix_timestamp)
    table.record("update_funding", v.chain.send([v.ix.update_funding(0, v.feeds[0])]))
    assert market_on(v.chain, 0).last_funding_delta > 0
    table.record("settle_pnl", v.chain.send([v.ix.settle_pnl(v.admin.pubkey(), a.margin, 0, v.usdc)]))
    table.record("expire_orders", v.chain.send([v.ix.expire_orders(v.admin.pubkey(), taker.margin)]))
    empty = v.trader(deposit=0)
    table.record("close_trading_account", v.chain.send([v.ix.close_trading_account(empty.owner.pubkey(), empty.margin)], [empty.owner]))
    return table
