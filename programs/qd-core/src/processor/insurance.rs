//! The insurance fund: one per quote mint, its vault and shares. Anyone stakes; unstaking is a
//! request, then a withdrawal once the fund's delay has passed; a permissionless crank sweeps a
//! market's fees into it. Liquidation and bankruptcy pay from it (qd-collateral's
//! `cover_from_insurance`).
//!
//! The fund counts its own `balance`: tokens sent to the vault directly are not counted, so no
//! donation moves the share price, and the vault always holds at least the balance.

use crate::error::{overflow, CoreError as E};
use crate::events::{
    FeesSwept, InsuranceFundCreated, InsurancePaid, InsuranceParamsChanged, Staked, UnstakeCancelled, UnstakeRequested, Unstaked,
};
use qd_access::{check_not_paused, load_config as load_security, require_timelock, Operation, AUTHORITY_SEED, NO_MARKET};
use qd_core_state::{
    load_global, InsuranceFund, Stake, Sweep, INSURANCE_FUND_VERSION, INSURANCE_SEED, INSURANCE_VAULT_SEED, STAKE_SEED, STAKE_VERSION,
};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{pda, system, token, validate};
use qd_trading_state::load_market;

/// qd-core's [b"authority"] signer seeds (canonical bump): the token authority of the fund's
/// vault, and the only signer qd-trading's and qd-collateral's CPI-only instructions accept.
pub(super) const AUTHORITY_SEEDS: &[&[u8]] = &[AUTHORITY_SEED, &[qd_ids::CORE_AUTHORITY_BUMP]];

/// A fund of this program, writable (its identity is its `mint`: created only at its PDA).
fn fund_mut(info: &AccountInfo) -> Result<&mut InsuranceFund, ProgramError> {
    info.load_mut::<InsuranceFund>(&crate::ID)
}

/// The fund's next event sequence number.
fn next_seq(fund: &mut InsuranceFund) -> Result<u64, ProgramError> {
    fund.seq = fund.seq.checked_add(1).ok_or_else(overflow)?;
    Ok(fund.seq)
}

/// `staker`'s stake in `fund`, writable: a Stake of this program whose fields name both (it is
/// created only at the PDA of those two and they never change).
fn stake_of<'a>(info: &'a AccountInfo, fund: &Pubkey, staker: &Pubkey) -> Result<&'a mut Stake, ProgramError> {
    let stake = info.load_mut::<Stake>(&crate::ID)?;
    if &stake.fund != fund || &stake.staker != staker {
        return Err(E::StakeMismatch.into());
    }
    Ok(stake)
}

/// The fund's vault and mint, and the mint's token program, as passed; returns the decimals.
fn check_fund_tokens(
    fund: &InsuranceFund,
    vault: &AccountInfo,
    mint: &AccountInfo,
    token_program: &AccountInfo,
) -> Result<u8, ProgramError> {
    if vault.key() != &fund.vault {
        return Err(E::WrongFundVault.into());
    }
    if mint.key() != &fund.mint {
        return Err(E::WrongFundMint.into());
    }
    validate::program(token_program, mint.owner())?;
    Ok(token::mint(mint.owner(), mint.data()).ok_or(E::WrongFundMint)?.decimals)
}

/// A token account of the fund's mint (a staker's side of a stake or unstake).
fn check_token_account(fund: &InsuranceFund, account: &AccountInfo, token_program: &AccountInfo) -> ProgramResult {
    validate::owned_by(account, token_program.key())?;
    match account.data().get(..32) {
        Some(mint) if mint == fund.mint => Ok(()),
        _ => Err(E::WrongFundMint.into()),
    }
}

qd_runtime::accounts! {
    pub struct CreateInsuranceFundAccounts {
        /// The GlobalConfig admin; pays rent
        admin(mut, signer),
        global,
        /// PDA [b"insurance", mint]
        fund(mut),
        /// PDA [b"insurance_vault", mint]: a token account whose authority is the program's [b"authority"] PDA
        vault(mut),
        /// The venue's quote mint (GlobalConfig.quote_mint), without token extensions
        mint,
        /// The mint's token program
        token_program,
        system_program,
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

pub(super) fn create_insurance_fund(accounts: &[AccountInfo], unstake_delay_secs: i64, fee_share_bps: u16) -> ProgramResult {
    let CreateInsuranceFundAccounts { admin, global, fund: fund_info, vault, mint, token_program, system_program, instructions, .. } =
        CreateInsuranceFundAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let global = load_global(global)?;
    if &global.admin != admin.key() {
        return Err(E::NotAdmin.into());
    }
    validate::program(system_program, &system::ID)?;
    if mint.key() != &global.quote_mint {
        return Err(E::NotQuoteMint.into());
    }
    // A transfer fee or hook would make the vault receive less than a stake counts.
    match token::mint(mint.owner(), mint.data()) {
        Some(m) if !m.extensions => validate::program(token_program, mint.owner())?,
        _ => return Err(E::InvalidQuoteMint.into()),
    }
    let mint_key = mint.key();
    // Canonical bumps only: one fund and one vault per mint.
    let vault_bump = pda::check_canonical(vault.key(), &[INSURANCE_VAULT_SEED, mint_key], &crate::ID)?;
    let (fund, bump) = system::create_pda::<InsuranceFund>(admin, fund_info, &[INSURANCE_SEED, mint_key], &crate::ID)?;
    system::create_account(admin, vault, token::ACCOUNT_LEN, token_program.key(), &[&[INSURANCE_VAULT_SEED, mint_key, &[vault_bump]]])?;
    token::initialize_account3(token_program, vault, mint, &qd_ids::CORE_AUTHORITY)?;
    fund.version = INSURANCE_FUND_VERSION;
    fund.bump = bump;
    fund.vault_bump = vault_bump;
    fund.fee_share_bps = fee_share_bps;
    fund.mint = *mint_key;
    fund.vault = *vault.key();
    fund.unstake_delay_secs = unstake_delay_secs;
    fund.seq = 1;
    InsuranceFundCreated {
        fund: *fund_info.key(),
        mint: *mint_key,
        vault: *vault.key(),
        admin: *admin.key(),
        unstake_delay_secs,
        fee_share_bps,
        slot: Clock::get()?.slot,
        seq: 1,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetInsuranceParamsAccounts {
        /// qd-security's [b"authority"] PDA: signs only when qd-security executes a proposal after its delay
        timelock(signer),
        fund(mut),
    }
}

/// Through the timelock only: qd-security executes an ADMIN's proposal.
pub(super) fn set_insurance_params(accounts: &[AccountInfo], unstake_delay_secs: i64, fee_share_bps: u16) -> ProgramResult {
    let SetInsuranceParamsAccounts { timelock, fund: fund_info, .. } = SetInsuranceParamsAccounts::parse(accounts)?;
    require_timelock(timelock)?;
    let fund = fund_mut(fund_info)?;
    fund.unstake_delay_secs = unstake_delay_secs;
    fund.fee_share_bps = fee_share_bps;
    let seq = next_seq(fund)?;
    InsuranceParamsChanged {
        fund: *fund_info.key(),
        signer: *timelock.key(),
        unstake_delay_secs,
        fee_share_bps,
        balance: fund.balance,
        total_shares: fund.total_shares,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct StakeAccounts {
        /// The source's token authority; pays the Stake account's rent when it is created
        staker(mut, signer),
        security_config,
        fund(mut),
        /// PDA [b"stake", fund, staker]: created by the first stake
        stake(mut),
        /// The fund's vault
        vault(mut),
        /// A token account of the fund's mint
        source(mut),
        mint,
        token_program,
        system_program,
    }
}

pub(super) fn stake(accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let StakeAccounts {
        staker,
        security_config,
        fund: fund_info,
        stake: stake_info,
        vault,
        source,
        mint,
        token_program,
        system_program,
        ..
    } = StakeAccounts::parse(accounts)?;
    check_not_paused(load_security(security_config)?, Operation::Deposit, NO_MARKET)?;
    let fund = fund_mut(fund_info)?;
    let decimals = check_fund_tokens(fund, vault, mint, token_program)?;
    check_token_account(fund, source, token_program)?;
    let shares = fund.shares_for(amount)?;
    // Tokens for no share would be a gift to the other stakers.
    if shares == 0 {
        return Err(E::InvalidStakeAmount.into());
    }
    let total_shares = fund.total_shares.checked_add(shares).ok_or_else(overflow)?;
    let balance = fund.balance.checked_add(amount).ok_or_else(overflow)?;
    let stake = if stake_info.owner() == &crate::ID {
        stake_of(stake_info, fund_info.key(), staker.key())?
    } else {
        validate::program(system_program, &system::ID)?;
        let (stake, bump) = system::create_pda::<Stake>(staker, stake_info, &[STAKE_SEED, fund_info.key(), staker.key()], &crate::ID)?;
        stake.version = STAKE_VERSION;
        stake.bump = bump;
        stake.fund = *fund_info.key();
        stake.staker = *staker.key();
        stake
    };
    stake.shares = stake.shares.checked_add(shares).ok_or_else(overflow)?;
    fund.total_shares = total_shares;
    fund.balance = balance;
    let seq = next_seq(fund)?;
    token::transfer_checked(token_program, source, mint, vault, staker, (amount, decimals), &[])?;
    Staked {
        fund: *fund_info.key(),
        staker: *staker.key(),
        amount,
        shares,
        stake_shares: stake.shares,
        balance,
        total_shares,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct RequestUnstakeAccounts {
        staker(signer),
        fund(mut),
        stake(mut),
    }
}

pub(super) fn request_unstake(accounts: &[AccountInfo], shares: u64) -> ProgramResult {
    let RequestUnstakeAccounts { staker, fund: fund_info, stake: stake_info, .. } = RequestUnstakeAccounts::parse(accounts)?;
    let fund = fund_mut(fund_info)?;
    let stake = stake_of(stake_info, fund_info.key(), staker.key())?;
    if stake.has_request() {
        return Err(E::UnstakePending.into());
    }
    if shares > stake.shares {
        return Err(E::InsufficientShares.into());
    }
    let value = fund.value_of(shares)?;
    let clock = Clock::get()?;
    let unlock_ts = clock.unix_timestamp.checked_add(fund.unstake_delay_secs).ok_or_else(overflow)?;
    stake.unstake_shares = shares;
    stake.unstake_value = value;
    stake.unstake_request_ts = clock.unix_timestamp;
    let seq = next_seq(fund)?;
    UnstakeRequested {
        fund: *fund_info.key(),
        staker: *staker.key(),
        shares,
        value,
        unlock_ts,
        balance: fund.balance,
        total_shares: fund.total_shares,
        slot: clock.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    /// cancel_unstake's accounts.
    pub struct CancelUnstakeAccounts {
        staker(signer),
        fund(mut),
        stake(mut),
    }
}

pub(super) fn cancel_unstake(accounts: &[AccountInfo]) -> ProgramResult {
    let CancelUnstakeAccounts { staker, fund: fund_info, stake: stake_info, .. } = CancelUnstakeAccounts::parse(accounts)?;
    let fund = fund_mut(fund_info)?;
    let stake = stake_of(stake_info, fund_info.key(), staker.key())?;
    if !stake.has_request() {
        return Err(E::NoUnstakeRequest.into());
    }
    let shares = stake.unstake_shares;
    stake.unstake_shares = 0;
    stake.unstake_value = 0;
    stake.unstake_request_ts = 0;
    let seq = next_seq(fund)?;
    UnstakeCancelled {
        fund: *fund_info.key(),
        staker: *staker.key(),
        shares,
        balance: fund.balance,
        total_shares: fund.total_shares,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct UnstakeAccounts {
        staker(signer),
        security_config,
        fund(mut),
        stake(mut),
        /// The fund's vault
        vault(mut),
        /// A token account of the fund's mint
        destination(mut),
        mint,
        token_program,
        /// The program's [b"authority"] PDA: the vault's token authority
        core_authority,
    }
}

pub(super) fn unstake(accounts: &[AccountInfo]) -> ProgramResult {
    let UnstakeAccounts {
        staker,
        security_config,
        fund: fund_info,
        stake: stake_info,
        vault,
        destination,
        mint,
        token_program,
        core_authority,
        ..
    } = UnstakeAccounts::parse(accounts)?;
    check_not_paused(load_security(security_config)?, Operation::Withdraw, NO_MARKET)?;
    let fund = fund_mut(fund_info)?;
    let stake = stake_of(stake_info, fund_info.key(), staker.key())?;
    if !stake.has_request() {
        return Err(E::NoUnstakeRequest.into());
    }
    let clock = Clock::get()?;
    if clock.unix_timestamp < stake.unstake_request_ts.checked_add(fund.unstake_delay_secs).ok_or_else(overflow)? {
        return Err(E::UnstakeTooEarly.into());
    }
    let decimals = check_fund_tokens(fund, vault, mint, token_program)?;
    check_token_account(fund, destination, token_program)?;
    validate::address(core_authority, &qd_ids::CORE_AUTHORITY)?;
    let shares = stake.unstake_shares;
    // The lower of the value at the request and now: a loss in between is the staker's too,
    // so seeing one coming and requesting early escapes nothing; a gain stays with the fund.
    let amount = stake.unstake_value.min(fund.value_of(shares)?);
    // value_of(shares <= total_shares) <= balance, and the request's shares are still held.
    stake.shares = stake.shares.checked_sub(shares).ok_or_else(overflow)?;
    fund.total_shares = fund.total_shares.checked_sub(shares).ok_or_else(overflow)?;
    fund.balance = fund.balance.checked_sub(amount).ok_or_else(overflow)?;
    stake.unstake_shares = 0;
    stake.unstake_value = 0;
    stake.unstake_request_ts = 0;
    let seq = next_seq(fund)?;
    if amount != 0 {
        token::transfer_checked(token_program, vault, mint, destination, core_authority, (amount, decimals), &[AUTHORITY_SEEDS])?;
    }
    Unstaked {
        fund: *fund_info.key(),
        staker: *staker.key(),
        destination: *destination.key(),
        shares,
        amount,
        balance: fund.balance,
        total_shares: fund.total_shares,
        slot: clock.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SweepFeesAccounts {
        security_config,
        fund(mut),
        /// The fund's vault: receives the fund's share
        fund_vault(mut),
        /// The qd-trading PerpMarket whose pools are swept
        market(mut),
        /// The fund's mint's qd-collateral CollateralConfig: its protocol balance holds the pools
        quote_config(mut),
        /// That config's vault
        collateral_vault(mut),
        mint,
        token_program,
        /// qd-collateral's [b"authority"] PDA: the collateral vault's token authority
        collateral_authority,
        /// The program's [b"authority"] PDA: signs both CPIs
        core_authority,
        trading_program,
        collateral_program,
    }
}

/// Permissionless: qd-trading takes the fees out of the market's pools, qd-collateral moves the
/// fund's share from its vault to the fund's and counts the rest as revenue (each checks its own
/// accounts); then the fund counts what it received.
pub(super) fn sweep_fees(accounts: &[AccountInfo]) -> ProgramResult {
    let SweepFeesAccounts {
        security_config,
        fund: fund_info,
        fund_vault,
        market: market_info,
        quote_config,
        collateral_vault,
        mint,
        token_program,
        collateral_authority,
        core_authority,
        trading_program,
        collateral_program,
        ..
    } = SweepFeesAccounts::parse(accounts)?;
    let fund = fund_mut(fund_info)?;
    if fund_vault.key() != &fund.vault {
        return Err(E::WrongFundVault.into());
    }
    if qd_collateral_state::load_config(quote_config)?.mint != fund.mint {
        return Err(E::WrongFundMint.into());
    }
    validate::address(core_authority, &qd_ids::CORE_AUTHORITY)?;
    validate::program(trading_program, &qd_ids::QD_TRADING)?;
    validate::program(collateral_program, &qd_ids::QD_COLLATERAL)?;
    // Values copied out: the CPI below rewrites the market.
    let (index, sweep) = {
        let market = load_market(market_info)?;
        (market.index, Sweep::of(fund.fee_share_bps, market.liquidation_fee_pool, market.fee_pool, market.pnl_pool))
    };
    check_not_paused(load_security(security_config)?, Operation::Settle, index)?;
    if sweep.is_empty() {
        return Err(E::NothingToSweep.into());
    }
    qd_trading_state::take_fees(core_authority, market_info, sweep.liquidation_fees, sweep.trading_fees, AUTHORITY_SEEDS)?;
    qd_collateral_state::collect_fees(
        core_authority,
        quote_config,
        collateral_vault,
        fund_vault,
        mint,
        token_program,
        collateral_authority,
        (sweep.to_insurance, sweep.to_revenue),
        AUTHORITY_SEEDS,
    )?;
    fund.balance = fund.balance.checked_add(sweep.to_insurance).ok_or_else(overflow)?;
    fund.total_swept = fund.total_swept.checked_add(sweep.to_insurance).ok_or_else(overflow)?;
    let seq = next_seq(fund)?;
    let market = load_market(market_info)?;
    FeesSwept {
        fund: *fund_info.key(),
        market_index: index,
        liquidation_fees: sweep.liquidation_fees,
        trading_fees: sweep.trading_fees,
        to_insurance: sweep.to_insurance,
        to_revenue: sweep.to_revenue,
        fee_pool: market.fee_pool,
        liquidation_fee_pool: market.liquidation_fee_pool,
        pnl_pool: market.pnl_pool,
        balance: fund.balance,
        total_shares: fund.total_shares,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}

/// Pays up to `amount` of a bankrupt account's debt in market `market_index` from the fund (no
/// more than its balance): tokens from the fund's vault into the quote's collateral vault,
/// where qd-collateral counts them in its protocol balance (the market's PnL pool's share).
/// Returns what it paid and the fund's balance after.
#[allow(clippy::too_many_arguments)]
pub(super) fn pay_bankruptcy(
    fund_info: &AccountInfo,
    fund_vault: &AccountInfo,
    quote_config: &AccountInfo,
    collateral_vault: &AccountInfo,
    mint: &AccountInfo,
    token_program: &AccountInfo,
    core_authority: &AccountInfo,
    (margin_account, market_index, amount): (&Pubkey, u16, u64),
    clock: &Clock,
) -> Result<(u64, u64), ProgramError> {
    let fund = fund_mut(fund_info)?;
    if fund_vault.key() != &fund.vault {
        return Err(E::WrongFundVault.into());
    }
    if qd_collateral_state::load_config(quote_config)?.mint != fund.mint {
        return Err(E::WrongFundMint.into());
    }
    let paid = amount.min(fund.balance);
    if paid > 0 {
        qd_collateral_state::cover_from_insurance(
            core_authority,
            quote_config,
            collateral_vault,
            fund_vault,
            mint,
            token_program,
            paid,
            AUTHORITY_SEEDS,
        )?;
        fund.balance -= paid;
        fund.total_paid = fund.total_paid.checked_add(paid).ok_or_else(overflow)?;
        let seq = next_seq(fund)?;
        InsurancePaid {
            fund: *fund_info.key(),
            margin_account: *margin_account,
            market_index,
            amount: paid,
            balance: fund.balance,
            total_shares: fund.total_shares,
            total_paid: fund.total_paid,
            slot: clock.slot,
            seq,
        }
        .emit();
    }
    Ok((paid, fund.balance))
}
