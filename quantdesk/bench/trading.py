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

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.chain import TxResult
from quantdesk.clients.trading import ExitParams, OrderKind, OrderParams, ScaleParams, Side, TriggerCondition, TriggerParams, TwapParams
from quantdesk.clients.trading_state import MAX_ORDERS, MAX_POSITIONS
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PRICE, USDC, Trader, Venue, order
from quantdesk.world import VENUE_PARAMS as PARAMS

TARGETS = {"place_order_8": 20_000, "place_and_make_1": 40_000, "place_and_make_8": 40_000, "cancel_order": 6_000, "update_funding": 10_000,
           "trigger_order_8": 25_000, "crank_twap_8": 30_000, "place_scale_orders_32": 60_000}
TICK = PARAMS.tick_size
DEPOSIT = 100_000 * USDC


def venue(table: CuTable) -> Venue:
    """The programs initialized with a rate limit as a venue runs one (placements pay for their
    token bucket), USDC the quote, markets 0..7 at PRICE, each on its own feed."""
    v = Venue(markets=(), rate_limit=(64, 4_000), seed=BENCH_SEED)
    for k in range(MAX_POSITIONS):
        result = v.add_market(k, f"PERP{k}", params=PARAMS)
        if k == 0:
            table.record("create_market", result)
    # Timelocked: the figure is the proposal's execution (qd-security invoking the change).
    table.record("set_market_params", v.govern(v.trading.set_market_params(0, PARAMS)))
    return v


def ok(result: TxResult) -> TxResult:
    if not result.ok:
        raise RuntimeError(f"bench set-up failed: {result.error}\n" + "\n".join(result.logs))
    return result


def placed(v: Venue, table: CuTable, t: Trader, params: OrderParams, name: str | None = None) -> int:
    """Places the order (recording its CU as `name`) and returns its id."""
    result = v.place(t, params)
    table.record(name, result) if name else ok(result)
    return int.from_bytes(result.return_data, "little")


def make(v: Venue, table: CuTable, maker: Trader, taker: Trader, order_id: int, size: int, name: str | None = None) -> TxResult:
    """`maker` fills `size` of the taker's order at the auction's current price."""
    result = v.make_at_auction(maker, taker, order_id, size)
    return table.record(name, result) if name else ok(result)


def limit(market: int, side: Side, price: int, size: int = BASE, client_order_id: int = 0) -> OrderParams:
    return order(side, size=size, price=price, market=market, client_id=client_order_id)


def market_buy(market: int, size: int = BASE, worst: int = PRICE + USDC, auction: tuple[int, int, int] | None = None) -> OrderParams:
    return order(BID, MARKET, IOC, size, worst, market=market, auction=auction)


def advanced(v: Venue, table: CuTable, a: Trader, m: Trader) -> None:
    """The advanced orders by `a` (8 positions, its health list 14 accounts): a stop, a bracket,
    an iceberg and a TWAP placed, the stop triggered and the TWAP's first slice cranked (each fee
    to `m`); then a 32-order scale ladder on a fresh account."""
    stop = order(ASK, MARKET, IOC, size=BASE, price=PRICE - 5 * USDC)
    stop_id = int.from_bytes(table.record("place_trigger_order_8", v.place_trigger(a, stop, TriggerParams(PRICE - 2 * USDC, TriggerCondition.BELOW)))
                             .return_data, "little")
    entry = order(BID, size=BASE, price=PRICE - 4 * USDC)
    table.record("place_bracket_8", v.place_bracket(a, entry, ExitParams(PRICE + 5 * USDC, PRICE + 5 * USDC, OrderKind.LIMIT),
                                                    ExitParams(PRICE - 8 * USDC, PRICE - 9 * USDC)))
    table.record("place_iceberg_order_8", v.place_iceberg(a, order(ASK, size=10 * BASE, price=PRICE + 3 * USDC), BASE))
    twap = v.place_twap(a, TwapParams(0, Side.BID, BASE, 300, 30, 100))
    twap_id = int.from_bytes(table.record("place_twap_order_8", twap).return_data, "little")
    v.advance(1, PRICE - 2 * USDC, together=True)
    table.record("trigger_order_8", v.crank("trigger_order", m.owner, a, stop_id, m))
    table.record("crank_twap_8", v.crank("crank_twap", m.owner, a, twap_id, m))
    s = v.trader(DEPOSIT)
    ladder = ScaleParams(0, Side.BID, MAX_ORDERS, 32 * BASE, PRICE - 3 * USDC, PRICE - 3 * USDC - 31 * 10 * TICK)
    table.record("place_scale_orders_32", v.place_scale(s, ladder))


def curve(table: CuTable) -> list[int]:
    """Increments of place_order_1..8: the cost of each extra position in the health check."""
    values = [table.cu[f"place_order_{n}"] for n in range(1, MAX_POSITIONS + 1)]
    return [b - a for a, b in zip(values, values[1:])]


def measure() -> CuTable:
    table = CuTable("qd_trading", TARGETS)
    v = venue(table)
    fresh = v.trader(DEPOSIT, trading=False)
    table.record("open_trading_account", v.send([v.trading.open_trading_account(fresh.owner.pubkey(), fresh.margin)], fresh.owner))
    placed(v, table, fresh, limit(0, Side.BID, PRICE - USDC), "place_order_0")
    # The fills below happen late in the first funding period, so its crank sees a premium.
    v.advance(1, seconds=PARAMS.funding_period_secs - 600, together=True)

    # The desk account `a` goes long in each market against `m` (both then hold 8 positions),
    # both keep a bid and an ask resting there, and `a` places a limit in market 0 after each.
    a, m = v.trader(DEPOSIT), v.trader(DEPOSIT)
    for k in range(MAX_POSITIONS):
        buy = placed(v, table, a, market_buy(k, auction=(PRICE + 10 * TICK, PRICE + USDC, 10)))
        v.advance(2, together=True)
        make(v, table, m, a, buy, BASE)
        for t in (a, m):
            placed(v, table, t, limit(k, Side.BID, PRICE - 2 * USDC))
            placed(v, table, t, limit(k, Side.ASK, PRICE + 2 * USDC))
        placed(v, table, a, limit(0, Side.BID, PRICE - 3 * USDC), f"place_order_{k + 1}")
    table.derive("place_order_per_position", max(curve(table)))
    resting = v.account(a).orders[-1].order_id
    v.advance(1, together=True)
    table.record("modify_order_8", v.chain.send([v.trading.modify_order(a.owner.pubkey(), a.margin, 0, v.feeds[0], v.usdc, resting, v.health(a.margin, 0),
                                                                   price=PRICE - 4 * USDC, base_size=2 * BASE)], [a.owner]))
    buy = placed(v, table, a, market_buy(0), "place_order_market_8")
    v.advance(3, together=True)
    make(v, table, m, a, buy, BASE, "place_and_make_8")
    advanced(v, table, a, m)

    # One position on each side: a fresh taker's market order (2, half filled, the rest expires).
    taker, maker = v.trader(DEPOSIT), v.trader(DEPOSIT)
    buy_1 = placed(v, table, taker, market_buy(0, 2 * BASE), "place_order_market")
    v.advance(3, together=True)
    make(v, table, maker, taker, buy_1, BASE, "place_and_make_1")

    # Resting asks above the oracle; takers cross them with limit IOC bids, filled after their auction.
    asks = [(v.trader(DEPOSIT), PRICE + (i + 1) * 100 * TICK) for i in range(4)]
    ask_ids = [placed(v, table, t, limit(0, Side.ASK, price, 2 * BASE if i == 0 else BASE)) for i, (t, price) in enumerate(asks)]
    makers = [(t, i) for (t, _), i in zip(asks, ask_ids)]
    ioc = order(BID, tif=IOC, price=PRICE + 100 * TICK)
    taker_1 = v.trader(DEPOSIT)
    one = placed(v, table, taker_1, ioc)
    taker_4 = v.trader(DEPOSIT)
    four = placed(v, table, taker_4, order(BID, tif=IOC, size=4 * BASE, price=PRICE + 400 * TICK))
    v.advance(PARAMS.auction_default_slots, together=True)
    table.record("fill_order_1", v.fill(taker_1, one, makers[:1]))
    table.record("fill_order_4", v.fill(taker_4, four, makers))

    # Cancels on a full account: the first order (every later one moves down), the last by client id, then all 32.
    c = v.trader(DEPOSIT)
    ids = [placed(v, table, c, limit(0, Side.BID, PRICE - (i + 1) * 10 * TICK, client_order_id=1_000 + i)) for i in range(MAX_ORDERS)]
    table.record("cancel_order", v.chain.send([v.trading.cancel_order(c.owner.pubkey(), c.margin, ids[0])], [c.owner]))
    placed(v, table, c, limit(0, Side.BID, PRICE - 10 * TICK, client_order_id=999))
    table.record("cancel_order_by_client_id", v.chain.send([v.trading.cancel_order_by_client_id(c.owner.pubkey(), c.margin, 1_000 + MAX_ORDERS - 1)],
                                                           [c.owner]))
    placed(v, table, c, limit(0, Side.BID, PRICE - 5 * TICK))
    assert len(v.account(c).orders) == MAX_ORDERS
    table.record("cancel_orders_32", v.chain.send([v.trading.cancel_orders(c.owner.pubkey(), c.margin)], [c.owner]))

    # The period's end: the crank (the fills above the oracle are the mark), then `a` settles the funding it owes.
    v.advance(PARAMS.post_auction_slots + 1, seconds=v.market(0).last_funding_ts + PARAMS.funding_period_secs - v.chain.clock.unix_timestamp,
              together=True)
    table.record("update_funding", v.chain.send([v.trading.update_funding(0, v.feeds[0])]))
    assert v.market(0).last_funding_delta > 0
    table.record("settle_pnl", v.chain.send([v.trading.settle_pnl(v.admin.pubkey(), a.margin, 0, v.usdc)]))
    table.record("expire_orders", v.chain.send([v.trading.expire_orders(v.admin.pubkey(), taker.margin)]))
    empty = v.trader(deposit=0)
    table.record("close_trading_account", v.chain.send([v.trading.close_trading_account(empty.owner.pubkey(), empty.margin)], [empty.owner]))
    return table
