"""Liquidation in the real runtime (LiteSVM): qd-core's steps (liquidate_orders, liquidate_perp,
liquidate_collateral, exit_liquidation) with their CPIs into qd-trading and qd-collateral, the
view keepers simulate against its Python mirror (clients/liquidation), and the attacks a
liquidator or a liquidated owner could try, each refused by name with every account unchanged."""
from __future__ import annotations

import dataclasses
import random
import struct

from quantdesk.clients import collateral, core, idl, liquidation
from quantdesk.clients import trading_state as ts
from quantdesk.clients.security import Operation, mask

from quantdesk.world import (
    ASK,
    BASE,
    BID,
    IMPOSTOR,
    IOC,
    LIMIT,
    MARKET,
    PRICE,
    SOL,
    SOL_PARAMS,
    USDC,
    Trader,
    Venue,
    copy_owned_by,
    forge,
    order,
    poke,
    refused,
    with_meta,
)

E = idl.error_codes(core.NAME)
SHOCK = 91 * USDC
"""A long of 95 bought near 100.4 with 1,300 USDC is liquidatable at 91 (maintenance 5%: about
-35), its liquidation-end health (7%) about -208."""


def long_position(v: Venue, size: int = 95 * BASE, deposit: int = 1_300 * USDC) -> tuple[Trader, Trader]:
    """A leveraged long (market bid filled in its auction) and the short who made it."""
    long, short = v.trader(deposit), v.trader(1_000_000 * USDC)
    order_id = v.placed_id(long, order(BID, MARKET, IOC, size=size, price=102 * USDC))
    v.advance(2)
    assert v.make_at_auction(short, long, order_id, size).ok
    return long, short


def shocked(v: Venue) -> tuple[Trader, Trader, Trader]:
    """The long after a shock to SHOCK, its maker, and a liquidator with 100,000 USDC."""
    long, short = long_position(v)
    v.publish(SHOCK)
    return long, short, v.trader(100_000 * USDC)


def base_of(v: Venue, t: Trader, market: int = 0) -> int:
    account = ts.decode_trading_account(v.raw(t.trading))
    return next((p.base for p in account.positions if p.market_index == market), 0)


def test_a_shock_makes_an_account_liquidatable_and_steps_end_its_liquidation() -> None:
    v = Venue()
    long, short, liquidator = shocked(v)
    view = v.view_liquidation(long.margin)
    assert view == v.liquidation_mirror(long.margin)
    assert view.liquidatable and not view.being_liquidated and view.maint_health < 0 and view.liquidation_end_health < view.maint_health
    (perp,) = view.perps
    market = v.market()
    assert perp.fee_bps == market.liquidator_fee_bps + market.insurance_fee_bps
    # A quarter of a position above the whole-step size: the per-step limit binds first.
    assert perp.max_base == 95 * BASE * market.liquidation_max_fraction_bps // 10_000 // market.lot_size * market.lot_size
    result = v.liquidate_perp(liquidator, long)
    assert result.ok, result.logs
    (event,) = [e for e in v.core_events(result) if e.name == "PerpLiquidated"]
    step = event.data
    assert (step.base, step.price, step.margin_account, step.liquidator) == (-perp.max_base, SHOCK, long.margin, liquidator.margin)
    assert step.maint_after > step.maint_before and step.end_after > step.end_before
    assert base_of(v, long) == 95 * BASE - perp.max_base and base_of(v, liquidator) == perp.max_base
    assert v.margin_state(long.margin).being_liquidated
    after = v.market()
    assert after.liquidation_fee_pool == step.insurance_fee and after.liquidation_seq == step.liquidation_id == 1
    assert after.open_interest_long == after.open_interest_short == 95 * BASE
    # Steps continue while the end health is negative (capped at a quarter of what is left),
    # the last one taking what brings it to 0.
    steps = 1
    while (view := v.view_liquidation(long.margin)).liquidatable:
        assert view == v.liquidation_mirror(long.margin) and view.being_liquidated
        (perp,) = view.perps
        left = base_of(v, long)
        assert v.liquidate_perp(liquidator, long).ok
        assert base_of(v, long) == left - perp.max_base
        steps += 1
    assert steps == 3
    state = v.view_liquidation(long.margin)
    assert state.liquidation_end_health >= 0 and not state.liquidatable and not state.being_liquidated
    assert not v.margin_state(long.margin).being_liquidated
    refused(v, [v.liquidate_perp_ix(liquidator, long)], "NotLiquidatable", E)
    v.check_invariants([long, short, liquidator])


def test_a_healthy_account_is_not_liquidated() -> None:
    v = Venue()
    long, _ = long_position(v)
    liquidator = v.trader(100_000 * USDC)
    v.publish(PRICE)
    assert not v.view_liquidation(long.margin).liquidatable
    refused(v, [v.liquidate_perp_ix(liquidator, long)], "NotLiquidatable", E)
    refused(v, [v.liquidate_orders_ix(liquidator, long)], "NotLiquidatable", E)


def test_fake_and_foreign_liquidator_accounts_are_refused() -> None:
    v = Venue()
    long, _, liquidator = shocked(v)
    step = v.liquidate_perp_ix(liquidator, long)
    # Someone else's margin account, signed by the liquidator: not its owner.
    other = v.trader()
    refused(v, [with_meta(step, "liquidator_margin_account", key=other.margin)], "NotOwner", E)
    # A copy of the liquidator's margin account owned by another program.
    fake = copy_owned_by(v.chain, liquidator.margin, IMPOSTOR)
    refused(v, [with_meta(step, "liquidator_margin_account", key=fake)], "WrongOwner", E)
    # Another account's trading account standing in for the liquidator's.
    refused(v, [with_meta(step, "liquidator_trading_account", key=other.trading)], "WrongTradingAccount", E)
    # The liquidated account's balances swapped for another's hide nothing.
    refused(v, [with_meta(step, "balances", key=other.balances)], "BalancesMismatch", E)
    assert v.liquidate_perp(liquidator, long).ok


def test_a_liquidator_must_keep_its_initial_health() -> None:
    v = Venue()
    long, _, _ = shocked(v)
    poor = v.trader(10 * USDC)
    refused(v, [v.liquidate_perp_ix(poor, long)], "LiquidatorInsufficientHealth", E)
    assert v.liquidate_perp(v.trader(100_000 * USDC), long).ok


def test_self_liquidation_is_refused() -> None:
    v = Venue()
    long, _, _ = shocked(v)
    # Another sub-account of the same owner collecting the fee from its own account.
    sibling = v.trader(100_000 * USDC, sub_id=1, owner=long.owner)
    refused(v, [v.liquidate_perp_ix(sibling, long)], "SelfLiquidation", E)
    # The account's delegate liquidating it with an account of its own.
    delegate = v.chain.keypair()
    assert v.send([v.core.set_delegate(long.owner.pubkey(), long.margin, delegate.pubkey())], long.owner).ok
    agent = v.trader(100_000 * USDC, owner=delegate)
    refused(v, [v.liquidate_perp_ix(agent, long)], "SelfLiquidation", E)
    # The account liquidating itself.
    refused(v, [v.liquidate_perp_ix(long, long)], "DuplicateAccount", E)


def test_stale_and_fake_oracles_are_refused() -> None:
    v = Venue()
    long, _, liquidator = shocked(v)
    step = v.liquidate_perp_ix(liquidator, long)
    refused(v, [with_meta(step, "oracle", key=forge(v.chain, v.raw(v.feeds[0])))], "WrongOracle", E)
    v.chain.advance(1, 3_600)
    refused(v, [v.liquidate_perp_ix(liquidator, long)], "StaleOracleTime", E)
    v.publish(SHOCK)
    assert v.liquidate_perp(liquidator, long).ok


def test_the_liquidate_pause_stops_every_step_and_a_frozen_account_is_still_liquidated() -> None:
    v = Venue()
    long, _, liquidator = shocked(v)
    assert v.place(long, order(ASK, LIMIT, size=BASE, price=120 * USDC, reduce_only=True)).ok
    assert v.pause(v.admin, mask([Operation.LIQUIDATE]), market=0).ok
    refused(v, [v.liquidate_perp_ix(liquidator, long)], "Paused", E)
    assert v.liquidate_orders(liquidator, long).ok  # not a market's operation
    assert v.place(long, order(ASK, LIMIT, size=BASE, price=120 * USDC, reduce_only=True)).ok
    assert v.pause(v.admin, mask([Operation.LIQUIDATE])).ok
    refused(v, [v.liquidate_orders_ix(liquidator, long)], "Paused", E)
    refused(v, [v.liquidate_perp_ix(liquidator, long)], "Paused", E)
    fresh = Venue()
    long, _, liquidator = shocked(fresh)
    assert fresh.freeze(long.margin, fresh.admin).ok
    assert fresh.liquidate_perp(liquidator, long).ok


def test_liquidate_orders_cancels_everything_and_starts_the_liquidation() -> None:
    v = Venue()
    long, _, liquidator = shocked(v)
    ids = [v.placed_id(long, order(ASK, LIMIT, size=BASE, price=(110 + i) * USDC, reduce_only=True)) for i in range(3)]
    result = v.liquidate_orders(liquidator, long)
    assert result.ok, result.logs
    assert v.account(long).orders == [] and v.margin_state(long.margin).being_liquidated
    (event,) = [e for e in v.core_events(result) if e.name == "LiquidationOrdersCancelled"]
    assert event.data.orders == 3
    (cancelled,) = [e for e in v.events(result) if e.name == "OrdersCancelled"]
    assert list(cancelled.data.order_ids) == ids and cancelled.data.margin_account == long.margin
    refused(v, [v.liquidate_orders_ix(liquidator, long)], "NothingToLiquidate", E)


def test_a_liquidated_owner_may_deposit_cancel_and_reduce_and_leaves_liquidation_when_healthy() -> None:
    v = Venue()
    long, _, liquidator = shocked(v)
    assert v.liquidate_perp(liquidator, long).ok
    assert v.margin_state(long.margin).being_liquidated
    refused(v, [v.place_ix(long, order(BID, LIMIT, size=BASE, price=90 * USDC))], "AccountBeingLiquidated")
    refused(v, [v.exit_liquidation_ix(long)], "LiquidationNotOver", E)
    # Nothing else: no withdrawal, no close-and-reopen, no new delegate or limits.
    refused(v, [v.collateral.withdraw(long.owner.pubkey(), long.margin, v.usdc, USDC, v.health(long.margin))], "AccountInLiquidation",
            idl.error_codes(collateral.NAME))
    refused(v, [v.core.close_margin_account(long.owner.pubkey(), long.margin)], "BeingLiquidated", E)
    refused(v, [v.core.set_delegate(long.owner.pubkey(), long.margin, v.chain.keypair().pubkey())], "BeingLiquidated", E)
    refused(v, [v.core.set_limits(long.owner.pubkey(), long.margin, 200)], "BeingLiquidated", E)
    assert v.place(long, order(ASK, LIMIT, size=BASE, price=120 * USDC, reduce_only=True)).ok
    v.fund(long.owner, v.usdc, 2_000 * USDC)
    assert v.deposit(long, v.usdc, 2_000 * USDC).ok
    assert v.exit_liquidation(long.margin).ok
    assert not v.margin_state(long.margin).being_liquidated
    refused(v, [v.exit_liquidation_ix(long)], "NotBeingLiquidated", E)
    assert v.place(long, order(BID, LIMIT, size=BASE, price=90 * USDC)).ok


def test_collateral_is_liquidated_for_a_debt_at_its_discount() -> None:
    v = Venue(asset=SOL_PARAMS)
    trader = v.trader(0)
    v.fund(trader.owner, v.sol, 10 * SOL)
    assert v.deposit(trader, v.sol, 10 * SOL).ok
    maker = v.trader(1_000_000 * USDC)
    bid = v.placed_id(trader, order(BID, MARKET, IOC, size=50 * BASE, price=102 * USDC))
    v.advance(2)
    assert v.make_at_auction(maker, trader, bid, 50 * BASE).ok
    liquidator = v.trader(100_000 * USDC)
    v.publish(75 * USDC)
    # The perp goes first; the loss it leaves is a debt of the flat position.
    while base_of(v, trader):
        assert v.liquidate_perp(liquidator, trader).ok
    assert v.settle(trader).ok
    view = v.view_liquidation(trader.margin)
    assert view == v.liquidation_mirror(trader.margin)
    debt = -v.account(trader).positions[0].realized_pnl
    assert debt > 0 and view.liquidatable
    sol_before = v.balances(trader.margin).balance_of(v.sol)
    result = v.liquidate_collateral(liquidator, trader, v.sol)
    assert result.ok, result.logs
    (event,) = [e for e in v.core_events(result) if e.name == "CollateralLiquidated"]
    step = event.data
    assert step.collateral == sol_before - v.balances(trader.margin).balance_of(v.sol)
    assert v.balances(liquidator.margin).balance_of(v.sol) == step.collateral
    assert -v.account(trader).positions[0].realized_pnl == debt - step.repaid
    assert step.end_after >= 0 or step.repaid == debt
    assert v.market().pnl_pool >= step.repaid


# ---------------------------------------------------------------- the view against its Python mirror

PORTFOLIOS = 10_000
MARKETS = 3


def test_the_view_equals_its_python_mirror_on_random_portfolios() -> None:
    """10,000 random portfolios (SOL and USDC balances, up to three positions with orders and
    funding, status bits, prices and liquidation terms redrawn every 100) written into one
    account, each judged by view_liquidation on SBF and by clients/liquidation."""
    v = Venue(asset=SOL_PARAMS)
    for index, symbol in ((1, "ETH-PERP"), (2, "BTC-PERP")):
        v.add_market(index, symbol)
    t = v.trader(1_000 * USDC)
    v.fund(t.owner, v.sol, SOL)
    assert v.deposit(t, v.sol, SOL).ok
    configs = {mint: v.collateral_config(mint) for mint in (v.usdc, v.sol)}
    template, balances = v.account(t), v.balances(t.margin)
    buffer = v.global_config().liquidation_buffer_bps
    rng = random.Random(0x5EED_0008)
    liquidatable = 0
    for trial in range(PORTFOLIOS):
        if trial % 100 == 0:
            v.chain.advance(1, 1)
            now = v.chain.clock.unix_timestamp
            prices = {i: rng.randrange(1, 400) * USDC + rng.randrange(USDC) for i in range(MARKETS)}
            sol_price = rng.randrange(10, 300) * USDC
            ixs = [v.oracle.publish(v.publisher.pubkey(), v.feeds[i], prices[i], prices[i] // 10_000, now) for i in range(MARKETS)]
            ixs.append(v.oracle.publish(v.publisher.pubkey(), v.sol_feed, sol_price, sol_price // 10_000, now))
            assert v.send(ixs, v.publisher).ok
            for i in range(MARKETS):
                maint = v.market(i).maint_margin_bps
                liquidator_fee = rng.randrange(0, maint // 2)
                terms = struct.pack("<HHH2xQ", liquidator_fee, rng.randrange(0, maint - liquidator_fee), rng.randrange(1, 10_001),
                                    rng.choice([0, BASE, 10 * BASE, 1_000 * BASE]))
                poke(v.chain, ts.market_address(i), ts.LIQUIDATOR_FEE_OFFSET, terms)
            markets = {i: v.market(i) for i in range(MARKETS)}
        # Balances: USDC then SOL, either may be absent (the entries are compact).
        drawn = [(v.usdc, rng.randrange(-2_000, 5_000) * USDC), (v.sol, rng.randrange(0, 40 * SOL))]
        entries = [collateral.Balance(mint, amount) for mint, amount in drawn if amount != 0 and rng.random() < 0.85]
        raw = b"".join(bytes(e.mint) + e.balance.to_bytes(8, "little", signed=True) for e in entries).ljust(2 * 40, b"\0")
        poke(v.chain, t.balances, collateral.BALANCES_COUNT_OFFSET, bytes([len(entries)]))
        poke(v.chain, t.balances, collateral.BALANCES_ENTRIES_OFFSET, raw)
        positions = []
        for i in rng.sample(range(MARKETS), rng.randrange(0, MARKETS + 1)):
            base = rng.randrange(-200, 201) * BASE // 10
            bids = rng.randrange(0, 10) * BASE if rng.random() < 0.3 else 0
            asks = rng.randrange(0, 10) * BASE if rng.random() < 0.3 else 0
            positions.append(ts.Position(market_index=i, open_orders=int(bids > 0) + int(asks > 0), base=base,
                                         quote_entry=-base * rng.randrange(50, 350) // 1_000, realized_pnl=rng.randrange(-1_500, 500) * USDC,
                                         funding_snapshot=rng.randrange(-10**9, 10**9), bids_base=bids, bids_quote=bids * 90 // 1_000,
                                         asks_base=asks, asks_quote=asks * 110 // 1_000))
        account = dataclasses.replace(template, positions=positions, orders=[])
        poke(v.chain, t.trading, 0, account.encode())
        status = rng.choice([0, 0, core.STATUS_BEING_LIQUIDATED, core.STATUS_BANKRUPT])
        poke(v.chain, t.margin, core.STATUS_OFFSET, bytes([status]))
        held = dataclasses.replace(balances, entries=entries)
        result = v.send([v.core.view_liquidation(t.margin, collateral.health_accounts(held, configs, account, markets))])
        assert result.ok, result.logs
        view = core.decode_liquidation_view(result.return_data)
        mirror = liquidation.view(held, configs, {v.sol: sol_price}, account, markets, prices, buffer, status)
        assert view == mirror, f"trial {trial}"
        liquidatable += view.liquidatable
    # Both verdicts were exercised.
    assert 0.2 * PORTFOLIOS < liquidatable < 0.8 * PORTFOLIOS, liquidatable


# ---------------------------------------------------------------- bankruptcy and the insurance fund

def bankrupt(v: Venue, stake: int) -> tuple[Trader, Trader, Trader]:
    """The long after a shock to 70 (equity about -1,600), liquidated flat, its 1,300 USDC
    settled into its debt; an insurance fund holding `stake`."""
    long, short = long_position(v)
    assert v.create_insurance_fund().ok
    if stake:
        staker = v.staker(stake)
        assert v.stake(staker, stake).ok
    v.publish(70 * USDC)
    liquidator = v.trader(1_000_000 * USDC)
    while base_of(v, long):
        assert v.liquidate_perp(liquidator, long).ok
    assert v.settle(long).ok
    assert v.balances(long.margin).entries == [] and v.margin_state(long.margin).being_liquidated
    return long, short, liquidator


def settle_prices(v: Venue, price: int = 70 * USDC) -> None:
    """Minutes at `price`: the feeds' EMAs catch up after a shock (trading and margin guards
    refuse a price far from its EMA)."""
    for _ in range(4):
        v.advance(60, price)


def test_the_insurance_fund_pays_a_bankruptcy_and_the_rest_is_socialized_over_open_positions() -> None:
    v = Venue()
    long, short, liquidator = bankrupt(v, 500 * USDC)
    debt = -v.account(long).positions[0].realized_pnl
    fund = v.insurance_fund().balance
    assert debt > fund > 0
    bystander = v.trader(5_000 * USDC)  # no position: never pays
    view = v.view_liquidation(long.margin)
    assert view.bankrupt and view == v.liquidation_mirror(long.margin)
    result = v.resolve_bankruptcy(long)
    assert result.ok, result.logs
    events = {e.name: e.data for e in v.core_events(result)}
    assert events["InsurancePaid"].amount == fund and events["InsurancePaid"].balance == 0
    resolved = events["BankruptcyResolved"]
    assert (resolved.debt, resolved.insurance, resolved.socialized, resolved.unbacked) == (debt, fund, debt - fund, 0)
    (socialized,) = [e.data for e in v.events(result) if e.name == "LossSocialized"]
    m = v.market()
    # Both sides pay by their size: the indices moved apart by the same per-unit amount.
    assert socialized.index_delta > 0 and m.cumulative_funding_long - m.cumulative_funding_short == 2 * socialized.index_delta
    assert (m.insurance_paid, m.socialized_loss, m.unbacked_loss) == (fund, debt - fund, 0)
    assert v.account(long).positions == [] and v.margin_state(long.margin).status == 0
    assert not v.view_liquidation(long.margin).bankrupt
    assert v.insurance_fund().balance == 0 and v.insurance_fund().total_paid == fund
    v.check_invariants([long, short, liquidator, bystander])
    # The open positions owe the loss (rounded against them); settling collects it.
    for t in (short, liquidator):
        assert v.settle(t).ok
    assert -v.market().total_funding_settled >= debt - fund
    assert v.quote_balance(bystander) == 5_000 * USDC
    v.check_invariants([long, short, liquidator, bystander])
    settle_prices(v)
    # Every depositor withdraws what it holds: no VaultShortfall.
    for t in (short, liquidator, bystander):
        held = v.quote_balance(t)
        assert v.withdraw(t, v.usdc, min(held, v.view(t.margin).free_collateral)).ok


def test_resolving_twice_or_a_solvent_account_is_refused() -> None:
    v = Venue()
    long, short, _ = bankrupt(v, 5_000 * USDC)
    refused(v, [v.resolve_bankruptcy_ix(short)], "NotBankrupt", E)
    fund = v.insurance_fund().balance
    assert v.resolve_bankruptcy(long).ok
    # The fund covered it all: nothing socialized.
    assert v.market().socialized_loss == 0 and v.insurance_fund().balance < fund
    refused(v, [v.resolve_bankruptcy_ix(long)], "NotBankrupt", E)


def test_the_markets_insurance_cap_bounds_what_the_fund_pays() -> None:
    v = Venue()
    long, _, _ = bankrupt(v, 5_000 * USDC)
    cap = v.market().insurance_cap
    poke(v.chain, ts.market_address(0), ts.INSURANCE_PAID_OFFSET, (cap - 100 * USDC).to_bytes(8, "little"))
    debt = -v.account(long).positions[0].realized_pnl
    assert v.resolve_bankruptcy(long).ok
    m = v.market()
    assert m.insurance_paid == cap and m.socialized_loss == debt - 100 * USDC


def test_a_bankruptcy_with_a_wrong_fund_or_vault_is_refused() -> None:
    v = Venue()
    long, _, _ = bankrupt(v, 5_000 * USDC)
    resolve = v.resolve_bankruptcy_ix(long)
    refused(v, [with_meta(resolve, "insurance_vault", key=v.fund(v.chain.keypair(), v.usdc, 1))], "WrongFundVault", E)
    fake = copy_owned_by(v.chain, core.insurance_fund_address(v.usdc), IMPOSTOR)
    refused(v, [with_meta(resolve, "insurance_fund", key=fake)], "WrongOwner", E)
    assert v.resolve_bankruptcy(long).ok


def test_a_bankruptcy_without_open_positions_is_recorded_unbacked() -> None:
    v = Venue()
    long, short, liquidator = bankrupt(v, 0)
    # The two open positions close against each other: nobody is left to take the loss.
    settle_prices(v)
    held = base_of(v, liquidator)
    ask = v.placed_id(liquidator, order(ASK, MARKET, IOC, size=held, price=65 * USDC))
    v.advance(2, 70 * USDC)
    assert v.make_at_auction(short, liquidator, ask, held).ok
    assert v.market().open_interest_long == v.market().open_interest_short == 0
    debt = -v.account(long).positions[0].realized_pnl
    result = v.resolve_bankruptcy(long)
    assert result.ok, result.logs
    m = v.market()
    assert (m.socialized_loss, m.unbacked_loss, m.insurance_paid) == (0, debt, 0)
    v.check_invariants([long, short, liquidator])


def test_the_liquidation_buffer_changes_only_through_the_timelock() -> None:
    v = Venue()
    long, _, liquidator = shocked(v)
    before = v.view_liquidation(long.margin)
    change = v.core.set_liquidation_buffer(500)
    # Any other signer than qd-security's authority PDA (which signs only executed proposals).
    refused(v, [with_meta(change, "timelock", key=v.admin.pubkey())], "NotTimelock", E)
    refused(v, [v.core.set_liquidation_buffer(2_001)], "InvalidLiquidationBuffer", E)
    assert v.govern(change).ok
    assert v.global_config().liquidation_buffer_bps == 500
    after = v.view_liquidation(long.margin)
    # A wider buffer: the same maintenance health, a lower end health, a larger first step.
    assert after.maint_health == before.maint_health and after.liquidation_end_health < before.liquidation_end_health
    assert after == v.liquidation_mirror(long.margin)
    assert v.liquidate_perp(liquidator, long).ok
