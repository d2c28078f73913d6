"""Attacks on qd-trading in the real runtime (LiteSVM), one test per attack class. Each forged
instruction fails with its named error (codes looked up by name in the IDL) and leaves every
account it names as it was (owner, lamports and data compared byte for byte); the honest
instruction then succeeds (where there is one), so the refusal came from the forged part alone. Forged variants are
built by quantdesk.world's Venue (the functional tests' too) and sent with signature
verification off, where a signer meta stands as signed: only the forged meta differs.

What test_trading_program.py already covers is not repeated here: market re-creation, post-only
REJECT and SLIDE on placement, the rate limit's exhaustion and cancels without a token, a frozen
account's placement and cancels, place-and-make self-trades, a session's notional and a
delegate's placement, reduce-only placements and TradingAccountNotEmpty with an open order.

Fake sysvars are not an attack surface: qd-trading reads the Clock (and Rent) by syscall
(qd_runtime::sysvar), so no sysvar account is passed that could be substituted."""
from __future__ import annotations

from quantdesk.clients import collateral, core, security
from quantdesk.clients import trading_state as ts
from quantdesk.clients.security import Operation, mask
from quantdesk.clients.trading import OrderParams, Side
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from quantdesk.world import (
    ASK,
    BASE,
    BID,
    IMPOSTOR,
    IOC,
    LIMIT,
    MARKET,
    ORACLE_OFFSET,
    PARAMS,
    PRICE,
    REJECT,
    SLIDE,
    TICK,
    USDC,
    Trader,
    Venue,
    account_meta,
    built,
    failed,
    forge,
    order,
    other_bump_address,
    poke,
    refused,
    with_meta,
)
from quantdesk.world import TRADING_ERRORS as E

PROGRAM_ID = ts.PROGRAM_ID


# ---------------------------------------------------------------- forging and checking

def settle_ix(v: Venue, t: Trader) -> Instruction:
    return built(v, lambda: v.settle(t))


def close_ix(v: Venue, t: Trader) -> Instruction:
    return v.trading.close_trading_account(t.owner.pubkey(), t.margin)


def session_place_ix(v: Venue, t: Trader, key: Keypair, owner: Pubkey) -> Instruction:
    """`key` places for `t` with the session of `owner` for `key`."""
    return built(v, lambda: v.place(t, order(BID, price=99 * USDC), signer=key, session=security.session_address(owner, key.pubkey())))


def set_pause(v: Venue, ops: list[Operation], paused: bool, market: int = security.NO_MARKET) -> None:
    """Pauses at once; unpauses through the timelock."""
    assert v.pause(v.admin, mask(ops), paused, market).ok


# ---------------------------------------------------------------- makers

def test_a_fake_maker_trading_account_is_refused() -> None:
    v = Venue()
    taker, maker, order_id = v.taker_in_auction()
    victim = v.trader()
    make = v.make_ix(maker, taker, order_id)
    # The maker's own bytes at another address, owned by another program.
    refused(v, [with_meta(make, "maker_trading_account", key=forge(v.chain, v.raw(maker.trading)))], "WrongOwner")
    # A real trading account, of another margin account: its position would take the fill.
    refused(v, [with_meta(make, "maker_trading_account", key=victim.trading)], "WrongTradingAccount")
    # The same through fill_order's maker triple.
    ask, bid = v.resting_ask_and_bid(maker, victim)
    fill = v.fill_ix(victim, bid, [(maker, ask)])
    refused(v, [with_meta(fill, remaining=1, key=forge(v.chain, v.raw(maker.trading)))], "WrongOwner")
    refused(v, [with_meta(fill, remaining=1, key=taker.trading)], "WrongTradingAccount")
    assert v.fill(victim, bid, [(maker, ask)]).ok


def test_a_maker_must_sign_for_its_account() -> None:
    v = Venue()
    taker, maker, order_id = v.taker_in_auction()
    make = v.make_ix(maker, taker, order_id)
    refused(v, [with_meta(make, "maker_signer", signer=False)], "MissingSigner")
    # Someone's signature, but not the maker's owner, delegate or session key.
    refused(v, [with_meta(make, "maker_signer", key=Keypair().pubkey())], "NotAuthorized")
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok


# ---------------------------------------------------------------- oracles

def test_a_fake_oracle_is_refused() -> None:
    v = Venue()
    v.add_market(1, "ETH-PERP")  # another real feed, at the same price
    t = v.trader()
    feed = v.feeds[0]
    place = v.place_ix(t, order(BID, price=99 * USDC))
    refused(v, [with_meta(place, "oracle", key=forge(v.chain, v.raw(feed)))], "WrongOracle")
    refused(v, [with_meta(place, "oracle", key=v.feeds[1])], "WrongOracle")
    # Defence in depth (no attacker can re-own the market's own address): the reader checks
    # the owner too.
    real = v.chain.account(feed)
    assert real is not None
    v.chain.set_account(feed, Account(real.lamports, bytes(real.data), IMPOSTOR, False, 0))
    refused(v, [place], "WrongOracleOwner")
    v.chain.set_account(feed, real)
    assert v.place(t, order(BID, price=99 * USDC)).ok
    # A fill at another feed's price, and a funding crank priced by another feed.
    taker, maker, order_id = v.taker_in_auction()
    refused(v, [with_meta(v.make_ix(maker, taker, order_id), "oracle", key=v.feeds[1])], "WrongOracle")
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    v.chain.advance(0, PARAMS.funding_period_secs)
    v.advance(1)
    refused(v, [with_meta(built(v, v.update_funding), "oracle", key=v.feeds[1])], "WrongOracle")
    assert v.update_funding().ok


def test_a_stale_oracle_is_refused() -> None:
    v = Venue()
    v.add_market(1, "ETH-PERP")
    taker, maker, order_id = v.taker_in_auction()
    # A resting order in market 1 puts its market and feed on the taker's health list.
    assert v.place(taker, order(BID, price=99 * USDC, market=1)).ok
    place = v.place_ix(taker, order(BID, price=98 * USDC))
    make = v.make_ix(maker, taker, order_id)
    v.chain.advance(1, 21)  # past the 20 s of the Trade and Margin guards
    refused(v, [place], "StaleOracleTime")
    refused(v, [make], "StaleOracleTime")
    v.publish(PRICE, 0)  # the traded market is fresh, the health list's feed is not
    refused(v, [place], "StaleOracleTime")
    v.advance(1)
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    v.chain.advance(51, 0)  # past the 50 slots
    refused(v, [place], "StaleOracleSlots")
    v.advance(1)
    assert v.place(taker, order(BID, price=98 * USDC)).ok


# ---------------------------------------------------------------- order rules

def test_auction_bounds_out_of_range_are_refused() -> None:
    v = Venue()
    t = v.trader()

    def ioc(side: Side, limit: int, auction: tuple[int, int, int]) -> OrderParams:
        return order(side, LIMIT, IOC, price=limit, auction=auction)

    # The oracle is 100 and the deviation 5%: auctions stay within 95..105.
    for params, error in [
        (ioc(BID, 106 * USDC, (PRICE, 105_010_000, 5)), "AuctionOutOfBounds"),  # end beyond the deviation
        (ioc(ASK, 94 * USDC, (PRICE, 94_990_000, 5)), "AuctionOutOfBounds"),
        (ioc(ASK, 99 * USDC, (105_010_000, 99 * USDC, 5)), "AuctionOutOfBounds"),  # start beyond it
        (ioc(BID, 102 * USDC, (PRICE, 103 * USDC, 5)), "AuctionOutOfBounds"),  # end past the limit
        (ioc(ASK, 99 * USDC, (PRICE, 98 * USDC, 5)), "AuctionOutOfBounds"),
        (ioc(BID, 102 * USDC, (101 * USDC, PRICE, 5)), "AuctionOutOfBounds"),  # a bid's auction falling
        (ioc(BID, 102 * USDC, (PRICE + TICK // 2, 101 * USDC, 5)), "AuctionOutOfBounds"),  # off tick
        (ioc(BID, 102 * USDC, (PRICE, 101 * USDC, PARAMS.auction_max_slots + 1)), "AuctionDurationOutOfRange"),
        # A resting order that does not cross runs no auction, so it takes none.
        (order(BID, price=99 * USDC, auction=(99 * USDC, 99 * USDC, 5)), "InvalidOrderType"),
    ]:
        refused(v, [v.place_ix(t, params)], error)
    assert v.place(t, ioc(BID, 102 * USDC, (PRICE, 101 * USDC, PARAMS.auction_max_slots))).ok
    assert v.place(t, ioc(ASK, 95 * USDC, (105 * USDC, 95 * USDC, PARAMS.auction_min_slots))).ok


def test_a_reduce_only_order_cannot_increase_at_its_fill() -> None:
    v = Venue()
    taker, maker, order_id = v.taker_in_auction()
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    # Long 1: a reduce-only sell of 1 is accepted; then another sell closes the position first.
    reduce = v.placed_id(taker, order(ASK, MARKET, IOC, price=99 * USDC, reduce_only=True))
    other = v.placed_id(taker, order(ASK, MARKET, IOC, price=99 * USDC))
    v.advance(2)
    assert v.place_and_make(maker, taker, other, PRICE, BASE).ok
    assert v.account(taker).position(0).base == 0
    refused(v, [v.make_ix(maker, taker, reduce)], "ReduceOnlyIncreases")


def test_post_only_cannot_cross_by_modification_or_offset() -> None:
    v = Venue()
    t = v.trader()
    bid = v.placed_id(t, order(BID, price=99 * USDC, post_only=REJECT))
    refused(v, [built(v, lambda: v.modify(t, bid, price=101 * USDC))], "PostOnlyCrosses")
    # An oracle-offset bid above the oracle crosses as well.
    refused(v, [v.place_ix(t, order(BID, ORACLE_OFFSET, price=USDC, post_only=REJECT))], "PostOnlyCrosses")
    # SLIDE on the bid side: one tick below the oracle.
    assert v.place(t, order(BID, price=101 * USDC, post_only=SLIDE)).ok
    assert (v.account(t).orders[-1].price, v.account(t).orders[-1].auction_slots) == (PRICE - TICK, 0)
    assert v.modify(t, bid, price=PRICE - TICK).ok


def test_the_rate_limit_refills_after_slots_and_binds_makers() -> None:
    v = Venue()
    taker, maker = v.trader(), v.trader()
    assert security.enact(v.chain, v.admin, security.Change.set_rate_limit(2, 500)).ok  # 2 at once, then one per 2 slots
    order_id = v.placed_id(taker, order(BID, MARKET, IOC, price=102 * USDC))
    for i in range(2):
        assert v.place(maker, order(ASK, price=(101 + i) * USDC)).ok
    place = v.place_ix(maker, order(ASK, price=103 * USDC))
    make = v.make_ix(maker, taker, order_id)
    refused(v, [place], "RateLimited")
    refused(v, [make], "RateLimited")
    v.advance(1)  # half a token
    refused(v, [make], "RateLimited")
    v.advance(1)
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    refused(v, [place], "RateLimited")
    v.advance(2)
    assert v.place(maker, order(ASK, price=103 * USDC)).ok


def test_a_frozen_account_settles_but_does_not_make() -> None:
    v = Venue()
    taker, maker, order_id = v.taker_in_auction()
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    sell = v.placed_id(taker, order(ASK, MARKET, IOC, price=99 * USDC))
    v.advance(2)
    assert v.place_and_make(maker, taker, sell, PRICE, BASE).ok
    # Short at ~100.4, bought back at ~99.8: a realized gain to settle.
    realized = v.account(maker).position(0).realized_pnl
    assert realized > 0
    compliance = v.chain.keypair()
    assert security.enact(v.chain, v.admin, security.Change.grant_role(security.Role.COMPLIANCE, compliance.pubkey())).ok
    assert v.send([v.security.freeze_account(compliance.pubkey(), maker.margin, 7)], compliance).ok
    buy = v.placed_id(taker, order(BID, MARKET, IOC, price=102 * USDC))
    v.advance(2)
    refused(v, [v.make_ix(maker, taker, buy)], "AccountFrozen")
    # Once the loser has paid into the PnL pool, the frozen winner's settlement takes its gain.
    assert v.settle(taker).ok
    before = v.quote_balance(maker)
    assert v.settle(maker).ok
    assert v.quote_balance(maker) == before + realized


def test_an_account_being_liquidated_may_only_reduce() -> None:
    """While qd-core liquidates an account (MarginAccount status bit 1) its owner may only
    reduce: a placement or a modification that is not reduce-only, and a place_and_make fill that
    would add to its position (as taker or as maker), are refused by name with every account
    unchanged; fill_order skips a maker order of it that would add (as it skips one its owner's
    reduce-only limit stops) and fills one that reduces only as far as it reduces. Reduce-only
    orders, reducing fills and cancels go through."""
    v = Venue()
    t, m, o = v.trader(), v.trader(), v.trader()
    buy = v.placed_id(t, order(BID, MARKET, IOC, size=2 * BASE, price=101 * USDC, auction=(PRICE, PRICE, 2)))
    assert v.place_and_make(m, t, buy, PRICE, 2 * BASE).ok  # t: long 2
    bid = v.placed_id(t, order(BID, price=95 * USDC))
    ask = v.placed_id(t, order(ASK, size=3 * BASE, price=105 * USDC))
    pending = v.placed_id(t, order(BID, MARKET, IOC, price=102 * USDC))  # in its auction
    poke(v.chain, t.margin, core.STATUS_OFFSET, bytes([core.STATUS_BEING_LIQUIDATED]))
    assert v.margin_state(t.margin).being_liquidated

    refused(v, [v.place_ix(t, order(BID, price=96 * USDC))], "AccountBeingLiquidated")
    refused(v, [v.place_ix(t, order(ASK, price=104 * USDC))], "AccountBeingLiquidated")  # reducing, but not flagged reduce-only
    refused(v, [built(v, lambda: v.modify(t, bid, price=96 * USDC))], "AccountBeingLiquidated")
    refused(v, [v.make_ix(m, t, pending)], "AccountBeingLiquidated")  # its own buy, filled by a maker
    sell = v.placed_id(o, order(ASK, MARKET, IOC, size=BASE, price=99 * USDC))
    refused(v, [v.make_ix(t, o, sell)], "AccountBeingLiquidated")  # buying as maker
    # The way out: reduce-only orders (placed and modified), selling into a bid as maker, cancels.
    exit_id = v.placed_id(t, order(ASK, price=106 * USDC, size=BASE, reduce_only=True))
    assert v.modify(t, exit_id, price=107 * USDC).ok
    bought = v.placed_id(o, order(BID, MARKET, IOC, size=BASE, price=101 * USDC))
    assert v.place_and_make(t, o, bought, PRICE, BASE).ok
    assert v.account(t).position(0).base == BASE
    assert v.cancel(t, "cancel_order", pending).ok

    # fill_order after the takers' auctions: t's resting bid would add (skipped, nothing
    # changes); its resting ask of 3 fills the 1 that reduces its long.
    into_bid = v.placed_id(o, order(ASK, tif=IOC, size=BASE, price=95 * USDC))
    into_ask = v.placed_id(o, order(BID, tif=IOC, size=2 * BASE, price=105 * USDC))
    v.advance(10)
    before = v.raw(t.trading)
    result = v.fill(o, into_bid, [(t, bid)])
    assert result.ok, result.logs
    assert [e for e in v.events(result) if e.name == "Fill"] == [] and v.raw(t.trading) == before
    result = v.fill(o, into_ask, [(t, ask)])
    assert result.ok, result.logs
    assert [(e.data.maker, e.data.base) for e in v.events(result) if e.name == "Fill"] == [(t.margin, BASE)]
    assert v.account(t).position(0).base == 0
    assert next(q for q in v.account(t).orders if q.order_id == ask).base_filled == BASE
    # Once the liquidation is over, the account trades again.
    poke(v.chain, t.margin, core.STATUS_OFFSET, bytes([0]))
    assert v.place(t, order(BID, price=96 * USDC)).ok


def test_self_trade_through_fill_order_is_refused() -> None:
    v = Venue()
    taker = v.trader()
    sibling = v.trader(owner=taker.owner, sub_id=1)
    own, bid = v.resting_ask_and_bid(taker, taker)
    sibling_ask = v.placed_id(sibling, order(ASK, price=100_500_000))
    # The taker as its own maker puts its trading account and balances in two writable slots:
    # refused as duplicate accounts before any other check.
    refused(v, [v.fill_ix(taker, bid, [(taker, own)])], "DuplicateAccount")
    refused(v, [v.fill_ix(taker, bid, [(sibling, sibling_ask)])], "SelfTrade")
    other = v.trader()
    ask = v.placed_id(other, order(ASK, price=100_500_000))
    assert v.fill(taker, bid, [(other, ask)]).ok


# ---------------------------------------------------------------- classic account attacks

def test_instructions_need_their_signers() -> None:
    v = Venue()
    t = v.trader()
    order_id = v.placed_id(t, order(BID, price=99 * USDC))
    stranger = Keypair().pubkey()
    for ix, signer in [
        (v.place_ix(t, order(BID, price=98 * USDC)), "signer"),
        (built(v, lambda: v.modify(t, order_id, price=98 * USDC)), "signer"),
        (built(v, lambda: v.cancel(t, "cancel_order", order_id)), "signer"),
        (built(v, lambda: v.cancel(t, "cancel_order_by_client_id", 0)), "signer"),
        (built(v, lambda: v.cancel(t, "cancel_orders", None)), "signer"),
        (v.fill_ix(t, order_id, [(t, order_id)]), "filler"),
        (close_ix(v, t), "owner"),
        (v.trading.open_trading_account(t.owner.pubkey(), t.margin), "owner"),
    ]:
        refused(v, [with_meta(ix, signer, signer=False)], "MissingSigner")
    # The fee payer signs every transaction: these are tried with another key, unsigned.
    for ix in [settle_ix(v, t), built(v, lambda: v.expire(t))]:
        refused(v, [with_meta(ix, "signer", signer=False, key=stranger)], "MissingSigner")
    assert v.cancel(t, "cancel_order", order_id).ok


def test_accounts_of_another_program_are_refused() -> None:
    v = Venue()
    t = v.trader()
    place = v.place_ix(t, order(BID, price=99 * USDC))
    # trading, market, balances, quote config: each one's bytes, owned by another program.
    for name in ("trading_account", "market", "balances", "quote_config"):
        refused(v, [with_meta(place, name, key=forge(v.chain, v.raw(account_meta(place, name).pubkey)))], "WrongOwner")
    # A margin account elsewhere is not the one the trading account belongs to.
    refused(v, [with_meta(place, "margin_account", key=forge(v.chain, v.raw(t.margin)))], "WrongTradingAccount")
    taker, maker, order_id = v.taker_in_auction()
    make = v.make_ix(maker, taker, order_id)
    refused(v, [with_meta(make, "maker_margin_account", key=forge(v.chain, v.raw(maker.margin)))], "WrongOwner")  # the maker's margin account
    refused(v, [with_meta(make, "market", key=forge(v.chain, v.raw(ts.market_address(0))))], "WrongOwner")
    assert v.place(t, order(BID, price=99 * USDC)).ok


def test_type_cosplay_is_refused() -> None:
    v = Venue()
    t = v.trader()
    place = v.place_ix(t, order(BID, price=99 * USDC))
    refused(v, [with_meta(place, "market", key=t.trading)], "WrongAccountSize")  # a TradingAccount as the PerpMarket
    refused(v, [with_meta(place, "trading_account", key=ts.market_address(0))], "WrongAccountSize")  # a PerpMarket as the TradingAccount
    refused(v, [with_meta(place, "market", key=collateral.config_address(v.usdc))], "WrongOwner")  # a collateral account as the market
    refused(v, [with_meta(place, "quote_config", key=t.balances)], "WrongAccountSize")  # balances as the quote config
    # Defence in depth (only qd-trading writes its accounts, and its types differ in size): a
    # qd-trading account of the TradingAccount's size with the PerpMarket's discriminator.
    cosplay = forge(v.chain, ts.MARKET_DISCRIMINATOR + v.raw(t.trading)[8:], owner=PROGRAM_ID)
    refused(v, [with_meta(place, "trading_account", key=cosplay)], "WrongDiscriminator")
    assert v.place(t, order(BID, price=99 * USDC)).ok


def test_reinitialization_is_refused() -> None:
    v = Venue()
    t = v.trader()
    v.placed_id(t, order(BID, price=99 * USDC))
    refused(v, [v.trading.open_trading_account(t.owner.pubkey(), t.margin)], "AlreadyInitialized")
    assert len(v.account(t).orders) == 1
    # An address pre-funded to block its creation still opens.
    blocked = v.trader(deposit=0, sub_id=1, owner=t.owner)
    assert v.send([close_ix(v, blocked)], t.owner).ok
    v.chain.svm.airdrop(blocked.trading, 1)
    assert v.send([v.trading.open_trading_account(t.owner.pubkey(), blocked.margin)], t.owner).ok
    assert v.account(blocked).next_order_id == 1


def test_only_canonical_pdas_are_created() -> None:
    v = Venue()
    v.feeds[1] = v.feeds[0]
    create = built(v, lambda: v.create_market(1, "ETH-PERP", PARAMS))
    index = (1).to_bytes(2, "little")
    refused(v, [with_meta(create, "market", key=other_bump_address([ts.MARKET_SEED, index], PROGRAM_ID))], "WrongAddress")
    refused(v, [with_meta(create, "market", key=ts.market_address(2))], "WrongAddress")  # another index's PDA
    owner = v.chain.keypair()
    t = v.trader(owner=owner)
    assert v.send([close_ix(v, t)], owner).ok
    open_ix = v.trading.open_trading_account(owner.pubkey(), t.margin)
    refused(v, [with_meta(open_ix, "trading_account", key=other_bump_address([ts.TRADING_SEED, bytes(t.margin)], PROGRAM_ID))], "WrongAddress")
    refused(v, [with_meta(open_ix, "trading_account", key=v.trader().trading)], "WrongAddress")  # another margin account's PDA
    assert v.create_market(1, "ETH-PERP", PARAMS).ok
    assert v.send([open_ix], owner).ok


def test_a_fake_collateral_program_is_refused() -> None:
    v = Venue()
    # qd-collateral's own code deployed at an address that is not qd-collateral.
    fake = v.chain.deploy("qd_collateral", Keypair().pubkey())
    taker, maker, order_id = v.taker_in_auction()
    # Fills make no balance adjustment (no collateral program among their accounts); their
    # session CPIs are signed by the trading authority, which must be the real one.
    make = v.make_ix(maker, taker, order_id)
    refused(v, [with_meta(make, "trading_authority", key=Keypair().pubkey())], "WrongAddress")  # not the trading authority
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    other = v.trader()
    ask, bid = v.resting_ask_and_bid(maker, other)
    refused(v, [with_meta(v.fill_ix(other, bid, [(maker, ask)]), "trading_authority", key=Keypair().pubkey())], "WrongAddress")
    refused(v, [with_meta(settle_ix(v, taker), "collateral_program", key=fake)], "WrongCollateralProgram")
    assert v.fill(other, bid, [(maker, ask)]).ok
    assert v.settle(taker).ok


def test_duplicate_mutable_accounts_are_refused() -> None:
    v = Venue()
    taker, maker, order_id = v.taker_in_auction()
    make = v.make_ix(maker, taker, order_id)
    refused(v, [with_meta(make, "maker_trading_account", key=taker.trading)], "DuplicateAccount")  # maker trading == taker trading
    refused(v, [with_meta(make, "session", key=taker.trading, writable=True)], "DuplicateAccount")  # a session slot naming a trading account
    # Balances and the quote config are read-only in a fill: passing another account there is
    # an identity or type refusal, not a duplicate.
    refused(v, [with_meta(make, "maker_balances", key=taker.balances)], "BalancesMismatch")  # one balances account for both
    refused(v, [with_meta(make, "quote_config", key=maker.balances)], "WrongAccountSize")  # balances as the quote config
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    other = v.trader()
    first, bid = v.resting_ask_and_bid(maker, other)
    second = v.placed_id(maker, order(ASK, price=100_500_000))
    refused(v, [v.fill_ix(other, bid, [(maker, first), (maker, second)])], "DuplicateAccount")
    refused(v, [with_meta(settle_ix(v, taker), "balances", key=taker.trading)], "DuplicateAccount")
    assert v.fill(other, bid, [(maker, first)]).ok


def test_a_trading_account_serves_only_its_margin_account() -> None:
    v = Venue()
    victim, attacker = v.trader(), v.trader()
    v.placed_id(victim, order(BID, price=99 * USDC))
    # The attacker signs for its own margin account and names the victim's trading account.
    refused(v, [with_meta(v.place_ix(attacker, order(BID, price=98 * USDC)), "trading_account", key=victim.trading)], "WrongTradingAccount")
    refused(v, [with_meta(built(v, lambda: v.cancel(attacker, "cancel_orders", None)), "trading_account", key=victim.trading)], "WrongTradingAccount")
    settle = settle_ix(v, victim)
    refused(v, [with_meta(settle, "margin_account", key=attacker.margin)], "WrongTradingAccount")
    # The victim's PnL into the attacker's balances.
    refused(v, [with_meta(settle, "balances", key=attacker.balances)], "BalancesMismatch")
    assert v.settle(victim).ok


def test_a_closed_trading_account_cannot_be_used_or_revived() -> None:
    v = Venue()
    taker, maker, order_id = v.taker_in_auction()
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    refused(v, [close_ix(v, taker)], "TradingAccountNotEmpty")  # a position, no orders
    t = v.trader()
    close, place = close_ix(v, t), v.place_ix(t, order(BID, price=99 * USDC))
    rent = v.chain.lamports(t.trading)
    revive = transfer(TransferParams(from_pubkey=v.admin.pubkey(), to_pubkey=t.trading, lamports=rent))
    # Closed and refunded in one transaction: the account is the System program's, not revived.
    refused(v, [close, revive, place], "WrongOwner")
    assert v.send([close], t.owner).ok
    refused(v, [place], "WrongOwner")
    refused(v, [built(v, lambda: v.cancel(t, "cancel_orders", None))], "WrongOwner")
    # Opening again starts a new account.
    assert v.send([v.trading.open_trading_account(t.owner.pubkey(), t.margin)], t.owner).ok
    assert (v.account(t).next_order_id, v.account(t).seq) == (1, 1)


def test_health_accounts_cannot_hide_a_position() -> None:
    v = Venue()
    v.add_market(1, "ETH-PERP")
    t = v.trader(deposit=1_000 * USDC)
    assert v.place(t, order(BID, price=99 * USDC, size=80 * BASE, market=1)).ok
    place = v.place_ix(t, order(BID, price=99 * USDC, size=10 * BASE))
    metas = list(place.accounts)
    refused(v, [Instruction(PROGRAM_ID, bytes(place.data), metas[:-2])], "NotEnoughAccounts")
    refused(v, [Instruction(PROGRAM_ID, bytes(place.data), metas + [metas[-1]])], "TooManyAccounts")
    refused(v, [with_meta(place, remaining=0, key=ts.market_address(0))], "MarketMismatch")
    refused(v, [with_meta(place, remaining=1, key=v.feeds[0])], "WrongOracle")
    assert v.place(t, order(BID, price=99 * USDC, size=10 * BASE)).ok
    # Counted, market 1's 80 SOL of bids leave no room for 20 more.
    failed(v.place(t, order(BID, price=99 * USDC, size=20 * BASE)), E["InsufficientHealth"])


# ---------------------------------------------------------------- pause, sessions, delegates

def test_pauses_stop_their_operations_but_not_cancels() -> None:
    v = Venue()
    v.add_market(1, "ETH-PERP")
    taker, maker, order_id = v.taker_in_auction()
    resting = v.placed_id(maker, order(ASK, price=101 * USDC))
    place = v.place_ix(taker, order(BID, price=99 * USDC))
    set_pause(v, [Operation.PLACE_ORDER], True)
    refused(v, [place], "Paused")
    refused(v, [v.place_ix(taker, order(BID, price=99 * USDC, market=1))], "Paused")
    refused(v, [built(v, lambda: v.modify(maker, resting, price=102 * USDC))], "Paused")
    set_pause(v, [Operation.PLACE_ORDER], False)
    set_pause(v, [Operation.PLACE_ORDER], True, market=0)
    refused(v, [place], "Paused")
    assert v.place(taker, order(BID, price=99 * USDC, market=1)).ok
    set_pause(v, [Operation.PLACE_ORDER], False, market=0)
    set_pause(v, [Operation.FILL], True)
    refused(v, [v.make_ix(maker, taker, order_id)], "Paused")
    set_pause(v, [Operation.FILL], False)
    set_pause(v, [Operation.FILL], True, market=0)
    refused(v, [v.make_ix(maker, taker, order_id)], "Paused")
    set_pause(v, [Operation.FILL], False, market=0)
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    other = v.trader()
    bid = v.placed_id(other, order(BID, LIMIT, IOC, price=101 * USDC))
    v.advance(10)
    set_pause(v, [Operation.FILL], True)
    refused(v, [v.fill_ix(other, bid, [(maker, resting)])], "Paused")
    set_pause(v, [Operation.FILL], False)
    v.chain.advance(0, PARAMS.funding_period_secs)
    v.advance(1)
    set_pause(v, [Operation.FUNDING, Operation.SETTLE], True, market=0)
    refused(v, [built(v, v.update_funding)], "Paused")
    refused(v, [settle_ix(v, taker)], "Paused")
    # Everything paused: cancels still pull orders.
    set_pause(v, list(Operation), True)
    assert v.cancel(maker, "cancel_order", resting).ok
    assert v.cancel(taker, "cancel_orders", None).ok
    set_pause(v, list(Operation), False)
    set_pause(v, list(Operation), False, market=0)
    assert v.update_funding().ok
    assert v.settle(taker).ok


def test_a_session_key_places_only_within_its_scope_and_markets() -> None:
    v = Venue()
    t = v.trader()
    owner = t.owner.pubkey()
    expires = v.chain.clock.unix_timestamp + 3_600
    cancel_only, other_market, good = v.chain.keypair(), v.chain.keypair(), v.chain.keypair()
    assert v.send([v.security.create_session(owner, cancel_only.pubkey(), security.SCOPE_CANCEL, 1, 10**12, expires, 10**13),
                   v.security.create_session(owner, other_market.pubkey(), security.SCOPE_PLACE, 1 << 1, 10**12, expires, 10**13),
                   v.security.create_session(owner, good.pubkey(), security.ALL_SCOPES, 1, 10**12, expires, 10**13)], t.owner).ok
    refused(v, [session_place_ix(v, t, cancel_only, owner)], "SessionScope")
    refused(v, [session_place_ix(v, t, other_market, owner)], "SessionMarket")
    # A session of another owner for the same key, and the key with no session at all.
    stranger = v.trader()
    assert v.send([v.security.create_session(stranger.owner.pubkey(), good.pubkey(), security.ALL_SCOPES, 1, 10**12, expires, 10**13)], stranger.owner).ok
    refused(v, [session_place_ix(v, t, good, stranger.owner.pubkey())], "SessionMismatch")
    refused(v, [with_meta(session_place_ix(v, t, good, owner), "session", key=PROGRAM_ID)], "NotAuthorized")
    result = v.send([session_place_ix(v, t, good, owner)], good)
    assert result.ok, result.logs
    assert v.events(result)[0].data.actor == 2


def test_a_delegate_places_but_does_not_withdraw_or_close() -> None:
    v = Venue()
    t = v.trader()
    delegate = v.chain.keypair()
    assert v.send([v.core.set_delegate(t.owner.pubkey(), t.margin, delegate.pubkey())], t.owner).ok
    assert v.place(t, order(BID, price=99 * USDC), signer=delegate).ok
    health = v.health(t.margin)
    withdraw = v.collateral.withdraw(delegate.pubkey(), t.margin, v.usdc, USDC, health)
    refused(v, [withdraw], "DelegateNotPermitted")
    refused(v, [v.trading.close_trading_account(delegate.pubkey(), t.margin)], "NotOwner")
    assert v.send([v.collateral.withdraw(t.owner.pubkey(), t.margin, v.usdc, USDC, health)], t.owner).ok
