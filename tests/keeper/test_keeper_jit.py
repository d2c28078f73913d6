"""The JIT maker bot end to end against the local validator over real RPC and PubSub: takers'
market orders placed over RPC are made with place_and_make during their auctions at the auction
price of the slot they land in, within the maker's spread of the oracle; an auction outside the
spread waits until its price comes into it (or is never made), a negative spread makes one
below the oracle at once; bad parameters named; the inventory and per-fill
notional limits; its own and its owner's orders, and accounts being liquidated, refused; two
makers racing for one order (one lands, the other a lost race); auction_to_fill's latencies."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from quantdesk.clients import core, trading
from quantdesk.clients.trading import Fill, auction_price
from quantdesk.clients.trading_state import Order
from quantdesk.keeper.config import InvalidValue, MissingKey, SenderConfig
from quantdesk.keeper.jit_maker import JitBot, JitFill
from quantdesk.keeper.logs import Log
from quantdesk.keeper.params import Table
from quantdesk.keeper.runtime import Keeper, running
from solders.signature import Signature

from quantdesk.bench.keeper_jit import auction_to_fill
from quantdesk.localnet.venue_node import WAIT, Node, node_with, until
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PRICE, USDC, Trader, Venue, order, poke

LIMITS = {"spread_bps": 0, "max_inventory": 1_000 * BASE, "max_fill_notional": 1_000_000 * USDC}


def bot(k: Keeper) -> JitBot:
    b = k.bots["jit"]
    assert isinstance(b, JitBot)
    return b


def fills(k: Keeper, outcome: str = "landed") -> float:
    return k.metrics.jit_fills.labels("0", outcome)._value.get()


def refusals(k: Keeper, reason: str) -> float:
    return k.metrics.jit_refusals.labels("0", reason)._value.get()


def base_of(k: Keeper, margin: object) -> int:
    account = bot(k).view.trading.get(margin)  # type: ignore[call-overload]
    position = account.position(0) if account is not None else None
    return position.base if position is not None else 0


def made(k: Keeper, taker: Trader) -> int:
    """The base of the taker's orders the bot's confirmed fills made (the cache may show a fill first)."""
    return sum(f.size for f in bot(k).fills if f.taker == taker.margin)


def seen_order(k: Keeper, taker: Trader) -> Order | None:
    """The taker's order the bot tracks in its auction."""
    b = bot(k)
    account = b.view.trading.get(taker.margin) if hasattr(b, "view") else None
    ids = {i for m, i in b.seen if m == taker.margin}
    return next((o for o in account.orders if o.order_id in ids), None) if account is not None else None


async def market_order(node: Node, t: Trader, side: Any, size: int, price: int, *, auction: tuple[int, int, int] | None = None,
                       reduce_only: bool = False) -> None:
    """`t` places a market IOC order over RPC (confirmed)."""
    await node.send([node.venue.place_ix(t, order(side, MARKET, IOC, size=size, price=price, auction=auction, reduce_only=reduce_only))], t.owner)


async def fill_event(node: Node, signature: Signature | None) -> Fill:
    assert signature is not None
    tx = (await node.client.get_transaction(signature, max_supported_transaction_version=0)).value
    assert tx is not None and tx.transaction.meta is not None
    [fill] = [Fill.from_event(e) for e in trading.parse_events(list(tx.transaction.meta.log_messages or [])) if e.name == "Fill"]
    return fill


def jit_keeper(node: Node, tmp: Path, maker: Trader, **params: Any) -> Any:
    return node.keeper(tmp, maker.owner, {"jit": {**LIMITS, **params}})


@asynccontextmanager
async def muted_keeper(node: Node, tmp: Path, maker: Trader, **params: Any) -> AsyncIterator[Keeper]:
    """A JIT keeper that checks a confirmation's status soon (muted notifications withhold the signature's)."""
    config = replace(node.keeper_config(tmp, maker.owner, {"jit": {**LIMITS, **params}}), sender=SenderConfig(confirm_timeout_secs=0.3))
    async with running(config, Log(level="warning")) as k:
        await asyncio.wait_for(k.cache.live.wait(), WAIT)
        yield k


async def test_a_market_order_is_made_within_its_auction_at_the_auction_price_in_fills_within_the_notional_cap(tmp_path: Path) -> None:
    v = Venue()
    maker, taker = v.trader(1_000_000 * USDC), v.trader(10_000 * USDC)
    async with node_with(v) as node, jit_keeper(node, tmp_path, maker, max_fill_notional=500 * USDC) as k:
        await node.publish(PRICE)
        await market_order(node, taker, BID, 8 * BASE, 102 * USDC)
        await until(lambda: made(k, taker) == 8 * BASE and base_of(k, taker.margin) == 8 * BASE, "the bid made in full")
        assert base_of(k, maker.margin) == -8 * BASE
        landed = list(bot(k).fills)
        assert len(landed) >= 2 and sum(f.size for f in landed) == 8 * BASE  # 500 USDC a fill: 4.901 base at the auction end, 102
        tick = bot(k).view.markets[0].tick_size
        for f in landed:
            event = await fill_event(node, f.signature)
            assert (event.taker, event.maker, event.base, event.slot) == (taker.margin, maker.margin, f.size, f.slot)
            assert event.price == auction_price(f.order, f.slot, tick) >= PRICE  # the auction's price where it landed, not below the oracle
            assert f.slot < f.order.placed_slot + f.order.auction_slots  # within the auction
            assert event.quote <= 500 * USDC
        assert fills(k) == len(landed) and fills(k, "failed") == 0
        assert len(bot(k).latencies) == len(landed) and all(0 < s < 5 for s in bot(k).latencies)
        assert k.metrics.auction_to_fill.labels("0")._sum.get() > 0


async def test_an_auction_outside_the_spread_waits_until_its_price_comes_into_it_or_is_never_made(tmp_path: Path) -> None:
    v = Venue()
    maker, early, never = v.trader(1_000_000 * USDC), v.trader(10_000 * USDC), v.trader(10_000 * USDC)
    async with node_with(v) as node, jit_keeper(node, tmp_path, maker, spread_bps=150) as k:
        await node.publish(PRICE)
        # 100 -> 102 over 10 slots: 101.5 (oracle + 150 bps) from the 8th slot on.
        await market_order(node, early, BID, 2 * BASE, 102 * USDC, auction=(PRICE, 102 * USDC, 10))
        # 100 -> 101: never 101.5.
        await market_order(node, never, BID, 2 * BASE, 101 * USDC, auction=(PRICE, 101 * USDC, 10))
        await until(lambda: seen_order(k, never) is not None, "the second auction seen")
        late = seen_order(k, never)
        assert late is not None
        await until(lambda: made(k, early) == 2 * BASE, "the first made once in the spread")
        [f] = bot(k).fills
        event = await fill_event(node, f.signature)
        assert f.slot >= f.order.placed_slot + 8 and event.price >= 101_500_000 and event.price == auction_price(f.order, f.slot, 10_000)
        await until(lambda: k.cache.slot > late.placed_slot + late.auction_slots, "the second auction over")
        await asyncio.sleep(0.3)  # a few slots more: nothing
        assert base_of(k, never.margin) == 0 and len(bot(k).fills) == 1
        assert refusals(k, "outside_spread") == 2  # each order once, however many slots it waited


async def test_a_negative_spread_makes_an_auction_below_the_oracle_at_once(tmp_path: Path) -> None:
    v = Venue()
    maker, taker = v.trader(1_000_000 * USDC), v.trader(10_000 * USDC)
    async with node_with(v) as node, jit_keeper(node, tmp_path, maker, spread_bps=-100) as k:
        await node.publish(PRICE)
        # A bid auction from 99 (1% under the oracle) up to 101 over 20 slots: an aggressive maker sells from 99 on.
        await market_order(node, taker, BID, BASE, 101 * USDC, auction=(99 * USDC, 101 * USDC, 20))
        await until(lambda: made(k, taker) == BASE, "the bid made")
        [f] = bot(k).fills
        event = await fill_event(node, f.signature)
        assert 99 * USDC <= event.price == auction_price(f.order, f.slot, 10_000) < PRICE
        assert f.slot <= f.order.placed_slot + 5  # at once, not when the auction crossed the oracle (its 10th slot)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(MissingKey, match="bots.jit.max_inventory"):
        JitBot()._limits(Table({"max_fill_notional": 1}, "bots.jit"))
    with pytest.raises(InvalidValue, match="bots.jit.spread_bps"):
        JitBot()._limits(Table({**LIMITS, "spread_bps": 20_000}, "bots.jit"))
    with pytest.raises(InvalidValue, match="bots.jit.markets: expected market indices"):
        JitBot()._limits(Table({**LIMITS, "markets": {"SOL": {}}}, "bots.jit"))
    with pytest.raises(InvalidValue, match="unknown keys: spread"):
        JitBot()._limits(Table({**LIMITS, "markets": {"0": {"spread": 5}}}, "bots.jit"))
    default, markets = JitBot()._limits(Table({**LIMITS, "markets": {"1": {"max_inventory": 5}}}, "bots.jit"))
    assert markets == {1: replace(default, max_inventory=5)}


async def test_inventory_limit_makes_a_second_taker_partly_and_a_third_not_while_a_reducing_fill_goes(tmp_path: Path) -> None:
    v = Venue()
    maker = v.trader(1_000_000 * USDC)
    first, second, third, seller = (v.trader(10_000 * USDC) for _ in range(4))
    async with node_with(v) as node, jit_keeper(node, tmp_path, maker, max_inventory=10 * BASE) as k:
        await node.publish(PRICE)
        # Both at once: the first's fill in flight counts against the room for the second.
        await asyncio.gather(market_order(node, first, BID, 8 * BASE, 102 * USDC), market_order(node, second, BID, 8 * BASE, 102 * USDC))
        await until(lambda: base_of(k, maker.margin) == -10 * BASE and base_of(k, first.margin) + base_of(k, second.margin) == 10 * BASE,
                    "the maker short its limit")
        assert sorted([base_of(k, first.margin), base_of(k, second.margin)]) == [2 * BASE, 8 * BASE]
        await market_order(node, third, BID, 3 * BASE, 102 * USDC)
        await until(lambda: refusals(k, "inventory") >= 1, "the third refused")
        assert base_of(k, third.margin) == 0
        await until(lambda: not bot(k).seen, "the bids' auctions over")  # else the room the ask makes would go to what is left of them
        await market_order(node, seller, ASK, 4 * BASE, 98 * USDC)  # the maker buys: back within its limit
        await until(lambda: base_of(k, maker.margin) == -6 * BASE and base_of(k, seller.margin) == -4 * BASE, "the ask made")
        assert base_of(k, third.margin) == 0 and fills(k, "failed") == 0


async def test_its_own_orders_its_owners_other_accounts_and_accounts_being_liquidated_are_not_made(tmp_path: Path) -> None:
    v = Venue()
    maker = v.trader(1_000_000 * USDC)
    sibling = v.trader(10_000 * USDC, sub_id=1, owner=maker.owner)
    liquidated, other = v.trader(10_000 * USDC), v.trader(1_000_000 * USDC)
    bought = v.placed_id(liquidated, order(BID, MARKET, IOC, size=2 * BASE, price=101 * USDC, auction=(PRICE, PRICE, 2)))
    assert v.place_and_make(other, liquidated, bought, PRICE, 2 * BASE).ok  # long 2
    poke(v.chain, liquidated.margin, core.STATUS_OFFSET, bytes([core.STATUS_BEING_LIQUIDATED]))
    honest = v.trader(10_000 * USDC)
    async with node_with(v) as node, jit_keeper(node, tmp_path, maker) as k:
        await node.publish(PRICE)
        await market_order(node, maker, BID, BASE, 102 * USDC)  # its own account
        await market_order(node, sibling, BID, BASE, 102 * USDC)  # its owner's sub-account 1
        await market_order(node, liquidated, ASK, 2 * BASE, 98 * USDC, reduce_only=True)  # the program would let it reduce
        await until(lambda: refusals(k, "self_trade") == 2 and refusals(k, "liquidating") == 1, "all three refused")
        await market_order(node, honest, BID, BASE, 102 * USDC)  # the bot is live: this one it makes
        await until(lambda: base_of(k, honest.margin) == BASE, "the honest taker made")
        assert base_of(k, sibling.margin) == 0 and base_of(k, liquidated.margin) == 2 * BASE and base_of(k, maker.margin) == -BASE
        assert k.metrics.transactions_sent.labels("jit")._value.get() == 1


async def test_two_makers_race_for_one_order_one_lands_and_the_other_counts_a_lost_race(tmp_path: Path) -> None:
    v = Venue()
    a_maker, b_maker, taker = v.trader(1_000_000 * USDC), v.trader(1_000_000 * USDC), v.trader(10_000 * USDC)
    async with (node_with(v) as node, muted_keeper(node, tmp_path, a_maker, spread_bps=100) as a,
                muted_keeper(node, tmp_path, b_maker, spread_bps=100) as b):
        await node.publish(PRICE)
        # In the spread (101) from its 10th slot: both have seen it well before.
        await market_order(node, taker, BID, 3 * BASE, 102 * USDC, auction=(PRICE, 102 * USDC, 20))
        await until(lambda: seen_order(a, taker) is not None and seen_order(b, taker) is not None, "both makers tracking the order")
        # Neither hears of the other's fill (its own confirmed by a status check): each sends, one loses on chain or in simulation.
        await node.call("qd_muteNotifications", True)
        try:
            await until(lambda: fills(a) + fills(b) + fills(a, "lost_race") + fills(b, "lost_race") >= 2, "both makers' outcomes")
            await asyncio.sleep(0.3)  # a few slots more: the loser does not retry the order it found gone
        finally:
            await node.call("qd_muteNotifications", False)
        assert (fills(a) + fills(b), fills(a, "lost_race") + fills(b, "lost_race"), fills(a, "failed") + fills(b, "failed")) == (1, 1, 0)
        loser = a if fills(a, "lost_race") else b
        assert loser.metrics.lost_races.labels("jit", "OrderNotFound")._value.get() == 1
        winner: JitFill = next(iter(bot(b if loser is a else a).fills))
        assert winner.size == 3 * BASE and (await fill_event(node, winner.signature)).price >= 101 * USDC


async def test_auction_to_fill_measures_each_fill_from_the_order_notification(tmp_path: Path) -> None:
    v = Venue()
    maker = v.trader(10_000_000 * USDC)
    takers = [v.trader(10_000 * USDC) for _ in range(6)]
    async with node_with(v) as node, jit_keeper(node, tmp_path, maker) as k:
        await node.publish(PRICE)
        figures = await auction_to_fill(node, k, takers, BASE)
        assert len(figures.samples) == len(takers) and 0 < figures.p50 <= figures.p99 < 5
        assert all(base_of(k, t.margin) == BASE for t in takers)
