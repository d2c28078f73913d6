"""The filler bot end to end against the local validator over real RPC and PubSub: a taker's
market order, once its auction is over, filled against the best resting makers in price order
(the taker's own other account and a maker beyond its limit left alone, the last maker used only
for what was left); a fill planned before the maker cancelled ends as a lost race
(OrderNotFound), the taker left unfilled."""
from __future__ import annotations

from pathlib import Path

from quantdesk.clients import trading
from quantdesk.clients.trading_state import TradingAccount, decode_trading_account
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.filler import FillerBot
from quantdesk.keeper.runtime import Keeper
from quantdesk.keeper.sender import Outcome

from quantdesk.localnet.venue_node import Node, node_with, until
from quantdesk.world import ASK, BASE, BID, IOC, LIMIT, MARKET, USDC, Trader, Venue, order


def fills(k: Keeper, outcome: str = "landed") -> float:
    return k.metrics.fills.labels(outcome)._value.get()


def account(k: Keeper, t: Trader) -> TradingAccount:
    return k.cache.stores["trading_account"][t.trading].value  # type: ignore[no-any-return]


def base(k: Keeper, t: Trader) -> int:
    position = account(k, t).position(0)
    return position.base if position is not None else 0


def resting(v: Venue, t: Trader, size: int, price: int) -> int:
    """`t` rests an ask of `size` at `price` (above the oracle: no auction)."""
    return v.placed_id(t, order(ASK, LIMIT, size=size, price=price))


async def on_chain(node: Node, t: Trader) -> TradingAccount:
    info = await node.client.get_account_info(t.trading)
    assert info.value is not None
    return decode_trading_account(bytes(info.value.data))


async def place_taker(node: Node, t: Trader, size: int, limit: int) -> int:
    """`t` sends a market bid (its auction from the oracle to `limit`, 10 slots) over RPC; its id."""
    v = node.venue
    await node.publish(100 * USDC)  # a fresh oracle price to place it against
    order_id = v.account(t).next_order_id  # the node holds the account as the venue built it
    await node.send([v.trading.place_order(t.owner.pubkey(), t.margin, order(BID, MARKET, IOC, size=size, price=limit), v.feeds[0], v.usdc,
                                           v.health(t.margin, 0))], t.owner)
    assert trading.find_order(await on_chain(node, t), order_id) is not None
    return order_id


async def test_a_taker_past_its_auction_is_filled_against_the_best_makers_only(tmp_path: Path) -> None:
    v = Venue()
    taker = v.trader()
    own = v.trader(owner=taker.owner, sub_id=1)  # the taker's owner's other account: a self-trade
    best, second, third, beyond = v.trader(), v.trader(), v.trader(), v.trader()
    resting(v, own, 10 * BASE, 100_100_000)
    resting(v, best, 5 * BASE, 100_200_000)
    resting(v, second, 10 * BASE, 100_500_000)
    third_id = resting(v, third, 10 * BASE, 100_800_000)
    beyond_id = resting(v, beyond, 10 * BASE, 101_500_000)  # past the taker's limit
    keeper = v.chain.keypair()
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"filler": {"interval_secs": 0.1}}) as k:
        await until(lambda: hasattr(k.bots["filler"], "view"), "the filler started")
        order_id = await place_taker(node, taker, 20 * BASE, 101 * USDC)
        await until(lambda: base(k, taker) == 20 * BASE and fills(k) == 1, "the taker filled")
        # Best price first: 5 at 100.20, 10 at 100.50, and only the 5 left at 100.80.
        assert (base(k, best), base(k, second), base(k, third)) == (-5 * BASE, -10 * BASE, -5 * BASE)
        assert [(o.order_id, o.base_size - o.base_filled) for o in account(k, third).orders] == [(third_id, 5 * BASE)]
        quote = account(k, taker).position(0).quote_entry  # type: ignore[union-attr]
        assert quote == -(5 * 100_200_000 + 10 * 100_500_000 + 5 * 100_800_000)
        # Not used: the taker's own account (better priced) and the maker beyond its limit.
        assert base(k, own) == 0 and len(account(k, own).orders) == 1
        assert base(k, beyond) == 0 and [o.order_id for o in account(k, beyond).orders] == [beyond_id]
        assert trading.find_order(account(k, taker), order_id) is None
        assert (fills(k, "failed"), fills(k, "lost_race"), fills(k, "no_fill")) == (0, 0, 0)
        assert k.metrics.filled_base.labels("0")._value.get() == 20 * BASE


async def test_a_fill_planned_before_the_maker_cancelled_is_a_lost_race(tmp_path: Path) -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    maker_id = resting(v, maker, 10 * BASE, 100_500_000)
    keeper = v.chain.keypair()
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"risk": {}}) as k:  # the cache, no filler of its own
        filler = FillerBot()
        ctx = BotContext({}, k.cache, k.rpc, k.keypair, k.metrics, k.log, k.sender)
        filler.prepare(ctx)
        order_id = await place_taker(node, taker, 10 * BASE, 101 * USDC)
        await until(lambda: trading.find_order(account(k, taker), order_id) is not None, "the taker in the cache")
        taker_order = trading.find_order(account(k, taker), order_id)
        assert taker_order is not None
        await until(lambda: not trading.in_auction(taker_order, k.cache.slot), "the taker's auction over")
        clock = await node.call("qd_getClock")
        [plan] = filler.plan(keeper.pubkey(), clock["slot"], clock["unixTimestamp"])
        assert [(m.margin, m.order.order_id) for m, _ in plan.makers] == [(maker.margin, maker_id)]
        await node.send([v.trading.cancel_order(maker.owner.pubkey(), maker.margin, maker_id)], maker.owner)  # the maker cancels first
        result = await filler.send(ctx, plan)
        assert (result.outcome, result.error) == (Outcome.LOST_RACE, "OrderNotFound")
        assert (fills(k, "lost_race"), fills(k), fills(k, "failed")) == (1, 0, 0)
        assert k.metrics.lost_races.labels("filler", "OrderNotFound")._value.get() == 1
        assert trading.find_order(await on_chain(node, taker), order_id) is not None  # not filled


async def test_with_fewer_makers_an_instruction_the_next_pass_fills_the_rest_in_price_order(tmp_path: Path) -> None:
    v = Venue()
    taker = v.trader()
    best, second, third = v.trader(), v.trader(), v.trader()
    resting(v, best, 5 * BASE, 100_200_000)
    resting(v, second, 5 * BASE, 100_500_000)
    resting(v, third, 10 * BASE, 100_800_000)
    keeper = v.chain.keypair()
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"filler": {"interval_secs": 0.1, "max_makers": 2}}) as k:
        await until(lambda: hasattr(k.bots["filler"], "view"), "the filler started")
        await place_taker(node, taker, 15 * BASE, 101 * USDC)
        await until(lambda: base(k, taker) == 15 * BASE and fills(k) == 2, "the taker filled in two transactions")
        assert (base(k, best), base(k, second), base(k, third)) == (-5 * BASE, -5 * BASE, -5 * BASE)
        # Each pass waited for the cache to show the last one: no fill was sent twice.
        assert (fills(k, "failed"), fills(k, "lost_race"), fills(k, "no_fill")) == (0, 0, 0)
