//! Instruction handlers. Each validates its accounts (signer, owner, PDA, discriminator,
//! writability, duplicates) and the freeze state before changing anything; any failure leaves
//! state untouched.

use crate::error::CoreError as E;
use crate::events::{DelegateChanged, GlobalInitialized, LimitsChanged, MarginAccountClosed, MarginAccountCreated, MaxSubAccountsChanged};
use crate::instruction::CoreInstruction;
use qd_access::AccessError;
use qd_collateral_state::BALANCES_SEED;
use qd_core_state::{GlobalConfig, MarginAccount, GLOBAL_CONFIG_VERSION, GLOBAL_SEED, MARGIN_ACCOUNT_VERSION, MARGIN_SEED, STATUS_BEING_LIQUIDATED, STATUS_FROZEN};
use qd_runtime::account::{init, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::deploy::check_deployer;
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::emit;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{pda, system, token, validate};
use qd_trading_state::TRADING_SEED;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match CoreInstruction::unpack(data)? {
        CoreInstruction::Initialize { max_sub_accounts } => initialize(accounts, max_sub_accounts),
        CoreInstruction::SetMaxSubAccounts { max_sub_accounts } => set_max_sub_accounts(accounts, max_sub_accounts),
        CoreInstruction::CreateMarginAccount { sub_id, name } => create_margin_account(accounts, sub_id, name),
        CoreInstruction::CloseMarginAccount => close_margin_account(accounts),
        CoreInstruction::SetDelegate { delegate } => set_delegate(accounts, delegate),
        CoreInstruction::SetLimits { max_leverage_x100, allowed_markets, reduce_only } => {
            set_limits(accounts, max_leverage_x100, allowed_markets, reduce_only)
        }
        CoreInstruction::SetFrozen { frozen, reason } => set_frozen(accounts, frozen, reason),
    }
}

fn slot() -> Result<u64, ProgramError> {
    Ok(Clock::get()?.slot)
}

/// The GlobalConfig, writable (address, owner, discriminator and size checked).
fn global_mut(info: &AccountInfo) -> Result<&mut GlobalConfig, ProgramError> {
    validate::address(info, &qd_ids::CORE_GLOBAL)?;
    info.load_mut::<GlobalConfig>(&crate::ID)
}

/// The margin account, writable, after checking that `owner` signed and owns it. Only qd-core
/// writes `owner` (at creation, from the PDA seeds), so the field is the account's identity.
fn owned_margin<'a>(owner: &AccountInfo, info: &'a AccountInfo) -> Result<&'a mut MarginAccount, ProgramError> {
    validate::signer(owner)?;
    let margin = info.load_mut::<MarginAccount>(&crate::ID)?;
    if &margin.owner != owner.key() {
        return Err(E::NotOwner.into());
    }
    Ok(margin)
}

fn initialize(accounts: &[AccountInfo], max_sub_accounts: u16) -> ProgramResult {
    let [admin, global, quote_mint, system_program, program, program_data] = validate::accounts::<6>(accounts)?;
    // Only the upgrade authority may initialize: otherwise whoever front-runs it owns the venue.
    check_deployer(&crate::ID, program, program_data, admin)?;
    validate::writable(admin)?;
    validate::writable(global)?;
    validate::address(global, &qd_ids::CORE_GLOBAL)?;
    validate::program(system_program, &system::ID)?;
    validate::distinct(&[admin, global])?;
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
    state.admin = *admin.key();
    state.quote_mint = *quote_mint.key();
    state.collateral_program = qd_ids::QD_COLLATERAL;
    state.oracle_program = qd_ids::QD_ORACLE;
    state.trading_program = qd_ids::QD_TRADING;
    state.security_program = qd_ids::QD_SECURITY;
    state.audit_seq = 1;
    emit(
        GlobalInitialized { global: *global.key(), admin: *admin.key(), quote_mint: *quote_mint.key(), max_sub_accounts, slot: slot()?, seq: 1 }
            .encode()
            .finish()?,
    );
    Ok(())
}

fn set_max_sub_accounts(accounts: &[AccountInfo], max_sub_accounts: u16) -> ProgramResult {
    let [admin, global_info, instructions] = validate::accounts::<3>(accounts)?;
    refuse_durable_nonce(instructions)?;
    validate::signer(admin)?;
    let global = global_mut(global_info)?;
    if &global.admin != admin.key() {
        return Err(E::NotAdmin.into());
    }
    // Accounts with sub ids above a lowered limit stay valid: only creation checks the limit.
    let old = global.max_sub_accounts;
    global.max_sub_accounts = max_sub_accounts;
    global.audit_seq = global.audit_seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    let seq = global.audit_seq;
    emit(MaxSubAccountsChanged { admin: *admin.key(), old, new: max_sub_accounts, slot: slot()?, seq }.encode().finish()?);
    Ok(())
}

fn create_margin_account(accounts: &[AccountInfo], sub_id: u16, name: [u8; 32]) -> ProgramResult {
    let [owner, global_info, margin_info, system_program] = validate::accounts::<4>(accounts)?;
    validate::signer(owner)?;
    validate::writable(owner)?;
    validate::writable(margin_info)?;
    validate::program(system_program, &system::ID)?;
    validate::distinct(&[owner, global_info, margin_info])?;
    let global = global_mut(global_info)?;
    if sub_id >= global.max_sub_accounts {
        return Err(E::InvalidSubId.into());
    }
    let live = global.margin_accounts.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    let sub = sub_id.to_le_bytes();
    // Canonical bump only: one account per (owner, sub_id), whatever bump a client tries.
    let bump = pda::check_canonical(margin_info.key(), &[MARGIN_SEED, owner.key(), &sub], &crate::ID)?;
    system::create_account(owner, margin_info, MarginAccount::LEN, &crate::ID, &[&[MARGIN_SEED, owner.key(), &sub, &[bump]]])?;
    let slot = slot()?;
    let margin = init::<MarginAccount>(margin_info.data_mut())?;
    margin.version = MARGIN_ACCOUNT_VERSION;
    margin.bump = bump;
    margin.sub_id = sub_id;
    margin.owner = *owner.key();
    margin.name = name;
    margin.allowed_markets = u64::MAX;
    margin.created_slot = slot;
    global.margin_accounts = live;
    emit(MarginAccountCreated { owner: *owner.key(), margin_account: *margin_info.key(), sub_id, name, slot }.encode().finish()?);
    Ok(())
}

fn close_margin_account(accounts: &[AccountInfo]) -> ProgramResult {
    let [owner, global_info, margin_info, balances, trading] = validate::accounts::<5>(accounts)?;
    validate::writable(owner)?;
    validate::distinct(&[owner, global_info, margin_info])?;
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
    emit(MarginAccountClosed { owner: *owner.key(), margin_account: *margin_info.key(), sub_id, slot: slot()? }.encode().finish()?);
    Ok(())
}

fn set_delegate(accounts: &[AccountInfo], delegate: Pubkey) -> ProgramResult {
    let [owner, margin_info] = validate::accounts::<2>(accounts)?;
    let margin = owned_margin(owner, margin_info)?;
    if delegate == margin.owner {
        return Err(E::InvalidDelegate.into());
    }
    // A frozen account may shed a delegate (less access) but not gain one.
    if margin.is_frozen() && delegate != [0; 32] {
        return Err(AccessError::AccountFrozen.into());
    }
    let old = margin.delegate;
    margin.delegate = delegate;
    emit(DelegateChanged { margin_account: *margin_info.key(), owner: *owner.key(), old, new: delegate, slot: slot()? }.encode().finish()?);
    Ok(())
}

fn set_limits(accounts: &[AccountInfo], max_leverage_x100: u16, allowed_markets: u64, reduce_only: bool) -> ProgramResult {
    let [owner, margin_info] = validate::accounts::<2>(accounts)?;
    let margin = owned_margin(owner, margin_info)?;
    margin.max_leverage_x100 = max_leverage_x100; // range checked while decoding
    margin.allowed_markets = allowed_markets;
    margin.reduce_only = reduce_only as u8;
    emit(
        LimitsChanged { margin_account: *margin_info.key(), owner: *owner.key(), max_leverage_x100, allowed_markets, reduce_only, slot: slot()? }
            .encode()
            .finish()?,
    );
    Ok(())
}

fn set_frozen(accounts: &[AccountInfo], frozen: bool, reason: u16) -> ProgramResult {
    let [authority, margin_info] = validate::accounts::<2>(accounts)?;
    validate::signer(authority)?;
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
