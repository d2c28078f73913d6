"""The trigger and TWAP bots end to end against the local validator over real RPC and PubSub: a
stop fires once the price crosses it (not before), its fee in the keeper's trading account; a
bracket take-profit fires once its entry filled, and not while the entry rests unfilled (then
at once when the entry fills, from the account's notification); two keepers racing for one
trigger (one lands, the other a lost race); a TWAP's slices placed within 2 slots of their due
slots, filled by the JIT maker, to the end, a fee for each. Also the pure rules the bots judge
by, against the program's own test values, and their parameters."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from quantdesk.clients import trading
from quantdesk.clients.trading import ExitParams, OrderKind, TriggerCondition, TriggerParams, TwapParams, slices_due, trigger_due
from quantdesk.clients.trading_state import Order, Position, trading_address
from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.order_cranks import crank_params
from quantdesk.keeper.params import Table
from quantdesk.keeper.runtime import Keeper
from quantdesk.keeper.triggers import TriggerBot
from quantdesk.keeper.twap import TwapBot
from quantdesk.keeper.view import VenueView
from solders.pubkey import Pubkey

from quantdesk.localnet.venue_node import Node, node_with, until
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PARAMS, PRICE, USDC, Trader, Venue, order

BELOW, ABOVE = TriggerCondition.BELOW, TriggerCondition.ABOVE
TRIGGER_FEE, SLICE_FEE = PARAMS.trigger_fee, PARAMS.twap_slice_fee
JIT = {"spread_bps": 0, "max_inventory": 1_000 * BASE, "max_fill_notional": 1_000_000 * USDC}


def triggers(k: Keeper, outcome: str = "landed") -> float:
    return k.metrics.triggers.labels("0", outcome)._value.get()


def slices(k: Keeper, outcome: str = "landed") -> float:
    return k.metrics.twap_slices.labels("0", outcome)._value.get()


def sent(k: Keeper, bot: str) -> float:
    return k.metrics.transactions_sent.labels(bot)._value.get()


async def started(k: Keeper, name: str) -> None:
    await until(lambda: hasattr(k.bots[name], "cranks"), f"the {name} bot started")


def view(k: Keeper) -> VenueView:
    """The cache as the keeper's trigger or TWAP bot sees it."""
    return next(b.view for b in k.bots.values() if isinstance(b, TriggerBot | TwapBot))


def order_of(k: Keeper, t: Trader, order_id: int) -> Order | None:
    return trading.find_order(view(k).trading.get(t.margin), order_id)


def position_of(k: Keeper, t: Trader) -> Position | None:
    account = view(k).trading.get(t.margin)
    return account.position(0) if account is not None else None


def realized(k: Keeper, t: Trader) -> int:
    position = position_of(k, t)
    return position.realized_pnl if position is not None else 0


def returned(result: Any) -> int:
    assert result.ok, result.logs
    return int.from_bytes(result.return_data, "little")


def stop(v: Venue, t: Trader) -> int:
    """`t`'s stop: sell 1 at market (worst 90) once the oracle is at or below 95."""
    return returned(v.place_trigger(t, order(ASK, MARKET, IOC, size=BASE, price=90 * USDC), TriggerParams(95 * USDC, BELOW)))


def bracket(entry: trading.OrderParams) -> tuple[trading.OrderParams, ExitParams, ExitParams]:
    """`entry` with a 105 limit take-profit and a 95 stop (worst 94)."""
    return entry, ExitParams(105 * USDC, 105 * USDC, OrderKind.LIMIT), ExitParams(95 * USDC, 94 * USDC)


# ---------------------------------------------------------------- the rules and the parameters

def test_the_schedule_and_the_condition_mirror_the_program() -> None:
    # programs/qd-trading advanced.rs: 10 slices 75 slots apart from slot 100.
    parent = Order(kind=OrderKind.TWAP, placed_slot=100, interval_slots=75, slices=10)
    assert [slices_due(parent, s) for s in (0, 100, 174, 175, 10_000)] == [1, 1, 1, 2, 10]
    below = Order(trigger_condition=BELOW, trigger_price=95 * USDC)
    assert (trigger_due(below, 95 * USDC + 10_000), trigger_due(below, 95 * USDC)) == (False, True)
    above = Order(trigger_condition=ABOVE, trigger_price=105 * USDC)
    assert (trigger_due(above, 105 * USDC - 1), trigger_due(above, 105 * USDC), trigger_due(Order(), 0)) == (False, True, False)


def test_parameters_are_checked_by_name() -> None:
    margin = Pubkey.new_unique()
    assert crank_params(Table({"fee_margin_account": str(margin)}, "bots.trigger")) == (margin, 5.0)
    assert crank_params(Table({"failure_pause_secs": 2}, "bots.twap")) == (None, 2.0)
    with pytest.raises(InvalidValue, match=r"bots.trigger.fee_margin_account: expected a base58 address, got 'nope'"):
        crank_params(Table({"fee_margin_account": "nope"}, "bots.trigger"))
    with pytest.raises(InvalidValue, match="unknown keys: sub_id"):
        crank_params(Table({"sub_id": 0}, "bots.twap"))


# ---------------------------------------------------------------- triggers

async def test_a_stop_fires_once_the_price_crosses_it_and_its_fee_lands_in_the_keepers_trading_account(tmp_path: Path) -> None:
    v = Venue(seed=b"keeper triggers: stop")
    t = v.trader()
    keeper = v.chain.keypair()  # the keeper's wallet and its trading account (made before the venue is copied)
    fees = v.trader(0, owner=keeper)
    stop_id = stop(v, t)
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"trigger": {"fee_margin_account": str(fees.margin)}}) as k:
        await started(k, "trigger")
        b = k.bots["trigger"]
        assert isinstance(b, TriggerBot) and b.by_market == {0: {t.margin}}
        await node.publish(96 * USDC)  # not yet
        await until(lambda: b.view.market_price(0) == 96 * USDC, "the price in the cache")
        await asyncio.sleep(0.2)
        assert sent(k, "trigger") == 0 and (o := order_of(k, t, stop_id)) is not None and o.untriggered
        await node.publish(95 * USDC)
        await until(lambda: (o := order_of(k, t, stop_id)) is not None and o.live and triggers(k) == 1, "the stop fired")
        fired = order_of(k, t, stop_id)
        assert fired is not None and (fired.auction_slots, fired.auction_start_price) == (PARAMS.auction_default_slots, 95 * USDC)  # a taker now
        assert (realized(k, fees), realized(k, t)) == (TRIGGER_FEE, -TRIGGER_FEE)
        assert b.by_market == {} and sent(k, "trigger") == 1 and triggers(k, "failed") == triggers(k, "lost_race") == 0


async def test_a_take_profit_fires_once_its_entry_filled_and_not_while_the_entry_filled_nothing(tmp_path: Path) -> None:
    v = Venue(seed=b"keeper triggers: brackets")
    filled, resting, maker = v.trader(), v.trader(), v.trader(100_000 * USDC)
    entry = returned(v.place_bracket(filled, *bracket(order(BID, MARKET, IOC, size=2 * BASE, price=101 * USDC))))
    assert v.make_at_auction(maker, filled, entry, 2 * BASE).ok
    keeper = v.chain.keypair()
    async with node_with(v) as node, node.keeper(tmp_path, keeper, {"trigger": {}}) as k:
        await started(k, "trigger")
        await node.publish(PRICE)
        # The other entry: a market bid whose 60-slot auction (100 -> 101) outlasts what follows.
        unfilled = order(BID, MARKET, IOC, size=2 * BASE, price=101 * USDC, auction=(PRICE, 101 * USDC, 60))
        await node.send([v.trading.place_bracket(resting.owner.pubkey(), resting.margin, unfilled, v.feeds[0], v.usdc, v.health(resting.margin, 0),
                                                 *bracket(unfilled)[1:])], resting.owner)
        b = k.bots["trigger"]
        assert isinstance(b, TriggerBot)
        await until(lambda: b.by_market.get(0) == {filled.margin, resting.margin}, "both brackets' exits indexed")
        resting_entry = min(o.order_id for o in b.view.trading[resting.margin].orders)
        await node.publish(105 * USDC)
        await until(lambda: triggers(k) == 1, "the filled entry's take-profit fired")
        await asyncio.sleep(0.3)  # a few slots more: the other is never sent
        assert sent(k, "trigger") == 1 and (o := order_of(k, resting, resting_entry + 1)) is not None and o.untriggered
        tp = order_of(k, filled, entry + 1)
        assert tp is not None and tp.live and order_of(k, filled, entry + 2) is not None  # the stop still waits
        # The entry fills half: its account's notification fires its take-profit at once (for what it filled).
        await node.send([v.make_ix(maker, resting, resting_entry, PRICE, BASE)], maker.owner)
        await until(lambda: triggers(k) == 2, "the second take-profit fired")
        await until(lambda: (o := order_of(k, resting, resting_entry + 1)) is not None and o.live, "it is live")
        o = order_of(k, resting, resting_entry + 1)
        assert o is not None and o.remaining == BASE and order_of(k, resting, resting_entry) is None  # the entry's unfilled rest left first
        assert triggers(k, "failed") == triggers(k, "lost_race") == 0


async def test_two_keepers_race_for_one_trigger_one_lands_and_the_other_counts_a_lost_race(tmp_path: Path) -> None:
    v = Venue(seed=b"keeper triggers: race")
    t = v.trader()
    stop_id = stop(v, t)
    first, second = v.chain.keypair(), v.chain.keypair()
    async with (node_with(v) as node, node.keeper(tmp_path, first, {"trigger": {}}) as a, node.keeper(tmp_path, second, {"trigger": {}}) as b):
        await started(a, "trigger")
        await started(b, "trigger")
        await node.publish(95 * USDC)  # both judge it due in the same feed notification
        await until(lambda: sum(triggers(k) + triggers(k, "lost_race") for k in (a, b)) >= 2, "both keepers' outcomes")
        assert (triggers(a) + triggers(b), triggers(a, "lost_race") + triggers(b, "lost_race"), triggers(a, "failed") + triggers(b, "failed")) == (1, 1, 0)
        loser = a if triggers(a, "lost_race") else b
        assert loser.metrics.lost_races.labels("trigger", "NotTriggerOrder")._value.get() == 1
        await until(lambda: all((o := order_of(k, t, stop_id)) is not None and o.live for k in (a, b)), "both caches show it fired")


# ---------------------------------------------------------------- TWAP

async def slice_events(node: Node, t: Trader) -> list[Any]:
    """The TwapSlicePlaced events of `t`'s transactions, oldest first."""
    signatures = (await node.client.get_signatures_for_address(trading_address(t.margin))).value
    found = []
    for record in reversed(signatures):
        tx = (await node.client.get_transaction(record.signature, max_supported_transaction_version=0)).value
        assert tx is not None and tx.transaction.meta is not None
        found += [e.data for e in trading.parse_events(list(tx.transaction.meta.log_messages or [])) if e.name == "TwapSlicePlaced"]
    return found


async def test_a_twap_runs_slice_by_slice_within_two_slots_of_each_due_slot_to_the_end(tmp_path: Path) -> None:
    v = Venue(seed=b"keeper triggers: twap")
    t = v.trader()
    keeper = v.chain.keypair()
    maker = v.trader(1_000_000 * USDC, owner=keeper)  # the JIT maker's margin account (sub 0)
    fees = v.trader(0, sub_id=1, owner=keeper)
    bots = {"twap": {"fee_margin_account": str(fees.margin)}, "jit": JIT}
    async with node_with(v) as node, node.keeper(tmp_path, keeper, bots) as k:
        await started(k, "twap")
        b = k.bots["twap"]
        assert isinstance(b, TwapBot)
        await node.publish(PRICE)
        # 1 base in 3 slices 100 s (250 slots) apart, each worst 1% above the oracle.
        params = TwapParams(0, BID, BASE, 300, 100, 100)
        await node.send([v.trading.place_twap_order(t.owner.pubkey(), t.margin, params, v.feeds[0], v.usdc, v.health(t.margin, 0))], t.owner)
        await until(lambda: any(o.is_twap for o in b.view.trading[t.margin].orders), "the TWAP in the cache")
        (parent,) = b.view.trading[t.margin].orders
        twap_id, size = parent.order_id, parent.slice_size
        for done in (1, 2):
            # Its slice placed and filled by the JIT maker, then on to just before the next one is due.
            await until(lambda: (p := order_of(k, t, twap_id)) is not None and p.slices_done == done and p.executed == done * size,  # noqa: B023
                        f"slice {done} filled")
            running = order_of(k, t, twap_id)
            assert running is not None
            await node.call("qd_warpSlot", running.next_due_slot - 10)
            await node.publish(PRICE)  # the oracle fresh again after the warp
        await until(lambda: order_of(k, t, twap_id) is None, "the TWAP finished")
        bought, sold = position_of(k, t), position_of(k, maker)
        assert bought is not None and sold is not None and (bought.base, sold.base) == (BASE, -BASE)  # the JIT maker sold every slice
        await until(lambda: realized(k, fees) == 3 * SLICE_FEE, "every slice's fee in the keeper's trading account")
        await until(lambda: slices(k) == 3, "the last crank's outcome (its confirmation may follow the account's notification)")
        events = await slice_events(node, t)
        assert [e.slices_done for e in events] == [1, 2, 3] and all((e.fee, e.fee_account) == (SLICE_FEE, fees.trading) for e in events)
        dues = [parent.placed_slot, *(e.next_due_slot for e in events[:-1])]
        delays = [e.slot - due for e, due in zip(events, dues)]
        assert all(0 <= d <= 2 for d in delays), delays
        assert slices(k, "failed") == slices(k, "lost_race") == 0
        assert k.metrics.twap_slice_delay.labels("0")._sum.get() == sum(delays)
