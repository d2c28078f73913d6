"""Economic attacks on the advanced orders, one test per attack and instruction family, each
refused by name with every account it names unchanged (`refused`), next to the honest path:
- self-dealing: a delegate or session key firing its principal's orders for fees paid to
  itself, or filling its principal's triggered exits, slices and icebergs from accounts it owns;
- off-market prices inside the bands: an agent's fired order priced at the far end of its
  auction, an agent's TWAP following the market far past the price it was authorized at;
- an action lowering health unchecked: a trigger fee the account cannot afford;
- limits checked at one price and filled at another: scale orders and TWAPs authorized for their
  whole notional, slices capped at the authorized price;
- state reset by close and reopen: a trading account holding untriggered orders or a TWAP
  cannot close."""
from __future__ import annotations

from quantdesk.clients.trading import ExitParams, OrderKind, ScaleParams, Side, TriggerCondition, TriggerParams, TwapParams

from quantdesk.world import ASK, BASE, BID, IOC, LIMIT, MARKET, PARAMS, USDC, Trader, Venue, built, order, raw, refused

BELOW = TriggerCondition.BELOW


def returned(result: object) -> int:
    assert result.ok, result.logs  # type: ignore[attr-defined]
    return int.from_bytes(result.return_data, "little")  # type: ignore[attr-defined]


def realized(v: Venue, t: Trader) -> int:
    p = v.account(t).position(0)
    return p.realized_pnl if p is not None else 0


def fired(v: Venue, result: object) -> object:
    assert result.ok, result.logs  # type: ignore[attr-defined]
    return next(e.data for e in v.events(result) if e.name == "OrderTriggered")  # type: ignore[arg-type]


def test_an_agent_cannot_fire_its_principals_orders_for_fees_paid_to_itself() -> None:
    v = Venue()
    victim, delegate, own = v.delegated()
    cranker = v.trader()
    stop = order(ASK, MARKET, IOC, size=BASE, price=90 * USDC)
    oid = returned(v.place_trigger(victim, stop, TriggerParams(95 * USDC, BELOW), signer=delegate))
    v.advance(1, price=95 * USDC)
    refused(v, [built(v, lambda: v.crank("trigger_order", delegate, victim, oid, own))], "AgentSelfDealing")
    # The same for a session key owning an account of its own.
    owner = v.trader()
    key, session = v.session_for(owner.owner, 1_000_000 * USDC)
    keys_own = v.trader(owner=key)
    sid = returned(v.place_trigger(owner, stop, TriggerParams(94 * USDC, BELOW), signer=key, session=session))
    v.advance(1, price=94 * USDC)
    refused(v, [built(v, lambda: v.crank("trigger_order", key, owner, sid, keys_own))], "AgentSelfDealing")
    # Honest: another account takes the fee, or the agent fires it for none.
    assert fired(v, v.crank("trigger_order", cranker.owner, victim, oid, cranker)).fee == PARAMS.trigger_fee  # type: ignore[attr-defined]
    assert fired(v, v.crank("trigger_order", key, owner, sid)).fee == 0  # type: ignore[attr-defined]


def test_a_session_keys_twap_pays_it_no_fees_and_its_slices_never_meet_its_own_account() -> None:
    v = Venue()
    owner, cranker = v.trader(), v.trader()
    key, session = v.session_for(owner.owner, 1_000_000 * USDC, 1_000_000 * USDC)
    keys_own = v.trader(owner=key)
    twap = returned(v.place_twap(owner, TwapParams(0, Side.BID, BASE, 300, 30, 100), signer=key, session=session))
    refused(v, [built(v, lambda: v.crank("crank_twap", key, owner, twap, keys_own))], "AgentSelfDealing")
    result = v.crank("crank_twap", cranker.owner, owner, twap, cranker)
    assert result.ok, result.logs
    (slice_,) = [o for o in v.account(owner).orders if o.is_slice]
    assert (slice_.actor, slice_.signer) == (2, key.pubkey())
    refused(v, [built(v, lambda: v.make_at_auction(keys_own, owner, slice_.order_id, slice_.base_size))], "AgentSelfDealing")
    maker = v.trader()
    assert v.make_at_auction(maker, owner, slice_.order_id, slice_.base_size).ok  # honest: another maker, the session's budget charged


def test_an_agents_twap_never_fills_worse_than_the_price_it_was_authorized_at() -> None:
    v = Venue()
    victim, delegate, _ = v.delegated()
    mine = v.trader()
    cranker = v.trader()
    params = TwapParams(0, Side.BID, BASE, 300, 30, 100)
    theirs = returned(v.place_twap(victim, params, signer=delegate))
    ours = returned(v.place_twap(mine, params))
    reserved = next(o for o in v.account(victim).orders if o.order_id == theirs).reserved_price
    assert reserved == 101 * USDC
    v.advance(1, price=110 * USDC)
    # The owner's TWAP follows the market; the delegate's stops at the price it was authorized at.
    for t, oid in ((victim, theirs), (mine, ours)):
        assert v.crank("crank_twap", cranker.owner, t, oid, cranker).ok
    assert [o for o in v.account(victim).orders if o.is_slice] == []  # type: ignore[attr-defined]
    (slice_,) = [o for o in v.account(mine).orders if o.is_slice]
    assert slice_.price == 111_100_000
    # And a session key cannot place a TWAP past its per-order notional at all.
    key, session = v.session_for(mine.owner, 50 * USDC)
    refused(v, [built(v, lambda: v.place_twap(mine, params, signer=key, session=session))], "SessionNotional")


def test_a_scale_order_is_authorized_for_its_whole_notional() -> None:
    v = Venue()
    owner = v.trader()
    key, session = v.session_for(owner.owner, 1_000 * USDC)
    ladder = ScaleParams(0, Side.BID, 4, 12 * BASE, 99 * USDC, 96 * USDC)  # four orders of ~300 USDC, ~1,170 in all
    refused(v, [built(v, lambda: v.place_scale(owner, ladder, signer=key, session=session))], "SessionNotional")
    small = ScaleParams(0, Side.BID, 4, 8 * BASE, 99 * USDC, 96 * USDC)
    first = returned(v.place_scale(owner, small, signer=key, session=session))
    assert [o.actor for o in v.account(owner).orders if o.order_id >= first] == [2] * 4


def test_an_agents_bracket_exits_stay_its_orders_once_fired() -> None:
    v = Venue()
    victim, delegate, own = v.delegated()
    maker, cranker = v.trader(), v.trader()
    entry = returned(v.place_bracket(victim, order(BID, MARKET, IOC, size=BASE, price=101 * USDC), ExitParams(110 * USDC, 110 * USDC, OrderKind.LIMIT),
                                     None, signer=delegate))
    assert v.make_at_auction(maker, victim, entry, BASE).ok
    v.advance(1, price=110 * USDC)
    assert v.crank("trigger_order", cranker.owner, victim, entry + 1, cranker).ok
    exit_ = next(o for o in v.account(victim).orders if o.order_id == entry + 1)
    assert (exit_.actor, exit_.signer) == (1, delegate.pubkey())
    refused(v, [built(v, lambda: v.make_at_auction(own, victim, entry + 1, BASE))], "AgentSelfDealing")
    assert v.make_at_auction(maker, victim, entry + 1, BASE).ok


def test_a_delegates_fired_stop_is_not_filled_off_market_at_its_auctions_far_end() -> None:
    v = Venue()
    victim, delegate, _ = v.delegated()
    maker, cranker = v.trader(), v.trader()
    oid = returned(v.place_trigger(victim, order(ASK, MARKET, IOC, size=BASE, price=90 * USDC), TriggerParams(95 * USDC, BELOW), signer=delegate))
    v.advance(1, price=95 * USDC)
    assert v.crank("trigger_order", cranker.owner, victim, oid, cranker).ok
    v.advance(PARAMS.auction_default_slots - 1, price=95 * USDC)
    refused(v, [built(v, lambda: v.make_at_auction(maker, victim, oid, BASE))], "DelegatedPriceOutOfBand")


def test_a_delegates_iceberg_is_not_filled_by_an_account_the_delegate_owns() -> None:
    v = Venue()
    victim, delegate, own = v.delegated()
    ice = returned(v.place_iceberg(victim, order(ASK, size=10 * BASE, price=101 * USDC), 2 * BASE, signer=delegate))
    bid = returned(v.place(own, order(BID, LIMIT, IOC, size=BASE, price=101 * USDC)))
    v.advance(PARAMS.auction_default_slots)
    before = raw(v.chain, victim.trading)
    # A maker order its agent would trade against an account the agent owns is skipped: nothing fills.
    result = v.fill(own, bid, [(victim, ice)])
    assert result.ok and [e.name for e in v.events(result)] == [] and raw(v.chain, victim.trading) == before


def test_a_trigger_fee_never_takes_an_account_below_initial_health() -> None:
    v = Venue()
    thin, maker, cranker = v.trader(deposit=12 * USDC), v.trader(), v.trader()
    assert v.make_at_auction(maker, thin, returned(v.place(thin, order(BID, MARKET, IOC, size=BASE, price=101 * USDC))), BASE).ok
    stop = order(ASK, MARKET, IOC, size=BASE, price=90 * USDC, reduce_only=True)
    oid = returned(v.place_trigger(thin, stop, TriggerParams(95 * USDC, BELOW)))
    v.advance(1, price=95 * USDC)
    assert v.view(thin.margin).init_health < 0 <= v.view(thin.margin).maint_health
    before = realized(v, thin)
    # The stop fires (it only takes risk away); the fee it could not afford is waived.
    ev = fired(v, v.crank("trigger_order", cranker.owner, thin, oid, cranker))
    assert ev.fee == 0 and realized(v, thin) == before and realized(v, cranker) == 0  # type: ignore[attr-defined]


def test_close_and_reopen_cannot_reset_an_account_holding_triggers_or_a_twap() -> None:
    v = Venue()
    a, b = v.trader(), v.trader()
    assert v.place_trigger(a, order(ASK, MARKET, IOC, size=BASE, price=90 * USDC), TriggerParams(95 * USDC, BELOW)).ok
    assert v.place_twap(b, TwapParams(0, Side.BID, BASE, 300, 30, 100)).ok
    for t in (a, b):
        refused(v, [v.trading.close_trading_account(t.owner.pubkey(), t.margin)], "TradingAccountNotEmpty")
    assert v.account(a).has_trigger == v.account(b).has_trigger == 1
