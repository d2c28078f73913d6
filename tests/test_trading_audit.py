"""The audit findings against qd-trading and qd-collateral (step 6), each performed as the
review described it: the attack is refused by name with every account it names unchanged, and
the honest variant still works. Accounts, instructions and the `refused` / `built` helpers come
from quantdesk.world."""
from __future__ import annotations

from quantdesk.clients import collateral, idl, oracle, security, trading
from quantdesk.clients.trading import MarketStatus
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import TxResult
from quantdesk.world import ASK, BASE, BID, IOC, LIMIT, MARKET, PARAMS, PRICE, TICK, USDC, Nonce, Trader, Venue, built, order, params, refused, with_meta

COLLATERAL_E = idl.error_codes(collateral.NAME)
SECURITY_E = idl.error_codes(security.NAME)
# Runtime errors (DurableNonce among them) carry one code in every program's IDL.
E = idl.error_codes(trading.NAME)


def market_order(v: Venue, t: Trader, side: object, size: int, start: int, end: int) -> int:
    """`t`'s market order of `size` whose auction runs from `start` to `end` over 10 slots."""
    return v.placed_id(t, order(side, MARKET, IOC, size=size, price=end, auction=(start, end, 10)))  # type: ignore[arg-type]


def long_90(v: Venue, maker: Trader, taker: Trader) -> None:
    """`maker` buys 90 SOL at 100 from `taker`'s market sell (the honest opening trade)."""
    sell = market_order(v, taker, ASK, 90 * BASE, PRICE, 95 * USDC)
    assert v.place_and_make(maker, taker, sell, PRICE, 90 * BASE).ok
    assert v.account(maker).position(0).base == 90 * BASE


# ---------------------------------------------------------------- 1: every fill that changes a position is checked

def test_a_maker_flipping_at_the_auction_bound_is_health_checked() -> None:
    """Two wallets of one person: the maker (1,000 USDC, long 90) sells 180 at 95 into the
    other's bid auction starting at the 5% bound, flipping to short 90 at a loss of 900; the
    flip counts as growth, so initial health is checked and the fill refused."""
    v = Venue()
    v.trader(deposit=20_000 * USDC)  # an honest depositor whose funds sit in the vault
    maker, colluder = v.trader(deposit=1_000 * USDC), v.trader(deposit=3_000 * USDC)
    long_90(v, maker, colluder)
    buy = market_order(v, colluder, BID, 180 * BASE, 95 * USDC, 105 * USDC)
    refused(v, [v.make_ix(maker, colluder, buy, 95 * USDC, 180 * BASE)], "MakerInsufficientHealth")
    # A maker with the collateral to carry it flips at the same price.
    rich, other = v.trader(deposit=5_000 * USDC), v.trader(deposit=5_000 * USDC)
    long_90(v, rich, other)
    buy = market_order(v, other, BID, 180 * BASE, 95 * USDC, 105 * USDC)
    assert v.place_and_make(rich, other, buy, 95 * USDC, 180 * BASE).ok
    assert v.account(rich).position(0).base == -90 * BASE


def test_a_reduction_below_initial_health_may_not_lower_it() -> None:
    """An underwater long (init margin 4%: a 5% auction discount loses more than the margin it
    frees) sells half at the bottom of the colluder's bid auction: its initial health would
    fall, refused; selling at the oracle raises it and is accepted (the way out stays open)."""
    v = Venue()
    assert v.govern(v.trading.set_market_params(0, params(init_margin_bps=400, maint_margin_bps=200))).ok
    maker, colluder = v.trader(deposit=700 * USDC), v.trader(deposit=3_000 * USDC)
    long_90(v, maker, colluder)
    v.advance(1, price=95 * USDC)  # 90 x -5 = -450: equity 250 against a 342 initial margin
    buy = market_order(v, colluder, BID, 45 * BASE, 90_250_000, 95 * USDC)
    refused(v, [v.make_ix(maker, colluder, buy, 90_250_000, 45 * BASE)], "MakerInsufficientHealth")
    v.advance(1, price=95 * USDC)
    buy = market_order(v, colluder, BID, 45 * BASE, 95 * USDC, 95 * USDC)
    assert v.place_and_make(maker, colluder, buy, 95 * USDC, 45 * BASE).ok
    assert v.account(maker).position(0).base == 45 * BASE


def test_a_taker_flip_in_fill_order_is_health_checked() -> None:
    """The same rule for fill_order's taker: long 90 with 1,900 USDC, its IOC ask of 180 (health
    allowed it at an oracle of 100) fills against a resting bid at 95 once the oracle is 102:
    the flip to short 90 leaves initial health below zero, refused by the taker's check."""
    v = Venue()
    taker, other = v.trader(deposit=1_900 * USDC), v.trader(deposit=5_000 * USDC)
    long_90(v, taker, v.trader(deposit=3_000 * USDC))
    bid = v.placed_id(other, order(BID, size=180 * BASE, price=95 * USDC))
    ask = v.placed_id(taker, order(ASK, MARKET, IOC, size=180 * BASE, price=95 * USDC, auction=(PRICE, 95 * USDC, 2)))
    v.advance(3, price=102 * USDC)
    refused(v, [v.fill_ix(taker, ask, [(other, bid)])], "TakerInsufficientHealth")
    # At an oracle of 100 the same flip keeps initial health >= 0.
    v.advance(1)
    assert v.fill(taker, ask, [(other, bid)]).ok
    assert v.account(taker).position(0).base == -90 * BASE


# ---------------------------------------------------------------- 2: delegates and session keys

def bid_in_auction(v: Venue, t: Trader, start: int, end: int = 105 * USDC, size: int = 10 * BASE) -> int:
    """`t`'s market bid whose auction starts at `start` (its current price)."""
    return market_order(v, t, BID, size, start, end)


def test_a_delegate_cannot_sell_its_principal_at_the_auction_bound() -> None:
    """The delegate signs the victim's account as maker into a colluder's bid auction at 105,
    5% above the oracle: a delegated fill must stay within the market's 0.5% band."""
    v = Venue()
    victim, delegate, _ = v.delegated()
    colluder = v.trader()
    bid = bid_in_auction(v, colluder, 105 * USDC)
    refused(v, [built(v, lambda: v.place_and_make(victim, colluder, bid, 105 * USDC, 10 * BASE, signer=delegate))], "DelegatedPriceOutOfBand")
    # Within the band the delegate trades for its principal.
    near = bid_in_auction(v, colluder, 100_400_000)
    assert v.place_and_make(victim, colluder, near, 100_400_000, 10 * BASE, signer=delegate).ok
    assert v.account(victim).position(0).base == -10 * BASE


def test_a_delegate_cannot_trade_its_principal_against_its_own_account() -> None:
    """At the oracle price (inside the band) the delegate makes for the victim against its own
    account's bid, and against an account it is delegate of: both refused by name."""
    v = Venue()
    victim, delegate, own = v.delegated()
    bid = bid_in_auction(v, own, PRICE)
    refused(v, [built(v, lambda: v.place_and_make(victim, own, bid, PRICE, 10 * BASE, signer=delegate))], "AgentSelfDealing")
    ward = v.trader()
    assert v.send([v.core.set_delegate(ward.owner.pubkey(), ward.margin, delegate.pubkey())], ward.owner).ok
    bid = bid_in_auction(v, ward, PRICE)
    refused(v, [built(v, lambda: v.place_and_make(victim, ward, bid, PRICE, 10 * BASE, signer=delegate))], "AgentSelfDealing")


def test_a_delegates_order_is_filled_only_near_the_oracle_and_not_by_its_own_account() -> None:
    """The delegate places a market bid on the victim's account whose auction starts at 105:
    a colluder's place_and_make there is out of band; the delegate's own account may not take
    the victim's order even at the oracle; an unrelated maker fills it near the oracle."""
    v = Venue()
    victim, delegate, own = v.delegated()
    high = v.place(victim, order(BID, MARKET, IOC, size=10 * BASE, price=105 * USDC, auction=(105 * USDC, 105 * USDC, 10)), signer=delegate)
    assert high.ok, high.logs
    high_id = int.from_bytes(high.return_data, "little")
    assert v.account(victim).orders[0].actor == security.Actor.DELEGATE
    colluder = v.trader()
    refused(v, [v.make_ix(colluder, victim, high_id, 105 * USDC, 10 * BASE)], "DelegatedPriceOutOfBand")
    fair = v.place(victim, order(BID, MARKET, IOC, size=10 * BASE, price=101 * USDC, auction=(PRICE, 101 * USDC, 10)), signer=delegate)
    fair_id = int.from_bytes(fair.return_data, "little")
    refused(v, [v.make_ix(own, victim, fair_id, PRICE, 10 * BASE)], "AgentSelfDealing")
    assert v.place_and_make(colluder, victim, fair_id, PRICE, 10 * BASE).ok


def test_a_session_makers_notional_counts_at_the_fill_price() -> None:
    """A session limited to 1,000 USDC per order makes 50 SOL (5,000 USDC) stating a price of
    0.01: its notional is counted at the fill price, refused; 5 SOL (500) is accepted and spent."""
    v = Venue()
    t, taker = v.trader(), v.trader()
    key, session = v.session_for(t.owner, 1_000 * USDC, 10_000 * USDC)
    bid = bid_in_auction(v, taker, PRICE, size=50 * BASE)
    ix = built(v, lambda: v.place_and_make(t, taker, bid, TICK, 50 * BASE, signer=key, session=session))
    refused(v, [ix], "SessionNotional")
    assert v.place_and_make(t, taker, bid, TICK, 5 * BASE, signer=key, session=session).ok
    assert v.session_state(session).spent == 500 * USDC


def test_a_session_key_cannot_trade_its_principal_off_market_or_against_its_own_account() -> None:
    """The session key also owns a margin account. Signing the victim's account as maker it
    sells into its own account's bid at the oracle (AgentSelfDealing), and into a colluder's bid
    auction at the 5% bound (DelegatedPriceOutOfBand); each refused, every account unchanged.
    Near the oracle against an unrelated taker it trades."""
    v = Venue()
    victim = v.trader()
    key, session = v.session_for(victim.owner, 5_000 * USDC, 50_000 * USDC)
    own = v.trader(owner=key)
    bid = bid_in_auction(v, own, PRICE, size=10 * BASE)
    refused(v, [built(v, lambda: v.place_and_make(victim, own, bid, PRICE, 10 * BASE, signer=key, session=session))], "AgentSelfDealing")
    colluder = v.trader()
    high = bid_in_auction(v, colluder, 105 * USDC, size=10 * BASE)
    refused(v, [built(v, lambda: v.place_and_make(victim, colluder, high, 105 * USDC, 10 * BASE, signer=key, session=session))],
            "DelegatedPriceOutOfBand")
    fair = bid_in_auction(v, colluder, PRICE, size=10 * BASE)
    assert v.place_and_make(victim, colluder, fair, PRICE, 10 * BASE, signer=key, session=session).ok
    assert v.session_state(session).spent == 1_000 * USDC


def test_a_delegates_taker_order_cannot_be_filled_by_its_own_resting_order() -> None:
    """The delegate places an IOC bid on the victim's account and has its own account rest an
    ask at the oracle: a keeper's fill_order of the victim's bid against that ask is refused
    (AgentSelfDealing), every account unchanged; an unrelated maker's ask fills it."""
    v = Venue()
    victim, delegate, own = v.delegated()
    ask = v.placed_id(own, order(ASK, size=BASE, price=100_200_000))
    placed = v.place(victim, order(BID, LIMIT, IOC, size=BASE, price=100_400_000), signer=delegate)
    assert placed.ok, placed.logs
    bid = int.from_bytes(placed.return_data, "little")
    honest = v.trader()
    fair = v.placed_id(honest, order(ASK, size=BASE, price=100_300_000))
    v.advance(11)
    refused(v, [v.fill_ix(victim, bid, [(own, ask)])], "AgentSelfDealing")
    assert v.fill(victim, bid, [(honest, fair)]).ok
    assert v.account(victim).position(0).base == BASE


def test_a_delegate_that_modifies_an_order_answers_for_it() -> None:
    """The owner rests an ask at 100.20; the delegate modifies it (same id), so the order is now
    the delegate's: a keeper filling the delegate's own account's bid from it skips it (no fill,
    the victim's account byte for byte unchanged), while an unrelated bid still fills it."""
    v = Venue()
    victim, delegate, own = v.delegated()
    ask = v.placed_id(victim, order(ASK, size=BASE, price=100_300_000))
    modify = v.trading.modify_order(delegate.pubkey(), victim.margin, 0, v.feeds[0], v.usdc, ask, v.health(victim.margin, 0), price=100_200_000)
    assert v.send([modify], delegate).ok
    (o,) = v.account(victim).orders
    assert (o.order_id, o.actor, o.signer) == (ask, security.Actor.DELEGATE, delegate.pubkey())
    bid = v.placed_id(own, order(BID, LIMIT, IOC, size=BASE, price=100_400_000))
    taker = v.trader()
    fair = v.placed_id(taker, order(BID, LIMIT, IOC, size=BASE, price=100_400_000))
    v.advance(11)
    before = v.raw(victim.trading)
    assert v.fill(own, bid, [(victim, ask)]).ok
    assert v.raw(victim.trading) == before
    assert v.account(own).position(0).base == 0
    assert v.fill(taker, fair, [(victim, ask)]).ok
    assert v.account(victim).position(0).base == -BASE


def test_only_qd_tradings_authority_records_session_fills() -> None:
    """record_session_fill is how a fill charges a session's budget: a stranger calling it to
    burn (or a forged signer to reset) a session's budget is refused, the session unchanged."""
    v = Venue()
    t = v.trader()
    _, session = v.session_for(t.owner, 1_000 * USDC, 2_000 * USDC)
    stranger = v.chain.keypair()

    def record(signer: Pubkey) -> Instruction:
        return v.security._ix("record_session_fill", 500 * USDC, accounts={"trading_authority": signer, "session": session})

    refused(v, [record(stranger.pubkey())], "NotTradingAuthority", SECURITY_E)
    refused(v, [with_meta(record(trading.AUTHORITY), "trading_authority", signer=False)], "MissingSigner", SECURITY_E)
    assert v.session_state(session).spent == 0


def test_a_sessions_fills_are_capped_by_its_budget() -> None:
    """A session with a 600 USDC per-order limit and a 1,000 USDC budget places two 5 SOL bids
    (each fits the budget at placement); the first fills (502 USDC spent at the fill price),
    the second would take the session past its budget: refused by name, every account
    unchanged. A fill without the order's Session account is refused too."""
    v = Venue()
    t, maker = v.trader(), v.trader()
    key, session = v.session_for(t.owner, 600 * USDC, 1_000 * USDC)
    bids = []
    for _ in range(2):
        placed = v.place(t, order(BID, LIMIT, IOC, size=5 * BASE, price=100_500_000, auction=(PRICE, 100_500_000, 2)), signer=key, session=session)
        assert placed.ok, placed.logs
        bids.append(int.from_bytes(placed.return_data, "little"))
    asks = [v.placed_id(maker, order(ASK, size=5 * BASE, price=100_400_000)) for _ in range(2)]
    v.advance(3)
    without = v.trading.fill_order(v.admin.pubkey(), t.margin, 0, v.feeds[0], v.usdc, bids[0], [(maker.margin, asks[0])], v.health(t.margin, 0), [v.health(maker.margin, 0)])
    refused(v, [without], "SessionRequired")
    assert v.fill(t, bids[0], [(maker, asks[0])]).ok
    assert v.session_state(session).spent == 502 * USDC
    refused(v, [v.fill_ix(t, bids[1], [(maker, asks[1])])], "SessionBudgetExceeded")


def test_an_agents_out_of_band_resting_order_is_skipped_by_fill_order() -> None:
    """A delegate's resting ask at 100.40 on the victim's account drifts out of the band when the
    oracle moves to 102: a keeper's fill_order that lists it before an honest maker skips it
    (it neither fills nor sinks the batch) and fills from the honest maker."""
    v = Venue()
    victim, delegate, _ = v.delegated()
    placed = v.place(victim, order(ASK, size=BASE, price=100_400_000), signer=delegate)
    assert placed.ok, placed.logs
    stale = int.from_bytes(placed.return_data, "little")
    honest = v.trader()
    v.advance(1, price=102 * USDC)
    fair = v.placed_id(honest, order(ASK, size=BASE, price=102_300_000))
    taker = v.trader()
    bid = v.placed_id(taker, order(BID, LIMIT, IOC, size=BASE, price=103 * USDC))
    v.advance(11, price=102 * USDC)
    before = v.raw(victim.trading)
    result = v.fill(taker, bid, [(victim, stale), (honest, fair)])
    assert result.ok, result.logs
    assert v.raw(victim.trading) == before
    assert v.account(honest).position(0).base == -BASE and v.account(taker).position(0).base == BASE


# ---------------------------------------------------------------- 6: limits at the fill, with every open order

def test_the_leverage_limit_applies_to_place_and_make() -> None:
    """A maker limited to 2x (10,000 USDC) may not fill 80,000 USDC (8x) in place_and_make;
    20,000 (2x) is accepted."""
    v = Venue()
    maker, taker = v.trader(), v.trader(deposit=100_000 * USDC)
    assert v.send([v.core.set_limits(maker.owner.pubkey(), maker.margin, max_leverage_x100=200)], maker.owner).ok
    sell = market_order(v, taker, ASK, 800 * BASE, PRICE, 95 * USDC)
    refused(v, [v.make_ix(maker, taker, sell, PRICE, 800 * BASE)], "LeverageExceeded")
    assert v.place_and_make(maker, taker, sell, PRICE, 190 * BASE).ok


def test_the_leverage_limit_counts_every_open_order() -> None:
    """Four resting bids of 1.9x each would reach 7.6x once filled: with a 2x limit the second
    one is refused; one 1.9x bid rests."""
    v = Venue()
    t = v.trader()
    assert v.send([v.core.set_limits(t.owner.pubkey(), t.margin, max_leverage_x100=200)], t.owner).ok
    assert v.place(t, order(BID, size=190 * BASE, price=99 * USDC)).ok
    ix = built(v, lambda: v.place(t, order(BID, size=190 * BASE, price=98 * USDC)))
    refused(v, [ix], "LeverageExceeded")
    # An ask of the same size does not add exposure beyond the bid's: the position's worst side.
    assert v.place(t, order(ASK, size=190 * BASE, price=102 * USDC)).ok


def test_close_and_reopen_does_not_reset_the_rate_limit() -> None:
    """With a 3-token bucket refilling one token per slot: three placements empty it; closing
    the trading account and reopening it in one transaction would start a full bucket:
    refused with RateLimitRefilling until the bucket has refilled, then it closes."""
    v = Venue()
    assert security.enact(v.chain, v.admin, security.Change.set_rate_limit(3, 1_000)).ok
    t = v.trader()
    for i in range(3):
        assert v.place(t, order(BID, price=(90 + i) * USDC)).ok
    assert not v.place(t, order(BID, price=80 * USDC)).ok
    assert v.cancel(t, "cancel_orders", None).ok
    reopen: list[Instruction] = [v.trading.close_trading_account(t.owner.pubkey(), t.margin), v.trading.open_trading_account(t.owner.pubkey(), t.margin)]
    refused(v, reopen, "RateLimitRefilling")
    v.chain.advance(3, 1)
    assert v.send(reopen, t.owner).ok


# ---------------------------------------------------------------- 7: balances outlive positions

def test_balances_close_only_once_positions_are_gone() -> None:
    """A long in profit whose PnL counts at full weight withdraws all of its USDC against it and
    closes its balances: refused (PositionsOpen), since the position's losses and settlement
    need them; once flat, settled and closed, the balances close."""
    v = Venue()
    assert v.govern(v.trading.set_market_params(0, params(upnl_init_weight_bps=10_000))).ok
    t, other = v.trader(deposit=1_000 * USDC), v.trader()
    long_90(v, t, other)
    for price in (110, 120, 120):  # in steps the oracle's EMA-deviation guard accepts
        v.advance(40, price=price * USDC)
    # +1,800 unrealized (full weight) against a 1,080 initial margin
    withdraw = v.collateral.withdraw(t.owner.pubkey(), t.margin, v.usdc, v.quote_balance(t), v.health(t.margin))
    assert v.send([withdraw], t.owner).ok
    assert v.quote_balance(t) == 0
    refused(v, [v.collateral.close_balances(t.owner.pubkey(), t.margin)], "PositionsOpen", COLLATERAL_E)
    # Honest exit: close the position; the loser's settlement pays the market's PnL pool, the
    # winner's takes its PnL from it; withdraw it, then everything closes.
    sell = market_order(v, t, ASK, 90 * BASE, 120 * USDC, 114 * USDC)
    assert v.place_and_make(other, t, sell, 120 * USDC, 90 * BASE).ok
    assert v.settle(other).ok and v.settle(t).ok
    assert v.account(t).positions == []
    withdraw = v.collateral.withdraw(t.owner.pubkey(), t.margin, v.usdc, v.quote_balance(t), v.health(t.margin))
    assert v.send([withdraw], t.owner).ok
    closing = v.send([v.trading.close_trading_account(t.owner.pubkey(), t.margin), v.collateral.close_balances(t.owner.pubkey(), t.margin)], t.owner)
    assert closing.ok, closing.logs


# ---------------------------------------------------------------- 5: the mark TWAP resists dust trades

def wash(v: Venue, buyer: Trader, seller: Trader, size: int, price: int) -> None:
    """`buyer` and `seller` (one person's two wallets) trade `size` at `price` in place_and_make."""
    bid = v.placed_id(buyer, order(BID, MARKET, IOC, size=size, price=price, auction=(price, price, 2)))
    assert v.place_and_make(seller, buyer, bid, price, size).ok


def next_period(v: Venue) -> int:
    """One funding period later, the crank's index change per whole base unit (1e6 scaled)."""
    v.chain.advance(1, 3_600)
    v.publish(PRICE)
    result = v.update_funding()
    assert result.ok, result.logs
    return v.market().last_funding_delta


def test_a_dust_wash_trade_does_not_set_the_funding_rate() -> None:
    """0.01 SOL traded at 105 against an oracle of 100, once per period, used to make the mark
    TWAP 105 and an honest 100 SOL long pay 5% a day. Now the fill's premium is clamped to the
    1% mark band and moves the prevailing premium by its share of the 10 SOL mark depth (0.1%):
    the period's premium is 0.001, not 5. A fill of the full depth at 101 sets it to 1, and one
    at 105 is clamped to the band, 1 as well."""
    v = Venue()
    buyer, seller = v.trader(), v.trader()
    wash(v, buyer, seller, BASE // 100, 105 * USDC)
    assert v.market().mark_premium == 1_000
    assert next_period(v) == 1_000 * 3_600 * 10**6 // 86_400
    wash(v, buyer, seller, 10 * BASE, 101 * USDC)
    assert next_period(v) == USDC * 3_600 * 10**6 // 86_400
    wash(v, buyer, seller, 10 * BASE, 105 * USDC)
    assert v.market().mark_premium == USDC
    # With no fills in a period, the mark is the oracle: no funding.
    assert next_period(v) == USDC * 3_600 * 10**6 // 86_400
    assert next_period(v) == 0


# ---------------------------------------------------------------- 8: risk parameters through the timelock



def proposal_count(v: Venue) -> int:
    return security.decode_config(v.raw(security.CONFIG)).proposal_count


def propose(v: Venue, proposer: Keypair, target: Instruction) -> tuple[Pubkey, TxResult]:
    """`target` proposed by `proposer`: the proposal's address and the result."""
    n = proposal_count(v)
    return security.proposal_address(n), v.send([v.security.propose_instruction(proposer.pubkey(), n, target)], proposer)


def test_market_risk_parameters_change_only_through_the_timelock() -> None:
    """A compromised RISK_MANAGER key that loosens a market's margins: signing the change itself
    (NotTimelock), proposing without the role (MissingRole), executing before the delay
    (TimelockNotReady), pointing the execution at another market (InvalidProposalAccounts),
    proposing an instruction that is not routed (UnsupportedTarget), executing after the role
    was revoked (ProposerLostAuthority) or after an ADMIN cancelled it (ProposalCancelled): all
    refused by name, every account unchanged. The honest proposal runs after the delay."""
    v = Venue()
    v.add_market(1, "ETH-PERP")
    risk = v.chain.keypair()
    assert security.enact(v.chain, v.admin, security.Change.grant_role(security.Role.RISK_MANAGER, risk.pubkey())).ok
    loose = v.trading.set_market_params(0, params(init_margin_bps=300, maint_margin_bps=200))
    # Signed by the key itself in the timelock's place.
    refused(v, [Instruction(loose.program_id, loose.data, [AccountMeta(risk.pubkey(), True, False), *loose.accounts[1:]])], "NotTimelock")
    stranger = v.chain.keypair()
    refused(v, [v.security.propose_instruction(stranger.pubkey(), proposal_count(v), loose)], "MissingRole", SECURITY_E)
    # A status change is immediate (an emergency action), never routed through the timelock.
    status = v.trading.set_market_status(risk.pubkey(), 0, v.feeds[0], MarketStatus.REDUCE_ONLY)
    refused(v, [v.security.propose_instruction(risk.pubkey(), proposal_count(v), status)], "UnsupportedTarget", SECURITY_E)
    proposal, result = propose(v, risk, loose)
    assert result.ok, result.logs
    refused(v, [v.security.execute_routed(proposal, loose)], "TimelockNotReady", SECURITY_E)
    v.chain.advance(1, security.LOCAL_TIMELOCK_DELAY)
    other_market = v.trading.set_market_params(1, params(init_margin_bps=300, maint_margin_bps=200))
    refused(v, [v.security.execute_routed(proposal, other_market)], "InvalidProposalAccounts", SECURITY_E)
    assert security.enact(v.chain, v.admin, security.Change.revoke_role(security.Role.RISK_MANAGER, risk.pubkey())).ok
    refused(v, [v.security.execute_routed(proposal, loose)], "ProposerLostAuthority", SECURITY_E)
    # The honest path: a risk manager's proposal, cancellable by any ADMIN until it runs.
    assert security.enact(v.chain, v.admin, security.Change.grant_role(security.Role.RISK_MANAGER, risk.pubkey())).ok
    cancelled, result = propose(v, risk, loose)
    assert v.send([v.security.cancel_proposal(v.admin.pubkey(), cancelled)]).ok
    v.chain.advance(1, security.LOCAL_TIMELOCK_DELAY)
    refused(v, [v.security.execute_routed(cancelled, loose)], "ProposalCancelled", SECURITY_E)
    assert v.market().init_margin_bps == PARAMS.init_margin_bps
    assert v.govern(loose, risk).ok
    assert (v.market().init_margin_bps, v.market().maint_margin_bps) == (300, 200)


def privileged(v: Venue) -> list[tuple[str, Instruction]]:
    """Every direct privileged instruction outside qd-security (whose own are tested there), as
    the admin (super-admin: every role, the feeds' authority) would sign it."""
    admin = v.admin.pubkey()
    return [
        ("create_market", v.trading.create_market(admin, 5, "AVAX-PERP", v.feeds[0], PARAMS)),
        ("set_market_status", v.trading.set_market_status(admin, 0, v.feeds[0], MarketStatus.REDUCE_ONLY)),
        ("create_collateral", v.collateral.create_collateral(admin, v.chain.create_mint(9), v.feeds[0], collateral.Params(8_000, 9_000, 10**15))),
        ("initialize_feed", v.oracle.initialize_feed(admin, "AVAX/USD", -6, 30, [v.publisher.pubkey()])),
        ("set_status", v.oracle.set_status(admin, v.feeds[0], oracle.STATUS_HALTED)),
        ("set_max_sub_accounts", v.core.set_max_sub_accounts(admin, 3)),
    ]


def test_privileged_instructions_refuse_durable_nonces() -> None:
    """A pre-signed admin transaction replayed on a durable nonce (Drift, April 2026): each direct
    privileged instruction of qd-trading, qd-collateral, qd-oracle and qd-core refuses a
    transaction that advances a nonce, every account unchanged; the same instruction sent
    normally is accepted."""
    v = Venue()
    nonce = Nonce(v.chain, v.admin)
    for name, ix in privileged(v):
        keys = {m.pubkey for m in ix.accounts} - {v.admin.pubkey()}
        before = {k: v.raw(k) for k in keys}
        result = nonce.send([ix])
        assert not result.ok and result.custom_error == E["DurableNonce"], (name, result.logs)
        assert {k: v.raw(k) for k in keys} == before, name
        sent = v.send([ix])
        assert sent.ok, (name, sent.logs)
