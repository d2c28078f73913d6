"""qd-trading in the real runtime (LiteSVM) with qd-security, qd-core, qd-oracle and qd-collateral
deployed: market creation and parameter validation, limit and market orders, place-and-make fills
during an auction at the auction price, fills of a taker against resting makers after its auction,
cancels, modifications, the funding crank, PnL settlement into the quote balance and the health
refusal. Instructions come from clients/trading's builders, health lists from its
health_accounts."""
from __future__ import annotations

from quantdesk.clients import collateral, idl, oracle, security, trading
from quantdesk.clients import trading_state as ts
from quantdesk.clients.security import Role
from quantdesk.clients.trading import CancelReason, MarketParams, MarketStatus
from solders.keypair import Keypair

from quantdesk.chain import TxResult
from quantdesk.world import (
    ASK,
    BASE,
    BID,
    FOK,
    GTC,
    GTT,
    IOC,
    LIMIT,
    LOT,
    MARKET,
    ORACLE_OFFSET,
    PARAMS,
    PRICE,
    REJECT,
    SLIDE,
    TICK,
    USDC,
    Venue,
    failed,
    feed_of_revoked_admin,
    order,
    params,
    refused,
    state,
    with_meta,
)

E = idl.error_codes(trading.NAME)


# ---------------------------------------------------------------- markets

def test_create_market_records_params_and_oracle() -> None:
    v = Venue()
    m = v.market()
    assert (m.index, m.symbol_str, m.oracle, m.status, m.audit_seq) == (0, "SOL-PERP", v.feeds[0], 0, 1)
    assert (m.tick_size, m.lot_size, m.min_order_size, m.taker_fee_bps, m.maker_fee_bps) == (TICK, LOT, 10 * LOT, 10, -2)
    assert (m.twap_ts, m.last_funding_ts, m.cumulative_funding_long, m.cumulative_funding_short) == (0, v.chain.clock.unix_timestamp, 0, 0)
    assert (m.liquidator_fee_bps, m.insurance_fee_bps, m.liquidation_max_fraction_bps) == (100, 50, 2_500)
    assert (m.liquidation_whole_base, m.insurance_cap, m.fee_pool, m.pnl_pool) == (10 * BASE, 100_000 * USDC, 0, 0)
    assert m.guards == collateral.DEFAULT_GUARDS


def test_market_creation_refusals() -> None:
    v = Venue()
    v.feeds[1] = v.feeds[0]
    failed(v.create_market(1, "X", params(tick_size=3)), E["InvalidTickLot"])
    failed(v.create_market(1, "X", params(maint_margin_bps=2_000)), E["InvalidMarketParams"])
    failed(v.create_market(1, "X", params(maker_fee_bps=-11)), E["InvalidFees"])
    failed(v.create_market(1, "X", params(auction_min_slots=0)), E["InvalidMarketParams"])
    failed(v.create_market(1, "X", params(funding_period_secs=10)), E["InvalidMarketParams"])
    failed(v.create_market(64, "X", PARAMS), E["InvalidMarketIndex"])
    failed(v.create_market(1, "X", PARAMS, signer=v.chain.keypair()), E["MissingRole"])
    failed(v.create_market(0, "X", PARAMS), E["AlreadyInitialized"])
    assert v.create_market(1, "X", PARAMS).ok


def test_liquidation_params_are_validated() -> None:
    """The liquidator's and the insurance fund's discounts together stay below the maintenance
    margin (each liquidation step then raises the account's health); the fraction of a position
    one step takes is 1..=10,000 bps; the whole-liquidation size and the insurance cap fit i64.
    Refused by name with every account unchanged, at listing and through the timelock."""
    v = Venue()
    v.feeds[1] = v.feeds[0]
    bad = [params(liquidator_fee_bps=400, insurance_fee_bps=100),  # 500: the maintenance margin itself
           params(liquidator_fee_bps=0, insurance_fee_bps=600),
           params(liquidation_max_fraction_bps=0), params(liquidation_max_fraction_bps=10_001),
           params(liquidation_whole_base=2**63), params(insurance_cap=2**64 - 1)]
    for p in bad:
        refused(v, [v.trading.create_market(v.admin.pubkey(), 1, "X", v.feeds[0], p)], "InvalidMarketParams")
        before = state(v.chain, [ts.market_address(0)])
        failed(v.govern(v.trading.set_market_params(0, p)), E["InvalidMarketParams"])
        assert state(v.chain, [ts.market_address(0)]) == before
    edge = params(liquidator_fee_bps=499, insurance_fee_bps=0, liquidation_max_fraction_bps=10_000, liquidation_whole_base=2**63 - 1,
                  insurance_cap=2**63 - 1)
    assert v.govern(v.trading.set_market_params(0, edge)).ok
    m = v.market()
    assert (m.liquidator_fee_bps, m.insurance_fee_bps, m.liquidation_max_fraction_bps, m.liquidation_whole_base, m.insurance_cap) == \
           (499, 0, 10_000, 2**63 - 1, 2**63 - 1)
    assert MarketParams.of(m) == edge
    assert v.create_market(1, "X", params(liquidation_max_fraction_bps=1, liquidation_whole_base=0, insurance_cap=0)).ok


def test_listing_a_market_on_a_feed_whose_authority_is_not_an_oracle_admin_is_refused() -> None:
    v = Venue()
    v.feeds[1] = feed_of_revoked_admin(v.chain, v.admin, "ETH-PERP", v.publisher, PRICE)
    market1, market0 = ts.market_address(1), ts.market_address(0)
    before = (v.chain.account(market1), v.chain.account(market0))
    failed(v.create_market(1, "ETH-PERP", PARAMS), E["UntrustedFeedAuthority"])
    failed(v.govern(v.trading.set_market_oracle(0, v.feeds[1], collateral.DEFAULT_GUARDS)), E["UntrustedFeedAuthority"])
    assert (v.chain.account(market1), v.chain.account(market0)) == before and before[0] is None
    # Honest listing: once a current oracle admin holds the feed.
    assert v.send([v.oracle.set_authority(v.admin.pubkey(), v.feeds[1], v.admin.pubkey())]).ok
    assert v.create_market(1, "ETH-PERP", PARAMS).ok
    assert v.govern(v.trading.set_market_oracle(0, v.feeds[1], collateral.DEFAULT_GUARDS)).ok
    assert v.market().oracle == v.feeds[1]


def test_settlement_reads_the_median_of_a_multi_publisher_feed() -> None:
    v = Venue()
    honest, rogue = v.chain.keypair(), v.chain.keypair()
    keys = [v.publisher.pubkey(), honest.pubkey(), rogue.pubkey()]
    assert v.govern(v.oracle.set_publishers(v.feeds[0], keys, 2)).ok
    v.chain.advance(1, 1)
    now = v.chain.clock.unix_timestamp
    quotes = [(v.publisher, 101_234_567), (honest, 101_254_567), (rogue, 10 * PRICE)]
    assert v.send([v.oracle.publish(k.pubkey(), v.feeds[0], p, p // 10_000, now) for k, p in quotes], v.publisher, honest, rogue).ok
    assert v.set_status(2).ok  # type: ignore[arg-type]
    assert v.market().settlement_price == 101_250_000  # the median 101.254567, rounded down to a tick


def test_guards_that_pass_any_price_are_refused_when_listing_or_repointing() -> None:
    # A zero confidence limit would let trades and health checks use a price however uncertain:
    # an off-market price inside every other band. Refused by name as it is decoded; nothing changes.
    v = Venue()
    loose = {**collateral.DEFAULT_GUARDS, oracle.Action.TRADE: oracle.GuardConfig(25, 60, 0, 0, True)}
    refused(v, [v.trading.create_market(v.admin.pubkey(), 1, "X", v.feeds[0], PARAMS, loose)], "InvalidGuardConfig")
    market = [ts.market_address(0)]
    before = state(v.chain, market)
    failed(v.govern(v.trading.set_market_oracle(0, v.feeds[0], loose)), E["InvalidGuardConfig"])
    assert state(v.chain, market) == before
    # The honest change goes through.
    assert v.govern(v.trading.set_market_oracle(0, v.feeds[0], collateral.DEFAULT_GUARDS)).ok


def test_params_status_and_oracle_changes_need_their_roles() -> None:
    v = Venue()
    risk = v.chain.keypair()
    assert security.enact(v.chain, v.admin, security.Change.grant_role(Role.RISK_MANAGER, risk.pubkey())).ok

    def set_params(signer: Keypair, p: MarketParams) -> TxResult:
        return v.govern(v.trading.set_market_params(0, p), signer)

    def set_status(signer: Keypair, status: int) -> TxResult:
        return v.set_status(status, signer)  # type: ignore[arg-type]

    assert set_params(risk, params(taker_fee_bps=20)).ok
    assert v.market().taker_fee_bps == 20 and v.market().audit_seq == 2
    failed(set_params(risk, params(lot_size=2 * LOT, min_order_size=20 * LOT)), E["TickLotImmutable"])
    failed(set_params(v.chain.keypair(), PARAMS), E["MissingRole"])
    assert set_status(risk, 1).ok and v.market().status == 1
    failed(set_status(risk, 2), E["MissingRole"])
    failed(set_status(risk, 3), E["InvalidMarketStatus"])
    assert set_status(v.admin, 0).ok
    v.publish(101_234_567)
    assert set_status(v.admin, 2).ok
    m = v.market()
    assert (m.status, m.settlement_price) == (2, 101_230_000)
    failed(set_status(v.admin, 0), E["MarketSettled"])
    failed(set_params(v.admin, PARAMS), E["MarketSettled"])
    failed(v.govern(v.trading.set_market_oracle(0, v.feeds[0], collateral.DEFAULT_GUARDS), risk), E["MissingRole"])


# ---------------------------------------------------------------- orders

def test_limit_order_rests_with_its_totals() -> None:
    v = Venue()
    t = v.trader()
    result = v.place(t, order(BID, price=99 * USDC, size=2 * BASE, client_id=7))
    assert result.ok, result.logs
    order_id = int.from_bytes(result.return_data, "little")
    acct = v.account(t)
    (o,) = acct.orders
    assert (o.order_id, o.client_order_id, o.reserved_price, o.auction_slots, o.expiry_slot) == (order_id, 7, 99 * USDC, 0, 0)
    (p,) = acct.positions
    assert (p.base, p.open_orders, p.bids_base, p.bids_quote) == (0, 1, 2 * BASE, 198 * USDC)
    assert (acct.has_open_order, acct.has_open_auction, acct.next_order_id) == (1, 0, order_id + 1)
    (event,) = v.events(result)
    assert event.name == "OrderPlaced" and event.data.order.order_id == order_id and event.data.seq == acct.seq


def test_order_parameter_refusals() -> None:
    v = Venue()
    t = v.trader()
    failed(v.place(t, order(size=LOT)), E["InvalidOrderSize"])
    failed(v.place(t, order(size=10 * LOT + 1)), E["InvalidOrderSize"])
    failed(v.place(t, order(price=PRICE + 1)), E["InvalidPrice"])
    failed(v.place(t, order(kind=MARKET, tif=GTC)), E["InvalidOrderType"])
    failed(v.place(t, order(tif=GTT, expiry_ts=v.chain.clock.unix_timestamp)), E["InvalidOrderExpiry"])
    failed(v.place(t, order(BID, price=101 * USDC, post_only=REJECT)), E["PostOnlyCrosses"])
    failed(v.place(t, order(ASK, reduce_only=True)), E["ReduceOnlyIncreases"])
    failed(v.place(t, order(BID, tif=IOC, price=101 * USDC, auction=(PRICE, 101 * USDC, 1))), E["AuctionDurationOutOfRange"])
    failed(v.place(t, order(BID, tif=IOC, price=101 * USDC, auction=(90 * USDC, 101 * USDC, 5))), E["AuctionOutOfBounds"])
    # An order in market 1 with market 0's accounts.
    ix = v.trading.place_order(t.owner.pubkey(), t.margin, order(market=1), v.feeds[0], v.usdc, [])
    failed(v.send([with_meta(ix, "market", key=ts.market_address(0))], t.owner), E["WrongMarket"])


def test_post_only_slide_reprices_behind_the_oracle() -> None:
    v = Venue()
    t = v.trader()
    assert v.place(t, order(ASK, price=95 * USDC, post_only=SLIDE)).ok
    (o,) = v.account(t).orders
    assert (o.price, o.reserved_price, o.auction_slots) == (PRICE + TICK, PRICE + TICK, 0)


def test_market_order_runs_an_auction_and_expires() -> None:
    v = Venue()
    t = v.trader()
    order_id = v.placed_id(t, order(BID, MARKET, IOC, price=102 * USDC))
    (o,) = v.account(t).orders
    slot = v.chain.clock.slot
    assert (o.auction_start_price, o.auction_end_price, o.auction_slots, o.placed_slot) == (PRICE, 102 * USDC, 10, slot)
    assert o.expiry_slot == slot + 10 + 20
    assert v.account(t).has_open_auction == 1
    failed(v.expire(t), E["NothingToExpire"])
    v.advance(31)
    result = v.expire(t)
    assert result.ok, result.logs
    (event,) = v.events(result)
    assert (event.name, event.data.order_id, event.data.reason) == ("OrderCancelled", order_id, 1)
    acct = v.account(t)
    assert (acct.orders, acct.positions, acct.has_open_order) == ([], [], 0)


def test_insufficient_health_refuses_the_order() -> None:
    v = Venue()
    t = v.trader(deposit=1_000 * USDC)
    # 10% initial margin: 1,000 USDC carries 100 SOL at 100 minus what the worst case costs.
    failed(v.place(t, order(BID, price=99 * USDC, size=110 * BASE)), E["InsufficientHealth"])
    assert v.place(t, order(BID, price=99 * USDC, size=90 * BASE)).ok
    # Orders on both sides count at the worse side, not the sum: an ask of 100 fits, 110 does not.
    assert v.place(t, order(ASK, price=101 * USDC, size=100 * BASE)).ok
    failed(v.place(t, order(ASK, price=101 * USDC, size=10 * BASE)), E["InsufficientHealth"])
    # The owner's leverage limit: 2x of 1,000 USDC.
    u = v.trader(deposit=1_000 * USDC)
    assert v.send([v.core.set_limits(u.owner.pubkey(), u.margin, max_leverage_x100=200)], u.owner).ok
    failed(v.place(u, order(BID, price=99 * USDC, size=21 * BASE)), E["LeverageExceeded"])
    assert v.place(u, order(BID, price=99 * USDC, size=20 * BASE)).ok


def test_cancel_variants() -> None:
    v = Venue()
    t = v.trader()
    ids = [v.placed_id(t, order(BID, price=(90 + i) * USDC, client_id=100 + i)) for i in range(4)]
    failed(v.cancel(t, "cancel_order", 999), E["OrderNotFound"])
    result = v.cancel(t, "cancel_order", ids[0])
    assert result.ok and [e.data.order_id for e in v.events(result)] == [ids[0]]
    result = v.cancel(t, "cancel_order_by_client_id", 102)
    assert result.ok and [e.data.order_id for e in v.events(result)] == [ids[2]]
    failed(v.cancel(t, "cancel_order_by_client_id", 102), E["OrderNotFound"])
    assert [o.order_id for o in v.account(t).orders] == [ids[1], ids[3]]
    result = v.cancel(t, "cancel_orders", 0)
    assert result.ok and [e.data.order_id for e in v.events(result)] == [ids[1], ids[3]]
    acct = v.account(t)
    assert (acct.orders, acct.positions, acct.has_open_order) == ([], [], 0)
    assert v.cancel(t, "cancel_orders", None).ok
    # Someone else cannot cancel.
    other = v.trader(deposit=0)
    v.placed_id(t, order(BID, price=90 * USDC))
    failed(v.cancel(t, "cancel_orders", None, signer=other.owner), E["NotAuthorized"])


def test_modify_changes_price_and_size_in_place() -> None:
    v = Venue()
    t = v.trader()
    order_id = v.placed_id(t, order(BID, price=95 * USDC, size=2 * BASE))
    result = v.modify(t, order_id, price=96 * USDC, size=3 * BASE)
    assert result.ok, result.logs
    assert int.from_bytes(result.return_data, "little") == order_id
    (o,) = v.account(t).orders
    assert (o.order_id, o.price, o.base_size, o.reserved_price) == (order_id, 96 * USDC, 3 * BASE, 96 * USDC)
    (p,) = v.account(t).positions
    assert (p.bids_base, p.bids_quote) == (3 * BASE, 288 * USDC)
    (event,) = v.events(result)
    assert (event.name, event.data.old_price, event.data.old_base_size) == ("OrderModified", 95 * USDC, 2 * BASE)
    failed(v.modify(t, order_id, price=PRICE + 1), E["InvalidPrice"])
    failed(v.modify(t, 77, price=PRICE), E["OrderNotFound"])
    # An order in its auction (a crossing limit) cannot change until the auction is over.
    crossing = v.placed_id(t, order(BID, price=101 * USDC))
    failed(v.modify(t, crossing, price=100 * USDC), E["OrderInAuction"])
    market_order = v.placed_id(t, order(BID, MARKET, IOC, price=101 * USDC))
    failed(v.modify(t, market_order, price=100 * USDC), E["InvalidOrderType"])


# ---------------------------------------------------------------- fills

def test_place_and_make_fills_during_the_auction_at_the_auction_price() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    order_id = v.placed_id(taker, order(BID, MARKET, IOC, size=2 * BASE, price=102 * USDC))
    placed = v.account(taker).orders[0].placed_slot
    v.advance(5)
    slot = v.chain.clock.slot
    price = PRICE + (2 * USDC) * (slot - placed) // 10
    failed(v.place_and_make(maker, taker, order_id, price + TICK, BASE), E["MakerPriceNotMet"])
    before_taker, before_maker, before_protocol = v.quote_balance(taker), v.quote_balance(maker), v.protocol_balance()
    result = v.place_and_make(maker, taker, order_id, price, BASE)
    assert result.ok, result.logs
    fills = [e for e in v.events(result) if e.name == "Fill"]
    assert len(fills) == 1
    fill = fills[0].data
    quote = price  # 1 base
    taker_fee, maker_fee = -(-quote * 10 // 10_000), -(quote * 2 // 10_000)
    assert (fill.price, fill.base, fill.quote, fill.taker_fee, fill.maker_fee) == (price, BASE, quote, taker_fee, maker_fee)
    assert v.account(taker).position(0).base == BASE and v.account(maker).position(0).base == -BASE
    assert v.account(taker).orders[0].base_filled == BASE
    # The fees are realized in the positions (the rebate a gain) and their net is the market's
    # fee pool; no balance and not the quote config moved.
    assert (v.account(taker).position(0).realized_pnl, v.account(maker).position(0).realized_pnl) == (-taker_fee, -maker_fee)
    assert (v.account(taker).fees_paid, v.account(maker).fees_paid) == (taker_fee, maker_fee)
    assert (v.quote_balance(taker), v.quote_balance(maker), v.protocol_balance()) == (before_taker, before_maker, before_protocol)
    m = v.market()
    assert (m.open_interest_long, m.open_interest_short, m.last_fill_price, m.fill_seq) == (BASE, BASE, price, 1)
    assert m.fee_pool == m.total_fees == taker_fee + maker_fee > 0 and m.pnl_pool == 0
    v.check_invariants([taker, maker])
    # After the auction, place_and_make refuses.
    v.advance(10)
    failed(v.place_and_make(maker, taker, order_id, 102 * USDC, BASE), E["AuctionOver"])
    # The same account as maker and taker puts its trading account in two writable slots: the
    # accounts declaration refuses that before any other check.
    failed(v.place_and_make(taker, taker, order_id, 102 * USDC, BASE), E["DuplicateAccount"])
    sibling = v.trader(owner=taker.owner, sub_id=1)
    failed(v.place_and_make(sibling, taker, order_id, 102 * USDC, BASE), E["SelfTrade"])


def test_fill_order_matches_a_resting_maker_after_the_auction() -> None:
    v = Venue()
    taker, maker, other = v.trader(), v.trader(), v.trader()
    ask_id = v.placed_id(maker, order(ASK, price=100_500_000, size=3 * BASE))
    far_id = v.placed_id(other, order(ASK, price=104 * USDC, size=BASE))
    bid_id = v.placed_id(taker, order(BID, LIMIT, IOC, price=101 * USDC, size=2 * BASE))
    failed(v.fill(taker, bid_id, [(maker, ask_id)]), E["AuctionInProgress"])
    v.advance(10)
    result = v.fill(taker, bid_id, [(other, far_id), (maker, ask_id)])
    assert result.ok, result.logs
    fills = [e.data for e in v.events(result) if e.name == "Fill"]
    # The far ask does not cross the taker's 101 limit; the maker fills at its own 100.5.
    assert [(f.price, f.base, f.maker_order_id) for f in fills] == [(100_500_000, 2 * BASE, ask_id)]
    assert v.account(taker).orders == []
    (rest,) = v.account(maker).orders
    assert (rest.order_id, rest.base_filled) == (ask_id, 2 * BASE)
    assert v.account(maker).position(0).asks_base == BASE
    v.check_invariants([taker, maker, other])


def test_fill_order_removes_an_expired_taker() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    ask_id = v.placed_id(maker, order(ASK, price=100_500_000))
    bid_id = v.placed_id(taker, order(BID, MARKET, IOC, price=101 * USDC))
    v.advance(31)
    result = v.fill(taker, bid_id, [(maker, ask_id)])
    assert result.ok, result.logs
    assert [(e.name, e.data.reason) for e in v.events(result)] == [("OrderCancelled", 1)]
    assert v.account(taker).orders == []


def test_fill_or_kill_fills_whole_or_not_at_all() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    order_id = v.placed_id(taker, order(BID, MARKET, FOK, size=2 * BASE, price=101 * USDC))
    v.advance(3)
    failed(v.place_and_make(maker, taker, order_id, PRICE, BASE), E["FillOrKill"])
    assert v.place_and_make(maker, taker, order_id, PRICE, 2 * BASE).ok
    assert v.account(taker).position(0).base == 2 * BASE


# ---------------------------------------------------------------- funding and settlement

def test_settle_pnl_moves_realized_pnl_through_the_pnl_pool() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    # Taker buys 1 at ~100, then sells 1 at ~101 to the same maker: it realizes a profit less its
    # two taker fees; the maker loses as much less its two rebates.
    buy = v.placed_id(taker, order(BID, MARKET, IOC, price=101 * USDC))
    v.advance(5)
    assert v.place_and_make(maker, taker, buy, PRICE, BASE).ok
    v.advance(2, 102 * USDC)
    sell = v.placed_id(taker, order(ASK, MARKET, IOC, price=PRICE))
    v.advance(5, 102 * USDC)
    assert v.place_and_make(maker, taker, sell, 102 * USDC, BASE).ok
    t, mk = v.account(taker), v.account(maker)
    profit = t.position(0).total_realized
    assert profit > 0 and mk.position(0).total_realized == -profit and t.fees_paid > 0 > mk.fees_paid
    assert (t.position(0).realized_pnl, mk.position(0).realized_pnl) == (profit - t.fees_paid, -profit - mk.fees_paid)
    assert v.market().fee_pool == t.fees_paid + mk.fees_paid
    # The loser pays its loss from its balance into the pool.
    before = v.quote_balance(maker)
    result = v.settle(maker)
    assert result.ok, result.logs
    (event,) = [e.data for e in v.events(result) if e.name == "PnlSettled"]
    assert (event.pnl, event.unsettled) == (-profit - mk.fees_paid, 0)
    assert v.quote_balance(maker) == before - profit - mk.fees_paid
    assert v.market().pnl_pool == profit + mk.fees_paid == v.protocol_balance()
    # The winner takes what the pool holds beyond the fees: exactly its profit here.
    before = v.quote_balance(taker)
    result = v.settle(taker)
    assert result.ok, result.logs
    (event,) = [e.data for e in v.events(result) if e.name == "PnlSettled"]
    assert (event.pnl, event.unsettled, event.settled_pnl) == (profit - t.fees_paid, 0, profit - t.fees_paid)
    assert v.quote_balance(taker) == before + profit - t.fees_paid
    assert v.account(taker).positions == [] and v.account(maker).positions == []
    m = v.market()
    assert (m.pnl_pool, m.total_pnl_settled) == (m.fee_pool, -m.fee_pool)
    v.check_invariants([taker, maker])
    failed(v.settle(taker), E["NoPosition"])


def test_funding_crank_moves_the_index_and_settles_into_positions() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    failed(v.update_funding(), E["FundingTooEarly"])
    # Late in the period, a fill above the oracle: the mark trades at a premium, so longs pay.
    v.chain.advance(0, 3_590)
    v.publish(PRICE)
    buy = v.placed_id(taker, order(BID, MARKET, IOC, price=105 * USDC, auction=(104 * USDC, 105 * USDC, 5)))
    v.advance(2)
    assert v.place_and_make(maker, taker, buy, 104 * USDC, BASE).ok
    v.chain.advance(0, 10)
    v.publish(PRICE)
    result = v.update_funding()
    assert result.ok, result.logs
    m = v.market()
    (event,) = v.events(result)
    assert event.name == "FundingUpdated" and event.data.delta == m.cumulative_funding_long == m.cumulative_funding_short > 0
    assert (event.data.cumulative_funding_long, event.data.cumulative_funding_short) == (m.cumulative_funding_long, m.cumulative_funding_short)
    assert m.last_funding_delta == m.cumulative_funding_long and m.last_funding_ts == v.chain.clock.unix_timestamp
    failed(v.update_funding(), E["FundingTooEarly"])
    # The long pays at the longs' index, the short receives at the shorts' (both moved alike);
    # the payer settles first, so the pool holds what the receiver is owed.
    assert v.settle(taker).ok and v.settle(maker).ok
    taker_funding = -(BASE * m.cumulative_funding_long) // 10**15
    maker_funding = -(-BASE * m.cumulative_funding_short) // 10**15
    assert v.account(taker).settled_pnl == taker_funding - v.account(taker).fees_paid and taker_funding < 0
    assert v.account(maker).settled_pnl == maker_funding - v.account(maker).fees_paid and maker_funding > 0
    assert [p.funding_snapshot for p in (v.account(taker).position(0), v.account(maker).position(0))] == [m.cumulative_funding_long,
                                                                                                        m.cumulative_funding_short]
    v.check_invariants([taker, maker])


def test_settlement_closes_positions_at_the_settlement_price() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    buy = v.placed_id(taker, order(BID, MARKET, IOC, price=101 * USDC, auction=(101 * USDC, 101 * USDC, 5)))
    v.advance(2)
    assert v.place_and_make(maker, taker, buy, 101 * USDC, BASE).ok
    v.placed_id(maker, order(ASK, price=110 * USDC))
    v.publish(103 * USDC)
    assert v.set_status(MarketStatus.SETTLEMENT).ok
    failed(v.place(taker, order(BID, price=99 * USDC)), E["MarketNotActive"])
    # The winner settles first: its position closes at 103 and its profit waits for the loser.
    result = v.settle(taker)
    assert result.ok, result.logs
    (event,) = [e.data for e in v.events(result) if e.name == "PnlSettled"]
    profit = 103 * USDC - 101 * USDC - 101_000
    assert (event.closed_base, event.pnl, event.unsettled) == (BASE, 0, profit)
    assert [(p.base, p.realized_pnl) for p in v.account(taker).positions] == [(0, profit)]
    # The loser's close-out pays the pool (its order leaves the book); then the winner is paid.
    result = v.settle(maker)
    assert result.ok, result.logs
    assert [e.data.reason for e in v.events(result) if e.name == "OrderCancelled"] == [CancelReason.SETTLEMENT]
    assert v.settle(taker).ok
    for t in (taker, maker):
        assert v.account(t).positions == [] and v.account(t).orders == []
    m = v.market()
    assert (m.open_interest_long, m.open_interest_short, m.total_pnl_settled, m.pnl_pool) == (0, 0, -m.fee_pool, m.fee_pool)
    assert v.account(taker).settled_pnl == profit
    v.check_invariants([taker, maker])


def test_trading_account_closes_only_when_empty() -> None:
    v = Venue()
    t = v.trader()
    close = v.trading.close_trading_account(t.owner.pubkey(), t.margin)
    order_id = v.placed_id(t, order(BID, price=90 * USDC))
    failed(v.send([close], t.owner), E["TradingAccountNotEmpty"])
    assert v.cancel(t, "cancel_order", order_id).ok
    assert v.send([close], t.owner).ok
    assert v.chain.account(t.trading) is None or v.raw(t.trading) == b""


# ---------------------------------------------------------------- access, limits and market states

def test_frozen_accounts_cancel_but_do_not_trade_and_cancels_skip_the_rate_limit() -> None:
    v = Venue()
    t = v.trader()
    compliance = v.chain.keypair()
    for change in (security.Change.grant_role(Role.COMPLIANCE, compliance.pubkey()), security.Change.set_rate_limit(2, 1)):
        assert security.enact(v.chain, v.admin, change).ok
    ids = [v.placed_id(t, order(BID, price=(90 + i) * USDC)) for i in range(2)]
    failed(v.place(t, order(BID, price=90 * USDC)), E["RateLimited"])
    # Cancels take no token.
    assert v.cancel(t, "cancel_order", ids[0]).ok
    assert v.send([v.security.freeze_account(compliance.pubkey(), t.margin, 7)], compliance).ok
    v.advance(5)
    failed(v.place(t, order(BID, price=90 * USDC)), E["AccountFrozen"])
    assert v.cancel(t, "cancel_orders", None).ok
    assert v.account(t).orders == []


def test_delegate_and_session_place_orders_within_their_limits() -> None:
    v = Venue()
    t = v.trader()
    delegate, key = v.chain.keypair(), v.chain.keypair()
    assert v.send([v.core.set_delegate(t.owner.pubkey(), t.margin, delegate.pubkey())], t.owner).ok
    result = v.place(t, order(BID, price=90 * USDC), signer=delegate)
    assert result.ok, result.logs
    assert v.events(result)[0].data.actor == 1
    expires = v.chain.clock.unix_timestamp + 3_600
    assert v.send([v.security.create_session(t.owner.pubkey(), key.pubkey(), security.SCOPE_PLACE, 1, 95 * USDC, expires, 950 * USDC)], t.owner).ok
    session = security.session_address(t.owner.pubkey(), key.pubkey())
    result = v.place(t, order(BID, price=90 * USDC), signer=key, session=session)
    assert result.ok, result.logs
    assert v.events(result)[0].data.actor == 2
    failed(v.place(t, order(BID, price=96 * USDC), signer=key, session=session), E["SessionNotional"])


def test_reduce_only_market_and_account_limits() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    buy = v.placed_id(taker, order(BID, MARKET, IOC, price=101 * USDC, size=2 * BASE, auction=(PRICE, 101 * USDC, 5)))
    v.advance(2)
    assert v.place_and_make(maker, taker, buy, PRICE, 2 * BASE).ok
    assert v.set_status(MarketStatus.REDUCE_ONLY).ok
    failed(v.place(taker, order(BID, price=99 * USDC)), E["MarketReduceOnly"])
    failed(v.place(taker, order(ASK, price=101 * USDC, size=3 * BASE, reduce_only=True)), E["ReduceOnlyIncreases"])
    sell = v.placed_id(taker, order(ASK, price=99 * USDC, reduce_only=True))
    v.advance(2)
    # The maker is short: buying back reduces it too.
    assert v.place_and_make(maker, taker, sell, 100 * USDC, BASE).ok
    assert v.account(taker).position(0).base == BASE
    # The owner's reduce-only limit, in an active market.
    assert v.set_status(MarketStatus.ACTIVE).ok
    assert v.send([v.core.set_limits(maker.owner.pubkey(), maker.margin, reduce_only=True)], maker.owner).ok
    failed(v.place(maker, order(ASK, price=101 * USDC)), E["AccountReduceOnly"])
    v.check_invariants([taker, maker])


def test_open_interest_cap_and_maker_health() -> None:
    v = Venue()
    assert v.govern(v.trading.set_market_params(0, params(max_open_interest=BASE))).ok
    taker, maker, poor = v.trader(), v.trader(), v.trader(deposit=5 * USDC)
    buy = v.placed_id(taker, order(BID, MARKET, IOC, price=101 * USDC, size=2 * BASE, auction=(PRICE, 101 * USDC, 10)))
    v.advance(2)
    failed(v.place_and_make(maker, taker, buy, PRICE, 2 * BASE), E["OpenInterestCapExceeded"])
    # 5 USDC cannot carry the 10% margin of a 100 USDC short.
    failed(v.place_and_make(poor, taker, buy, PRICE, BASE), E["MakerInsufficientHealth"])
    assert v.place_and_make(maker, taker, buy, PRICE, BASE).ok
    assert v.market().open_interest_long == BASE


def test_oracle_offset_maker_fills_at_the_current_oracle_price() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    ask_id = v.placed_id(maker, order(ASK, ORACLE_OFFSET, price=50_000))
    (o,) = v.account(maker).orders
    assert (o.price, o.reserved_price) == (50_000, 100_050_000)
    bid_id = v.placed_id(taker, order(BID, LIMIT, GTC, price=102 * USDC))
    v.advance(11, 101 * USDC)
    result = v.fill(taker, bid_id, [(maker, ask_id)])
    assert result.ok, result.logs
    (fill,) = [e.data for e in v.events(result) if e.name == "Fill"]
    assert fill.price == 101_050_000
    # A post-only taker cannot take; a maker still in its auction cannot make.
    post = v.placed_id(taker, order(BID, price=99 * USDC, post_only=REJECT))
    failed(v.fill(taker, post, [(maker, ask_id)]), E["PostOnlyTakes"])
    v.check_invariants([taker, maker])


def test_an_account_below_initial_health_may_still_place_reduce_only_orders() -> None:
    v = Venue()
    taker, maker = v.trader(deposit=1_500 * USDC), v.trader()
    buy = v.placed_id(taker, order(BID, MARKET, IOC, price=101 * USDC, size=100 * BASE, auction=(PRICE, 101 * USDC, 5)))
    v.advance(2)
    assert v.place_and_make(maker, taker, buy, PRICE, 100 * BASE).ok
    # 100 SOL long from 100: at 95 the loss (500) leaves 1,000 against a 10% initial margin of 950
    # plus what a worst-case order adds; at 90 initial health is negative.
    v.advance(1, price=90 * USDC)
    failed(v.place(taker, order(ASK, price=91 * USDC, size=BASE)), E["InsufficientHealth"])
    # A reduce-only order whose worst fill loses more than it frees (selling 50 at 80 loses 500
    # against the 90 oracle and frees 450 of margin) lowers the initial health: refused.
    failed(v.place(taker, order(ASK, MARKET, IOC, price=80 * USDC, size=50 * BASE, reduce_only=True, auction=(90 * USDC, 86 * USDC, 5))),
           E["InsufficientHealth"])
    # One that does not lower it is accepted: the way out stays open.
    assert v.place(taker, order(ASK, price=91 * USDC, size=50 * BASE, reduce_only=True)).ok
