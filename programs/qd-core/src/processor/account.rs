//! The venue and its margin accounts: initialize, the sub-account limit, create and close,
//! delegate, owner limits, compliance freeze.

use crate::error::CoreError as E;
use crate::events::{
    DelegateChanged, GlobalInitialized, LimitsChanged, LiquidationBufferChanged, MarginAccountClosed, MarginAccountCreated,
    MaxSubAccountsChanged,
};
use qd_access::{require_timelock, AccessError};
use qd_collateral_state::BALANCES_SEED;
use qd_core_state::{
    GlobalConfig, MarginAccount, DEFAULT_LIQUIDATION_BUFFER_BPS, GLOBAL_CONFIG_VERSION, GLOBAL_SEED, MARGIN_ACCOUNT_VERSION, MARGIN_SEED,
    STATUS_BEING_LIQUIDATED, STATUS_FROZEN,
};
use qd_runtime::account::{init, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::deploy::check_deployer;
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{pda, system, token, validate};
use qd_trading_state::TRADING_SEED;

fn slot() -> Result<u64, ProgramError> {
    Ok(Clock::get()?.slot)
}

/// The GlobalConfig, writable (address, owner, discriminator and size checked).
fn global_mut(info: &AccountInfo) -> Result<&mut GlobalConfig, ProgramError> {
    validate::address(info, &qd_ids::CORE_GLOBAL)?;
    info.load_mut::<GlobalConfig>(&crate::ID)
}

/// The margin account `owner` owns, writable (the signature is checked by the accounts' `parse`).
fn owned_margin<'a>(owner: &AccountInfo, info: &'a AccountInfo) -> Result<&'a mut MarginAccount, ProgramError> {
    let margin = info.load_mut::<MarginAccount>(&crate::ID)?;
    margin.check_owner(owner.key())?;
    Ok(margin)
}

qd_runtime::accounts! {
    pub struct InitializeAccounts {
        /// Upgrade authority; becomes the admin and pays rent
        admin(mut, signer),
        /// PDA ["global"]
        global(mut),
        /// Initialized SPL Token or Token-2022 mint
        quote_mint,
        system_program,
        /// The qd-core program account
        program,
        /// The program's ProgramData account (upgradeable loader)
        program_data,
    }
}

pub(super) fn initialize(accounts: &[AccountInfo], max_sub_accounts: u16) -> ProgramResult {
    let InitializeAccounts { admin, global, quote_mint, system_program, program, program_data, .. } = InitializeAccounts::parse(accounts)?;
    // Only the upgrade authority may initialize: otherwise whoever front-runs it owns the venue.
    check_deployer(&crate::ID, program, program_data, admin)?;
    validate::address(global, &qd_ids::CORE_GLOBAL)?;
    validate::program(system_program, &system::ID)?;
    // Any initialized SPL Token or Token-2022 mint.
    if token::mint(quote_mint.owner(), quote_mint.data()).is_none() {
        return Err(E::InvalidQuoteMint.into());
    }
    // Refuses an existing GlobalConfig (AlreadyInitialized) before asking the System program.
    system::create_account(admin, global, GlobalConfig::LEN, &crate::ID, &[&[GLOBAL_SEED, &[qd_ids::CORE_GLOBAL_BUMP]]])?;
    let state = init::<GlobalConfig>(global.data_mut())?;
    state.version = GLOBAL_CONFIG_VERSION;
    state.bump = qd_ids::CORE_GLOBAL_BUMP;
    state.max_sub_accounts = max_sub_accounts;
    state.liquidation_buffer_bps = DEFAULT_LIQUIDATION_BUFFER_BPS;
    state.admin = *admin.key();
    state.quote_mint = *quote_mint.key();
    state.collateral_program = qd_ids::QD_COLLATERAL;
    state.oracle_program = qd_ids::QD_ORACLE;
    state.trading_program = qd_ids::QD_TRADING;
    state.security_program = qd_ids::QD_SECURITY;
    state.audit_seq = 1;
    GlobalInitialized {
        global: *global.key(),
        admin: *admin.key(),
        quote_mint: *quote_mint.key(),
        max_sub_accounts,
        slot: slot()?,
        seq: 1,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetMaxSubAccountsAccounts {
        admin(signer),
        global(mut),
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

pub(super) fn set_max_sub_accounts(accounts: &[AccountInfo], max_sub_accounts: u16) -> ProgramResult {
    let SetMaxSubAccountsAccounts { admin, global: global_info, instructions, .. } = SetMaxSubAccountsAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let global = global_mut(global_info)?;
    if &global.admin != admin.key() {
        return Err(E::NotAdmin.into());
    }
    // Accounts with sub ids above a lowered limit stay valid: only creation checks the limit.
    let old = global.max_sub_accounts;
    global.max_sub_accounts = max_sub_accounts;
    global.audit_seq = global.audit_seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    let seq = global.audit_seq;
    MaxSubAccountsChanged { admin: *admin.key(), old, new: max_sub_accounts, slot: slot()?, seq }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetLiquidationBufferAccounts {
        /// qd-security's [b"authority"] PDA: signs only when qd-security executes a proposal after its delay
        timelock(signer),
        global(mut),
    }
}

/// Through the timelock only: a RISK_MANAGER's or ADMIN's proposal (bounded while decoding).
pub(super) fn set_liquidation_buffer(accounts: &[AccountInfo], buffer_bps: u16) -> ProgramResult {
    let SetLiquidationBufferAccounts { timelock, global: global_info, .. } = SetLiquidationBufferAccounts::parse(accounts)?;
    require_timelock(timelock)?;
    let global = global_mut(global_info)?;
    let old = global.liquidation_buffer_bps;
    global.liquidation_buffer_bps = buffer_bps;
    global.audit_seq = global.audit_seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    let seq = global.audit_seq;
    LiquidationBufferChanged { signer: *timelock.key(), old, new: buffer_bps, slot: slot()?, seq }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CreateMarginAccountAccounts {
        owner(mut, signer),
        /// Counts live margin accounts
        global(mut),
        /// PDA ["margin", owner, sub_id u16 LE]
        margin_account(mut),
        system_program,
    }
}

pub(super) fn create_margin_account(accounts: &[AccountInfo], sub_id: u16, name: [u8; 32]) -> ProgramResult {
    let CreateMarginAccountAccounts { owner, global: global_info, margin_account: margin_info, system_program, .. } =
        CreateMarginAccountAccounts::parse(accounts)?;
    validate::program(system_program, &system::ID)?;
    let global = global_mut(global_info)?;
    if sub_id >= global.max_sub_accounts {
        return Err(E::InvalidSubId.into());
    }
    let live = global.margin_accounts.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    let sub = sub_id.to_le_bytes();
    // Canonical bump only: one account per (owner, sub_id), whatever bump a client tries.
    let (margin, bump) = system::create_pda::<MarginAccount>(owner, margin_info, &[MARGIN_SEED, owner.key(), &sub], &crate::ID)?;
    let slot = slot()?;
    margin.version = MARGIN_ACCOUNT_VERSION;
    margin.bump = bump;
    margin.sub_id = sub_id;
    margin.owner = *owner.key();
    margin.name = name;
    margin.allowed_markets = u64::MAX;
    margin.created_slot = slot;
    global.margin_accounts = live;
    MarginAccountCreated { owner: *owner.key(), margin_account: *margin_info.key(), sub_id, name, slot }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CloseMarginAccountAccounts {
        owner(mut, signer),
        global(mut),
        margin_account(mut),
        /// qd-collateral's PDA [b"balances", margin_account]: must not be open
        collateral_balances,
        /// qd-trading's PDA [b"trading", margin_account]: must not be open
        trading_account,
    }
}

pub(super) fn close_margin_account(accounts: &[AccountInfo]) -> ProgramResult {
    let CloseMarginAccountAccounts {
        owner,
        global: global_info,
        margin_account: margin_info,
        collateral_balances: balances,
        trading_account: trading,
        ..
    } = CloseMarginAccountAccounts::parse(accounts)?;
    let global = global_mut(global_info)?;
    let margin = owned_margin(owner, margin_info)?;
    if margin.is_frozen() {
        return Err(AccessError::AccountFrozen.into());
    }
    if margin.status & STATUS_BEING_LIQUIDATED != 0 {
        return Err(E::BeingLiquidated.into());
    }
    // The collateral lives in qd-collateral's balances account and the positions and orders in
    // qd-trading's trading account; each program closes its account only when empty. Reading
    // them here (rather than counters kept by CPI) works for every caller, including
    // adjustments that qd-core itself CPIs, where a CPI back into qd-core would be reentrancy.
    // A rare instruction: the two address searches (~1,500 CU each) are affordable.
    pda::check_canonical(balances.key(), &[BALANCES_SEED, margin_info.key()], &qd_ids::QD_COLLATERAL)?;
    pda::check_canonical(trading.key(), &[TRADING_SEED, margin_info.key()], &qd_ids::QD_TRADING)?;
    if balances.owner() == &qd_ids::QD_COLLATERAL || trading.owner() == &qd_ids::QD_TRADING {
        return Err(E::AccountNotEmpty.into());
    }
    global.margin_accounts = global.margin_accounts.checked_sub(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    let sub_id = margin.sub_id;
    // Zeroes the data and hands the account to the System program: it cannot be revived as a
    // margin account later in the same transaction (the account-closing attack).
    margin_info.close(owner)?;
    MarginAccountClosed { owner: *owner.key(), margin_account: *margin_info.key(), sub_id, slot: slot()? }.emit();
    Ok(())
}

qd_runtime::accounts! {
    /// set_delegate's and set_limits' accounts.
    pub struct OwnerAccounts {
        owner(signer),
        margin_account(mut),
    }
}

pub(super) fn set_delegate(accounts: &[AccountInfo], delegate: Pubkey) -> ProgramResult {
    let OwnerAccounts { owner, margin_account: margin_info, .. } = OwnerAccounts::parse(accounts)?;
    let margin = owned_margin(owner, margin_info)?;
    if delegate == margin.owner {
        return Err(E::InvalidDelegate.into());
    }
    // A frozen account may shed a delegate (less access) but not gain one; so may an account
    // being liquidated (its owner deposits, cancels and reduces, nothing else).
    if margin.is_frozen() && delegate != [0; 32] {
        return Err(AccessError::AccountFrozen.into());
    }
    if margin.status & STATUS_BEING_LIQUIDATED != 0 && delegate != [0; 32] {
        return Err(E::BeingLiquidated.into());
    }
    let old = margin.delegate;
    margin.delegate = delegate;
    DelegateChanged { margin_account: *margin_info.key(), owner: *owner.key(), old, new: delegate, slot: slot()? }.emit();
    Ok(())
}

pub(super) fn set_limits(accounts: &[AccountInfo], max_leverage_x100: u16, allowed_markets: u64, reduce_only: bool) -> ProgramResult {
    let OwnerAccounts { owner, margin_account: margin_info, .. } = OwnerAccounts::parse(accounts)?;
    let margin = owned_margin(owner, margin_info)?;
    if margin.status & STATUS_BEING_LIQUIDATED != 0 {
        return Err(E::BeingLiquidated.into());
    }
    margin.max_leverage_x100 = max_leverage_x100; // range checked while decoding
    margin.allowed_markets = allowed_markets;
    margin.reduce_only = reduce_only as u8;
    LimitsChanged {
        margin_account: *margin_info.key(),
        owner: *owner.key(),
        max_leverage_x100,
        allowed_markets,
        reduce_only,
        slot: slot()?,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetFrozenAccounts {
        /// qd-security PDA ["authority"]
        security_authority(signer),
        margin_account(mut),
    }
}

pub(super) fn set_frozen(accounts: &[AccountInfo], frozen: bool, reason: u16) -> ProgramResult {
    let SetFrozenAccounts { security_authority: authority, margin_account: margin_info, .. } = SetFrozenAccounts::parse(accounts)?;
    // SECURITY_AUTHORITY is qd-security's PDA [b"authority"]: an address off the ed25519 curve,
    // so no private key exists and no user can sign for it. The runtime grants its signature
    // only to qd-security, through invoke_signed with those seeds, after qd-security has
    // checked the COMPLIANCE role. A signer with any other key is refused.
    if authority.key() != &qd_ids::SECURITY_AUTHORITY {
        return Err(E::NotSecurityAuthority.into());
    }
    let margin = margin_info.load_mut::<MarginAccount>(&crate::ID)?;
    margin.audit_seq = margin.audit_seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    if frozen {
        margin.status |= STATUS_FROZEN;
        margin.freeze_reason = reason;
    } else {
        margin.status &= !STATUS_FROZEN;
        margin.freeze_reason = 0;
    }
    Ok(())
}
