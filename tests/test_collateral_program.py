"""qd-collateral in the real runtime (LiteSVM) with real SPL mints (a 6-decimal USDC-like quote
and a 9-decimal SOL-like asset priced by a qd-oracle feed), qd-security and qd-core: configs and
vaults, deposits, health-checked withdrawals and transfers, adjustments by CPI, and the attack
classes (missing signer, wrong owner, type cosplay, re-initialization, non-canonical PDA,
substituted vault / mint / oracle / config, duplicate accounts, lookalike CPI callers, closed
accounts), each leaving state unchanged."""
from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from anchorpy import Provider, Wallet
from quantdesk.clients import collateral, core, health, idl, oracle, pyth, security, sysvar, token, trading_state
from quantdesk.clients.collateral import Params, Status
from quantdesk.clients.errors import ProgramError
from quantdesk.clients.oracle import Action
from quantdesk.clients.security import Operation, Role, mask
from quantdesk.clients.trading_state import PerpMarket, Position, TradingAccount
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.bench import collateral as bench
from quantdesk.chain import Chain, TxResult
from quantdesk.localnet import run_in_background
from quantdesk.world import (
    QUOTE_PARAMS,
    SOL,
    SOL_PARAMS,
    SOL_PRICE,
    T0,
    USDC,
    Trader,
    Venue,
    account_names,
    failed,
    feed_of_revoked_admin,
    forge,
    refused,
    state,
    trading_on,
    with_meta,
)

E = idl.error_codes(collateral.NAME)
CORE_E = idl.error_codes(core.NAME)
ROOT = Path(__file__).resolve().parents[1]
TRADING_ID = Pubkey.from_string(tomllib.loads((ROOT / "Anchor.toml").read_text())["programs"]["localnet"]["qd_trading"])
CORE_AUTHORITY = Pubkey.find_program_address([b"authority"], core.PROGRAM_ID)[0]


def listed() -> tuple[Venue, Trader, Trader]:
    """qd-security, qd-core and qd-collateral initialized; USDC (quote) and SOL listed; a trader's
    sub-accounts 0 (`main`) and 1 (`sub`), their balances accounts open and tokens in the wallet.
    A stand-in for qd-trading (tests/programs/qd-test-adjuster at qd-trading's id) makes the real
    adjust_balance CPI."""
    v = Venue(markets=(), asset=SOL_PARAMS)
    v.chain.deploy("qd_test_adjuster", TRADING_ID)
    desk = v.desk(funds={v.usdc: 1_000_000 * USDC, v.sol: 1_000 * SOL})
    return v, desk.trader(0), desk.trader(1)


def unchanged(v: Venue, fn, *addresses: Pubkey) -> TxResult:  # type: ignore[no-untyped-def]
    """Runs `fn` and asserts it left every address's data as it was."""
    before = [v.raw(a) for a in addresses]
    result = fn()
    assert [v.raw(a) for a in addresses] == before
    return result


def state_of(v: Venue, *traders: Trader) -> list[Pubkey]:
    return [collateral.config_address(v.usdc), collateral.config_address(v.sol), collateral.vault_address(v.usdc), collateral.vault_address(v.sol),
            *(t.balances for t in traders)]


# ---------------------------------------------------------------- listing collateral

def test_create_collateral_lists_quote_and_asset_with_their_vaults() -> None:
    v, main, sub = listed()
    q, s = v.collateral_config(v.usdc), v.collateral_config(v.sol)
    assert (q.is_quote, q.oracle, q.decimals, q.params, q.status, q.audit_seq) == (True, None, 6, QUOTE_PARAMS, Status.ACTIVE, 1)
    assert (s.is_quote, s.oracle, s.decimals, s.params, s.token_program) == (False, v.sol_feed, 9, SOL_PARAMS, token.TOKEN_PROGRAM_ID)
    assert s.guards == collateral.DEFAULT_GUARDS
    for mint in (v.usdc, v.sol):
        vault = v.chain.account(collateral.vault_address(mint))
        assert vault is not None and vault.owner == token.TOKEN_PROGRAM_ID
        data = bytes(vault.data)
        assert (Pubkey.from_bytes(data[:32]), Pubkey.from_bytes(data[32:64]), token.account_amount(data)) == (mint, collateral.VAULT_AUTHORITY, 0)


def test_create_collateral_refusals() -> None:
    v, main, sub = listed()
    other = v.chain.create_mint(9)
    stranger = v.chain.keypair()
    ix = v.collateral.create_collateral(stranger.pubkey(), other, v.sol_feed, SOL_PARAMS)
    failed(v.send([ix], stranger), E["MissingRole"])
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), v.sol, v.sol_feed, SOL_PARAMS)]), E["AlreadyInitialized"])
    # The quote mint takes no oracle; another mint needs a real one.
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), other, None, SOL_PARAMS)]), E["WrongOracleOwner"])
    fake_feed = Keypair().pubkey()
    v.chain.set_account(fake_feed, Account(10**9, v.raw(v.sol_feed), Keypair().pubkey()))
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), other, fake_feed, SOL_PARAMS)]), E["WrongOracleOwner"])
    # A token account is not a mint; neither is a Token-2022 account with extensions.
    ata = v.fund(main.owner, v.sol, 1)
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), ata, v.sol_feed, SOL_PARAMS)]), E["UnsupportedMint"])
    extended = Keypair().pubkey()
    data = bytearray(v.raw(other)) + bytes(90)
    data[165] = 1  # account type: mint, with extension space
    v.chain.set_account(extended, Account(10**9, bytes(data), token.TOKEN_2022_PROGRAM_ID))
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), extended, v.sol_feed, SOL_PARAMS, token_program=token.TOKEN_2022_PROGRAM_ID)]), E["UnsupportedMint"])
    # A mint of one token program passed with the other.
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, SOL_PARAMS, token_program=token.TOKEN_2022_PROGRAM_ID)]), E["UnsupportedMint"])
    failed(v.send([with_meta(v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, SOL_PARAMS), "token_program", key=Pubkey.default())]), E["WrongTokenProgram"])
    # Weights and caps are validated before any account is touched.
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, Params(9_500, 9_000, 1))]), E["InvalidWeights"])
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, Params(0, 10_001, 1))]), E["InvalidWeights"])
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, Params(0, 0, 2**63))]), E["InvalidCap"])
    # Config and vault only at their canonical PDAs.
    wrong = v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, SOL_PARAMS)
    failed(v.send([with_meta(wrong, "config", key=collateral.config_address(v.sol))]), E["WrongAddress"])
    failed(v.send([with_meta(wrong, "vault", key=collateral.vault_address(v.sol))]), E["WrongAddress"])
    assert v.chain.account(collateral.config_address(other)) is None
    assert v.send([v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, SOL_PARAMS)]).ok


def test_the_liquidation_fee_stays_below_the_maintenance_complement() -> None:
    """A liquidator's discount on a collateral must leave a liquidation raising the account's
    health: below 10,000 - maint_weight_bps (at 90%: at most 999 bps), none for the quote; refused
    by name at listing and through the timelock, every account unchanged."""
    v, _, _ = listed()
    assert v.collateral_config(v.sol).params.liquidation_fee_bps == SOL_PARAMS.liquidation_fee_bps == 500
    other = v.chain.create_mint(9)
    listing = v.collateral.create_collateral
    refused(v, [listing(v.admin.pubkey(), other, v.sol_feed, dataclasses.replace(SOL_PARAMS, liquidation_fee_bps=1_000))], "InvalidLiquidationFee", E)
    refused(v, [listing(v.admin.pubkey(), other, v.sol_feed, Params(10_000, 10_000, SOL))], "InvalidLiquidationFee", E)
    failed(v.govern(v.collateral.set_collateral_params(v.usdc, dataclasses.replace(QUOTE_PARAMS, liquidation_fee_bps=1))), E["InvalidLiquidationFee"])
    failed(v.govern(v.collateral.set_collateral_params(v.sol, dataclasses.replace(SOL_PARAMS, liquidation_fee_bps=1_000))), E["InvalidLiquidationFee"])
    assert v.send([listing(v.admin.pubkey(), other, v.sol_feed, dataclasses.replace(SOL_PARAMS, liquidation_fee_bps=999))]).ok
    result = v.govern(v.collateral.set_collateral_params(v.sol, dataclasses.replace(SOL_PARAMS, liquidation_fee_bps=250)))
    assert result.ok and v.collateral_config(v.sol).params.liquidation_fee_bps == 250
    [event] = collateral.parse_events(result.logs)
    assert event.data.liquidation_fee_bps == 250


def test_guards_that_pass_any_price_are_refused_when_listing_or_repointing() -> None:
    # A zero confidence limit would let a margin check accept a price however uncertain: an
    # off-market price inside every other band. Refused by name as it is decoded; nothing changes.
    v, _, _ = listed()
    loose = {**collateral.DEFAULT_GUARDS, Action.MARGIN: oracle.GuardConfig(25, 60, 0, 0, True)}
    other = v.chain.create_mint(9)
    refused(v, [v.collateral.create_collateral(v.admin.pubkey(), other, v.sol_feed, SOL_PARAMS, loose)], "InvalidGuardConfig", E)
    config = [collateral.config_address(v.sol)]
    before = state(v.chain, config)
    failed(v.govern(v.collateral.set_collateral_oracle(v.sol, v.sol_feed, loose)), E["InvalidGuardConfig"])
    assert state(v.chain, config) == before
    # The honest change goes through.
    assert v.govern(v.collateral.set_collateral_oracle(v.sol, v.sol_feed, collateral.DEFAULT_GUARDS)).ok


def test_listing_on_a_feed_whose_authority_is_not_an_oracle_admin_is_refused() -> None:
    v, main, sub = listed()
    eth = v.chain.create_mint(9)
    untrusted = feed_of_revoked_admin(v.chain, v.admin, "ETH/USD", v.publisher, 3_000 * USDC)
    # A feed squatted before ORACLE_ADMIN was required: the real feed's bytes, a stranger's authority.
    squatted = Keypair().pubkey()
    data = bytearray(v.raw(v.sol_feed))
    data[32:64] = bytes(Keypair().pubkey())
    v.chain.set_account(squatted, Account(10**9, bytes(data), oracle.PROGRAM_ID))
    for feed in (untrusted, squatted):
        before = [v.raw(a) for a in (collateral.config_address(eth), collateral.vault_address(eth), collateral.config_address(v.sol))]
        failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), eth, feed, SOL_PARAMS)]), E["UntrustedFeedAuthority"])
        failed(v.govern(v.collateral.set_collateral_oracle(v.sol, feed, collateral.DEFAULT_GUARDS)), E["UntrustedFeedAuthority"])
        assert [v.raw(a) for a in (collateral.config_address(eth), collateral.vault_address(eth), collateral.config_address(v.sol))] == before
    assert before[:2] == [b"", b""]
    # Honest listing: the feed handed to a current oracle admin (the super-admin adopts it).
    assert v.send([v.oracle.set_authority(v.admin.pubkey(), untrusted, v.admin.pubkey())]).ok
    assert v.send([v.collateral.create_collateral(v.admin.pubkey(), eth, untrusted, SOL_PARAMS)]).ok
    assert v.govern(v.collateral.set_collateral_oracle(v.sol, untrusted, collateral.DEFAULT_GUARDS)).ok
    assert v.collateral_config(v.sol).oracle == untrusted


def test_quote_mint_rules() -> None:
    chain = Chain(unix_timestamp=T0)
    sec, cor, ix = security.SecurityInstructions(), core.CoreInstructions(), collateral.CollateralInstructions()
    admin = chain.payer.pubkey()
    quote9 = chain.create_mint(9)
    assert chain.send([sec.initialize(admin, timelock_delay=security.LOCAL_TIMELOCK_DELAY), cor.initialize(admin, quote9)]).ok
    failed(chain.send([ix.create_collateral(admin, quote9, None, QUOTE_PARAMS)]), E["QuoteDecimals"])
    v, main, sub = listed()
    failed(v.send([v.collateral.create_collateral(v.admin.pubkey(), v.chain.create_mint(6), None, QUOTE_PARAMS)]), E["WrongOracleOwner"])
    # Re-listing the quote with an oracle is refused (it is priced at exactly 1).
    failed(v.govern(v.collateral.set_collateral_oracle(v.usdc, v.sol_feed, collateral.DEFAULT_GUARDS)), E["QuoteHasNoOracle"])


def test_params_and_oracle_updates_need_their_roles() -> None:
    v, main, sub = listed()
    risk = v.chain.keypair()
    assert security.enact(v.chain, v.admin, security.Change.grant_role(Role.RISK_MANAGER, risk.pubkey())).ok
    new = Params(7_000, 8_500, 5 * SOL, SOL)
    failed(v.govern(v.collateral.set_collateral_params(v.sol, new), main.owner), E["MissingRole"])
    result = v.govern(v.collateral.set_collateral_params(v.sol, new, Status.WITHDRAW_ONLY), risk)
    assert result.ok
    c = v.collateral_config(v.sol)
    assert (c.params, c.status, c.audit_seq) == (new, Status.WITHDRAW_ONLY, 2)
    [event] = collateral.parse_events(result.logs)
    # The change is signed by the timelock; the proposal names its proposer.
    assert (event.name, event.data.seq, event.data.signer) == ("CollateralParamsChanged", 2, security.AUTHORITY)
    failed(v.govern(v.collateral.set_collateral_params(v.sol, new, 2), risk), E["InvalidCollateralStatus"])  # type: ignore[arg-type]
    # Only ADMIN moves the oracle.
    failed(v.govern(v.collateral.set_collateral_oracle(v.sol, v.sol_feed, collateral.DEFAULT_GUARDS), risk), E["MissingRole"])
    assert v.govern(v.collateral.set_collateral_oracle(v.sol, v.sol_feed, collateral.DEFAULT_GUARDS)).ok
    failed(v.govern(v.collateral.set_collateral_oracle(v.sol, None, collateral.DEFAULT_GUARDS)), E["WrongOracleOwner"])


# ---------------------------------------------------------------- balances accounts

def test_balances_accounts_open_and_close_with_their_margin_account() -> None:
    v, main, sub = listed()
    b = v.balances(main.margin)
    assert (b.margin_account, b.owner, b.entries, b.seq) == (main.margin, main.owner.pubkey(), [], 0)
    stranger = v.chain.keypair()
    failed(v.send([v.collateral.open_balances(main.owner.pubkey(), main.margin)], main.owner), E["AlreadyInitialized"])
    other = core.margin_account_address(main.owner.pubkey(), 2)
    assert v.send([v.core.create_margin_account(main.owner.pubkey(), 2)], main.owner).ok
    failed(v.send([v.collateral.open_balances(stranger.pubkey(), other)], stranger), E["NotOwner"])
    # PDA sharing: another margin account's balances address.
    failed(v.send([with_meta(v.collateral.open_balances(main.owner.pubkey(), other), "balances", key=collateral.balances_address(main.margin))], main.owner), E["WrongAddress"])
    fresh = Keypair().pubkey()
    failed(v.send([with_meta(v.collateral.open_balances(main.owner.pubkey(), other), "balances", key=fresh)], main.owner), E["WrongAddress"])
    # qd-core refuses to close a margin account whose balances account is open, even if empty.
    failed(v.send([v.core.close_margin_account(main.owner.pubkey(), main.margin)], main.owner), CORE_E["AccountNotEmpty"])
    failed(v.send([with_meta(v.core.close_margin_account(main.owner.pubkey(), main.margin), "collateral_balances", key=fresh)], main.owner), CORE_E["WrongAddress"])
    assert v.deposit(main, v.usdc, 5 * USDC).ok
    failed(v.send([v.collateral.close_balances(main.owner.pubkey(), main.margin)], main.owner), E["BalancesNotEmpty"])
    assert v.withdraw(main, v.usdc, 5 * USDC).ok
    failed(v.send([v.collateral.close_balances(stranger.pubkey(), main.margin)], stranger), E["NotOwner"])
    # Closing then depositing in the same transaction: the closed account cannot be revived.
    revive = v.send([v.collateral.close_balances(main.owner.pubkey(), main.margin), v.collateral.deposit(main.owner.pubkey(), main.margin, v.usdc, USDC)], main.owner)
    failed(revive, E["WrongOwner"])
    result = v.send([v.collateral.close_balances(main.owner.pubkey(), main.margin), v.core.close_margin_account(main.owner.pubkey(), main.margin)], main.owner)
    assert result.ok, result.logs
    assert v.chain.lamports(collateral.balances_address(main.margin)) == 0 and v.chain.lamports(main.margin) == 0


# ---------------------------------------------------------------- deposits and withdrawals

def test_deposits_and_withdrawals_move_real_tokens() -> None:
    v, main, sub = listed()
    wallet_usdc, wallet_sol = token.associated_address(main.owner.pubkey(), v.usdc), token.associated_address(main.owner.pubkey(), v.sol)
    result = v.deposit(main, v.usdc, 2_500 * USDC)
    assert result.ok
    [event] = collateral.parse_events(result.logs)
    assert (event.name, event.data.amount, event.data.balance, event.data.seq) == ("BalanceChanged", 2_500 * USDC, 2_500 * USDC, 1)
    assert v.deposit(main, v.sol, 3 * SOL + 1).ok
    assert [(e.mint, e.balance) for e in v.balances(main.margin).entries] == [(v.usdc, 2_500 * USDC), (v.sol, 3 * SOL + 1)]
    assert v.tokens(collateral.vault_address(v.sol)) == 3 * SOL + 1
    assert v.tokens(wallet_sol) == 1_000 * SOL - 3 * SOL - 1
    assert v.withdraw(main, v.sol, 1).ok
    result = v.withdraw(main, v.usdc, 2_500 * USDC)
    assert result.ok
    # An emptied balance leaves the list, so later health checks skip it.
    assert [(e.mint, e.balance) for e in v.balances(main.margin).entries] == [(v.sol, 3 * SOL)]
    assert v.tokens(wallet_usdc) == 1_000_000 * USDC
    assert v.balances(main.margin).seq == 4
    v.check_conservation([main.margin, sub.margin])
    # Withdraw to a token account the owner names (any holder); from a balance it lacks: refused.
    friend = v.chain.keypair()
    friend_ata = v.fund(friend, v.sol, 0)
    assert v.send([v.collateral.withdraw(main.owner.pubkey(), main.margin, v.sol, SOL, v.health(main.margin), friend_ata)], main.owner).ok
    assert v.tokens(friend_ata) == SOL
    failed(v.withdraw(main, v.sol, 2 * SOL + 1), E["InsufficientBalance"])
    failed(v.withdraw(main, v.usdc, 1), E["InsufficientBalance"])
    failed(v.deposit(main, v.usdc, 0), E["InvalidAmount"])
    failed(v.deposit(main, v.usdc, 2**63), E["InvalidAmount"])


def test_only_the_owner_deposits_and_withdraws() -> None:
    v, main, sub = listed()
    delegate, stranger = v.chain.keypair(), v.chain.keypair()
    assert v.send([v.core.set_delegate(main.owner.pubkey(), main.margin, delegate.pubkey())], main.owner).ok
    v.fund(delegate, v.usdc, 10 * USDC)
    v.fund(stranger, v.usdc, 10 * USDC)
    assert v.deposit(main, v.usdc, 10 * USDC).ok
    before = state_of(v, main, sub)
    failed(unchanged(v, lambda: v.deposit(main, v.usdc, USDC, signer=delegate), *before), E["DelegateNotPermitted"])
    failed(unchanged(v, lambda: v.deposit(main, v.usdc, USDC, signer=stranger), *before), E["NotAuthorized"])
    failed(unchanged(v, lambda: v.withdraw(main, v.usdc, USDC, signer=delegate), *before), E["DelegateNotPermitted"])
    # The owner's key must sign: a forged meta without the signature is refused.
    forged = with_meta(v.collateral.withdraw(main.owner.pubkey(), main.margin, v.usdc, USDC, v.health(main.margin), token.associated_address(stranger.pubkey(), v.usdc)), "owner", signer=False)
    failed(v.send([forged]), E["MissingSigner"])


def test_cross_collateral_counts_sol_at_its_weight() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.usdc, 1_000 * USDC).ok
    assert v.deposit(main, v.sol, 10 * SOL).ok
    view = v.view(main.margin)
    sol_value = 10 * SOL_PRICE  # 1,500 USDC
    assert view.init_health == 1_000 * USDC + sol_value * 8_000 // 10_000
    assert view.maint_health == 1_000 * USDC + sol_value * 9_000 // 10_000
    assert view.health_factor_bps is None  # no liabilities
    mirror = v.mirror(main.margin)
    assert (view.init_health, view.maint_health, view.free_collateral, view.health_factor_bps) == (
        mirror.init_health, mirror.maint_health, mirror.free_collateral, mirror.health_factor_bps)


def test_a_withdrawal_that_breaks_initial_health_is_refused() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.sol, 10 * SOL).ok  # init weight 80%: 1,200 USDC of initial health
    assert v.adjust(v.usdc, main.margin, -1_000 * USDC).ok  # a 1,000 USDC debt (PnL loss by CPI)
    view = v.view(main.margin)
    assert view.init_health == 200 * USDC
    assert view.health_factor_bps == (1_500 * USDC * 9_000 // 10_000) * 10_000 // (1_000 * USDC)
    before = state_of(v, main, sub)
    # 2 SOL out leaves 8 SOL: 960 USDC of weighted collateral against 1,000 of debt.
    failed(unchanged(v, lambda: v.withdraw(main, v.sol, 2 * SOL), *before), E["InsufficientHealth"])
    failed(unchanged(v, lambda: v.transfer(main, sub.margin, v.sol, 2 * SOL), *before), E["InsufficientHealth"])
    # 1 SOL leaves 1,080 against 1,000.
    assert v.withdraw(main, v.sol, SOL).ok
    assert v.view(main.margin).init_health == 80 * USDC
    # A price drop makes the same withdrawal fail; the deposit that repays the debt fixes it.
    v.publish(140 * USDC, v.sol_feed)
    failed(v.withdraw(main, v.sol, SOL // 10), E["InsufficientHealth"])
    assert v.deposit(main, v.usdc, 1_000 * USDC).ok
    assert v.balances(main.margin).entries == [collateral.Balance(v.sol, 9 * SOL)]  # debt repaid exactly: entry gone
    assert v.withdraw(main, v.sol, 9 * SOL).ok
    v.check_conservation([main.margin, sub.margin])


def test_a_stale_oracle_blocks_withdrawals_but_not_deposits() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.sol, SOL).ok
    assert v.deposit(main, v.usdc, 100 * USDC).ok
    v.chain.advance(slots=51, seconds=10)  # the margin guard allows 50 slots
    failed(v.withdraw(main, v.usdc, USDC), E["StaleOracleSlots"])  # any held asset's price must be fresh
    failed(v.withdraw(main, v.sol, SOL), E["StaleOracleSlots"])
    failed(v.transfer(main, sub.margin, v.usdc, USDC), E["StaleOracleSlots"])
    assert v.deposit(main, v.sol, SOL).ok
    assert v.deposit(main, v.usdc, USDC).ok
    # The liquidation guard is more tolerant (150 slots): a keeper still reads health.
    assert v.view(main.margin, Action.LIQUIDATION).init_health > 0
    v.publish(SOL_PRICE, v.sol_feed)
    assert v.withdraw(main, v.usdc, USDC).ok


def test_frozen_and_paused_paths() -> None:
    v, main, sub = listed()
    compliance, risk = v.chain.keypair(), v.chain.keypair()
    for role, holder in ((Role.COMPLIANCE, compliance), (Role.RISK_MANAGER, risk)):
        assert security.enact(v.chain, v.admin, security.Change.grant_role(role, holder.pubkey())).ok
    assert v.deposit(main, v.usdc, 100 * USDC).ok
    assert v.send([v.security.freeze_account(compliance.pubkey(), main.margin, 7)], compliance).ok
    failed(v.withdraw(main, v.usdc, USDC), E["AccountFrozen"])
    failed(v.transfer(main, sub.margin, v.usdc, USDC), E["AccountFrozen"])
    assert v.deposit(main, v.usdc, USDC).ok  # a frozen account still receives deposits
    assert v.transfer(sub, main.margin, v.usdc, USDC).ok is False  # sub is empty: refused for balance
    assert v.deposit(sub, v.usdc, 5 * USDC).ok
    assert v.transfer(sub, main.margin, v.usdc, USDC).ok  # into a frozen account: allowed
    assert v.send([v.security.unfreeze_account(compliance.pubkey(), main.margin, 7)], compliance).ok
    assert v.withdraw(main, v.usdc, USDC).ok
    assert v.send([v.security.set_pause(risk.pubkey(), mask([Operation.DEPOSIT]), True)], risk).ok
    failed(v.deposit(main, v.usdc, USDC), E["Paused"])
    assert v.withdraw(main, v.usdc, USDC).ok
    assert v.send([v.security.set_pause(risk.pubkey(), mask([Operation.WITHDRAW]), True)], risk).ok
    failed(v.withdraw(main, v.usdc, USDC), E["Paused"])
    failed(v.transfer(main, sub.margin, v.usdc, USDC), E["Paused"])
    assert security.enact(v.chain, v.admin, security.Change.unpause(mask([Operation.DEPOSIT, Operation.WITHDRAW]))).ok
    assert v.deposit(main, v.usdc, USDC).ok and v.withdraw(main, v.usdc, USDC).ok
    v.check_conservation([main.margin, sub.margin])


def test_accounts_in_liquidation_cannot_withdraw() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.usdc, 10 * USDC).ok
    for status in (core.STATUS_BEING_LIQUIDATED, core.STATUS_BANKRUPT):
        data = bytearray(v.raw(main.margin))
        data[9] = status
        account = v.chain.account(main.margin)
        assert account is not None
        v.chain.set_account(main.margin, Account(account.lamports, bytes(data), account.owner))
        failed(v.withdraw(main, v.usdc, USDC), E["AccountInLiquidation"])
        failed(v.transfer(main, sub.margin, v.usdc, USDC), E["AccountInLiquidation"])
        assert v.deposit(main, v.usdc, USDC).ok


def test_caps_and_withdraw_only() -> None:
    v, main, sub = listed()
    assert v.govern(v.collateral.set_collateral_params(v.sol, Params(8_000, 9_000, 10 * SOL, 6 * SOL))).ok
    assert v.deposit(main, v.sol, 6 * SOL).ok
    failed(v.deposit(main, v.sol, 1), E["AccountCapExceeded"])
    assert v.deposit(sub, v.sol, 4 * SOL).ok
    failed(v.deposit(sub, v.sol, 1), E["DepositCapExceeded"])
    assert v.withdraw(main, v.sol, SOL).ok
    failed(v.transfer(main, sub.margin, v.sol, 3 * SOL), E["AccountCapExceeded"])
    assert v.govern(v.collateral.set_collateral_params(v.sol, SOL_PARAMS, Status.WITHDRAW_ONLY)).ok
    failed(v.deposit(main, v.sol, 1), E["DepositsClosed"])
    assert v.withdraw(main, v.sol, SOL).ok and v.transfer(main, sub.margin, v.sol, SOL).ok


# ---------------------------------------------------------------- transfers

def test_transfer_between_sub_accounts_of_one_owner() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.usdc, 100 * USDC).ok and v.deposit(main, v.sol, 2 * SOL).ok
    result = v.transfer(main, sub.margin, v.sol, SOL // 2)
    assert result.ok
    [event] = collateral.parse_events(result.logs)
    assert (event.name, event.data.from_, event.data.to, event.data.from_balance, event.data.to_balance) == (
        "Transferred", main.margin, sub.margin, 3 * SOL // 2, SOL // 2)
    assert v.balances(sub.margin).entries == [collateral.Balance(v.sol, SOL // 2)]
    vault_before = v.tokens(collateral.vault_address(v.sol))
    assert v.transfer(main, sub.margin, v.sol, 3 * SOL // 2).ok
    assert v.tokens(collateral.vault_address(v.sol)) == vault_before  # no tokens move
    assert v.balances(main.margin).entries == [collateral.Balance(v.usdc, 100 * USDC)]
    other = v.chain.keypair()
    theirs = v.margin_account(other, 0)
    failed(v.transfer(main, theirs, v.usdc, USDC), E["NotSameOwner"])
    failed(v.transfer(main, main.margin, v.usdc, USDC), E["DuplicateAccount"])
    # Balances of another account under the destination's name.
    ix = with_meta(v.collateral.transfer(main.owner.pubkey(), main.margin, sub.margin, v.usdc, USDC, v.health(main.margin)), "to_balances", key=collateral.balances_address(theirs))
    failed(v.send([ix], main.owner), E["BalancesMismatch"])
    v.check_conservation([main.margin, sub.margin])


# ---------------------------------------------------------------- substitution attacks

def test_substituted_vault_mint_oracle_and_config_are_refused() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.usdc, 1_000 * USDC).ok and v.deposit(main, v.sol, 5 * SOL).ok
    o = main.owner.pubkey()
    before = state_of(v, main, sub)

    def refused(ix: Instruction, error: str) -> None:
        failed(unchanged(v, lambda: v.send([ix], main.owner), *before), E[error])

    dep = v.collateral.deposit(o, main.margin, v.sol, SOL)
    refused(with_meta(dep, "vault", key=collateral.vault_address(v.usdc)), "WrongVault")  # another mint's vault
    refused(with_meta(dep, "mint", key=v.usdc), "WrongMint")  # mint of another config
    refused(with_meta(dep, "config", key=collateral.config_address(v.usdc)), "WrongMint")  # config of another mint
    refused(with_meta(dep, "source", key=token.associated_address(o, v.usdc)), "WrongMint")  # source of another mint
    refused(with_meta(dep, "token_program", key=token.TOKEN_2022_PROGRAM_ID), "WrongTokenProgram")
    refused(with_meta(dep, "source", key=collateral.vault_address(v.sol)), "DuplicateAccount")  # vault as source
    wd = v.collateral.withdraw(o, main.margin, v.sol, SOL, v.health(main.margin))
    refused(with_meta(wd, "vault", key=collateral.vault_address(v.usdc)), "WrongVault")
    refused(with_meta(wd, "config", key=collateral.config_address(v.usdc)), "WrongMint")
    refused(with_meta(wd, "destination", key=collateral.vault_address(v.sol)), "DuplicateAccount")
    refused(with_meta(wd, "vault_authority", key=Keypair().pubkey()), "WrongAddress")  # fake vault authority
    # Health accounts: another oracle, out of order, a config of another mint, missing or extra.
    # After the IDL's accounts: the usdc config (remaining 0), the sol config (1), the sol oracle (2).
    fake_feed = Keypair().pubkey()
    v.chain.set_account(fake_feed, Account(10**9, v.raw(v.sol_feed), oracle.PROGRAM_ID))  # a real feed's bytes at another address
    refused(with_meta(wd, remaining=2, key=fake_feed), "WrongOracle")
    refused(with_meta(wd, remaining=0, key=collateral.config_address(v.sol)), "ConfigMintMismatch")
    health_metas = v.health(main.margin)
    refused(Instruction(wd.program_id, wd.data, list(wd.accounts[:len(account_names(wd))]) + health_metas[:2]), "NotEnoughAccounts")
    refused(Instruction(wd.program_id, wd.data, list(wd.accounts) + [health_metas[0]]), "TooManyAccounts")
    # Type cosplay: a config's bytes under another owner, a balances account as a config.
    fake_config = Keypair().pubkey()
    v.chain.set_account(fake_config, Account(10**9, v.raw(collateral.config_address(v.sol)), Keypair().pubkey()))
    refused(with_meta(wd, remaining=1, key=fake_config), "WrongOwner")
    refused(with_meta(wd, remaining=1, key=collateral.balances_address(sub.margin)), "WrongAccountSize")
    cosplay = Keypair().pubkey()  # config-sized, owned by qd-collateral, another type's discriminator
    data = idl.discriminator("account", "CollateralBalances") + v.raw(collateral.config_address(v.sol))[8:]
    v.chain.set_account(cosplay, Account(10**9, data, collateral.PROGRAM_ID))
    refused(with_meta(wd, remaining=1, key=cosplay), "WrongDiscriminator")
    # Balances of another margin account.
    refused(with_meta(wd, "balances", key=collateral.balances_address(sub.margin)), "BalancesMismatch")


def test_pyth_receiver_oracles_are_pinned_to_their_feed() -> None:
    v, main, sub = listed()
    update = Keypair().pubkey()

    def post(feed_id: bytes, verification: pyth.Verification = "full") -> None:
        now = v.chain.clock
        data = pyth.price_update_v2(feed_id=feed_id, price=SOL_PRICE, conf=SOL_PRICE // 1_000, exponent=-6, publish_time=now.unix_timestamp,
                                    posted_slot=now.slot, verification=verification)
        v.chain.set_account(update, Account(10**9, data, pyth.PYTH_RECEIVER))

    feed_id = bytes(range(32))
    post(feed_id)
    mint = v.chain.create_mint(9)
    assert v.send([v.collateral.create_collateral(v.admin.pubkey(), mint, update, SOL_PARAMS)]).ok
    assert v.collateral_config(mint).oracle_feed_id == feed_id
    v.fund(main.owner, mint, 10 * SOL)
    assert v.deposit(main, mint, SOL).ok
    assert v.withdraw(main, mint, SOL // 2).ok
    # The update account's writer posts another feed into it: refused.
    post(bytes(32))
    failed(v.withdraw(main, mint, 1), E["OracleFeedMismatch"])
    post(feed_id, "partial")
    failed(v.withdraw(main, mint, 1), E["OracleNotFullyVerified"])
    post(feed_id)
    assert v.withdraw(main, mint, 1).ok


# ---------------------------------------------------------------- perp positions count

BTC_PRICE = 30_000 * USDC
BTC = 10**9  # perp base units: 9 decimals
MARKET_INDEX = 3


BTC_FEED = oracle.feed_address("BTC/USD")
BTC_MARKET = PerpMarket(index=MARKET_INDEX, init_margin_bps=1_000, maint_margin_bps=500, upnl_init_weight_bps=10_000, upnl_maint_weight_bps=10_000,
                        symbol=b"BTC-PERP".ljust(16, b"\0"), oracle=BTC_FEED, guards=collateral.DEFAULT_GUARDS, tick_size=1_000_000, lot_size=1_000,
                        funding_period_secs=3_600)
"""A BTC perp market (qd-trading's PerpMarket, written into LiteSVM) priced by a BTC/USD qd-oracle
feed: 10% initial / 5% maintenance margin, positive PnL at 100% / 100%."""


def perp_listed() -> tuple[Venue, Trader, Trader]:
    """listed() with the BTC/USD feed and BTC_MARKET."""
    v, main, sub = listed()
    v.add_feed("BTC/USD", BTC_PRICE)
    set_market(v, BTC_MARKET)
    return v, main, sub


def set_market(v: Venue, market: PerpMarket, address: Pubkey | None = None, owner: Pubkey = trading_state.PROGRAM_ID) -> Pubkey:
    return forge(v.chain, trading_state.encode_market(market), owner, 10**9, address or trading_state.market_address(market.index))


def set_trading(v: Venue, t: Trader, *positions: Position, address: Pubkey | None = None, owner: Pubkey = trading_state.PROGRAM_ID,
                of: Pubkey | None = None) -> Pubkey:
    """Writes a TradingAccount of `of` (default: `t`'s margin account) holding `positions` at
    `address` (default: `t`'s trading PDA), owned by `owner`."""
    account = TradingAccount(margin_account=of or t.margin, owner=t.owner.pubkey(), positions=list(positions))
    return forge(v.chain, account.encode(), owner, 10**9, address or t.trading)


def mirror_with_perps(v: Venue, margin: Pubkey) -> health.HealthResult:
    """The Python mirror on the account's balances and positions, with the feeds' prices."""
    sol_price, btc_price = v.feed_state().price, v.feed_state(BTC_FEED).price
    inputs = [collateral.collateral_input(v.collateral_config(e.mint), e.balance, collateral.QUOTE_PRICE if e.mint == v.usdc else sol_price)
              for e in v.balances(margin).entries]
    trading = trading_on(v.chain, margin)
    assert trading is not None
    market = v.market(MARKET_INDEX)
    return health.compute(inputs, [trading_state.perp_input(p, market, btc_price) for p in trading.positions], liquidation_prices=False)


def long_btc(entry_price: int, size: int = BTC // 10, **fields: int) -> Position:
    """A long of `size` bought at `entry_price`."""
    return Position(MARKET_INDEX, base=size, quote_entry=-(size * entry_price // BTC), **fields)


def test_a_losing_position_blocks_what_the_collateral_alone_would_allow() -> None:
    v, main, sub = perp_listed()
    assert v.deposit(main, v.usdc, 1_000 * USDC).ok
    # Long 0.1 BTC bought at 35,000, now 30,000: -500 PnL, 300 initial margin: health 1,000 - 800.
    set_trading(v, main, long_btc(35_000 * USDC))
    health_metas = v.health(main.margin)
    assert [m.pubkey for m in health_metas] == [collateral.config_address(v.usdc), trading_state.market_address(MARKET_INDEX), BTC_FEED]
    view = v.view(main.margin)
    mirror = mirror_with_perps(v, main.margin)
    assert (view.init_health, view.maint_health, view.margin_ratio_bps) == (mirror.init_health, mirror.maint_health, mirror.margin_ratio_bps)
    assert view.init_health == 200 * USDC
    before = state_of(v, main, sub)
    failed(unchanged(v, lambda: v.withdraw(main, v.usdc, 300 * USDC), *before), E["InsufficientHealth"])
    failed(unchanged(v, lambda: v.transfer(main, sub.margin, v.usdc, 300 * USDC), *before), E["InsufficientHealth"])
    assert v.withdraw(main, v.usdc, 200 * USDC).ok  # exactly to zero initial health
    # Funding owed counts too: the index rose by 100 per BTC since the snapshot: the long owes 10.
    set_market(v, dataclasses.replace(BTC_MARKET, cumulative_funding_long=100 * USDC * 10**6))
    assert v.view(main.margin).init_health == -10 * USDC
    failed(v.withdraw(main, v.usdc, 1), E["InsufficientHealth"])


def test_a_winning_position_allows_the_withdrawal() -> None:
    v, main, sub = perp_listed()
    assert v.deposit(main, v.usdc, 1_000 * USDC).ok
    # Bought at 25,000: +500 PnL (counted in full), 300 margin: health 1,000 + 200.
    set_trading(v, main, long_btc(25_000 * USDC))
    assert v.view(main.margin).init_health == 1_200 * USDC
    assert v.withdraw(main, v.usdc, 1_000 * USDC).ok
    assert v.view(main.margin).init_health == 200 * USDC
    # The price falls to 27,000: +200 PnL, 270 margin: -70, the position alone (no collateral left).
    v.publish(27_000 * USDC, BTC_FEED)
    assert v.balances(main.margin).entries == []
    assert v.view(main.margin).init_health == mirror_with_perps(v, main.margin).init_health == -70 * USDC


def test_a_stand_in_trading_account_is_refused() -> None:
    v, main, sub = perp_listed()
    assert v.deposit(main, v.usdc, 1_000 * USDC).ok
    trading = set_trading(v, main, long_btc(35_000 * USDC))
    before = state_of(v, main, sub)

    def refused(ix: Instruction, error: str) -> None:
        failed(unchanged(v, lambda: v.send([ix], main.owner), *before, trading), E[error])

    collateral_only = v.health(main.margin)[:1]
    wd = v.collateral.withdraw(main.owner.pubkey(), main.margin, v.usdc, 300 * USDC, collateral_only)
    # Hiding the losing position: a flat account at another address, owned by another program...
    elsewhere = set_trading(v, main, address=Keypair().pubkey(), owner=Keypair().pubkey())
    refused(with_meta(wd, "trading_account", key=elsewhere), "WrongAddress")
    # ...or owned by qd-trading but not at the PDA: it is some other margin account's.
    flat_of_sub = set_trading(v, sub)
    refused(with_meta(wd, "trading_account", key=flat_of_sub), "WrongTradingAccount")
    forged = set_trading(v, main, address=Keypair().pubkey(), of=sub.margin)
    refused(with_meta(wd, "trading_account", key=forged), "WrongTradingAccount")
    # Another margin account's PDA that qd-trading does not own, and a type cosplay.
    refused(with_meta(wd, "trading_account", key=trading_state.trading_address(core.margin_account_address(main.owner.pubkey(), 9))), "WrongAddress")
    refused(with_meta(wd, "trading_account", key=trading_state.market_address(MARKET_INDEX)), "WrongAccountSize")
    # The real account with its position's accounts left out, or with another market or oracle.
    refused(wd, "NotEnoughAccounts")
    full = v.collateral.withdraw(main.owner.pubkey(), main.margin, v.usdc, 300 * USDC, v.health(main.margin))
    refused(Instruction(full.program_id, full.data, list(full.accounts) + [full.accounts[-1]]), "TooManyAccounts")
    other_market = set_market(v, dataclasses.replace(BTC_MARKET, index=MARKET_INDEX + 1))
    refused(with_meta(full, remaining=1, key=other_market), "MarketMismatch")
    fake_market = set_market(v, BTC_MARKET, address=Keypair().pubkey(), owner=Keypair().pubkey())
    refused(with_meta(full, remaining=1, key=fake_market), "WrongOwner")
    refused(with_meta(full, remaining=2, key=v.sol_feed), "WrongOracle")
    # The position's market needs a fresh price too.
    v.chain.advance(100, 100)
    v.publish(SOL_PRICE, v.sol_feed)
    failed(v.withdraw(main, v.usdc, 1), E["StaleOracleSlots"])
    v.publish(BTC_PRICE, BTC_FEED)
    assert v.withdraw(main, v.usdc, 200 * USDC).ok


# ---------------------------------------------------------------- adjustments by CPI

def test_adjustments_by_cpi_with_the_protocol_as_counterparty() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.usdc, 100 * USDC).ok and v.deposit(main, v.sol, SOL).ok
    result = v.adjust(v.usdc, main.margin, -150 * USDC)
    assert result.ok
    events = collateral.parse_events(result.logs)
    assert [(e.name, e.data.delta, e.data.balance, e.data.protocol_balance) for e in events] == [
        ("BalanceAdjusted", -150 * USDC, -50 * USDC, 150 * USDC)]
    assert v.balances(main.margin).balance_of(v.usdc) == -50 * USDC
    assert v.adjust(v.usdc, sub.margin, 30 * USDC).ok  # a credit opens an entry
    assert v.collateral_config(v.usdc).protocol_balance == 120 * USDC
    v.check_conservation([main.margin, sub.margin])
    # Only the quote may go negative.
    failed(v.adjust(v.sol, main.margin, -SOL - 1), E["InsufficientBalance"])
    assert v.adjust(v.sol, main.margin, -SOL).ok
    assert [e.mint for e in v.balances(main.margin).entries] == [v.usdc]
    v.check_conservation([main.margin, sub.margin])
    # A credit the protocol has not collected yet: the balance exceeds the vault until it is.
    assert v.adjust(v.sol, sub.margin, 2 * SOL).ok
    assert v.collateral_config(v.sol).protocol_balance == -SOL
    failed(v.withdraw(sub, v.sol, 2 * SOL), E["VaultShortfall"])
    assert v.withdraw(sub, v.sol, SOL).ok
    v.check_conservation([main.margin, sub.margin])


def test_adjustments_refuse_every_other_signer() -> None:
    v, main, sub = listed()
    assert v.deposit(main, v.usdc, 100 * USDC).ok
    before = state_of(v, main, sub)
    # A lookalike: the same program at another id signs with its own [b"authority"] PDA.
    lookalike = v.chain.deploy("qd_test_adjuster", Keypair().pubkey())
    failed(unchanged(v, lambda: v.adjust(v.usdc, main.margin, 10**12, program=lookalike), *before), E["NotAdjustAuthority"])
    # A user key, and a PDA of qd-security (another program's authority).
    direct = v.collateral.adjust_balance(main.owner.pubkey(), v.usdc, main.margin, 10**12)
    failed(unchanged(v, lambda: v.send([direct], main.owner), *before), E["NotAdjustAuthority"])
    failed(v.chain.send_unverified([v.collateral.adjust_balance(security.AUTHORITY, v.usdc, main.margin, 1)]), E["NotAdjustAuthority"])
    # The real authorities without their signature.
    failed(v.send([with_meta(v.collateral.adjust_balance(CORE_AUTHORITY, v.usdc, main.margin, 1), "authority", signer=False)]), E["MissingSigner"])
    # qd-core's authority PDA (its CPI grants the signature; here with signature checks off).
    assert v.chain.send_unverified([v.collateral.adjust_balance(CORE_AUTHORITY, v.usdc, main.margin, 1)]).ok
    failed(v.chain.send_unverified([v.collateral.adjust_balance(CORE_AUTHORITY, v.usdc, main.margin, 0)]), E["InvalidAmount"])


# ---------------------------------------------------------------- extremes

def test_overflow_at_extreme_amounts_and_prices() -> None:
    v, main, sub = listed()
    whale = v.chain.create_mint(0)
    # Nearly full weights (a non-quote asset's liquidation fee must stay below 10,000 - maint, so not 100%).
    big_params = Params(9_999, 9_999, 2**63 - 1)
    # No EMA-deviation limit, so the price can jump to an extreme at once.
    guards = {a: dataclasses.replace(g, max_ema_deviation_bps=0) for a, g in collateral.DEFAULT_GUARDS.items()}
    assert v.send([v.collateral.create_collateral(v.admin.pubkey(), whale, v.sol_feed, big_params, guards)]).ok
    v.fund(main.owner, whale, 2**64 - 1)
    assert v.deposit(main, whale, 2**63 - 1).ok  # the largest balance
    failed(v.deposit(main, whale, 1), E["ArithmeticOverflow"])  # the total would pass i64::MAX
    failed(v.deposit(sub, whale, 1), E["ArithmeticOverflow"])
    # 2^63 tokens at 150 with 0 decimals, weighted: beyond i128 after the weight: a named error.
    v.publish(2**62, v.sol_feed)
    failed(v.withdraw(main, whale, 1), E["MathOverflow"])
    result = v.send([v.collateral.view_health(main.margin, v.health(main.margin))])
    failed(result, E["MathOverflow"])
    v.publish(SOL_PRICE, v.sol_feed)
    assert v.withdraw(main, whale, 2**63 - 1).ok
    assert v.adjust(v.usdc, main.margin, 2**63 - 1).ok
    failed(v.adjust(v.usdc, main.margin, 1), E["ArithmeticOverflow"])


def test_token_2022_mints_without_extensions_work() -> None:
    v, main, sub = listed()
    mint = v.chain.create_mint(9, token_program=token.TOKEN_2022_PROGRAM_ID)
    assert v.send([v.collateral.create_collateral(v.admin.pubkey(), mint, v.sol_feed, SOL_PARAMS, token_program=token.TOKEN_2022_PROGRAM_ID)]).ok
    ata = v.fund(main.owner, mint, 5 * SOL, token.TOKEN_2022_PROGRAM_ID)
    assert v.send([v.collateral.deposit(main.owner.pubkey(), main.margin, mint, 2 * SOL, token_program=token.TOKEN_2022_PROGRAM_ID)], main.owner).ok
    ix = v.collateral.withdraw(main.owner.pubkey(), main.margin, mint, SOL, v.health(main.margin), token_program=token.TOKEN_2022_PROGRAM_ID)
    assert v.send([ix], main.owner).ok
    assert v.tokens(ata) == 4 * SOL
    failed(v.send([v.collateral.deposit(main.owner.pubkey(), main.margin, mint, SOL)], main.owner), E["WrongTokenProgram"])


def test_each_extra_collateral_costs_at_most_1500_cu_in_a_health_check() -> None:
    table = bench.measure()
    for prefix in ("withdraw", "view_health"):
        steps = bench.curve(table, prefix)
        assert len(steps) == collateral.MAX_BALANCES - 1
        assert max(steps) <= bench.PER_ENTRY_BUDGET, (prefix, steps)
    assert not table.over_target()


# ---------------------------------------------------------------- the Python client over RPC

async def test_collateral_client_over_rpc() -> None:
    async with run_in_background(slot_ms=100, root=ROOT) as node:
        async with AsyncClient(node.rpc_url, commitment=Confirmed) as rpc:
            wallet, owner, publisher = Keypair(), Keypair(), Keypair()
            for kp in (wallet, owner, publisher):
                await rpc.request_airdrop(kp.pubkey(), 10 * 10**9)
            provider = Provider(rpc, Wallet(wallet))
            client, cc, feeds = collateral.CollateralClient(provider), core.CoreClient(provider), oracle.OracleClient(provider)
            rent = (await rpc.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
            usdc, sol = Keypair(), Keypair()
            for mint, decimals in ((usdc, 6), (sol, 9)):
                await cc.send(token.create_mint(wallet.pubkey(), mint.pubkey(), wallet.pubkey(), decimals, rent), [mint])
            await cc.send([security.SecurityInstructions().initialize(wallet.pubkey()), cc.ix.initialize(wallet.pubkey(), usdc.pubkey())])
            feed = oracle.feed_address("SOL/USD")
            now = (await sysvar.fetch_clock(rpc)).unix_timestamp
            await feeds.send([feeds.ix.initialize_feed(wallet.pubkey(), "SOL/USD", -6, 30, [publisher.pubkey()])])
            await feeds.send([feeds.ix.publish(publisher.pubkey(), feed, SOL_PRICE, SOL_PRICE // 1_000, now)], [publisher])
            await client.send([client.ix.create_collateral(wallet.pubkey(), usdc.pubkey(), None, QUOTE_PARAMS),
                               client.ix.create_collateral(wallet.pubkey(), sol.pubkey(), feed, SOL_PARAMS)])
            main, sub = await cc.create(owner, 0), await cc.create(owner, 1)
            await client.open(owner, main)
            await client.open(owner, sub)
            for mint in (usdc.pubkey(), sol.pubkey()):
                ata = token.associated_address(owner.pubkey(), mint)
                await client.send([token.create_associated_account(wallet.pubkey(), owner.pubkey(), mint),
                                   token.mint_to_instruction(mint, ata, wallet.pubkey(), 10**12)])
            await client.deposit(owner, main, usdc.pubkey(), 500 * USDC)
            await client.deposit(owner, main, sol.pubkey(), 4 * SOL)
            await client.transfer(owner, main, sub, sol.pubkey(), SOL)
            await client.withdraw(owner, main, usdc.pubkey(), 100 * USDC)
            balances = await client.fetch_balances(main)
            assert [(e.mint, e.balance) for e in balances.entries] == [(usdc.pubkey(), 400 * USDC), (sol.pubkey(), 3 * SOL)]
            report = await client.fetch_health(main)
            view = await client.fetch_health_view(main)
            expected_init = 400 * USDC + 3 * SOL_PRICE * 8_000 // 10_000
            assert report.result.init_health == view.init_health == expected_init
            assert report.result.maint_health == view.maint_health
            assert [r.price for r in report.rows] == [collateral.QUOTE_PRICE, SOL_PRICE]
            assert "SOL" in report.table({sol.pubkey(): "SOL"})
            with pytest.raises(ProgramError) as refused:
                await client.simulate([client.ix.withdraw(owner.pubkey(), main, sol.pubkey(), 4 * SOL, await client.fetch_health_accounts(main))], [owner])
            assert refused.value.code == E["InsufficientBalance"]
