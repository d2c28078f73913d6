"""The liquidator's incremental health index against a full re-judgement and the program itself:
a venue in LiteSVM (two markets, a collateral priced by market 0's feed, accounts long and short
in one or both markets, some holding the collateral) under random price paths and liquidation
steps, its accounts fed to the keeper's cache as notifications would be. After every move the
accounts the index holds liquidatable are exactly those the health mirror finds liquidatable
judging every account, and those the program's view_liquidation finds; a price move re-judges
only the accounts it can have changed."""
from __future__ import annotations

import random

from quantdesk.clients import liquidation
from quantdesk.keeper.cache import AccountCache, venue_types
from quantdesk.keeper.health_index import HealthIndex
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.view import VenueView
from solana.rpc.async_api import AsyncClient
from solders.pubkey import Pubkey

from quantdesk.world import ASK, BASE, BID, IOC, LOT, MARKET, PRICE, SOL, SOL_PARAMS, SOL_PRICE, USDC, VENUE_PARAMS, Trader, Venue, order

BTC = 30_000 * USDC


def cache_of(v: Venue) -> AccountCache:
    cache = AccountCache(AsyncClient("http://127.0.0.1:9"), "ws://127.0.0.1:9", venue_types(), Metrics(), Log(level="error"),
                         reconcile_secs=60, dead_after_secs=60)
    ingest(v, cache)
    return cache


def ingest(v: Venue, cache: AccountCache) -> None:
    """Every account of the chain as a notification at the chain's slot (unchanged ones are no change)."""
    slot = v.chain.clock.slot
    for key, account in v.chain.export().items():
        cache.ingest(key, account.owner, bytes(account.data), slot)


def position(v: Venue, taker: Trader, maker: Trader, market: int, base: int, price: int) -> None:
    side = BID if base > 0 else ASK
    limit = price * 102 // 100 if base > 0 else price * 98 // 100
    order_id = v.placed_id(taker, order(side, MARKET, IOC, size=abs(base), price=limit // USDC * USDC, market=market))
    v.chain.advance(2, 2)
    assert v.make_at_auction(maker, taker, order_id, abs(base)).ok


def portfolio(rng: random.Random) -> tuple[Venue, list[Trader], Trader]:
    v = Venue(asset=SOL_PARAMS, markets=(), seed=b"keeper health index")  # the same keys, so the same run, every time
    v.add_market(0, "SOL-PERP", PRICE, VENUE_PARAMS)
    v.add_market(1, "BTC-PERP", BTC, VENUE_PARAMS)
    maker = v.trader(10_000_000 * USDC)
    traders = []
    for _ in range(24):
        deposit = rng.randrange(300, 3_000)
        t = v.trader(deposit * USDC)
        if rng.random() < 0.3:
            v.fund(t.owner, v.sol, 5 * SOL)
            assert v.deposit(t, v.sol, rng.randrange(1, 5) * SOL).ok
        fresh(v, {0: PRICE, 1: BTC, v.sol_feed: SOL_PRICE})
        # 3x to 8x in market 0, and now and then up to 1x more in market 1 (10% initial margin).
        position(v, t, maker, 0, rng.choice([-1, 1]) * deposit * rng.randrange(30, 80) // 10 * BASE // (PRICE // USDC) // LOT * LOT, PRICE)
        if rng.random() < 0.35:
            fresh(v, {0: PRICE, 1: BTC, v.sol_feed: SOL_PRICE})
            position(v, t, maker, 1, rng.choice([-1, 1]) * max(deposit * rng.randrange(2, 10) // 10 * BASE // (BTC // USDC) // LOT, 10) * LOT, BTC)
        traders.append(t)
    return v, traders, v.trader(5_000_000 * USDC)


def fresh(v: Venue, prices: dict[int | Pubkey, int]) -> None:
    for feed, price in prices.items():
        v.publish(price, feed)


def exact(view: VenueView) -> set[Pubkey]:
    found = set()
    for margin, account in view.margins.items():
        h, _ = view.health(margin)
        if h.is_liquidatable(account.being_liquidated):
            found.add(margin)
    return found


def test_the_index_holds_exactly_the_liquidatable_accounts_over_random_price_paths_and_steps() -> None:
    rng = random.Random(9)
    v, traders, liquidator = portfolio(rng)
    cache = cache_of(v)
    view = VenueView(cache)
    verdicts: list[tuple[Pubkey, bool]] = []
    index = HealthIndex(view, lambda margin, liquidatable, _shortage, _at: verdicts.append((margin, liquidatable)))
    index.judge_all()
    assert len(index.exposure) == len(view.margins) == len(traders) + 2 and not index.unjudged
    prices: dict[int | Pubkey, int] = {0: PRICE, 1: BTC, v.sol_feed: SOL_PRICE}
    steps = seen_liquidatable = judged_on_moves = single_and_healthy = 0
    margins = [t.margin for t in traders]
    judged: list[Pubkey] = []
    judge = index.judge

    def recording(margin: Pubkey, at: float) -> None:
        judged.append(margin)
        judge(margin, at)

    index.judge = recording  # type: ignore[method-assign]
    for _ in range(120):
        moved = rng.choice(list(prices))
        prices[moved] = max(prices[moved] * rng.randrange(9_300, 10_700) // 10_000 // USDC * USDC, USDC)
        fresh(v, prices)
        before = set(index.liquidatable)
        judged.clear()
        ingest(v, cache)
        expected = exact(view)
        # A price move re-judges only accounts exposed to what moved, and never one with nothing
        # else at stake that was healthy before the move and is after it (an account still marked
        # as being liquidated is judged on every move: its end health decides, and it may exit).
        key = moved if isinstance(moved, int) else v.sol
        assert all(key in index.exposure[m] for m in judged)
        single_and_healthy += len(judged) - sum(1 for m in set(judged) if len(index.exposure[m]) > 1 or m in before or m in expected
                                                or view.margins[m].being_liquidated)
        judged_on_moves += len(judged)
        assert set(index.liquidatable) == expected
        seen_liquidatable += len(expected)
        for margin in rng.sample(margins, 4):
            assert v.view_liquidation(margin).liquidatable == (margin in expected)
        # A liquidator takes a step on one of them now and then: account changes re-judge.
        for margin in list(expected)[:1]:
            t = next(t for t in traders if t.margin == margin)
            lv = liquidation.view(*_inputs(view, margin))
            if any(p.max_base for p in lv.perps):
                market_index = max(lv.perps, key=lambda p: p.max_base).market_index
                if v.liquidate_perp(liquidator, t, market_index).ok:
                    steps += 1
                    ingest(v, cache)
                    assert set(index.liquidatable) == exact(view)
    assert steps > 0 and seen_liquidatable > 0
    assert single_and_healthy == 0 and judged_on_moves < 120 * len(view.margins) * 2 // 3


def _inputs(view: VenueView, margin: Pubkey) -> tuple:  # type: ignore[type-arg]
    state = view.health_state(margin)
    return (state.balances, view.configs, view.collateral_prices(), state.trading, view.markets, view.market_prices(), view.buffer_bps,
            view.margins[margin].status)
