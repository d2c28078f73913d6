//! Instruction handlers, each after the `accounts!` declaration of its accounts. `parse` checks
//! the count, signers, writable flags and distinct writable accounts; the handler's first lines
//! check the rest (owner, PDA, discriminator, identity fields), then the pause and freeze state
//! and its amounts, before changing anything; token CPIs come last, so any failure leaves state
//! untouched.

use crate::balances::{compact, debit, entry_or_new};
use crate::error::CollateralError as E;
use crate::events::{
    BalanceAdjusted, BalanceChanged, BalancesOpened, CollateralCreated, CollateralOracleChanged, CollateralParamsChanged, FeesCollected,
    InsuranceCovered, Transferred,
};
use crate::instruction::{CollateralInstruction, HealthView};
use qd_access::{
    authorize, load_config as load_security, require_role, require_timelock, Action, Request, Role, AUTHORITY_SEED, NO_MARKET,
};
use qd_collateral_state::{
    oracle_feed_id, CollateralBalances, CollateralConfig, BALANCES_SEED, BALANCES_VERSION, COLLATERAL_CONFIG_VERSION, CONFIG_SEED,
    STATUS_ACTIVE, VAULT_SEED,
};
use qd_core_state::{
    load_global, load_margin, load_owned_margin, require_core_authority, MarginAccount, STATUS_BANKRUPT, STATUS_BEING_LIQUIDATED,
};
use qd_health::Health;
use qd_oracle_reader::{Action as OracleAction, OracleGuards};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::{BorshWrite, Writer};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{pda, system, token, validate};
use qd_trading_state::{account_health, trading_account_of};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    use CollateralInstruction as I;
    match CollateralInstruction::unpack(data)? {
        I::CreateCollateral { init_weight_bps, maint_weight_bps, deposit_cap, account_cap, liquidation_fee_bps, guards } => {
            let params = Params { init_weight_bps, maint_weight_bps, deposit_cap, account_cap, liquidation_fee_bps };
            create_collateral(accounts, &params, &guards)
        }
        I::SetCollateralParams { init_weight_bps, maint_weight_bps, deposit_cap, account_cap, liquidation_fee_bps, status } => {
            let params = Params { init_weight_bps, maint_weight_bps, deposit_cap, account_cap, liquidation_fee_bps };
            set_collateral_params(accounts, &params, status)
        }
        I::SetCollateralOracle { guards } => set_collateral_oracle(accounts, &guards),
        I::OpenBalances {} => open_balances(accounts),
        I::CloseBalances {} => close_balances(accounts),
        I::Deposit { amount } => deposit(accounts, amount),
        I::Withdraw { amount } => withdraw(accounts, amount),
        I::Transfer { amount } => transfer(accounts, amount),
        I::AdjustBalance { delta } => adjust_balance(accounts, delta),
        I::CollectFees { to_insurance, to_revenue } => collect_fees(accounts, to_insurance, to_revenue),
        I::CoverFromInsurance { amount } => cover_from_insurance(accounts, amount),
        I::ViewHealth { oracle_action } => view_health(accounts, oracle_action),
    }
}

/// Weights, caps and liquidation fee of a collateral (create_collateral's and
/// set_collateral_params' arguments; all but the fee checked while decoding).
struct Params {
    init_weight_bps: u16,
    maint_weight_bps: u16,
    deposit_cap: u64,
    account_cap: u64,
    liquidation_fee_bps: u16,
}

impl Params {
    /// A liquidator buys collateral at `liquidation_fee_bps` below its price to repay debt: the
    /// account loses `maint_weight` of the collateral's value and gains `1 - fee` of it in
    /// repaid debt, so its maintenance health rises only while `fee < 10_000 - maint_weight`.
    /// The quote is repaid, never sold: no fee.
    fn check_liquidation_fee(&self, is_quote: bool) -> ProgramResult {
        let ok = if is_quote { self.liquidation_fee_bps == 0 } else { self.liquidation_fee_bps < 10_000 - self.maint_weight_bps };
        if !ok {
            return Err(E::InvalidLiquidationFee.into());
        }
        Ok(())
    }
}

/// The vault authority's signer seeds ([b"authority"], canonical bump).
const VAULT_AUTHORITY_SEEDS: &[&[u8]] = &[AUTHORITY_SEED, &[qd_ids::COLLATERAL_AUTHORITY_BUMP]];

const MAX_DECIMALS: u8 = 18;
const QUOTE_DECIMALS: u8 = 6;

/// Decimals of an initialized mint of `token_program` with no extensions. Token-2022
/// extensions (transfer fees, hooks, interest) would make the vault's amount differ from what
/// was transferred and break the conservation of balances, so they are refused.
fn plain_mint_decimals(mint: &AccountInfo, token_program: &Pubkey) -> Result<u8, ProgramError> {
    match token::mint(mint.owner(), mint.data()) {
        Some(m) if !m.extensions && mint.owner() == token_program => {
            if m.decimals > MAX_DECIMALS {
                return Err(E::DecimalsTooLarge.into());
            }
            Ok(m.decimals)
        }
        _ => Err(E::UnsupportedMint.into()),
    }
}

/// The quote mint's "oracle" must be the System program (its price is fixed at 1).
fn check_quote_oracle(oracle: &AccountInfo) -> ProgramResult {
    if oracle.key() != &system::ID {
        return Err(E::QuoteHasNoOracle.into());
    }
    Ok(())
}

fn next_seq(seq: &mut u64) -> Result<u64, ProgramError> {
    *seq = seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    Ok(*seq)
}

/// The config's vault, mint and token program, as passed (the vault's writability is the
/// accounts declaration's check).
fn check_token_accounts(config: &CollateralConfig, vault: &AccountInfo, mint: &AccountInfo, token_program: &AccountInfo) -> ProgramResult {
    if mint.key() != &config.mint {
        return Err(E::WrongMint.into());
    }
    if vault.key() != &config.vault {
        return Err(E::WrongVault.into());
    }
    if token_program.key() != &config.token_program {
        return Err(E::WrongTokenProgram.into());
    }
    Ok(())
}

/// A token account of the config's token program holding the config's mint (the user's side
/// of a deposit or withdrawal; declared writable).
fn check_user_token_account(config: &CollateralConfig, account: &AccountInfo) -> ProgramResult {
    validate::owned_by(account, &config.token_program)?;
    match account.data().get(..32) {
        Some(mint) if mint == config.mint => Ok(()),
        _ => Err(E::WrongMint.into()),
    }
}

/// Withdrawals and transfers out wait while liquidation owns the account.
fn check_not_in_liquidation(margin: &MarginAccount) -> ProgramResult {
    if margin.status & (STATUS_BEING_LIQUIDATED | STATUS_BANKRUPT) != 0 {
        return Err(E::AccountInLiquidation.into());
    }
    Ok(())
}

/// The balances of `margin_account`, writable.
fn balances_mut<'a>(info: &'a AccountInfo, margin_account: &Pubkey) -> Result<&'a mut CollateralBalances, ProgramError> {
    let balances = info.load_mut::<CollateralBalances>(&crate::ID)?;
    balances.check_margin_account(margin_account)?;
    Ok(balances)
}

/// The health of `margin_account`'s balances and, when `trading_info` is its open trading
/// account, perp positions, read from `accounts` (collateral, then perp health accounts).
fn health_of(
    balances: &CollateralBalances,
    margin_account: &Pubkey,
    trading_info: &AccountInfo,
    accounts: &[AccountInfo],
    action: OracleAction,
    clock: &Clock,
) -> Result<Health, ProgramError> {
    let trading = trading_account_of(trading_info, margin_account)?;
    let mut next = accounts.iter();
    let health = account_health(balances, trading, &mut next, None, None, action, clock)?;
    validate::no_more_accounts(&mut next)?;
    Ok(health)
}

/// Fails unless initial health, with prices valid for margin, is at least zero.
fn require_init_health(
    balances: &CollateralBalances,
    margin_account: &Pubkey,
    trading_info: &AccountInfo,
    accounts: &[AccountInfo],
    clock: &Clock,
) -> ProgramResult {
    if health_of(balances, margin_account, trading_info, accounts, OracleAction::Margin, clock)?.init_health()? < 0 {
        return Err(qd_health::HealthError::InsufficientHealth.into());
    }
    Ok(())
}

qd_runtime::accounts! {
    pub struct CreateCollateralAccounts {
        /// Holds ADMIN; pays rent
        admin(mut, signer),
        security_config,
        /// qd-core GlobalConfig (its quote mint)
        core_global,
        /// PDA [b"collateral", mint]
        config(mut),
        /// PDA [b"vault", mint]
        vault(mut),
        mint,
        /// Price account the reader supports; the System program for the quote mint
        oracle,
        token_program,
        system_program,
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

fn create_collateral(accounts: &[AccountInfo], params: &Params, guards: &OracleGuards) -> ProgramResult {
    let CreateCollateralAccounts {
        admin,
        security_config,
        core_global,
        config: config_info,
        vault,
        mint,
        oracle,
        token_program,
        system_program,
        instructions,
        ..
    } = CreateCollateralAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let security = load_security(security_config)?;
    require_role(security, Role::Admin, admin)?;
    validate::program(system_program, &system::ID)?;
    if token_program.key() != &token::ID && token_program.key() != &token::ID_2022 {
        return Err(E::WrongTokenProgram.into());
    }
    let global = load_global(core_global)?;
    let decimals = plain_mint_decimals(mint, token_program.key())?;
    let is_quote = mint.key() == &global.quote_mint;
    let feed_id = if is_quote {
        if decimals != QUOTE_DECIMALS {
            return Err(E::QuoteDecimals.into());
        }
        check_quote_oracle(oracle)?;
        [0; 32]
    } else {
        oracle_feed_id(oracle, security)?
    };
    params.check_liquidation_fee(is_quote)?;
    let mint_key = mint.key();
    // Canonical bumps only: exactly one config and one vault per mint.
    let vault_bump = pda::check_canonical(vault.key(), &[VAULT_SEED, mint_key], &crate::ID)?;
    let (config, bump) = system::create_pda::<CollateralConfig>(admin, config_info, &[CONFIG_SEED, mint_key], &crate::ID)?;
    system::create_account(admin, vault, token::ACCOUNT_LEN, token_program.key(), &[&[VAULT_SEED, mint_key, &[vault_bump]]])?;
    token::initialize_account3(token_program, vault, mint, &qd_ids::COLLATERAL_AUTHORITY)?;
    config.version = COLLATERAL_CONFIG_VERSION;
    config.bump = bump;
    config.decimals = decimals;
    config.status = STATUS_ACTIVE;
    config.is_quote = is_quote as u8;
    config.init_weight_bps = params.init_weight_bps;
    config.maint_weight_bps = params.maint_weight_bps;
    config.liquidation_fee_bps = params.liquidation_fee_bps;
    config.mint = *mint_key;
    config.vault = *vault.key();
    config.oracle = if is_quote { [0; 32] } else { *oracle.key() };
    config.token_program = *token_program.key();
    config.deposit_cap = params.deposit_cap;
    config.account_cap = params.account_cap;
    config.guards = *guards;
    config.oracle_feed_id = feed_id;
    config.audit_seq = 1;
    CollateralCreated {
        config: *config_info.key(),
        mint: *mint_key,
        vault: config.vault,
        oracle: config.oracle,
        admin: *admin.key(),
        decimals,
        is_quote,
        status: STATUS_ACTIVE,
        init_weight_bps: params.init_weight_bps,
        maint_weight_bps: params.maint_weight_bps,
        deposit_cap: params.deposit_cap,
        account_cap: params.account_cap,
        liquidation_fee_bps: params.liquidation_fee_bps,
        slot: Clock::get()?.slot,
        seq: 1,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetCollateralParamsAccounts {
        /// qd-security's [b"authority"] PDA: signs only when qd-security executes a proposal after its delay
        timelock(signer),
        config(mut),
    }
}

/// Through the timelock only: qd-security executes a RISK_MANAGER's or ADMIN's proposal.
fn set_collateral_params(accounts: &[AccountInfo], params: &Params, status: u8) -> ProgramResult {
    let SetCollateralParamsAccounts { timelock, config: config_info, .. } = SetCollateralParamsAccounts::parse(accounts)?;
    require_timelock(timelock)?;
    let config = config_info.load_mut::<CollateralConfig>(&crate::ID)?;
    params.check_liquidation_fee(config.is_quote())?;
    config.init_weight_bps = params.init_weight_bps;
    config.maint_weight_bps = params.maint_weight_bps;
    config.deposit_cap = params.deposit_cap;
    config.account_cap = params.account_cap;
    config.liquidation_fee_bps = params.liquidation_fee_bps;
    config.status = status;
    let seq = next_seq(&mut config.audit_seq)?;
    CollateralParamsChanged {
        config: *config_info.key(),
        signer: *timelock.key(),
        status,
        init_weight_bps: params.init_weight_bps,
        maint_weight_bps: params.maint_weight_bps,
        deposit_cap: params.deposit_cap,
        account_cap: params.account_cap,
        liquidation_fee_bps: params.liquidation_fee_bps,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetCollateralOracleAccounts {
        /// qd-security's [b"authority"] PDA: signs only when qd-security executes a proposal after its delay
        timelock(signer),
        security_config,
        config(mut),
        oracle,
    }
}

/// Through the timelock only: qd-security executes an ADMIN's proposal.
fn set_collateral_oracle(accounts: &[AccountInfo], guards: &OracleGuards) -> ProgramResult {
    let SetCollateralOracleAccounts { timelock, security_config, config: config_info, oracle, .. } =
        SetCollateralOracleAccounts::parse(accounts)?;
    require_timelock(timelock)?;
    let security = load_security(security_config)?;
    let config = config_info.load_mut::<CollateralConfig>(&crate::ID)?;
    let old_oracle = config.oracle;
    if config.is_quote() {
        check_quote_oracle(oracle)?;
    } else {
        config.oracle_feed_id = oracle_feed_id(oracle, security)?;
        config.oracle = *oracle.key();
    }
    config.guards = *guards;
    let seq = next_seq(&mut config.audit_seq)?;
    let slot = Clock::get()?.slot;
    CollateralOracleChanged { config: *config_info.key(), admin: *timelock.key(), old_oracle, new_oracle: config.oracle, slot, seq }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct OpenBalancesAccounts {
        /// Pays rent
        owner(mut, signer),
        margin_account,
        /// PDA [b"balances", margin_account]
        balances(mut),
        system_program,
    }
}

fn open_balances(accounts: &[AccountInfo]) -> ProgramResult {
    let OpenBalancesAccounts { owner, margin_account, balances: balances_info, system_program, .. } =
        OpenBalancesAccounts::parse(accounts)?;
    validate::program(system_program, &system::ID)?;
    load_owned_margin(margin_account, owner)?;
    let (balances, bump) =
        system::create_pda::<CollateralBalances>(owner, balances_info, &[BALANCES_SEED, margin_account.key()], &crate::ID)?;
    balances.version = BALANCES_VERSION;
    balances.bump = bump;
    balances.margin_account = *margin_account.key();
    balances.owner = *owner.key();
    let slot = Clock::get()?.slot;
    BalancesOpened { margin_account: *margin_account.key(), owner: *owner.key(), balances: *balances_info.key(), open: true, slot }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CloseBalancesAccounts {
        /// Receives the rent
        owner(mut, signer),
        margin_account,
        balances(mut),
        /// The margin account's qd-trading TradingAccount PDA [b"trading", margin_account]: closed, or holding no position
        trading_account,
    }
}

fn close_balances(accounts: &[AccountInfo]) -> ProgramResult {
    let CloseBalancesAccounts { owner, margin_account, balances: balances_info, trading_account, .. } =
        CloseBalancesAccounts::parse(accounts)?;
    load_owned_margin(margin_account, owner)?;
    let balances = balances_mut(balances_info, margin_account.key())?;
    if balances.count != 0 {
        return Err(E::BalancesNotEmpty.into());
    }
    // A position (or PnL to settle) needs its balances: its losses and settlements land there.
    if trading_account_of(trading_account, margin_account.key())?.is_some_and(|t| t.position_count != 0) {
        return Err(E::PositionsOpen.into());
    }
    // Zeroes the data and hands the account to the System program (no revival in the same
    // transaction); qd-core's close_margin_account then sees it closed.
    balances_info.close(owner)?;
    let slot = Clock::get()?.slot;
    BalancesOpened { margin_account: *margin_account.key(), owner: *owner.key(), balances: *balances_info.key(), open: false, slot }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct DepositAccounts {
        /// Margin account owner and token authority of the source
        owner(signer),
        security_config,
        margin_account,
        balances(mut),
        config(mut),
        vault(mut),
        source(mut),
        mint,
        token_program,
    }
}

fn deposit(accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let DepositAccounts {
        owner,
        security_config,
        margin_account,
        balances: balances_info,
        config: config_info,
        vault,
        source,
        mint,
        token_program,
        ..
    } = DepositAccounts::parse(accounts)?;
    let clock = Clock::get()?;
    // Owner only (not a delegate, not a session): see README "Collateral" for why. A frozen
    // account may still deposit; a paused Deposit operation stops it.
    let request = Request::new(Action::Deposit, NO_MARKET, 0);
    authorize(load_security(security_config)?, load_margin(margin_account)?, owner, None, &request, clock.unix_timestamp)?;
    let config = config_info.load_mut::<CollateralConfig>(&crate::ID)?;
    if config.status != STATUS_ACTIVE {
        return Err(E::DepositsClosed.into());
    }
    check_token_accounts(config, vault, mint, token_program)?;
    check_user_token_account(config, source)?;
    let signed = amount as i64; // <= i64::MAX, checked while decoding
    let total = config.total_balances.checked_add(signed).ok_or(RuntimeError::ArithmeticOverflow)?;
    if total > config.deposit_cap as i64 {
        return Err(E::DepositCapExceeded.into());
    }
    let balances = balances_mut(balances_info, margin_account.key())?;
    let entry = entry_or_new(balances, mint.key())?;
    let balance = entry.balance.checked_add(signed).ok_or(RuntimeError::ArithmeticOverflow)?;
    if config.account_cap != 0 && balance > config.account_cap as i64 {
        return Err(E::AccountCapExceeded.into());
    }
    entry.balance = balance;
    // A deposit that repays a quote debt exactly leaves a zero entry.
    compact(balances);
    config.total_balances = total;
    let seq = next_seq(&mut balances.seq)?;
    token::transfer_checked(token_program, source, mint, vault, owner, (amount, config.decimals), &[])?;
    BalanceChanged { margin_account: *margin_account.key(), mint: *mint.key(), amount: signed, balance, slot: clock.slot, seq }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct WithdrawAccounts {
        owner(signer),
        security_config,
        margin_account,
        balances(mut),
        /// The margin account's qd-trading PDA [b"trading", margin_account]: its positions count toward health; not open: the PDA
        /// itself (no positions)
        trading_account,
        config(mut),
        vault(mut),
        destination(mut),
        mint,
        token_program,
        /// The program's [b"authority"] PDA
        vault_authority,
    }
}

fn withdraw(accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let WithdrawAccounts {
        owner,
        security_config,
        margin_account: margin_info,
        balances: balances_info,
        trading_account,
        config: config_info,
        vault,
        destination,
        mint,
        token_program,
        vault_authority,
        remaining: health_accounts,
    } = WithdrawAccounts::parse(accounts)?;
    let clock = Clock::get()?;
    let margin = load_margin(margin_info)?;
    // Owner only; not frozen; Withdraw not paused.
    authorize(load_security(security_config)?, margin, owner, None, &Request::new(Action::Withdraw, NO_MARKET, 0), clock.unix_timestamp)?;
    check_not_in_liquidation(margin)?;
    validate::address(vault_authority, &qd_ids::COLLATERAL_AUTHORITY)?;
    // Read-only until the health check is done: the health accounts list this config again.
    let config = qd_collateral_state::load_config(config_info)?;
    check_token_accounts(config, vault, mint, token_program)?;
    check_user_token_account(config, destination)?;
    let decimals = config.decimals;
    let balances = balances_mut(balances_info, margin_info.key())?;
    let balance = debit(balances, mint.key(), amount)?;
    require_init_health(balances, margin_info.key(), trading_account, health_accounts, &clock)?;
    // Balances can exceed the vault while the protocol balance is negative (PnL credited before
    // the matching debit is collected): a named error instead of the token program's.
    if token::amount(vault)? < amount {
        return Err(E::VaultShortfall.into());
    }
    let config = config_info.load_mut::<CollateralConfig>(&crate::ID)?;
    config.total_balances = config.total_balances.checked_sub(amount as i64).ok_or(RuntimeError::ArithmeticOverflow)?;
    compact(balances);
    let seq = next_seq(&mut balances.seq)?;
    token::transfer_checked(token_program, vault, mint, destination, vault_authority, (amount, decimals), &[VAULT_AUTHORITY_SEEDS])?;
    BalanceChanged { margin_account: *margin_info.key(), mint: *mint.key(), amount: -(amount as i64), balance, slot: clock.slot, seq }
        .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct TransferAccounts {
        owner(signer),
        security_config,
        from_margin_account,
        from_balances(mut),
        /// The source margin account's qd-trading PDA [b"trading", margin_account] (see withdraw)
        from_trading_account,
        to_margin_account,
        to_balances(mut),
        config,
    }
}

fn transfer(accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let TransferAccounts {
        owner,
        security_config,
        from_margin_account: from_margin_info,
        from_balances,
        from_trading_account,
        to_margin_account: to_margin_info,
        to_balances,
        config: config_info,
        remaining: health_accounts,
    } = TransferAccounts::parse(accounts)?;
    let clock = Clock::get()?;
    let from_margin = load_margin(from_margin_info)?;
    // Owner only; source not frozen; Withdraw (which covers transfers) not paused.
    authorize(
        load_security(security_config)?,
        from_margin,
        owner,
        None,
        &Request::new(Action::Transfer, NO_MARKET, 0),
        clock.unix_timestamp,
    )?;
    check_not_in_liquidation(from_margin)?;
    // Read-only, so not among the accounts `parse` keeps distinct.
    validate::distinct(&[from_margin_info, to_margin_info])?;
    if load_margin(to_margin_info)?.owner != from_margin.owner {
        return Err(E::NotSameOwner.into());
    }
    let config = qd_collateral_state::load_config(config_info)?;
    let from = balances_mut(from_balances, from_margin_info.key())?;
    let to = balances_mut(to_balances, to_margin_info.key())?;
    let from_balance = debit(from, &config.mint, amount)?;
    let entry = entry_or_new(to, &config.mint)?;
    let to_balance = entry.balance.checked_add(amount as i64).ok_or(RuntimeError::ArithmeticOverflow)?;
    if config.account_cap != 0 && to_balance > config.account_cap as i64 {
        return Err(E::AccountCapExceeded.into());
    }
    entry.balance = to_balance;
    require_init_health(from, from_margin_info.key(), from_trading_account, health_accounts, &clock)?;
    compact(from);
    compact(to);
    let from_seq = next_seq(&mut from.seq)?;
    let to_seq = next_seq(&mut to.seq)?;
    Transferred {
        from: *from_margin_info.key(),
        to: *to_margin_info.key(),
        mint: config.mint,
        amount: amount as i64,
        from_balance,
        to_balance,
        slot: clock.slot,
        from_seq,
        to_seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct AdjustBalanceAccounts {
        /// qd-core's or qd-trading's [b"authority"] PDA
        authority(signer),
        config(mut),
        balances(mut),
    }
}

fn adjust_balance(accounts: &[AccountInfo], delta: i64) -> ProgramResult {
    let AdjustBalanceAccounts { authority, config: config_info, balances: balances_info, .. } = AdjustBalanceAccounts::parse(accounts)?;
    // Off-curve PDAs [b"authority"] of qd-core and qd-trading: only those programs can sign for
    // them (invoke_signed), after their own checks. A user key, or a lookalike PDA of any
    // other program, is refused.
    if authority.key() != &qd_ids::CORE_AUTHORITY && authority.key() != &qd_ids::TRADING_AUTHORITY {
        return Err(E::NotAdjustAuthority.into());
    }
    let config = config_info.load_mut::<CollateralConfig>(&crate::ID)?;
    let balances = balances_info.load_mut::<CollateralBalances>(&crate::ID)?;
    let entry = entry_or_new(balances, &config.mint)?;
    let balance = entry.balance.checked_add(delta).ok_or(RuntimeError::ArithmeticOverflow)?;
    // Only the quote balance may become a debt (PnL losses, fees); other assets are tokens held.
    if balance < 0 && !config.is_quote() {
        return Err(E::InsufficientBalance.into());
    }
    entry.balance = balance;
    // The protocol is the counterparty of every adjustment, so vault == balances + protocol.
    config.total_balances = config.total_balances.checked_add(delta).ok_or(RuntimeError::ArithmeticOverflow)?;
    config.protocol_balance = config.protocol_balance.checked_sub(delta).ok_or(RuntimeError::ArithmeticOverflow)?;
    compact(balances);
    let seq = next_seq(&mut balances.seq)?;
    BalanceAdjusted {
        margin_account: balances.margin_account,
        mint: config.mint,
        caller: *authority.key(),
        delta,
        balance,
        protocol_balance: config.protocol_balance,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CollectFeesAccounts {
        /// qd-core's [b"authority"] PDA
        core_authority(signer),
        config(mut),
        vault(mut),
        /// A token account of the config's mint (the insurance fund's vault)
        destination(mut),
        mint,
        token_program,
        /// The program's [b"authority"] PDA
        vault_authority,
    }
}

/// CPI only, from qd-core's sweep: qd-trading has already taken `to_insurance + to_revenue` out
/// of a market's pools, which the protocol balance held, so protocol_balance == PnL pools +
/// revenue still holds after it.
fn collect_fees(accounts: &[AccountInfo], to_insurance: u64, to_revenue: u64) -> ProgramResult {
    let CollectFeesAccounts { core_authority, config: config_info, vault, destination, mint, token_program, vault_authority, .. } =
        CollectFeesAccounts::parse(accounts)?;
    require_core_authority(core_authority)?;
    validate::address(vault_authority, &qd_ids::COLLATERAL_AUTHORITY)?;
    let config = config_info.load_mut::<CollateralConfig>(&crate::ID)?;
    check_token_accounts(config, vault, mint, token_program)?;
    check_user_token_account(config, destination)?;
    // Both amounts are at most i64::MAX (checked while decoding).
    if token::amount(vault)? < to_insurance {
        return Err(E::VaultShortfall.into());
    }
    config.protocol_balance = config.protocol_balance.checked_sub(to_insurance as i64).ok_or(RuntimeError::ArithmeticOverflow)?;
    config.revenue = config.revenue.checked_add(to_revenue as i64).ok_or(RuntimeError::ArithmeticOverflow)?;
    let (decimals, protocol_balance, revenue) = (config.decimals, config.protocol_balance, config.revenue);
    if to_insurance != 0 {
        token::transfer_checked(
            token_program,
            vault,
            mint,
            destination,
            vault_authority,
            (to_insurance, decimals),
            &[VAULT_AUTHORITY_SEEDS],
        )?;
    }
    FeesCollected {
        config: *config_info.key(),
        mint: *mint.key(),
        destination: *destination.key(),
        to_insurance,
        to_revenue,
        protocol_balance,
        revenue,
        slot: Clock::get()?.slot,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CoverFromInsuranceAccounts {
        /// qd-core's [b"authority"] PDA: the source's token authority
        core_authority(signer),
        config(mut),
        vault(mut),
        /// A token account of the config's mint whose token authority is qd-core's [b"authority"] PDA (the insurance fund's vault)
        source(mut),
        mint,
        token_program,
    }
}

/// CPI only, from qd-core's bankruptcy handling: the insurance fund pays a loss into the
/// protocol balance (a market's PnL pool). The token program checks that the source's authority
/// is the signer qd-core passed through, so only the fund's own tokens move.
fn cover_from_insurance(accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let CoverFromInsuranceAccounts { core_authority, config: config_info, vault, source, mint, token_program, .. } =
        CoverFromInsuranceAccounts::parse(accounts)?;
    require_core_authority(core_authority)?;
    let config = config_info.load_mut::<CollateralConfig>(&crate::ID)?;
    check_token_accounts(config, vault, mint, token_program)?;
    check_user_token_account(config, source)?;
    // amount <= i64::MAX (checked while decoding).
    config.protocol_balance = config.protocol_balance.checked_add(amount as i64).ok_or(RuntimeError::ArithmeticOverflow)?;
    let (decimals, protocol_balance) = (config.decimals, config.protocol_balance);
    token::transfer_checked(token_program, source, mint, vault, core_authority, (amount, decimals), &[])?;
    InsuranceCovered {
        config: *config_info.key(),
        mint: *mint.key(),
        source: *source.key(),
        amount,
        protocol_balance,
        slot: Clock::get()?.slot,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct ViewHealthAccounts {
        balances,
        /// The margin account's qd-trading PDA [b"trading", margin_account]: its positions count toward health; not open: the PDA
        /// itself (no positions)
        trading_account,
    }
}

/// The health as return data (a borsh `HealthView`).
fn view_health(accounts: &[AccountInfo], oracle_action: u8) -> ProgramResult {
    let ViewHealthAccounts { balances, trading_account, remaining: health_accounts } = ViewHealthAccounts::parse(accounts)?;
    let action = OracleAction::from_u8(oracle_action).ok_or(E::InvalidOracleAction)?;
    let balances = balances.load::<CollateralBalances>(&crate::ID)?;
    let health = health_of(balances, &balances.margin_account, trading_account, health_accounts, action, &Clock::get()?)?;
    let view = HealthView {
        init_health: health.init_health()?,
        maint_health: health.maint_health()?,
        free_collateral: health.free_collateral()?,
        health_factor_bps: health.health_factor_bps()?,
        margin_ratio_bps: health.margin_ratio_bps()?,
    };
    let mut out = Writer::<{ HealthView::MAX_SIZE }>::new();
    view.write(&mut out);
    set_return_data(out.written());
    Ok(())
}
