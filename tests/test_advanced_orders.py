"""Advanced orders in the real runtime (LiteSVM): the lifecycle of trigger orders, brackets with
one-cancels-other exits, icebergs, scale orders and TWAPs, and the attacks on them (triggering
early or twice, cranking a slice early, a cranker taking more than its fee, an exit that would
grow the position, a bracket on another account). Each refusal is by name with every account it
names unchanged (`refused`); each cancellation lands with its reason and no fee."""
from __future__ import annotations

from quantdesk.clients.security import Operation, mask
from quantdesk.clients.trading import (
    CancelReason,
    ExitParams,
    L2Book,
    OrderKind,
    ScaleDistribution,
    ScaleParams,
    Side,
    TriggerCondition,
    TriggerParams,
    TwapParams,
)

from quantdesk.world import (
    ASK,
    BASE,
    BID,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    PARAMS,
    PRICE,
    USDC,
    Trader,
    Venue,
    built,
    failed,
    order,
    refused,
)
from quantdesk.world import TRADING_ERRORS as E

BELOW, ABOVE = TriggerCondition.BELOW, TriggerCondition.ABOVE
TRIGGER_FEE, SLICE_FEE = PARAMS.trigger_fee, PARAMS.twap_slice_fee


def returned(result: object) -> int:
    assert result.ok, result.logs  # type: ignore[attr-defined]
    return int.from_bytes(result.return_data, "little")  # type: ignore[attr-defined]


def realized(v: Venue, t: Trader, market: int = 0) -> int:
    p = v.account(t).position(market)
    return p.realized_pnl if p is not None else 0


def book(v: Venue, *traders: Trader) -> L2Book:
    """Market 0's L2 book over `traders`' accounts."""
    return L2Book.from_accounts(0, [v.account(t) for t in traders], v.feed_state(v.feeds[0]).price, v.chain.clock.slot, v.chain.clock.unix_timestamp,
                                PARAMS.tick_size)


def names(v: Venue, result: object) -> list[tuple[str, int]]:
    """The (event name, reason or 0) pairs of a transaction."""
    return [(e.name, getattr(e.data, "reason", 0)) for e in v.events(result)]  # type: ignore[arg-type]


# ---------------------------------------------------------------- triggers

def test_a_stop_rests_outside_the_book_until_the_oracle_reaches_it_then_auctions() -> None:
    v = Venue()
    t, maker, cranker = v.trader(), v.trader(), v.trader()
    oid = returned(v.place_trigger(t, order(ASK, MARKET, IOC, size=BASE, price=90 * USDC), TriggerParams(95 * USDC, BELOW)))
    (o,) = v.account(t).orders
    assert o.untriggered and not o.live and (o.trigger_price, o.trigger_condition, o.auction_slots, o.expiry_slot) == (95 * USDC, BELOW, 0, 0)
    # Counted at its worst price like a resting order, and not on the book.
    assert (v.account(t).position(0).asks_base, v.account(t).position(0).asks_quote) == (BASE, 90 * USDC)
    assert v.account(t).has_trigger == 1
    failed(v.place_and_make(maker, t, oid, 99 * USDC, BASE), E["OrderNotOnBook"])

    # Before the condition: refused by name, nothing changes (not even with the price one tick above).
    v.advance(1, price=95 * USDC + PARAMS.tick_size)
    refused(v, [built(v, lambda: v.crank("trigger_order", cranker.owner, t, oid, cranker))], "TriggerNotDue")

    v.advance(1, price=95 * USDC)
    before = (realized(v, t), realized(v, cranker), v.quote_balance(t), v.quote_balance(cranker))
    result = v.crank("trigger_order", cranker.owner, t, oid, cranker)
    assert result.ok, result.logs
    (ev,) = [e.data for e in v.events(result) if e.name == "OrderTriggered"]
    assert (ev.fee, ev.oracle_price, ev.order.order_id) == (TRIGGER_FEE, 95 * USDC, oid)
    # Exactly the market's fee moved, from the owner's position to the cranker's, as realized PnL.
    assert (realized(v, t), realized(v, cranker)) == (before[0] - TRIGGER_FEE, before[1] + TRIGGER_FEE)
    assert (v.quote_balance(t), v.quote_balance(cranker)) == before[2:]
    (o,) = v.account(t).orders
    # A taker now, its auction from the oracle toward its worst price (clamped to the 5% band).
    assert o.live and o.auction_slots == PARAMS.auction_default_slots and o.auction_start_price == 95 * USDC
    assert o.auction_end_price == 90_250_000 and o.placed_slot == v.chain.clock.slot and v.account(t).has_trigger == 0
    # Triggering twice: refused, nothing changes.
    refused(v, [built(v, lambda: v.crank("trigger_order", cranker.owner, t, oid, cranker))], "NotTriggerOrder")
    assert v.make_at_auction(maker, t, oid, BASE).ok
    assert v.account(t).position(0).base == -BASE
    v.check_invariants([t, maker, cranker])


def test_a_stop_limit_rests_as_a_limit_once_triggered_and_no_fee_without_a_fee_account() -> None:
    v = Venue()
    t, cranker = v.trader(), v.chain.keypair()
    oid = returned(v.place_trigger(t, order(BID, LIMIT, GTC, size=BASE, price=104 * USDC), TriggerParams(105 * USDC, ABOVE)))
    v.advance(1, price=105 * USDC)
    result = v.crank("trigger_order", cranker, t, oid)
    assert result.ok, result.logs
    (o,) = v.account(t).orders
    # A bid at 104 under an oracle at 105 does not cross: it rests, with no auction and no fee.
    assert o.live and o.auction_slots == 0 and realized(v, t) == 0
    assert [lvl.price for lvl in book(v, t).bids] == [104 * USDC]


def test_trigger_placement_refusals() -> None:
    v = Venue()
    t = v.trader()
    stop = order(ASK, MARKET, IOC, size=BASE, price=90 * USDC)
    refused(v, [built(v, lambda: v.place_trigger(t, stop, TriggerParams(101 * USDC, BELOW)))], "TriggerWouldFire")
    refused(v, [built(v, lambda: v.place_trigger(t, stop, TriggerParams(95 * USDC + 1, BELOW)))], "InvalidTrigger")
    offset = order(ASK, OrderKind.ORACLE_OFFSET, GTC, size=BASE, price=-USDC)
    refused(v, [built(v, lambda: v.place_trigger(t, offset, TriggerParams(95 * USDC, BELOW)))], "InvalidOrderType")
    huge = order(BID, MARKET, IOC, size=1_000 * BASE, price=110 * USDC)
    refused(v, [built(v, lambda: v.place_trigger(t, huge, TriggerParams(105 * USDC, ABOVE)))], "InsufficientHealth")


def test_a_trigger_that_would_add_risk_it_may_not_is_cancelled_with_its_reason_and_no_fee() -> None:
    v = Venue()
    t, cranker = v.trader(), v.trader()
    buy = order(BID, MARKET, IOC, size=200 * BASE, price=110 * USDC)
    oid = returned(v.place_trigger(t, buy, TriggerParams(105 * USDC, ABOVE)))
    # The owner caps its leverage at 1x: 200 SOL at 110 is more than its 10,000 USDC.
    assert v.send([v.core.set_limits(t.owner.pubkey(), t.margin, max_leverage_x100=100)], t.owner).ok
    v.advance(1, price=105 * USDC)
    result = v.crank("trigger_order", cranker.owner, t, oid, cranker)
    assert result.ok, result.logs
    assert names(v, result) == [("OrderCancelled", CancelReason.HEALTH)]
    assert v.account(t).orders == [] and realized(v, cranker) == 0 and realized(v, t) == 0

    # The account limited to reducing: a trigger that would open is cancelled (limits).
    oid = returned(v.place_trigger(t, order(BID, MARKET, IOC, size=BASE, price=115 * USDC), TriggerParams(110 * USDC, ABOVE)))
    assert v.send([v.core.set_limits(t.owner.pubkey(), t.margin, reduce_only=True)], t.owner).ok
    v.advance(1, price=110 * USDC)
    assert names(v, v.crank("trigger_order", cranker.owner, t, oid, cranker)) == [("OrderCancelled", CancelReason.LIMITS)]

    # A reduce-only stop whose position was closed by hand since: nothing to reduce, cancelled.
    assert v.send([v.core.set_limits(t.owner.pubkey(), t.margin)], t.owner).ok
    maker = v.trader()
    assert v.make_at_auction(maker, t, v.placed_id(t, order(BID, MARKET, IOC, size=BASE, price=111 * USDC)), BASE).ok
    oid = returned(v.place_trigger(t, order(ASK, MARKET, IOC, size=BASE, price=100 * USDC, reduce_only=True), TriggerParams(105 * USDC, BELOW)))
    assert v.make_at_auction(maker, t, v.placed_id(t, order(ASK, MARKET, IOC, size=BASE, price=109 * USDC)), BASE).ok
    v.advance(1, price=105 * USDC)
    assert names(v, v.crank("trigger_order", cranker.owner, t, oid, cranker)) == [("OrderCancelled", CancelReason.REDUCE_ONLY)]
    assert realized(v, cranker) == 0


def test_triggers_are_refused_while_paused_or_frozen_and_the_fee_account_must_be_a_trading_account() -> None:
    v = Venue()
    t, cranker = v.trader(), v.trader()
    oid = returned(v.place_trigger(t, order(ASK, MARKET, IOC, size=BASE, price=90 * USDC), TriggerParams(95 * USDC, BELOW)))
    v.advance(1, price=95 * USDC)
    crank = built(v, lambda: v.crank("trigger_order", cranker.owner, t, oid, cranker))
    # A fee account that is not a trading account (the cranker's margin account, owned by qd-core).
    wrong = v.trading.trigger_order(cranker.owner.pubkey(), t.margin, 0, v.feeds[0], v.usdc, oid, v.health(t.margin, 0), cranker.margin)
    refused(v, [wrong], "WrongOwner")
    assert v.pause(v.admin, mask([Operation.PLACE_ORDER]), True).ok
    refused(v, [crank], "Paused")


# ---------------------------------------------------------------- brackets

def bracket(v: Venue, t: Trader, size: int = 2 * BASE) -> tuple[int, int, int]:
    """A market bid entry (worst 101) with a 110 limit take-profit and a 95 stop (worst 94)."""
    entry = returned(v.place_bracket(t, order(BID, MARKET, IOC, size=size, price=101 * USDC),
                                     ExitParams(110 * USDC, 110 * USDC, OrderKind.LIMIT), ExitParams(95 * USDC, 94 * USDC)))
    return entry, entry + 1, entry + 2


def test_a_bracket_take_profit_fill_cancels_the_stop_in_the_same_transaction() -> None:
    v = Venue()
    t, maker, cranker = v.trader(), v.trader(), v.trader()
    entry, tp, sl = bracket(v, t)
    orders = {o.order_id: o for o in v.account(t).orders}
    assert orders[tp].linked_id == sl and orders[sl].linked_id == tp and orders[tp].parent_id == orders[sl].parent_id == entry
    # The exits count once, at the stop's worse price (the take-profit is covered).
    p = v.account(t).position(0)
    assert (p.bids_base, p.asks_base, p.asks_quote, p.open_orders) == (2 * BASE, 2 * BASE, 2 * 94 * USDC, 2)
    # An exit cannot fire before its entry filled anything.
    v.advance(1, price=95 * USDC)
    refused(v, [built(v, lambda: v.crank("trigger_order", cranker.owner, t, sl, cranker))], "EntryNotFilled")
    v.advance(1, price=PRICE)
    assert v.make_at_auction(maker, t, entry, 2 * BASE).ok
    assert v.account(t).position(0).base == 2 * BASE
    v.advance(1, price=110 * USDC)
    assert v.crank("trigger_order", cranker.owner, t, tp, cranker).ok
    # Half fills: the stop shrinks by as much, in the same transaction.
    result = v.make_at_auction(maker, t, tp, BASE)
    assert result.ok, result.logs
    assert [n for n, _ in names(v, result)] == ["Fill", "OrderReduced"]  # noqa: C416
    orders = {o.order_id: o for o in v.account(t).orders}
    assert orders[sl].remaining == orders[tp].remaining == BASE
    # The rest fills: the stop leaves in the same transaction (one-cancels-other).
    result = v.make_at_auction(maker, t, tp, BASE)
    assert result.ok, result.logs
    assert names(v, result) == [("Fill", 0), ("OrderCancelled", CancelReason.OCO)]
    assert v.account(t).orders == [] and v.account(t).position(0).base == 0
    v.check_invariants([t, maker, cranker])


def test_cancelling_a_bracket_entry_cancels_its_exits_or_keeps_them_for_what_it_filled() -> None:
    v = Venue()
    t, maker = v.trader(), v.trader()
    entry, tp, sl = bracket(v, t)
    result = v.cancel(t, "cancel_order", entry)
    assert names(v, result) == [("OrderCancelled", CancelReason.USER), ("OrderCancelled", CancelReason.BRACKET),
                                ("OrderCancelled", CancelReason.BRACKET)]
    assert v.account(t).orders == []
    entry, tp, sl = bracket(v, t)
    assert v.make_at_auction(maker, t, entry, BASE).ok
    result = v.cancel(t, "cancel_order", entry)
    assert [n for n, _ in names(v, result)] == ["OrderCancelled", "OrderReduced", "OrderReduced"]
    assert {o.order_id: o.remaining for o in v.account(t).orders} == {tp: BASE, sl: BASE}
    assert v.account(t).position(0).asks_base == BASE


def test_an_exit_that_would_grow_the_position_is_cancelled_not_filled() -> None:
    v = Venue()
    t, maker, cranker = v.trader(), v.trader(), v.trader()
    entry, tp, sl = bracket(v, t, BASE)
    assert v.make_at_auction(maker, t, entry, BASE).ok
    # The owner sells twice its long by hand: now short; the stop (an ask) may not add to that.
    ask = v.placed_id(t, order(ASK, MARKET, IOC, size=2 * BASE, price=99 * USDC))
    assert v.make_at_auction(maker, t, ask, 2 * BASE).ok
    assert v.account(t).position(0).base == -BASE
    v.advance(1, price=95 * USDC)
    result = v.crank("trigger_order", cranker.owner, t, sl, cranker)
    assert names(v, result)[0] == ("OrderCancelled", CancelReason.REDUCE_ONLY)
    assert v.account(t).position(0).base == -BASE and realized(v, cranker) == 0


def test_a_bracket_on_another_accounts_margin_is_refused() -> None:
    v = Venue()
    victim, attacker = v.trader(), v.trader()
    ix = built(v, lambda: v.place_bracket(victim, order(BID, MARKET, IOC, size=BASE, price=101 * USDC), None,
                                          ExitParams(95 * USDC, 94 * USDC), signer=attacker.owner))
    refused(v, [ix], "NotAuthorized")


# ---------------------------------------------------------------- icebergs

def test_an_iceberg_shows_its_clip_and_refreshes_it_in_the_fill() -> None:
    v = Venue()
    ice, taker, other = v.trader(), v.trader(), v.trader()
    oid = returned(v.place_iceberg(ice, order(ASK, size=10 * BASE, price=101 * USDC), 2 * BASE))
    assert [(lvl.price, lvl.size) for lvl in book(v, ice).asks] == [(101 * USDC, 2 * BASE)]
    # Its whole size counts in health.
    assert v.account(ice).position(0).asks_base == 10 * BASE
    for refresh in (1, 2):
        bid = v.placed_id(taker, order(BID, LIMIT, IOC, size=3 * BASE, price=101 * USDC))
        v.advance(10)
        result = v.fill(taker, bid, [(ice, oid)])
        assert result.ok, result.logs
        fills = [e.data for e in v.events(result) if e.name == "Fill"]
        assert [f.base for f in fills] == [2 * BASE]
        (ev,) = [e.data for e in v.events(result) if e.name == "IcebergRefreshed"]
        assert (ev.clip, ev.remaining) == (2 * BASE, (10 - 2 * refresh) * BASE)
        assert [(lvl.price, lvl.size) for lvl in book(v, ice).asks] == [(101 * USDC, 2 * BASE)]
    # An iceberg never takes.
    crossing = v.placed_id(other, order(BID, size=BASE, price=102 * USDC))
    v.advance(10)
    refused(v, [built(v, lambda: v.fill(ice, oid, [(other, crossing)]))], "IcebergTakes")
    refused(v, [built(v, lambda: v.place_iceberg(ice, order(ASK, size=10 * BASE, price=99 * USDC), 2 * BASE))], "IcebergCrosses")
    refused(v, [built(v, lambda: v.place_iceberg(ice, order(ASK, size=10 * BASE, price=105 * USDC), BASE // 1000))], "InvalidDisplaySize")
    refused(v, [built(v, lambda: v.place_iceberg(ice, order(ASK, size=BASE, price=105 * USDC), BASE))], "InvalidDisplaySize")
    v.check_invariants([ice, taker, other])


# ---------------------------------------------------------------- scale orders

def test_a_scale_order_places_32_orders_in_one_instruction() -> None:
    v = Venue()
    t = v.trader()
    p = ScaleParams(0, Side.BID, 32, 16 * BASE, 99 * USDC, 95_900_000, ScaleDistribution.ASCENDING, client_order_id=1_000)
    first = returned(result := v.place_scale(t, p))
    orders = v.account(t).orders
    assert [o.order_id for o in orders] == list(range(first, first + 32))
    assert [o.client_order_id for o in orders] == list(range(1_000, 1_032))
    assert orders[0].price == 99 * USDC and orders[-1].price == 95_900_000
    assert sum(o.base_size for o in orders) == 16 * BASE and all(a.base_size <= b.base_size for a, b in zip(orders, orders[1:]))
    (ev,) = [e.data for e in v.events(result)]
    assert (ev.first_order_id, len(ev.prices), list(ev.sizes)) == (first, 32, [o.base_size for o in orders])
    # A ladder that would take at once is refused.
    w = v.trader()
    refused(v, [built(v, lambda: v.place_scale(w, ScaleParams(0, Side.BID, 4, BASE, 101 * USDC, 98 * USDC)))], "ScaleCrosses")
    # A 33rd order does not fit.
    refused(v, [built(v, lambda: v.place(t, order(BID, price=90 * USDC)))], "TooManyOrders")
    u = v.trader(deposit=100 * USDC)
    refused(v, [built(v, lambda: v.place_scale(u, p))], "InsufficientHealth")
    tiny = ScaleParams(0, Side.BID, 4, PARAMS.min_order_size, 99 * USDC, 95 * USDC)
    refused(v, [built(v, lambda: v.place_scale(u, tiny))], "ScaleSizeTooSmall")


# ---------------------------------------------------------------- TWAP

def test_twap_slices_on_schedule_catch_up_and_finish() -> None:
    v = Venue()
    t, maker, cranker = v.trader(), v.trader(), v.trader()
    oid = returned(v.place_twap(t, TwapParams(0, Side.BID, BASE, 300, 30, 100)))
    (parent,) = v.account(t).orders
    assert (parent.kind, parent.slices, parent.slice_size, parent.interval_slots) == (OrderKind.TWAP, 10, BASE // 10, 75)
    assert v.account(t).has_trigger == 1 and book(v, t).bids == []
    crank = lambda: v.crank("crank_twap", cranker.owner, t, oid, cranker)  # noqa: E731
    fees = 0
    result = crank()
    assert result.ok, result.logs
    fees += SLICE_FEE
    (ev,) = [e.data for e in v.events(result) if e.name == "TwapSlicePlaced"]
    assert (ev.slices_done, ev.slice.base_size, ev.next_due_slot, ev.fee) == (1, BASE // 10, parent.placed_slot + 75, SLICE_FEE)
    # Early: refused, nothing changes.
    refused(v, [built(v, crank)], "SliceNotDue")
    assert v.make_at_auction(maker, t, ev.slice.order_id, BASE // 10).ok
    # Three intervals later, unfilled: the next slice catches up what was missed, at most 3 slices.
    v.advance(3 * 75)
    result = crank()
    fees += SLICE_FEE
    (ev,) = [e.data for e in v.events(result) if e.name == "TwapSlicePlaced"]
    assert (ev.slices_done, ev.slice.base_size, ev.executed) == (4, 3 * BASE // 10, BASE // 10)
    # Left unfilled, it gives its size back when the next slice replaces it.
    v.advance(75)
    result = crank()
    fees += SLICE_FEE
    assert ("OrderCancelled", CancelReason.TWAP_NEXT_SLICE) in names(v, result)
    (ev,) = [e.data for e in v.events(result) if e.name == "TwapSlicePlaced"]
    assert ev.slice.base_size == 3 * BASE // 10
    assert v.make_at_auction(maker, t, ev.slice.order_id, 3 * BASE // 10).ok
    # To the end: every remaining slice filled, the last one ends the TWAP.
    while any(o.is_twap for o in v.account(t).orders):
        v.advance(75)
        result = crank()
        fees += SLICE_FEE
        (ev,) = [e.data for e in v.events(result) if e.name == "TwapSlicePlaced"]
        assert v.make_at_auction(maker, t, ev.slice.order_id, ev.slice.base_size).ok
    assert v.account(t).orders == [] and v.account(t).position(0).base == BASE
    assert realized(v, cranker) == fees
    v.check_invariants([t, maker, cranker])


def test_cancelling_a_twap_cancels_its_live_slice_and_bounds_are_enforced() -> None:
    v = Venue()
    t, cranker = v.trader(), v.trader()
    oid = returned(v.place_twap(t, TwapParams(0, Side.BID, BASE, 300, 30, 100)))
    assert v.crank("crank_twap", cranker.owner, t, oid, cranker).ok
    result = v.cancel(t, "cancel_order", oid)
    assert names(v, result) == [("OrderCancelled", CancelReason.USER), ("OrderCancelled", CancelReason.TWAP_FINISHED)]
    assert v.account(t).orders == []
    for bad in (TwapParams(0, Side.BID, BASE, 300, 29, 100), TwapParams(0, Side.BID, BASE, 86_430, 30, 100),
                TwapParams(0, Side.BID, BASE, 310, 30, 100), TwapParams(0, Side.BID, BASE, 300, 30, 0)):
        refused(v, [built(v, lambda b=bad: v.place_twap(t, b))], "InvalidTwap")
    refused(v, [built(v, lambda: v.place_twap(t, TwapParams(0, Side.BID, BASE // 20, 300, 30, 100)))], "TwapSliceTooSmall")
    # A crank of an order that is not a TWAP.
    plain = v.placed_id(t, order(BID, price=90 * USDC))
    refused(v, [built(v, lambda: v.crank("crank_twap", cranker.owner, t, plain, cranker))], "NotTwap")
