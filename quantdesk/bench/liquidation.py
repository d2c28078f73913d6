"""Liquidation CU scenarios: qd-core's steps with their CPIs into qd-trading and qd-collateral,
in LiteSVM (BENCH_SEED keys), on accounts as large as the programs allow.

`liquidate_perp_8`: an account long 95 in market 0 and 1 in each of markets 1..7 (each market
on its own feed), market 0's feed shocked to 88, liquidated there; `liquidate_perp_1`: an
account long 95 in market 0 only. Both steps search their size (the whole position would more
than restore the end health), the liquidator's list after the step is empty (it holds USDC and
the step's market, a fixed account). `liquidate_orders_32`: an account with 32 open orders in
its one market; `liquidate_orders_32_8`: the 8-position account with 4 orders in each market
(the 32-order budget holds for both). `liquidate_collateral_n`: an
account holding n non-quote collaterals (each on its own feed, SOL_PARAMS' 5% discount; the
quote cannot be held at this step: a positive balance must be settled first, a zero one is
dropped) whose perp was liquidated flat by a shock and settled, leaving a debt; one collateral
is taken for it. `resolve_bankruptcy`: a flat account owing more than the insurance fund holds
(the fund pays all of it, the rest is socialized). `view_liquidation_8` and `exit_liquidation`
read the 8-position account's whole list (no target); `set_liquidation_buffer` is the timelocked
proposal's execution. The issue's budgets are the TARGETS."""
from __future__ import annotations

from solders.pubkey import Pubkey

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.chain import TxResult
from quantdesk.clients import trading_state as ts
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, SOL, SOL_PARAMS, SOL_PRICE, USDC, Trader, Venue, order
from quantdesk.world import VENUE_PARAMS as PARAMS

TARGETS = {"liquidate_perp_8": 60_000, "liquidate_collateral_8": 50_000, "resolve_bankruptcy": 30_000, "liquidate_orders_32": 25_000,
           "liquidate_orders_32_8": 25_000}
SIZE = 95 * BASE
"""The position liquidated: 95 base bought near 100.4 with 1,450 USDC of margin, liquidatable
after a shock to 88 (maintenance 5%) but not insolvent: taking all of it would leave the
liquidation-end health positive, so the step's size is searched (the bisection over lots, the
step's largest cost)."""
MARGIN = 1_450 * USDC
SHOCK = 88 * USDC
SMALL = BASE
"""The 8-position account's other seven positions: 1 base each, 15 USDC of margin each."""
SMALL_MARGIN = 15 * USDC
ORDERS_PER_MARKET = ts.MAX_ORDERS // ts.MAX_POSITIONS


def ok(result: TxResult) -> TxResult:
    if not result.ok:
        raise RuntimeError(f"bench set-up failed: {result.error}\n" + "\n".join(result.logs))
    return result


def venue(markets: int = ts.MAX_POSITIONS) -> Venue:
    """Markets 0..markets-1 at PRICE, each on its own feed."""
    v = Venue(markets=(), seed=BENCH_SEED)
    for k in range(markets):
        v.add_market(k, f"PERP{k}", params=PARAMS)
    return v


def go_long(v: Venue, t: Trader, maker: Trader, market: int, size: int = SIZE) -> None:
    """`t` buys `size` in `market` with a market order `maker` fills two slots into its auction."""
    bid = v.placed_id(t, order(BID, MARKET, IOC, size=size, price=102 * USDC, market=market))
    v.advance(2, together=True)
    ok(v.make_at_auction(maker, t, bid, size))


def list_assets(v: Venue, count: int) -> list[Pubkey]:
    """`count` 9-decimal mints listed with SOL_PARAMS, each priced by a feed of its own at SOL_PRICE."""
    mints = []
    for k in range(count):
        mint = v.chain.create_mint(9)
        feed = v.add_feed(f"ASSET{k}/USD", SOL_PRICE)
        ok(v.send([v.collateral.create_collateral(v.admin.pubkey(), mint, feed, SOL_PARAMS)]))
        mints.append(mint)
    return mints


def publish_assets(v: Venue, mints: list[Pubkey], price: int) -> None:
    """A fresh `price` on every asset's feed, in one transaction."""
    now = v.chain.clock.unix_timestamp
    feeds = [v.collateral_config(m).oracle for m in mints]
    ok(v.send([v.oracle.publish(v.publisher.pubkey(), f, price, price // 10_000, now) for f in feeds if f is not None], v.publisher))


def perps(table: CuTable) -> None:
    """set_liquidation_buffer, liquidate_orders_32 (and _32_8), liquidate_perp_1 and _8, view_liquidation_8, exit_liquidation."""
    v = venue()
    # Timelocked: the figure is the proposal's execution (qd-security invoking the change).
    table.record("set_liquidation_buffer", v.govern(v.core.set_liquidation_buffer(v.global_config().liquidation_buffer_bps)))
    maker = v.trader(10_000_000 * USDC)
    wide, narrow = v.trader(MARGIN + (ts.MAX_POSITIONS - 1) * SMALL_MARGIN), v.trader(MARGIN)
    go_long(v, wide, maker, 0)
    for k in range(1, ts.MAX_POSITIONS):
        go_long(v, wide, maker, k, SMALL)
    go_long(v, narrow, maker, 0)
    # Reduce-only asks far above the price: they add no margin.
    for k in range(ts.MAX_POSITIONS):
        for i in range(ORDERS_PER_MARKET):
            v.placed_id(wide, order(ASK, size=(SIZE if k == 0 else SMALL) // 8, price=(150 + i) * USDC, market=k, reduce_only=True))
    for i in range(ts.MAX_ORDERS):
        v.placed_id(narrow, order(ASK, size=BASE // 10, price=150 * USDC + i * PARAMS.tick_size, reduce_only=True))
    liquidator = v.trader(10_000_000 * USDC)
    v.publish(SHOCK)
    assert v.view_liquidation(wide.margin).liquidatable and v.view_liquidation(narrow.margin).liquidatable
    table.record("view_liquidation_8", v.send([v.core.view_liquidation(wide.margin, v.health(wide.margin))]))
    table.record("liquidate_orders_32", v.liquidate_orders(liquidator, narrow))
    table.record("liquidate_orders_32_8", v.liquidate_orders(liquidator, wide))
    table.record("liquidate_perp_8", v.liquidate_perp(liquidator, wide))
    table.record("liquidate_perp_1", v.liquidate_perp(liquidator, narrow))
    # The owner restores its margin: anyone ends the liquidation.
    v.fund(wide.owner, v.usdc, MARGIN)
    ok(v.deposit(wide, v.usdc, MARGIN))
    table.record("exit_liquidation", v.exit_liquidation(wide.margin))


def collaterals(table: CuTable) -> None:
    """liquidate_collateral_1 and _8."""
    v = venue(1)
    maker = v.trader(10_000_000 * USDC)
    liquidator = v.trader(10_000_000 * USDC)
    mints = list_assets(v, 8)
    accounts = {}
    for n in (1, 8):
        t = v.trader(0)
        for mint in mints[:n]:
            v.fund(t.owner, mint, 4 * SOL)
            ok(v.deposit(t, mint, 4 * SOL // n))
        accounts[n] = t
        go_long(v, t, maker, 0, 20 * BASE)
    v.advance(1, 70 * USDC, together=True)
    publish_assets(v, mints, SOL_PRICE)
    for n, t in accounts.items():
        while (view := v.view_liquidation(t.margin)).perps[0].base:
            ok(v.liquidate_perp(liquidator, t))
        ok(v.settle(t))
        assert view.liquidatable and v.account(t).positions[0].realized_pnl < 0, view
        assert len(v.balances(t.margin).entries) == n
    for n, t in accounts.items():
        table.record(f"liquidate_collateral_{n}", v.liquidate_collateral(liquidator, t, mints[0]))


def bankruptcy(table: CuTable) -> None:
    """resolve_bankruptcy: the fund pays what it holds, the rest is socialized."""
    v = venue(1)
    maker = v.trader(10_000_000 * USDC)
    t = v.trader(MARGIN)
    go_long(v, t, maker, 0)
    ok(v.create_insurance_fund())
    staker = v.staker(500 * USDC)
    ok(v.stake(staker, 500 * USDC))
    liquidator = v.trader(10_000_000 * USDC)
    v.advance(1, 70 * USDC, together=True)
    while v.view_liquidation(t.margin).perps[0].base:
        ok(v.liquidate_perp(liquidator, t))
    ok(v.settle(t))
    assert -v.account(t).positions[0].realized_pnl > v.insurance_fund().balance > 0
    table.record("resolve_bankruptcy", v.resolve_bankruptcy(t))
    assert v.market().socialized_loss > 0


def measure() -> CuTable:
    table = CuTable("liquidation", TARGETS)
    perps(table)
    collaterals(table)
    bankruptcy(table)
    return table
