//! Instruction handlers, each after its `accounts!` declaration. Each validates its accounts
//! (signer, owner, address or PDA, discriminator, writability, duplicates) and the signer's role
//! before changing anything; any failure leaves state untouched. The timelock's handlers are in
//! `timelock`.

use crate::error::SecurityError as E;
use crate::events::{self, AuditEvent, SessionCreated, SessionRevoked};
use crate::instruction::SecurityInstruction as I;
use crate::state::{MAX_TIMELOCK_DELAY, MIN_TIMELOCK_DELAY};
use crate::timelock;
use qd_access::{
    authorize, load_config, require_role, AccessError, Action, Request, Role, SecurityConfig, Session, AUTHORITY_SEED, MAX_SESSION_SECS,
    NO_MARKET, SECURITY_CONFIG_VERSION, SECURITY_SEED, SESSION_SEED, SESSION_VERSION,
};
use qd_core_state::{load_margin, SET_FROZEN};
use qd_ids::{QD_CORE, SECURITY_AUTHORITY, SECURITY_AUTHORITY_BUMP, SECURITY_CONFIG, SECURITY_CONFIG_BUMP};
use qd_runtime::account::{init, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::Writer;
use qd_runtime::cpi::{invoke_signed, AccountMeta};
use qd_runtime::deploy::{check_deployer, BPF_LOADER_2};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{system, validate};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match I::unpack(data)? {
        I::Initialize { timelock_delay } => initialize(accounts, timelock_delay),
        I::AcceptSuperAdmin {} => accept_super_admin(accounts),
        I::SetPause { market, operations, .. } => set_pause(accounts, market, operations),
        I::FreezeAccount { reason } => set_frozen(accounts, true, reason),
        I::UnfreezeAccount { reason } => set_frozen(accounts, false, reason),
        I::CreateSession { session_key, scopes, markets, max_notional, expires_at, budget } => {
            create_session(accounts, &session_key, scopes, markets, max_notional, expires_at, budget)
        }
        I::RevokeSession {} => revoke_session(accounts),
        I::CloseSession {} => close_session(accounts),
        I::CheckAction { action, market, notional } => check_action(accounts, action, market, notional),
        I::RecordSessionFill { notional } => record_session_fill(accounts, notional),
        I::CreateApprovalSet { set_id, threshold, members } => {
            timelock::create_approval_set(accounts, set_id, threshold, members.as_slice())
        }
        I::Propose { target_program, data } => timelock::propose(accounts, &target_program, data.as_slice()),
        I::ApproveProposal {} => timelock::approve_proposal(accounts),
        I::ExecuteProposal {} => timelock::execute_proposal(accounts),
        I::CancelProposal {} => timelock::cancel_proposal(accounts),
        I::CloseProposal {} => timelock::close_proposal(accounts),
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
    AuditEvent { actor: *actor, target: SECURITY_CONFIG, action, subject, value, slot, seq: config.audit_seq }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct InitializeAccounts {
        /// The program's upgrade authority; becomes super-admin and pays rent
        super_admin(mut, signer),
        /// SecurityConfig PDA ["security"]
        config(mut),
        system_program,
        /// The qd-security program account
        program,
        /// Its ProgramData (upgradeable loader); any account under the immutable loader
        program_data,
    }
}

fn initialize(accounts: &[AccountInfo], timelock_delay: i64) -> ProgramResult {
    let InitializeAccounts { super_admin, config: config_info, system_program, program, program_data, .. } =
        InitializeAccounts::parse(accounts)?;
    validate::address(config_info, &SECURITY_CONFIG)?;
    validate::program(system_program, &system::ID)?;
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

qd_runtime::accounts! {
    pub struct AcceptSuperAdminAccounts {
        /// The proposed successor, or a member of the proposed approval set (then the first remaining account)
        new_super_admin(signer),
        /// SecurityConfig PDA ["security"]
        config(mut),
        /// Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

/// The successor proves it holds the key (or, for an approval set, that a member signs), so power
/// never moves to a mistyped address. The hand-over itself was proposed through the timelock.
fn accept_super_admin(accounts: &[AccountInfo]) -> ProgramResult {
    let AcceptSuperAdminAccounts { new_super_admin, config: config_info, instructions, remaining } =
        AcceptSuperAdminAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let config = config_mut(config_info)?;
    let pending = config.pending_super_admin;
    let accepted = pending != [0; 32]
        && (&pending == new_super_admin.key()
            || match remaining.first() {
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

qd_runtime::accounts! {
    pub struct SetPauseAccounts {
        /// A RISK_MANAGER or ADMIN
        authority(signer),
        /// SecurityConfig PDA ["security"]
        config(mut),
        /// Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

/// Stopping is cheap to allow (RISK_MANAGER or ADMIN) and immediate; restarting is a timelocked
/// ADMIN proposal, so a hasty or compromised key can halt the venue but never reopen it.
fn set_pause(accounts: &[AccountInfo], market: u16, operations: u8) -> ProgramResult {
    let SetPauseAccounts { authority, config: config_info, instructions, .. } = SetPauseAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
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

qd_runtime::accounts! {
    /// freeze_account's and unfreeze_account's accounts.
    pub struct SetFrozenAccounts {
        compliance(signer),
        config,
        /// qd-core MarginAccount
        margin_account(mut),
        /// PDA ["authority"] of qd-security: the CPI signer
        security_authority,
        core_program,
        /// Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

/// freeze_account / unfreeze_account: COMPLIANCE decides here; qd-core, which owns the margin
/// account, writes the status bit when invoked with our `[b"authority"]` PDA as signer.
fn set_frozen(accounts: &[AccountInfo], frozen: bool, reason: u16) -> ProgramResult {
    let SetFrozenAccounts {
        compliance,
        config,
        margin_account: margin_info,
        security_authority: authority,
        core_program,
        instructions,
        ..
    } = SetFrozenAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    require_role(load_config(config)?, Role::Compliance, compliance)?;
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
    let mut data = Writer::<11>::new();
    data.bytes(&SET_FROZEN).bool(frozen).u16(reason);
    invoke_signed(
        &QD_CORE,
        &[AccountMeta::readonly(authority.key(), true), AccountMeta::writable(margin_info.key(), false)],
        &[authority, margin_info],
        data.finish()?,
        &[&[AUTHORITY_SEED, &[SECURITY_AUTHORITY_BUMP]]],
    )?;
    // The runtime copies qd-core's writes back into our view: its new sequence number is here.
    let margin = load_margin(margin_info)?;
    let slot = Clock::get()?.slot;
    let action = if frozen { events::AUDIT_FREEZE } else { events::AUDIT_UNFREEZE };
    let (subject, seq) = (margin.owner, margin.audit_seq);
    AuditEvent { actor: *compliance.key(), target: *margin_info.key(), action, subject, value: reason as u64, slot, seq }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CreateSessionAccounts {
        /// The wallet whose margin accounts the session acts for; pays rent
        owner(mut, signer),
        /// PDA ["session", owner, session_key]
        session(mut),
        system_program,
    }
}

fn create_session(
    accounts: &[AccountInfo],
    session_key: &Pubkey,
    scopes: u8,
    markets: u64,
    max_notional: u64,
    expires_at: i64,
    budget: u64,
) -> ProgramResult {
    let CreateSessionAccounts { owner, session: session_info, system_program, .. } = CreateSessionAccounts::parse(accounts)?;
    validate::program(system_program, &system::ID)?;
    if session_key == owner.key() {
        return Err(E::InvalidSessionKey.into());
    }
    let now = Clock::get()?.unix_timestamp;
    if expires_at <= now || expires_at > now.saturating_add(MAX_SESSION_SECS) {
        return Err(E::InvalidSessionExpiry.into());
    }
    // Canonical bump only: one session per (owner, key); readers trust its fields, not its address.
    // An existing session (live, revoked or expired) must be closed first: AlreadyInitialized.
    let (session, bump) = system::create_pda::<Session>(owner, session_info, &[SESSION_SEED, owner.key(), session_key], &crate::ID)?;
    session.version = SESSION_VERSION;
    session.bump = bump;
    session.scopes = scopes;
    session.owner = *owner.key();
    session.session_key = *session_key;
    session.markets = markets;
    session.max_notional = max_notional;
    session.created_at = now;
    session.expires_at = expires_at;
    session.budget = budget;
    let (owner, session, session_key) = (*owner.key(), *session_info.key(), *session_key);
    SessionCreated { owner, session, session_key, scopes, markets, max_notional, expires_at, budget }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct RevokeSessionAccounts {
        /// The session's owner or its session key
        signer(signer),
        session(mut),
    }
}

fn revoke_session(accounts: &[AccountInfo]) -> ProgramResult {
    let RevokeSessionAccounts { signer, session: session_info, .. } = RevokeSessionAccounts::parse(accounts)?;
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
    SessionRevoked { owner: session.owner, session: *session_info.key(), by: *signer.key(), slot }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CloseSessionAccounts {
        /// The session's owner: receives the rent
        owner(mut, signer),
        session(mut),
    }
}

fn close_session(accounts: &[AccountInfo]) -> ProgramResult {
    let CloseSessionAccounts { owner, session: session_info, .. } = CloseSessionAccounts::parse(accounts)?;
    let session = session_info.load_mut::<Session>(&crate::ID)?;
    if &session.owner != owner.key() {
        return Err(E::NotSessionOwner.into());
    }
    if session.revoked == 0 && Clock::get()?.unix_timestamp < session.expires_at {
        return Err(E::SessionStillActive.into());
    }
    session_info.close(owner)
}

qd_runtime::accounts! {
    pub struct CheckActionAccounts {
        /// The owner, its delegate, or a session key (its Session then the first remaining account)
        signer(signer),
        config,
        /// qd-core MarginAccount
        margin_account,
    }
}

/// Read-only view: may `signer` take the action on the margin account now? Returns [actor].
fn check_action(accounts: &[AccountInfo], action: Action, market: u16, notional: u64) -> ProgramResult {
    let CheckActionAccounts { signer, config, margin_account, remaining } = CheckActionAccounts::parse(accounts)?;
    let config = load_config(config)?;
    let margin = load_margin(margin_account)?;
    let session = remaining.first();
    // Only a session's expiry needs the time: owners and delegates skip the sysvar read.
    let now = match session {
        Some(_) => Clock::get()?.unix_timestamp,
        None => 0,
    };
    let actor = authorize(config, margin, signer, session, &Request::new(action, market, notional), now)?;
    set_return_data(&[actor as u8]);
    Ok(())
}

qd_runtime::accounts! {
    pub struct RecordSessionFillAccounts {
        /// qd-trading's PDA ["authority"]
        trading_authority(signer),
        session(mut),
    }
}

/// qd-trading counts a session-placed order's fill (quote at the fill price) against the
/// session's budget: only its authority PDA signs this, by CPI from the fill.
fn record_session_fill(accounts: &[AccountInfo], notional: u64) -> ProgramResult {
    let RecordSessionFillAccounts { trading_authority, session, .. } = RecordSessionFillAccounts::parse(accounts)?;
    if trading_authority.key() != &qd_ids::TRADING_AUTHORITY {
        return Err(E::NotTradingAuthority.into());
    }
    let session = session.load_mut::<Session>(&crate::ID)?;
    qd_access::spend_session(session, notional, Clock::get()?.unix_timestamp)?;
    Ok(())
}
