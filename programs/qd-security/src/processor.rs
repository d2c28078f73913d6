//! Instruction handlers. Each validates its accounts (signer, owner, address or PDA,
//! discriminator, writability, duplicates) and the signer's role before changing anything; any
//! failure leaves state untouched. The timelock's handlers are in `timelock`.

use crate::error::SecurityError as E;
use crate::events::{self, AuditEvent, SessionCreated, SessionRevoked};
use crate::instruction::{SecurityInstruction, SessionArgs};
use crate::state::{MAX_TIMELOCK_DELAY, MIN_TIMELOCK_DELAY};
use crate::timelock;
use qd_access::{
    authorize, load_config, require_role, AccessError, Request, Role, SecurityConfig, Session, AUTHORITY_SEED, MAX_SESSION_SECS, NO_MARKET,
    SECURITY_CONFIG_VERSION, SECURITY_SEED, SESSION_SEED, SESSION_VERSION,
};
use qd_core_state::{load_margin, SET_FROZEN};
use qd_ids::{QD_CORE, SECURITY_AUTHORITY, SECURITY_AUTHORITY_BUMP, SECURITY_CONFIG, SECURITY_CONFIG_BUMP};
use qd_runtime::account::{init, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::Writer;
use qd_runtime::cpi::{invoke_signed, AccountMeta};
use qd_runtime::deploy::{check_deployer, BPF_LOADER_2};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::{emit, set_return_data};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{pda, system, validate};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match SecurityInstruction::unpack(data)? {
        SecurityInstruction::Initialize { timelock_delay } => initialize(accounts, timelock_delay),
        SecurityInstruction::AcceptSuperAdmin => accept_super_admin(accounts),
        SecurityInstruction::SetPause { market, operations } => set_pause(accounts, market, operations),
        SecurityInstruction::SetFrozen { frozen, reason } => set_frozen(accounts, frozen, reason),
        SecurityInstruction::CreateSession(args) => create_session(accounts, &args),
        SecurityInstruction::RevokeSession => revoke_session(accounts),
        SecurityInstruction::CloseSession => close_session(accounts),
        SecurityInstruction::CheckAction { request } => check_action(accounts, &request),
        SecurityInstruction::RecordSessionFill { notional } => record_session_fill(accounts, notional),
        SecurityInstruction::CreateApprovalSet { set_id, threshold, members, count } => {
            timelock::create_approval_set(accounts, set_id, threshold, &members[..count as usize])
        }
        SecurityInstruction::Propose { target, data, len } => timelock::propose(accounts, &target, &data[..len as usize]),
        SecurityInstruction::ApproveProposal => timelock::approve_proposal(accounts),
        SecurityInstruction::ExecuteProposal => timelock::execute_proposal(accounts),
        SecurityInstruction::CancelProposal => timelock::cancel_proposal(accounts),
        SecurityInstruction::CloseProposal => timelock::close_proposal(accounts),
    }
}

/// The SecurityConfig for writing: its fixed address, then owner, writability, type and size.
pub(crate) fn config_mut(info: &AccountInfo) -> Result<&mut SecurityConfig, ProgramError> {
    validate::address(info, &SECURITY_CONFIG)?;
    info.load_mut::<SecurityConfig>(&crate::ID)
}

/// Advances the config's audit sequence and emits the action's audit event with it.
pub(crate) fn audit_config(config: &mut SecurityConfig, actor: &Pubkey, action: u8, subject: Pubkey, value: u64) -> ProgramResult {
    config.audit_seq = config.audit_seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    let slot = Clock::get()?.slot;
    emit(AuditEvent { actor: *actor, target: SECURITY_CONFIG, action, subject, value, slot, seq: config.audit_seq }.encode().finish()?);
    Ok(())
}

fn initialize(accounts: &[AccountInfo], timelock_delay: i64) -> ProgramResult {
    let [super_admin, config_info, system_program, program, program_data] = validate::accounts::<5>(accounts)?;
    validate::signer(super_admin)?;
    validate::writable(super_admin)?;
    validate::writable(config_info)?;
    validate::address(config_info, &SECURITY_CONFIG)?;
    validate::program(system_program, &system::ID)?;
    validate::distinct(&[super_admin, config_info])?;
    // Only the upgrade authority: nobody can front-run the deployer and own the venue's roles.
    check_deployer(&crate::ID, program, program_data, super_admin)?;
    // The one build-independent way below the mainnet minimum: the immutable loader, which
    // public clusters no longer accept for deployments (LiteSVM and the local validator use it).
    let min_delay = if program.owner() == &BPF_LOADER_2 { 0 } else { MIN_TIMELOCK_DELAY };
    if !(min_delay..=MAX_TIMELOCK_DELAY).contains(&timelock_delay) {
        return Err(E::InvalidTimelockDelay.into());
    }
    // create_account refuses an existing config (data, or not System-owned) with
    // AlreadyInitialized before any CPI: initialize runs once.
    system::create_account(super_admin, config_info, SecurityConfig::LEN, &crate::ID, &[&[SECURITY_SEED, &[SECURITY_CONFIG_BUMP]]])?;
    let config = init::<SecurityConfig>(config_info.data_mut())?;
    config.version = SECURITY_CONFIG_VERSION;
    config.bump = SECURITY_CONFIG_BUMP;
    config.super_admin = *super_admin.key();
    config.timelock_delay = timelock_delay;
    config.min_timelock_delay = min_delay;
    audit_config(config, super_admin.key(), events::AUDIT_INITIALIZE, [0; 32], timelock_delay as u64)
}

/// The successor proves it holds the key (or, for an approval set, that a member signs), so power
/// never moves to a mistyped address. The hand-over itself was proposed through the timelock.
fn accept_super_admin(accounts: &[AccountInfo]) -> ProgramResult {
    let [new_super_admin, config_info, instructions] = validate::accounts::<3>(accounts)?;
    refuse_durable_nonce(instructions)?;
    validate::signer(new_super_admin)?;
    let config = config_mut(config_info)?;
    let pending = config.pending_super_admin;
    let accepted = pending != [0; 32]
        && (&pending == new_super_admin.key()
            || match accounts.get(3) {
                Some(set) if set.key() == &pending => timelock::load_approval_set(set)?.member_index(new_super_admin.key()).is_some(),
                _ => false,
            });
    if !accepted {
        return Err(E::NotPendingSuperAdmin.into());
    }
    config.super_admin = pending;
    config.pending_super_admin = [0; 32];
    audit_config(config, new_super_admin.key(), events::AUDIT_ACCEPT_SUPER_ADMIN, pending, 0)
}

/// Stopping is cheap to allow (RISK_MANAGER or ADMIN) and immediate; restarting is a timelocked
/// ADMIN proposal, so a hasty or compromised key can halt the venue but never reopen it.
fn set_pause(accounts: &[AccountInfo], market: u16, operations: u8) -> ProgramResult {
    let [authority, config_info, instructions] = validate::accounts::<3>(accounts)?;
    refuse_durable_nonce(instructions)?;
    validate::signer(authority)?;
    let config = config_mut(config_info)?;
    if !config.has_role(Role::RiskManager, authority.key()) && !config.has_role(Role::Admin, authority.key()) {
        return Err(AccessError::MissingRole.into());
    }
    let mask = if market == NO_MARKET {
        &mut config.global_pause
    } else {
        config.market_pause.get_mut(market as usize).ok_or(E::InvalidMarket)?
    };
    *mask |= operations;
    audit_config(config, authority.key(), events::AUDIT_PAUSE, [0; 32], operations as u64 | (market as u64) << 8)
}

/// freeze_account / unfreeze_account: COMPLIANCE decides here; qd-core, which owns the margin
/// account, writes the status bit when invoked with our `[b"authority"]` PDA as signer.
fn set_frozen(accounts: &[AccountInfo], frozen: bool, reason: u16) -> ProgramResult {
    let [compliance, config_info, margin_info, authority, core_program, instructions] = validate::accounts::<6>(accounts)?;
    refuse_durable_nonce(instructions)?;
    let config = load_config(config_info)?;
    require_role(config, Role::Compliance, compliance)?;
    validate::writable(margin_info)?;
    let margin = load_margin(margin_info)?;
    validate::address(authority, &SECURITY_AUTHORITY)?;
    // The CPI target is fixed: an attacker's program would accept our signer PDA for anything.
    validate::program(core_program, &QD_CORE)?;
    if frozen && margin.is_frozen() {
        return Err(E::AlreadyFrozen.into());
    }
    if !frozen && !margin.is_frozen() {
        return Err(E::NotFrozen.into());
    }
    let owner = margin.owner;
    let mut data = Writer::<11>::new();
    data.bytes(&SET_FROZEN).bool(frozen).u16(reason);
    invoke_signed(
        &QD_CORE,
        &[AccountMeta::readonly(authority.key(), true), AccountMeta::writable(margin_info.key(), false)],
        &[authority, margin_info],
        data.finish()?,
        &[&[AUTHORITY_SEED, &[SECURITY_AUTHORITY_BUMP]]],
    )?;
    // The runtime copies qd-core's writes back into our view: this is its new sequence number.
    let seq = load_margin(margin_info)?.audit_seq;
    let slot = Clock::get()?.slot;
    let action = if frozen { events::AUDIT_FREEZE } else { events::AUDIT_UNFREEZE };
    emit(AuditEvent { actor: *compliance.key(), target: *margin_info.key(), action, subject: owner, value: reason as u64, slot, seq }.encode().finish()?);
    Ok(())
}

fn create_session(accounts: &[AccountInfo], args: &SessionArgs) -> ProgramResult {
    let [owner, session_info, system_program] = validate::accounts::<3>(accounts)?;
    validate::signer(owner)?;
    validate::writable(owner)?;
    validate::writable(session_info)?;
    validate::program(system_program, &system::ID)?;
    validate::distinct(&[owner, session_info])?;
    if &args.session_key == owner.key() {
        return Err(E::InvalidSessionKey.into());
    }
    let now = Clock::get()?.unix_timestamp;
    if args.expires_at <= now || args.expires_at > now.saturating_add(MAX_SESSION_SECS) {
        return Err(E::InvalidSessionExpiry.into());
    }
    // Canonical bump only: one session per (owner, key); readers trust its fields, not its address.
    let bump = pda::check_canonical(session_info.key(), &[SESSION_SEED, owner.key(), &args.session_key], &crate::ID)?;
    // An existing session (live, revoked or expired) must be closed first: AlreadyInitialized.
    system::create_account(owner, session_info, Session::LEN, &crate::ID, &[&[SESSION_SEED, owner.key(), &args.session_key, &[bump]]])?;
    let session = init::<Session>(session_info.data_mut())?;
    session.version = SESSION_VERSION;
    session.bump = bump;
    session.scopes = args.scopes;
    session.owner = *owner.key();
    session.session_key = args.session_key;
    session.markets = args.markets;
    session.max_notional = args.max_notional;
    session.created_at = now;
    session.expires_at = args.expires_at;
    session.budget = args.budget;
    emit(
        SessionCreated {
            owner: *owner.key(),
            session: *session_info.key(),
            session_key: args.session_key,
            scopes: args.scopes,
            markets: args.markets,
            max_notional: args.max_notional,
            expires_at: args.expires_at,
            budget: args.budget,
        }
        .encode()
        .finish()?,
    );
    Ok(())
}

fn revoke_session(accounts: &[AccountInfo]) -> ProgramResult {
    let [signer, session_info] = validate::accounts::<2>(accounts)?;
    validate::signer(signer)?;
    let session = session_info.load_mut::<Session>(&crate::ID)?;
    // The session key may log itself out; the owner may cut it off.
    if signer.key() != &session.owner && signer.key() != &session.session_key {
        return Err(E::NotSessionParty.into());
    }
    if session.revoked != 0 {
        return Err(E::SessionAlreadyRevoked.into());
    }
    session.revoked = 1;
    let slot = Clock::get()?.slot;
    emit(SessionRevoked { owner: session.owner, session: *session_info.key(), by: *signer.key(), slot }.encode().finish()?);
    Ok(())
}

fn close_session(accounts: &[AccountInfo]) -> ProgramResult {
    let [owner, session_info] = validate::accounts::<2>(accounts)?;
    validate::signer(owner)?;
    validate::writable(owner)?;
    let session = session_info.load_mut::<Session>(&crate::ID)?;
    if &session.owner != owner.key() {
        return Err(E::NotSessionOwner.into());
    }
    if session.revoked == 0 && Clock::get()?.unix_timestamp < session.expires_at {
        return Err(E::SessionStillActive.into());
    }
    session_info.close(owner)
}

/// Read-only view: may `signer` take `request` on the margin account now? Returns [actor].
fn check_action(accounts: &[AccountInfo], request: &Request) -> ProgramResult {
    let [signer, config_info, margin_info] = validate::accounts::<3>(accounts)?;
    let config = load_config(config_info)?;
    let margin = load_margin(margin_info)?;
    let session = accounts.get(3);
    // Only a session's expiry needs the time: owners and delegates skip the sysvar read.
    let now = match session {
        Some(_) => Clock::get()?.unix_timestamp,
        None => 0,
    };
    let actor = authorize(config, margin, signer, session, request, now)?;
    set_return_data(&[actor as u8]);
    Ok(())
}

/// qd-trading counts a session-placed order's fill (quote at the fill price) against the
/// session's budget: only its authority PDA signs this, by CPI from the fill.
fn record_session_fill(accounts: &[AccountInfo], notional: u64) -> ProgramResult {
    let [authority, session_info] = validate::accounts::<2>(accounts)?;
    validate::signer(authority)?;
    if authority.key() != &qd_ids::TRADING_AUTHORITY {
        return Err(E::NotTradingAuthority.into());
    }
    validate::writable(session_info)?;
    let session = session_info.load_mut::<Session>(&crate::ID)?;
    qd_access::spend_session(session, notional, Clock::get()?.unix_timestamp)?;
    Ok(())
}
