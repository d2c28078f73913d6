"""The insurance fund (qd-core) in LiteSVM: creation by the admin for the quote mint, stakes and
their share math (rounded against the staker, donations ignored), delayed unstakes paying the
lower of the value at the request and at the withdrawal, the timelocked parameters, the
permissionless fee sweep through qd-trading's take_fees and qd-collateral's collect_fees, and
qd-collateral's cover_from_insurance; the attacks (unstaking early or more than staked, another
mint's vault or token account, a second request, a stranger creating the fund, parameters outside
the timelock, the CPI-only instructions called by users), each refused by name with every
account unchanged.

Conservation, checked after every sweep (quote units): the collateral vault holds exactly
`total_balances + protocol_balance`, the insurance vault `fund.balance + donations` (at least the
fund's balance), so together `total_balances + protocol_balance + fund.balance + donations`; and
`protocol_balance == sum of the markets' pnl_pool + revenue`."""
from __future__ import annotations

import struct
from typing import Any

from quantdesk.clients import collateral, core, idl, security, token, trading
from quantdesk.clients.collateral import Params
from quantdesk.clients.security import Operation, Role, mask
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.bench import insurance as bench
from quantdesk.bench import liquidation as liquidation_bench
from quantdesk.chain import TxResult
from quantdesk.world import (
    DAY,
    FEE_SHARE_BPS,
    SOL,
    SOL_PARAMS,
    UNSTAKE_DELAY,
    USDC,
    Nonce,
    Venue,
    copy_owned_by,
    failed,
    poke,
    refused,
    snake_case,
    transfer_checked_ix,
    with_meta,
)

E = idl.error_codes(core.NAME)
COLLATERAL_E = idl.error_codes(collateral.NAME)
TRADING_E = idl.error_codes(trading.NAME)
V = core.VIRTUAL_SHARES
# InsuranceFund: balance @88, total_paid @104 (crates/qd-core-state's offset test).
FUND_BALANCE, FUND_TOTAL_PAID = 88, 104


def venue(asset: Params | None = None) -> Venue:
    """The default venue (USDC, SOL-PERP; the SOL-like `asset` listed when given) with its
    insurance fund: a day's delay, 20% of trading fees."""
    v = Venue(asset=asset)
    result = v.create_insurance_fund()
    assert result.ok, result.logs
    return v


def vault(v: Venue) -> Pubkey:
    return core.insurance_vault_address(v.usdc)


def check_conservation(v: Venue, markets: list[int], donations: int = 0) -> None:
    """The identities of the module docstring."""
    c, f = v.collateral_config(v.usdc), v.insurance_fund()
    held, insured = v.tokens(c.vault), v.tokens(f.vault)
    assert held == c.total_balances + c.protocol_balance
    assert insured == f.balance + donations >= f.balance
    assert held + insured == c.total_balances + c.protocol_balance + f.balance + donations
    assert c.protocol_balance == sum(v.market(i).pnl_pool for i in markets) + c.revenue


def events(result: TxResult, name: str) -> list[Any]:
    """qd-core's events named `name` in `result`'s logs."""
    return [e.data for e in core.parse_events(result.logs) if e.name == name]


def stake_of(v: Venue, staker: Keypair) -> core.Stake:
    """`staker`'s stake, which must exist."""
    s = v.stake_state(staker)
    assert s is not None
    return s


# ---------------------------------------------------------------- creation and parameters

def test_the_admin_creates_the_quote_mints_fund_and_vault() -> None:
    v = Venue()
    result = v.create_insurance_fund(3_600, 2_500)
    assert result.ok, result.logs
    f = v.insurance_fund()
    assert (f.mint, f.vault, f.unstake_delay_secs, f.fee_share_bps) == (v.usdc, vault(v), 3_600, 2_500)
    assert (f.balance, f.total_shares, f.total_paid, f.total_swept, f.seq) == (0, 0, 0, 0, 1)
    assert f.address == core.insurance_fund_address(v.usdc)
    # The vault is a token account of the quote whose token authority is qd-core's authority PDA.
    data = v.raw(f.vault)
    assert (Pubkey.from_bytes(data[:32]), Pubkey.from_bytes(data[32:64]), token.account_amount(data)) == (v.usdc, core.AUTHORITY, 0)
    [created] = events(result, "InsuranceFundCreated")
    assert (created.fund, created.vault, created.admin, created.unstake_delay_secs, created.fee_share_bps, created.seq) == (
        f.address, f.vault, v.admin.pubkey(), 3_600, 2_500, 1)
    # One fund per mint.
    failed(v.create_insurance_fund(), E["AlreadyInitialized"])


def test_creation_by_a_stranger_for_another_mint_or_out_of_bounds_is_refused() -> None:
    v = Venue(asset=SOL_PARAMS)
    stranger = v.chain.keypair()
    ix = v.core.create_insurance_fund
    admin = v.admin.pubkey()
    refused(v, [ix(stranger.pubkey(), v.usdc, DAY, 100)], "NotAdmin", E)
    refused(v, [ix(admin, v.sol, DAY, 100)], "NotQuoteMint", E)
    for delay in (0, core.MAX_UNSTAKE_DELAY_SECS + 1):
        refused(v, [ix(admin, v.usdc, delay, 100)], "InvalidUnstakeDelay", E)
    refused(v, [ix(admin, v.usdc, DAY, core.MAX_FEE_SHARE_BPS + 1)], "InvalidFeeShare", E)
    # Another vault address (the collateral vault, a PDA of another seed), the wrong token program.
    honest = ix(admin, v.usdc, DAY, 100)
    refused(v, [with_meta(honest, "vault", key=collateral.vault_address(v.usdc))], "WrongAddress", E)
    refused(v, [with_meta(honest, "fund", key=core.insurance_fund_address(v.sol))], "WrongAddress", E)
    refused(v, [with_meta(honest, "token_program", key=token.TOKEN_2022_PROGRAM_ID)], "WrongProgram", E)
    # A pre-signed admin transaction replayed on a durable nonce.
    nonce = Nonce(v.chain, v.admin)
    before = (v.raw(core.insurance_fund_address(v.usdc)), v.raw(vault(v)))
    failed(nonce.send([honest]), E["DurableNonce"])
    assert (v.raw(core.insurance_fund_address(v.usdc)), v.raw(vault(v))) == before == (b"", b"")
    assert v.send([honest]).ok


def test_parameters_change_only_through_the_timelock() -> None:
    v = venue()
    change = v.core.set_insurance_params(v.usdc, 600, 4_000)
    # Signed by the admin itself rather than qd-security's authority PDA.
    refused(v, [with_meta(change, "timelock", key=v.admin.pubkey())], "NotTimelock", E)
    # A role that may not propose it, then bad parameters (refused by qd-core when it runs).
    risk = v.holder(Role.RISK_MANAGER)
    failed(v.govern(change, risk), E["MissingRole"])
    failed(v.govern(v.core.set_insurance_params(v.usdc, 600, 10_001)), E["InvalidFeeShare"])
    assert v.insurance_fund().unstake_delay_secs == UNSTAKE_DELAY
    result = v.govern(change)
    assert result.ok, result.logs
    f = v.insurance_fund()
    assert (f.unstake_delay_secs, f.fee_share_bps, f.seq) == (600, 4_000, 2)


# ---------------------------------------------------------------- stakes and unstakes

def test_stakes_mint_shares_rounded_against_the_staker() -> None:
    v = venue()
    alice, bob = v.staker(), v.staker()
    result = v.stake(alice, 1_000 * USDC)
    assert result.ok, result.logs
    # The first stake: V shares per unit.
    assert stake_of(v, alice).shares == 1_000 * USDC * V
    [staked] = events(result, "Staked")
    assert (staked.amount, staked.shares, staked.balance, staked.total_shares, staked.seq) == (
        1_000 * USDC, 1_000 * USDC * V, 1_000 * USDC, 1_000 * USDC * V, 2)
    # Fees swept in raise the price: 7 units then buy floor(7 * (S + V) / (B + 1)) shares.
    v.fill_pools(0, 0, 1_000 * USDC + 3, 1_000 * USDC + 3)
    assert v.sweep().ok
    f = v.insurance_fund()
    assert f.balance == 1_000 * USDC + (1_000 * USDC + 3) * FEE_SHARE_BPS // 10_000
    expected = 7 * (f.total_shares + V) // (f.balance + 1)
    assert expected == f.shares_for(7)
    assert v.stake(bob, 7).ok
    assert stake_of(v, bob).shares == expected
    # Worth less than the 7 paid, at once: the rounding is the staker's.
    assert v.insurance_fund().value_of(expected) < 7
    refused(v, [v.core.stake(alice.pubkey(), v.usdc, 0)], "InvalidStakeAmount", E)
    check_conservation(v, [0])


def test_a_stake_too_small_for_one_share_is_refused() -> None:
    """Fees swept into a fund nobody has staked in yet price a share above one unit (2 USDC over
    the V virtual shares): a 1-unit stake would buy none and is refused, nothing moving; the
    first real stake buys at that price (the virtual shares keep their part)."""
    v = venue()
    v.fill_pools(0, 2 * USDC, 0, 2 * USDC)
    assert v.sweep().ok
    alice = v.staker()
    refused(v, [v.core.stake(alice.pubkey(), v.usdc, 1)], "InvalidStakeAmount", E)
    assert v.stake(alice, 100 * USDC).ok
    f = v.insurance_fund()
    # The 2 USDC swept in before stay with the virtual shares; the rounding costs alice less than
    # one share's price (about 2,000 units: 2 USDC over V = 1,000 virtual shares).
    lost = 100 * USDC - f.value_of(stake_of(v, alice).shares)
    assert 0 < lost <= (f.balance + 1) // (f.total_shares + V) + 1


def test_request_cancel_and_unstake_after_the_delay() -> None:
    v = venue()
    alice = v.staker()
    assert v.stake(alice, 1_000 * USDC).ok
    shares = stake_of(v, alice).shares
    request = v.request_unstake(alice, shares // 4)
    assert request.ok, request.logs
    s = stake_of(v, alice)
    assert s is not None and (s.unstake_shares, s.unstake_value, s.unstake_request_ts) == (shares // 4, 250 * USDC, v.chain.clock.unix_timestamp)
    [requested] = events(request, "UnstakeRequested")
    assert requested.unlock_ts == v.chain.clock.unix_timestamp + UNSTAKE_DELAY
    cancel = v.cancel_unstake(alice)
    assert cancel.ok and not stake_of(v, alice).pending
    assert [e.shares for e in events(cancel, "UnstakeCancelled")] == [shares // 4]
    assert v.request_unstake(alice, shares // 2).ok
    v.chain.advance(1, UNSTAKE_DELAY)
    wallet = token.associated_address(alice.pubkey(), v.usdc)
    before = v.tokens(wallet)
    result = v.unstake(alice)
    assert result.ok, result.logs
    assert v.tokens(wallet) - before == 500 * USDC
    f, s = v.insurance_fund(), stake_of(v, alice)
    assert s is not None and (s.shares, s.pending) == (shares - shares // 2, False)
    assert (f.balance, f.total_shares, v.tokens(f.vault)) == (500 * USDC, shares - shares // 2, 500 * USDC)
    [unstaked] = events(result, "Unstaked")
    assert (unstaked.amount, unstaked.shares, unstaked.balance, unstaked.seq) == (500 * USDC, shares // 2, 500 * USDC, f.seq)
    # Every step had its event, in sequence: created 1, staked 2, requested 3, cancelled 4, requested 5, unstaked 6.
    assert f.seq == 6


def test_two_stakers_share_swept_fees_by_their_shares() -> None:
    v = venue()
    alice, bob = v.staker(), v.staker()
    assert v.stake(alice, 3_000 * USDC).ok
    assert v.stake(bob, 1_000 * USDC).ok
    v.fill_pools(0, 40 * USDC, 0, 40 * USDC)  # liquidation fees: all to the fund
    assert v.sweep().ok
    f = v.insurance_fund()
    assert f.balance == 4_040 * USDC
    a, b = stake_of(v, alice).shares, stake_of(v, bob).shares
    assert v.request_unstake(alice, a).ok and v.request_unstake(bob, b).ok
    v.chain.advance(1, UNSTAKE_DELAY)
    paid = []
    for staker in (alice, bob):
        wallet = token.associated_address(staker.pubkey(), v.usdc)
        before = v.tokens(wallet)
        assert v.unstake(staker).ok
        paid.append(v.tokens(wallet) - before)
    # 3:1, each rounded down; the virtual shares' part and the dust stay in the fund.
    assert paid == [a * (f.balance + 1) // (f.total_shares + V), b * (f.balance + 1) // (f.total_shares + V)]
    assert 30 * USDC - 1 <= paid[0] - 3_000 * USDC <= 30 * USDC and 10 * USDC - 1 <= paid[1] - 1_000 * USDC <= 10 * USDC
    f = v.insurance_fund()
    assert f.total_shares == 0 and f.balance == 4_040 * USDC - sum(paid) == v.tokens(f.vault)
    check_conservation(v, [0])


def test_a_donation_to_the_vault_does_not_move_the_value_of_shares() -> None:
    v = venue()
    alice, donor, bob = v.staker(), v.staker(), v.staker()
    assert v.stake(alice, 100 * USDC).ok
    before = v.insurance_fund()
    assert v.send([transfer_checked_ix(token.associated_address(donor.pubkey(), v.usdc), v.usdc, vault(v), donor.pubkey(), 5_000 * USDC, 6)],
                  donor).ok
    after = v.insurance_fund()
    assert after == before and v.tokens(vault(v)) == after.balance + 5_000 * USDC
    assert after.value_of(stake_of(v, alice).shares) == 100 * USDC
    # A later stake buys at the same price as before the donation.
    assert v.stake(bob, 100 * USDC).ok
    assert stake_of(v, bob).shares == before.shares_for(100 * USDC)
    check_conservation(v, [0], donations=5_000 * USDC)


def test_a_loss_after_the_request_is_the_stakers_too_and_a_gain_stays_in_the_fund() -> None:
    v = venue()
    alice, bob = v.staker(), v.staker()
    assert v.stake(alice, 1_000 * USDC).ok and v.stake(bob, 1_000 * USDC).ok
    a = stake_of(v, alice).shares
    assert v.request_unstake(alice, a).ok
    # The fund pays 400 for a bankruptcy (qd-collateral's cover, signed as qd-core's CPI signs it).
    cover = v.chain.send_unverified([v.collateral.cover_from_insurance(core.AUTHORITY, v.usdc, vault(v), 400 * USDC)])
    assert cover.ok, cover.logs
    poke(v.chain, core.insurance_fund_address(v.usdc), FUND_BALANCE, struct.pack("<Q", 1_600 * USDC))
    poke(v.chain, core.insurance_fund_address(v.usdc), FUND_TOTAL_PAID, struct.pack("<Q", 400 * USDC))
    v.chain.advance(1, UNSTAKE_DELAY)
    wallet = token.associated_address(alice.pubkey(), v.usdc)
    before = v.tokens(wallet)
    assert v.unstake(alice).ok
    # Half the loss, not the 1,000 recorded at the request.
    paid = v.tokens(wallet) - before
    assert paid == a * (1_600 * USDC + 1) // (2 * a + V) and 800 * USDC - 1 <= paid <= 800 * USDC
    # Bob requests, then fees are swept in: he gets the value at his request.
    b = stake_of(v, bob).shares
    assert v.request_unstake(bob, b).ok
    value = stake_of(v, bob).unstake_value
    v.fill_pools(0, 100 * USDC, 0, 100 * USDC)
    assert v.sweep().ok
    v.chain.advance(1, UNSTAKE_DELAY)
    wallet = token.associated_address(bob.pubkey(), v.usdc)
    before = v.tokens(wallet)
    assert v.unstake(bob).ok
    assert v.tokens(wallet) - before == value
    assert v.insurance_fund().total_shares == 0 and v.insurance_fund().balance >= 100 * USDC


# ---------------------------------------------------------------- attacks on stakes

def test_unstaking_before_the_delay_or_more_than_staked_is_refused() -> None:
    v = venue()
    alice = v.staker()
    assert v.stake(alice, 1_000 * USDC).ok
    shares = stake_of(v, alice).shares
    unstake = v.core.unstake(alice.pubkey(), v.usdc)
    refused(v, [unstake], "NoUnstakeRequest", E)
    refused(v, [v.core.request_unstake(alice.pubkey(), v.usdc, shares + 1)], "InsufficientShares", E)
    assert v.request_unstake(alice, shares).ok
    # A second request while one is pending (even a smaller one), and one second before the delay.
    refused(v, [v.core.request_unstake(alice.pubkey(), v.usdc, 1)], "UnstakePending", E)
    v.chain.advance(1, UNSTAKE_DELAY - 1)
    refused(v, [unstake], "UnstakeTooEarly", E)
    # Another staker with no stake of its own, taking over alice's request.
    mallory = v.staker()
    forged = with_meta(v.core.unstake(mallory.pubkey(), v.usdc), "stake", key=stake_of(v, alice).address)
    refused(v, [forged], "StakeMismatch", E)
    # While Withdraw is paused, then at the delay.
    v.chain.advance(1, 1)
    assert v.pause(v.admin, mask([Operation.WITHDRAW])).ok
    refused(v, [unstake], "Paused", E)
    assert v.pause(v.admin, mask([Operation.WITHDRAW]), paused=False).ok
    assert v.unstake(alice).ok
    assert v.insurance_fund().total_shares == 0


def test_staking_into_another_mints_vault_or_from_another_mints_account_is_refused() -> None:
    v = venue(asset=SOL_PARAMS)
    alice = v.staker()
    v.fund(alice, v.sol, 10 * SOL)
    honest = v.core.stake(alice.pubkey(), v.usdc, 100 * USDC)
    sol_account = token.associated_address(alice.pubkey(), v.sol)
    # The SOL collateral vault, the quote's collateral vault, an attacker's own quote account.
    mallory = v.staker()
    for other in (collateral.vault_address(v.sol), collateral.vault_address(v.usdc), token.associated_address(mallory.pubkey(), v.usdc)):
        refused(v, [with_meta(honest, "vault", key=other)], "WrongFundVault", E)
    refused(v, [with_meta(honest, "source", key=sol_account)], "WrongFundMint", E)
    refused(v, [with_meta(honest, "mint", key=v.sol)], "WrongFundMint", E)
    refused(v, [with_meta(honest, "token_program", key=token.TOKEN_2022_PROGRAM_ID)], "WrongProgram", E)
    # A fund of another program with the same bytes; a stake account at another address.
    refused(v, [with_meta(honest, "fund", key=copy_owned_by(v.chain, core.insurance_fund_address(v.usdc), Keypair().pubkey()))], "WrongOwner", E)
    refused(v, [with_meta(honest, "stake", key=core.stake_address(core.insurance_fund_address(v.usdc), mallory.pubkey()))], "WrongAddress", E)
    # The vault passed as the source too.
    refused(v, [with_meta(honest, "source", key=vault(v))], "DuplicateAccount", E)
    # While Deposit is paused.
    assert v.pause(v.admin, mask([Operation.DEPOSIT])).ok
    refused(v, [honest], "Paused", E)
    assert v.pause(v.admin, mask([Operation.DEPOSIT]), paused=False).ok
    assert v.send([honest], alice).ok
    # Unstaking into a token account of another mint.
    assert v.request_unstake(alice, stake_of(v, alice).shares).ok
    v.chain.advance(1, UNSTAKE_DELAY)
    refused(v, [v.core.unstake(alice.pubkey(), v.usdc, destination=sol_account)], "WrongFundMint", E)
    refused(v, [with_meta(v.core.unstake(alice.pubkey(), v.usdc), "vault", key=collateral.vault_address(v.usdc))], "WrongFundVault", E)
    refused(v, [with_meta(v.core.unstake(alice.pubkey(), v.usdc), "core_authority", key=collateral.VAULT_AUTHORITY)], "WrongAddress", E)
    assert v.unstake(alice).ok


def test_shares_past_u64_are_an_overflow_not_a_wrap() -> None:
    """At the first price (V shares per unit) the fund holds at most u64::MAX / V units
    (about 18.4 billion USDC) of stakes; more is refused, nothing moving."""
    v = venue()
    whale = v.staker(2**64 // V + 1)
    refused(v, [v.core.stake(whale.pubkey(), v.usdc, 2**64 // V + 1)], "ArithmeticOverflow", E)
    assert v.stake(whale, (2**64 - 1) // V).ok


# ---------------------------------------------------------------- the sweep

def test_the_sweep_splits_the_fees_and_conserves_every_token() -> None:
    v = venue()
    assert v.add_market(1, "ETH-PERP").ok
    alice = v.staker()
    assert v.stake(alice, 1_000 * USDC).ok
    # Market 0: everything backed. Market 1: the PnL pool covers the liquidation fees and part of
    # the trading fees (losers have not all paid yet).
    v.fill_pools(0, 30 * USDC, 1_000 * USDC + 7, 5_000 * USDC)
    v.fill_pools(1, 50 * USDC, 1_000 * USDC, 450 * USDC)
    check_conservation(v, [0, 1])
    result = v.sweep(0)
    assert result.ok, result.logs
    share = (1_000 * USDC + 7) * FEE_SHARE_BPS // 10_000
    f, c, m = v.insurance_fund(), v.collateral_config(v.usdc), v.market(0)
    assert (m.fee_pool, m.liquidation_fee_pool, m.pnl_pool) == (0, 0, 5_000 * USDC - 30 * USDC - (1_000 * USDC + 7))
    assert (f.balance, f.total_swept) == (1_000 * USDC + 30 * USDC + share, 30 * USDC + share)
    assert c.revenue == 1_000 * USDC + 7 - share
    [swept] = events(result, "FeesSwept")
    assert (swept.market_index, swept.liquidation_fees, swept.trading_fees, swept.to_insurance, swept.to_revenue) == (
        0, 30 * USDC, 1_000 * USDC + 7, 30 * USDC + share, 1_000 * USDC + 7 - share)
    assert (swept.pnl_pool, swept.balance, swept.total_shares, swept.seq) == (m.pnl_pool, f.balance, f.total_shares, f.seq)
    [collected] = [e.data for e in collateral.parse_events(result.logs) if e.name == "FeesCollected"]
    assert (collected.protocol_balance, collected.revenue) == (c.protocol_balance, c.revenue)
    check_conservation(v, [0, 1])
    # Market 1: 50 of liquidation fees, then 400 of the 1,000 trading fees.
    assert v.sweep(1).ok
    m1 = v.market(1)
    assert (m1.fee_pool, m1.liquidation_fee_pool, m1.pnl_pool) == (600 * USDC, 0, 0)
    assert v.insurance_fund().balance == f.balance + 50 * USDC + 400 * USDC * FEE_SHARE_BPS // 10_000
    check_conservation(v, [0, 1])
    # Nothing left to sweep in market 0; market 1's fees wait for its PnL pool.
    refused(v, [v.core.sweep_fees(v.usdc, 0)], "NothingToSweep", E)
    refused(v, [v.core.sweep_fees(v.usdc, 1)], "NothingToSweep", E)
    v.fill_pools(1, 0, 0, 600 * USDC)
    assert v.sweep(1).ok and v.market(1).fee_pool == 0
    check_conservation(v, [0, 1])
    # The stakers got it all: alice alone holds every share.
    assert v.insurance_fund().value_of(stake_of(v, alice).shares) > 1_000 * USDC


def test_the_sweep_refuses_while_settle_is_paused_and_substituted_accounts() -> None:
    v = venue(asset=SOL_PARAMS)
    v.fill_pools(0, 10 * USDC, 100 * USDC, 200 * USDC)
    assert v.pause(v.admin, mask([Operation.SETTLE]), market=0).ok
    sweep = v.core.sweep_fees(v.usdc, 0)
    refused(v, [sweep], "Paused", E)
    assert v.pause(v.admin, mask([Operation.SETTLE]), paused=False, market=0).ok
    refused(v, [with_meta(sweep, "fund_vault", key=collateral.vault_address(v.sol))], "WrongFundVault", E)
    refused(v, [with_meta(sweep, "quote_config", key=collateral.config_address(v.sol))], "WrongFundMint", E)
    refused(v, [with_meta(sweep, "core_authority", key=security.AUTHORITY)], "WrongAddress", E)
    refused(v, [with_meta(sweep, "trading_program", key=collateral.PROGRAM_ID)], "WrongProgram", E)
    refused(v, [with_meta(sweep, "market", key=collateral.config_address(v.usdc))], "DuplicateAccount", E)
    # qd-collateral checks its own: another vault, the vault authority of another program.
    refused(v, [with_meta(sweep, "collateral_vault", key=collateral.vault_address(v.sol))], "WrongVault", COLLATERAL_E)
    refused(v, [with_meta(sweep, "collateral_authority", key=core.AUTHORITY)], "WrongAddress", COLLATERAL_E)
    assert v.sweep().ok


def test_the_cpi_only_instructions_refuse_anyone_but_qd_cores_authority() -> None:
    v = venue()
    v.fill_pools(0, 10 * USDC, 100 * USDC, 200 * USDC)
    user = v.staker()
    for signer in (user.pubkey(), trading.AUTHORITY, security.AUTHORITY):
        refused(v, [v.trading.take_fees(signer, 0, 10 * USDC, 100 * USDC)], "NotCoreAuthority", TRADING_E)
        refused(v, [v.collateral.collect_fees(signer, v.usdc, vault(v), 10 * USDC, 100 * USDC)], "NotCoreAuthority", COLLATERAL_E)
        refused(v, [v.collateral.cover_from_insurance(signer, v.usdc, token.associated_address(user.pubkey(), v.usdc), USDC)], "NotCoreAuthority",
                COLLATERAL_E)
    # Signed by the user in earnest (not only with signature checks off).
    failed(v.send([v.trading.take_fees(user.pubkey(), 0, 1, 1)], user), TRADING_E["NotCoreAuthority"])
    # With qd-core's authority (as its CPI signs): beyond a pool is refused by name.
    refused(v, [v.trading.take_fees(core.AUTHORITY, 0, 10 * USDC + 1, 0)], "TakeExceedsPool", TRADING_E)
    refused(v, [v.trading.take_fees(core.AUTHORITY, 0, 10 * USDC, 190 * USDC + 1)], "TakeExceedsPool", TRADING_E)
    # A cover from a token account qd-core's authority does not own: the token program refuses.
    failed_cover = v.chain.send_unverified([v.collateral.cover_from_insurance(core.AUTHORITY, v.usdc, token.associated_address(user.pubkey(), v.usdc),
                                                                              USDC)])
    assert not failed_cover.ok and v.tokens(token.associated_address(user.pubkey(), v.usdc)) == 10_000 * USDC


def test_the_benchmark_measures_every_insurance_instruction() -> None:
    """`make bench` (quantdesk/bench/insurance.py, and liquidation.py for the liquidation steps)
    runs every instruction of this step, each as a successful transaction."""
    table = bench.measure()
    rows = {**table.cu, **liquidation_bench.measure().cu}
    names = {i.name for i in idl.load_idl(core.NAME).instructions} - {"initialize", "setMaxSubAccounts", "createMarginAccount", "closeMarginAccount",
                                                                       "setDelegate", "setLimits", "setFrozen"}
    measured = {idl_name for idl_name in names if any(row.startswith(snake_case(idl_name)) for row in rows)}
    assert measured == names and {"take_fees", "collect_fees", "cover_from_insurance"} <= set(table.cu)
