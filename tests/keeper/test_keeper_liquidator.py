"""The liquidator bot end to end against the local validator over real RPC and PubSub: a price
shock makes accounts liquidatable and the keeper takes them through qd-core's steps (orders,
perp, settlement, bankruptcy) and de-risks what it took over; two keepers racing for one
account; every account liquidated though the validator drops every websocket as the shock
lands; failing RPC requests; a restarted keeper picks up where the old one stopped."""
from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from quantdesk.clients import core, liquidation
from quantdesk.clients.trading import FLAG_REDUCE_ONLY
from quantdesk.keeper.liquidator import LiquidatorBot
from quantdesk.keeper.runtime import Keeper

from quantdesk.localnet.venue_node import Node, node_with, until
from quantdesk.world import ASK, BASE, BID, IOC, LIMIT, MARKET, SOL, SOL_PARAMS, SOL_PRICE, USDC, Trader, Venue, order


def long_position(v: Venue, size: int = 95 * BASE, deposit: int = 1_300 * USDC, maker: Trader | None = None) -> Trader:
    """A leveraged long bought in its auction near 100 (made by `maker`, a rich short)."""
    long = v.trader(deposit)
    maker = maker or v.trader(1_000_000 * USDC)
    order_id = v.placed_id(long, order(BID, MARKET, IOC, size=size, price=102 * USDC))
    v.advance(2)
    assert v.make_at_auction(maker, long, order_id, size).ok
    return long


def base_of(node: Node, k: Keeper, margin: object) -> int:
    trading = bot(k).view.trading.get(margin)  # type: ignore[arg-type]
    position = trading.position(0) if trading is not None else None
    return position.base if position is not None else 0


def bot(k: Keeper) -> LiquidatorBot:
    b = k.bots["liquidator"]
    assert isinstance(b, LiquidatorBot)
    return b


def settled(k: Keeper, margin: object) -> bool:
    """Neither liquidatable nor being liquidated in the keeper's view of the chain."""
    b = bot(k)
    account = b.view.margins.get(margin)  # type: ignore[call-overload]
    return account is not None and not account.being_liquidated and margin not in b.index.liquidatable


def steps(k: Keeper, step: str, outcome: str = "landed") -> float:
    return k.metrics.liquidation_steps.labels(step, outcome)._value.get()


async def started(k: Keeper) -> None:
    await until(lambda: hasattr(k.bots["liquidator"], "index"), "the liquidator's first judgement")


async def test_a_shock_is_liquidated_step_by_step_orders_first_and_the_take_over_derisked(tmp_path: Path) -> None:
    v = Venue()
    long = long_position(v)
    assert v.place(long, order(ASK, LIMIT, size=10 * BASE, price=120 * USDC)).ok  # a resting order the first step takes off
    healthy = long_position(v, size=10 * BASE, deposit=5_000 * USDC)
    liquidator = v.trader(100_000 * USDC)
    async with node_with(v) as node, node.keeper(tmp_path, liquidator.owner, {"liquidator": {"slippage_bps": 200}}) as k:
        await started(k)
        assert not bot(k).index.liquidatable
        await node.publish(91 * USDC)
        # Counts follow each step's result, a moment after the cache shows what it did: waited for too.
        await until(lambda: base_of(node, k, long.margin) < 95 * BASE and settled(k, long.margin) and steps(k, "liquidate_orders") == 1
                    and steps(k, "liquidate_perp") >= 2, "the long liquidated")
        view = liquidation.view(*_inputs(k, long.margin))
        assert not view.liquidatable and view.liquidation_end_health >= 0
        assert base_of(node, k, healthy.margin) == 10 * BASE  # not exposed enough to be touched
        # What it took over it sold back reduce-only (an order in its auction, no maker yet).
        mine = bot(k).me
        await until(lambda: (t := bot(k).view.trading.get(mine)) is not None and bool(t.orders), "the de-risk order")
        taken = bot(k).view.trading[mine].position(0)
        await until(lambda: sum(o.base_size for o in bot(k).view.trading[mine].orders) == taken.base, "de-risk orders for all it took")  # type: ignore[union-attr]
        assert all(o.side == ASK and o.flags & FLAG_REDUCE_ONLY for o in bot(k).view.trading[mine].orders)


async def test_a_bankrupt_account_is_settled_and_resolved_by_the_insurance_fund(tmp_path: Path) -> None:
    v = Venue()
    assert v.create_insurance_fund().ok
    staker = v.staker()
    assert v.stake(staker, 5_000 * USDC).ok
    long = long_position(v)
    liquidator = v.trader(200_000 * USDC)
    async with node_with(v) as node, node.keeper(tmp_path, liquidator.owner, {"liquidator": {"derisk": False}}) as k:
        await started(k)
        await node.publish(78 * USDC)  # equity 1,300 - 95 x 22: about -800

        def resolved() -> bool:
            trading = bot(k).view.trading.get(long.margin)
            return trading is not None and all(p.base == 0 and p.realized_pnl == 0 for p in trading.positions) and settled(k, long.margin)

        # The step's count follows its result, a moment after the cache shows what it did.
        await until(lambda: resolved() and steps(k, "resolve_bankruptcy") == 1, "the bankruptcy resolved")
        assert steps(k, "settle_pnl") == 1
        fund = bot(k).view.funds[v.usdc]
        assert fund.balance < 5_000 * USDC


async def test_two_keepers_race_for_one_account_one_lands_and_the_other_counts_a_lost_race(tmp_path: Path) -> None:
    v = Venue()
    small = long_position(v, size=10 * BASE, deposit=120 * USDC)  # one step ends its liquidation
    first, second = v.trader(100_000 * USDC), v.trader(100_000 * USDC)
    async with (node_with(v) as node, node.keeper(tmp_path, first.owner, {"liquidator": {"derisk": False}}) as a,
                node.keeper(tmp_path, second.owner, {"liquidator": {"derisk": False}}) as b):
        await started(a)
        await started(b)
        await node.publish(92 * USDC)
        work = ("liquidate", small.margin)
        await until(lambda: all(settled(k, small.margin) and not k.sender.in_flight(work) for k in (a, b)), "both keepers done with it")
        landed = steps(a, "liquidate_perp") + steps(b, "liquidate_perp")
        lost = steps(a, "liquidate_perp", "lost_race") + steps(b, "liquidate_perp", "lost_race")
        failed = steps(a, "liquidate_perp", "failed") + steps(b, "liquidate_perp", "failed")
        assert (landed, failed) == (1, 0) and lost >= 1
        assert 0 < base_of(node, a, small.margin) < 10 * BASE  # the least part that ends the liquidation


async def test_none_missed_when_the_validator_drops_every_websocket_as_the_shock_lands(tmp_path: Path) -> None:
    v = Venue()
    maker = v.trader(10_000_000 * USDC)
    longs = [long_position(v, size=20 * BASE, deposit=(260 + 5 * i) * USDC, maker=maker) for i in range(6)]
    liquidator = v.trader(1_000_000 * USDC)
    async with node_with(v) as node, node.keeper(tmp_path, liquidator.owner, {"liquidator": {"derisk": False}}) as k:
        await started(k)
        reconnects = k.metrics.reconnects.labels("closed")._value.get()
        await node.call("qd_dropWebsockets")
        await node.publish(89_500_000)  # each long's equity still positive: liquidated, not bankrupt
        await node.call("qd_failRequests", 3)  # and the keeper's next RPC requests fail
        await until(lambda: all(settled(k, t.margin) and base_of(node, k, t.margin) < 20 * BASE for t in longs)
                    and steps(k, "liquidate_perp") >= len(longs), "every long liquidated")
        assert k.metrics.reconnects.labels("closed")._value.get() > reconnects
        assert steps(k, "liquidate_perp", "failed") == 0


async def test_a_restarted_keeper_rebuilds_its_state_and_finishes_the_work(tmp_path: Path) -> None:
    v = Venue()
    long = long_position(v)
    liquidator = v.trader(100_000 * USDC)
    async with node_with(v) as node:
        async with node.keeper(tmp_path, liquidator.owner, {"risk": {}}) as k:  # no liquidator running while the shock lands
            await node.publish(91 * USDC)
            await until(lambda: (m := k.cache.stores["feed"]) and any(e.value.price == 91 * USDC for e in m.values()), "the shock seen")
        async with node.keeper(tmp_path, liquidator.owner, {"liquidator": {"derisk": False}}) as k:
            await started(k)
            await until(lambda: settled(k, long.margin) and base_of(node, k, long.margin) < 95 * BASE, "the long liquidated after the restart")
            account = core.decode_margin_account(long.margin, bytes((await node.client.get_account_info(long.margin)).value.data))
            assert not account.being_liquidated


def _inputs(k: Keeper, margin: object) -> tuple:  # type: ignore[type-arg]
    view = bot(k).view
    state = view.health_state(margin)  # type: ignore[arg-type]
    return (state.balances, view.configs, view.collateral_prices(), state.trading, view.markets, view.market_prices(), view.buffer_bps,
            view.margins[margin].status)  # type: ignore[index]




async def test_a_debt_left_against_collateral_is_repaid_for_the_collateral_at_its_discount(tmp_path: Path) -> None:
    v = Venue(asset=SOL_PARAMS)
    trader = v.trader(0)
    v.fund(trader.owner, v.sol, 10 * SOL)
    assert v.deposit(trader, v.sol, 10 * SOL).ok
    maker = v.trader(1_000_000 * USDC)
    bid = v.placed_id(trader, order(BID, MARKET, IOC, size=50 * BASE, price=102 * USDC))
    v.advance(2)
    v.publish(SOL_PRICE, v.sol_feed)
    assert v.make_at_auction(maker, trader, bid, 50 * BASE).ok
    liquidator = v.trader(100_000 * USDC)
    async with node_with(v) as node, node.keeper(tmp_path, liquidator.owner, {"liquidator": {"derisk": False}}) as k:
        await started(k)
        await node.publish(75 * USDC)
        mine = bot(k).me
        await until(lambda: (b := bot(k).view.balances.get(mine)) is not None and b.balance_of(v.sol) > 0 and steps(k, "liquidate_collateral") >= 1,
                    "the collateral taken")
        assert steps(k, "liquidate_perp") >= 1
        assert bot(k).view.balances[trader.margin].balance_of(v.sol) < 10 * SOL


async def test_a_liquidator_below_its_health_floor_does_not_take_positions(tmp_path: Path) -> None:
    v = Venue()
    long = long_position(v)
    liquidator = v.trader(100_000 * USDC)
    async with node_with(v) as node, node.keeper(tmp_path, liquidator.owner, {"liquidator": {"health_floor": 200_000 * USDC}}) as k:
        await started(k)
        await node.publish(91 * USDC)
        await until(lambda: long.margin in bot(k).index.liquidatable, "the long liquidatable")
        await until(lambda: not k.sender.in_flight(("liquidate", long.margin)), "its work done")
        assert steps(k, "liquidate_perp") == 0 and base_of(node, k, long.margin) == 95 * BASE


async def test_sigterm_while_a_liquidation_is_in_flight_waits_for_it_then_exits(tmp_path: Path) -> None:
    v = Venue()
    long = long_position(v)
    liquidator = v.trader(100_000 * USDC)
    async with node_with(v) as node:
        keypair = tmp_path / "id.json"
        keypair.write_text(json.dumps(list(bytes(liquidator.owner))))
        config = tmp_path / "keeper.toml"
        config.write_text(f'rpc_url = "{node.process.rpc_url}"\nws_url = "{node.process.ws_url}"\nkeypair = "id.json"\nport = 0\nslot_secs = 0.1\nreconcile_secs = 1\n'
                          "[bots.liquidator]\nderisk = false\n[sender]\nconfirm_timeout_secs = 30\nclose_grace_secs = 2\n")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "quantdesk", "keeper", "liquidator", "--config", str(config),
                                                    stderr=asyncio.subprocess.PIPE)
        assert proc.stderr is not None
        lines: list[dict[str, Any]] = []

        async def read_until(event: str) -> None:
            while not lines or lines[-1]["event"] != event:
                raw = await asyncio.wait_for(proc.stderr.readline(), 30)  # type: ignore[union-attr]
                assert raw, f"the keeper exited before {event}"
                lines.append(json.loads(raw))

        try:
            await read_until("liquidator.started")
            # Nothing by websocket: the keeper finds the shock by its reconcile (every second) and
            # its transaction's confirmation does not come.
            await node.call("qd_muteNotifications", True)
            await node.publish(91 * USDC)
            await read_until("sender.sent")
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
            await read_until("keeper.stopped")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        closing = next(line for line in lines if line["event"] == "sender.closing")
        closed = next(line for line in lines if line["event"] == "sender.closed")
        assert closing["in_flight"] == 1 and closed["outcomes"] == ["landed"]
        assert sum(1 for line in lines if line["event"] == "sender.sent") == 1  # nothing sent after the signal
        await node.call("qd_muteNotifications", False)
        account = core.decode_margin_account(long.margin, bytes((await node.client.get_account_info(long.margin)).value.data))
        assert account.being_liquidated  # the one step landed; the rest waits for the next keeper


async def test_its_own_wallets_accounts_are_never_tried(tmp_path: Path) -> None:
    v = Venue()
    liquidator = v.trader(100_000 * USDC)
    other = long_position(v)  # a long of another wallet
    mine = v.trader(0, sub_id=1, owner=liquidator.owner)  # and the same long in a sub-account of the liquidator's own wallet
    v.fund(liquidator.owner, v.usdc, 1_300 * USDC)
    assert v.deposit(mine, v.usdc, 1_300 * USDC).ok
    order_id = v.placed_id(mine, order(BID, MARKET, IOC, size=95 * BASE, price=102 * USDC))
    v.advance(2)
    assert v.make_at_auction(v.trader(1_000_000 * USDC), mine, order_id, 95 * BASE).ok
    async with node_with(v) as node, node.keeper(tmp_path, liquidator.owner, {"liquidator": {"derisk": False}}) as k:
        await started(k)
        await node.publish(91 * USDC)
        await until(lambda: {other.margin, mine.margin} <= set(bot(k).index.liquidatable) and steps(k, "liquidate_perp") >= 1, "both liquidatable")
        await until(lambda: settled(k, other.margin), "the other wallet's long liquidated")
        assert mine.margin in bot(k).index.liquidatable and base_of(node, k, mine.margin) == 95 * BASE
        assert k.metrics.transaction_failures.labels("liquidator", "SelfLiquidation")._value.get() == 0
