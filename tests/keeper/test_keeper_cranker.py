"""The cranker bot end to end against the local validator over real RPC and PubSub: expired
orders (a GTT past its time, an IOC past its post-auction window) expired once the clock moves;
an expiry someone else sent first ends as a lost race (NothingToExpire); funding run once its
period has passed (and not before); PnL settled loser first, the winner then paid in full out
of what the loser paid in; a market's fees swept into the insurance fund."""
from __future__ import annotations

from pathlib import Path

from quantdesk.clients import core, sysvar
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.cranker import CrankerBot, expiries
from quantdesk.keeper.runtime import Keeper
from quantdesk.keeper.sender import Outcome

from quantdesk.localnet.venue_node import node_with, until
from quantdesk.world import ASK, BASE, BID, GTT, IOC, LIMIT, MARKET, USDC, Trader, Venue, order


def bot(k: Keeper) -> CrankerBot:
    b = k.bots["cranker"]
    assert isinstance(b, CrankerBot)
    return b


def cranks(k: Keeper, task: str, outcome: str = "landed") -> float:
    return k.metrics.cranks.labels(task, outcome)._value.get()


def context(k: Keeper) -> BotContext:
    """The context the keeper runs its cranker with."""
    return BotContext(k.config.bots["cranker"], k.cache, k.rpc, k.keypair, k.metrics, k.log, k.sender)


async def started(k: Keeper, rounds: int = 1) -> None:
    await until(lambda: hasattr(k.bots["cranker"], "view") and bot(k).rounds >= rounds, "the cranker's first rounds")


def open_orders(k: Keeper, t: Trader) -> int:
    account = bot(k).view.trading.get(t.margin)
    return len(account.orders) if account is not None else 0


def round_trip(v: Venue, winner: Trader, loser: Trader) -> None:
    """`winner` buys 10 from `loser` at about 100 and sells them back at about 102.6: both flat,
    the winner about 20 up and the loser about 21.6 down (fees included), nothing settled yet."""
    bought = v.placed_id(winner, order(BID, MARKET, IOC, size=10 * BASE, price=102 * USDC))
    v.advance(2)
    assert v.make_at_auction(loser, winner, bought, 10 * BASE).ok
    v.advance(2, price=103 * USDC)
    sold = v.placed_id(winner, order(ASK, MARKET, IOC, size=10 * BASE, price=101 * USDC))
    v.advance(2, price=103 * USDC)
    assert v.make_at_auction(loser, winner, sold, 10 * BASE).ok


async def test_expired_orders_are_expired_once_the_clock_passes_them(tmp_path: Path) -> None:
    v = Venue()
    gtt, ioc, resting = v.trader(), v.trader(), v.trader()
    now = v.chain.clock.unix_timestamp
    assert v.place(gtt, order(ASK, LIMIT, GTT, size=BASE, price=105 * USDC, expiry_ts=now + 30)).ok
    assert v.place(resting, order(ASK, LIMIT, size=BASE, price=106 * USDC)).ok  # GTC: never expires
    keeper = v.chain.keypair()  # the keeper's wallet (made before the venue is copied)
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"cranker": {"interval_secs": 0.1, "tasks": ["expire"]}}) as k:
        await started(k)
        # A market order with no maker: its auction and post-auction window (10 + 20 slots) run out.
        await node.publish(100 * USDC)
        await node.send([v.trading.place_order(ioc.owner.pubkey(), ioc.margin, order(BID, MARKET, IOC, size=BASE, price=102 * USDC), v.feeds[0],
                                               v.usdc, v.health(ioc.margin, 0))], ioc.owner)
        await until(lambda: open_orders(k, ioc) == 1, "the market order in the cache")
        assert (open_orders(k, gtt), cranks(k, "expire")) == (1, 0)  # nothing expired yet
        clock = await node.call("qd_getClock")
        await node.call("qd_warpSlot", clock["slot"] + 400)  # 40 s later: past both
        await until(lambda: open_orders(k, gtt) == 0 and open_orders(k, ioc) == 0 and cranks(k, "expire") >= 2, "both orders expired")
        assert cranks(k, "expire") == 2 and cranks(k, "expire", "failed") == 0
        assert open_orders(k, resting) == 1


async def test_an_expiry_someone_else_sent_first_is_a_lost_race(tmp_path: Path) -> None:
    v = Venue()
    gtt = v.trader()
    now = v.chain.clock.unix_timestamp
    assert v.place(gtt, order(ASK, LIMIT, GTT, size=BASE, price=105 * USDC, expiry_ts=now + 5)).ok
    keeper = v.chain.keypair()  # the keeper's wallet (made before the venue is copied)
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"cranker": {"tasks": ["funding"]}}) as k:
        await started(k)
        await node.call("qd_setClock", {"unixTimestamp": now + 10})
        clock = await sysvar.fetch_clock(node.client)
        [crank] = expiries(bot(k).view, k.keypair.pubkey(), clock.slot, clock.unix_timestamp)  # planned from the cache ...
        await node.send([v.trading.expire_orders(v.chain.payer.pubkey(), gtt.margin)])  # ... while another keeper's lands
        assert await bot(k).send(context(k), crank) == Outcome.LOST_RACE
        assert (cranks(k, "expire", "lost_race"), cranks(k, "expire", "failed")) == (1, 0)
        assert k.metrics.lost_races.labels("cranker", "NothingToExpire")._value.get() == 1


async def test_funding_runs_once_its_period_has_passed(tmp_path: Path) -> None:
    v = Venue()
    keeper = v.chain.keypair()  # the keeper's wallet (made before the venue is copied)
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"cranker": {"interval_secs": 0.1, "tasks": ["funding"]}}) as k:
        await started(k, rounds=5)
        market = bot(k).view.markets[0]
        assert cranks(k, "funding") == 0  # the period (an hour) has not passed
        due = market.last_funding_ts + market.funding_period_secs
        await node.call("qd_setClock", {"unixTimestamp": due})
        await node.publish(100 * USDC)  # update_funding reads a fresh oracle price
        # (the crank's confirmation, which the metric counts, may come a moment after the market's notification)
        await until(lambda: bot(k).view.markets[0].last_funding_ts >= due and cranks(k, "funding") == 1, "funding run")
        assert cranks(k, "funding", "failed") == 0
        rounds = bot(k).rounds
        await until(lambda: bot(k).rounds >= rounds + 5, "five more rounds")
        assert cranks(k, "funding") == 1  # the next period has not passed


async def test_pnl_is_settled_loser_first_and_the_winner_paid_from_the_pool(tmp_path: Path) -> None:
    v = Venue()
    winner, loser = v.trader(), v.trader()
    round_trip(v, winner, loser)
    won, lost = v.account(winner).positions[0].realized_pnl, v.account(loser).positions[0].realized_pnl
    fees = v.market().fee_pool
    assert won > 0 > lost and won + lost + fees == 0 and v.market().pnl_pool == 0
    keeper = v.chain.keypair()  # the keeper's wallet (made before the venue is copied)
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"cranker": {"interval_secs": 0.1, "tasks": ["settle"]}}) as k:
        await started(k)

        def settled() -> bool:
            view = bot(k).view
            return all(view.trading[t.margin].position(0) is None for t in (winner, loser))

        await until(lambda: settled() and cranks(k, "settle") >= 2, "both settled (their flat positions freed)")
        view = bot(k).view
        assert view.balances[loser.margin].balance_of(v.usdc) == 10_000 * USDC + lost
        assert view.balances[winner.margin].balance_of(v.usdc) == 10_000 * USDC + won
        market = view.markets[0]
        assert market.pnl_pool == fees and market.total_pnl_settled == lost + won  # what is left backs the fees
        # The winner was paid in one settlement: it was sent only once the loser had paid in.
        assert cranks(k, "settle") == 2 and cranks(k, "settle", "failed") == 0 and cranks(k, "settle", "lost_race") == 0
        await until(lambda: bot(k).rounds >= 5, "more rounds")
        assert cranks(k, "settle") == 2  # nothing left to settle


async def test_fees_are_swept_into_the_insurance_fund(tmp_path: Path) -> None:
    v = Venue()
    assert v.create_insurance_fund().ok
    v.fill_pools(0, liquidation_fees=30 * USDC, trading_fees=50 * USDC, pnl=100 * USDC)
    fund = v.insurance_fund()
    sweep = core.Sweep.of(fund.fee_share_bps, 30 * USDC, 50 * USDC, 100 * USDC)
    keeper = v.chain.keypair()  # the keeper's wallet (made before the venue is copied)
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"cranker": {"interval_secs": 0.1, "tasks": ["sweep"],
                                                                                      "sweep_min_quote": USDC}}) as k:
        await started(k)
        await until(lambda: bot(k).view.markets[0].fee_pool == 0 and cranks(k, "sweep") == 1, "the fees swept")
        market, after = bot(k).view.markets[0], bot(k).view.funds[v.usdc]
        assert (market.liquidation_fee_pool, market.pnl_pool, market.fees_swept) == (0, 20 * USDC, 80 * USDC)
        assert after.balance == fund.balance + sweep.to_insurance and after.total_swept == sweep.to_insurance
        assert cranks(k, "sweep") == 1 and cranks(k, "sweep", "failed") == 0
        assert (await node.client.get_token_account_balance(core.insurance_vault_address(v.usdc))).value.amount == str(sweep.to_insurance)
        rounds = bot(k).rounds
        await until(lambda: bot(k).rounds >= rounds + 5, "more rounds")
        assert cranks(k, "sweep") == 1  # the pools hold no fees any more
