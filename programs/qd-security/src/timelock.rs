//! The timelock. A privileged change is proposed (stored in a Proposal), waits the config's delay
//! (counted from its last needed approval when the super-admin is an approval set), and is then
//! executed once by anyone, or cancelled. qd-security's own changes are applied here in place:
//! a CPI into ourselves would be reentrancy, which Solana refuses.

use crate::error::SecurityError as E;
use crate::events::{self, ProposalEvent};
use crate::instruction::{ProposalTarget, SecurityChange};
use crate::processor::{audit_config, config_mut};
use crate::routes::Route;
use crate::state::{
    ApprovalSet, Proposal, APPROVAL_SET_SEED, APPROVAL_SET_VERSION, AUTHORITY_SUPER_ADMIN, CANCELLED, EXECUTED, MAX_PROPOSAL_ACCOUNTS,
    PENDING, PROPOSAL_SEED, PROPOSAL_VERSION,
};
use qd_access::{load_config, AccessError, RateLimit, Role, SecurityConfig, AUTHORITY_SEED, MAX_ROLE_HOLDERS, NO_MARKET};
use qd_ids::{SECURITY_AUTHORITY, SECURITY_AUTHORITY_BUMP, SECURITY_CONFIG};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::cpi::{invoke_signed, AccountMeta};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{system, validate};

/// An ApprovalSet of qd-security (owner, discriminator, size). Identity is by address: callers
/// compare it with the key the config or the proposal names, and only qd-security creates one.
pub(crate) fn load_approval_set(info: &AccountInfo) -> Result<&ApprovalSet, ProgramError> {
    info.load::<ApprovalSet>(&crate::ID)
}

/// How a proposer holds the authority a change needs.
struct Proposer {
    authority: u8,
    /// The super-admin approval set and the proposer's member index in it (approvals start there).
    set: Option<(Pubkey, u8, usize)>,
}

/// Checks that the (signing) `proposer` may propose `change`: ADMIN changes need the ADMIN role
/// (the super-admin holds it); super-admin changes need the super-admin's key or, when the
/// super-admin is an approval set (`set_info`), one of its members.
fn check_proposer(
    config: &SecurityConfig,
    proposer: &Pubkey,
    change: &SecurityChange,
    set_info: Option<&AccountInfo>,
) -> Result<Proposer, ProgramError> {
    if !change.needs_super_admin() {
        if !config.has_role(Role::Admin, proposer) {
            return Err(AccessError::MissingRole.into());
        }
        return Ok(Proposer { authority: Role::Admin as u8, set: None });
    }
    if proposer == &config.super_admin {
        return Ok(Proposer { authority: AUTHORITY_SUPER_ADMIN, set: None });
    }
    match set_info {
        Some(info) if info.key() == &config.super_admin => {
            let set = load_approval_set(info)?;
            let index = set.member_index(proposer).ok_or(E::NotApprovalMember)?;
            Ok(Proposer { authority: AUTHORITY_SUPER_ADMIN, set: Some((*info.key(), set.threshold, index)) })
        }
        _ => Err(E::NotSuperAdmin.into()),
    }
}

/// Applies `change` to `config`; returns its audit action, subject and value. Proposing dry-runs
/// it on a copy (a change that cannot apply now is refused at once); execution applies it to the
/// config as it is then.
fn apply(config: &mut SecurityConfig, change: &SecurityChange) -> Result<(u8, Pubkey, u64), ProgramError> {
    Ok(match *change {
        SecurityChange::GrantRole { role, holder } => {
            let count = (config.role_counts[role as usize] as usize).min(MAX_ROLE_HOLDERS);
            let row = &mut config.roles[role as usize];
            if row[..count].contains(&holder) {
                return Err(E::AlreadyHasRole.into());
            }
            if count == MAX_ROLE_HOLDERS {
                return Err(E::RoleFull.into());
            }
            row[count] = holder;
            config.role_counts[role as usize] = count as u8 + 1;
            (events::AUDIT_GRANT_ROLE, holder, role as u64)
        }
        SecurityChange::RevokeRole { role, holder } => {
            let count = (config.role_counts[role as usize] as usize).min(MAX_ROLE_HOLDERS);
            let row = &mut config.roles[role as usize];
            let at = row[..count].iter().position(|k| k == &holder).ok_or(E::NotRoleHolder)?;
            // Swap-remove keeps the used entries contiguous, as `has_role` reads them.
            row[at] = row[count - 1];
            row[count - 1] = [0; 32];
            config.role_counts[role as usize] = count as u8 - 1;
            (events::AUDIT_REVOKE_ROLE, holder, role as u64)
        }
        SecurityChange::Unpause { market, operations } => {
            let mask = if market == NO_MARKET {
                &mut config.global_pause
            } else {
                config.market_pause.get_mut(market as usize).ok_or(E::InvalidMarket)?
            };
            *mask &= !operations;
            (events::AUDIT_UNPAUSE, [0; 32], operations as u64 | (market as u64) << 8)
        }
        SecurityChange::SetRateLimit { capacity, refill_milli_per_slot } => {
            config.rate_limit = RateLimit { capacity, refill_milli_per_slot }; // validated while decoding
            (events::AUDIT_SET_RATE_LIMIT, [0; 32], (capacity as u64) << 32 | refill_milli_per_slot as u64)
        }
        SecurityChange::ProposeSuperAdmin { new_super_admin } => {
            config.pending_super_admin = new_super_admin;
            (events::AUDIT_PROPOSE_SUPER_ADMIN, new_super_admin, 0)
        }
        SecurityChange::SetTimelockDelay { delay } => {
            if delay < config.min_timelock_delay {
                return Err(E::InvalidTimelockDelay.into());
            }
            config.timelock_delay = delay;
            (events::AUDIT_SET_TIMELOCK_DELAY, [0; 32], delay as u64)
        }
    })
}

fn emit_proposal(info: &AccountInfo, proposal: &Proposal, action: u8, by: &Pubkey) -> ProgramResult {
    let slot = Clock::get()?.slot;
    ProposalEvent {
        proposal: *info.key(),
        id: proposal.id,
        action,
        by: *by,
        approval_count: proposal.approval_count,
        eta: proposal.eta,
        slot,
    }
    .emit();
    Ok(())
}

/// Executed and cancelled proposals are final.
fn check_pending(proposal: &Proposal) -> ProgramResult {
    match proposal.state {
        PENDING => Ok(()),
        EXECUTED => Err(E::ProposalAlreadyExecuted.into()),
        CANCELLED => Err(E::ProposalCancelled.into()),
        _ => Err(RuntimeError::WrongDiscriminator.into()),
    }
}

fn eta(now: i64, config: &SecurityConfig) -> Result<i64, ProgramError> {
    now.checked_add(config.timelock_delay).ok_or_else(|| RuntimeError::ArithmeticOverflow.into())
}

qd_runtime::accounts! {
    pub struct CreateApprovalSetAccounts {
        /// Pays rent
        creator(mut, signer),
        /// PDA [b"approval_set", creator, set_id (u64 LE)]
        approval_set(mut),
        system_program,
    }
}

pub fn create_approval_set(accounts: &[AccountInfo], set_id: u64, threshold: u8, members: &[Pubkey]) -> ProgramResult {
    let CreateApprovalSetAccounts { creator, approval_set: set_info, system_program, .. } = CreateApprovalSetAccounts::parse(accounts)?;
    validate::program(system_program, &system::ID)?;
    let id = set_id.to_le_bytes();
    let (set, bump) = system::create_pda::<ApprovalSet>(creator, set_info, &[APPROVAL_SET_SEED, creator.key(), &id], &crate::ID)?;
    set.version = APPROVAL_SET_VERSION;
    set.bump = bump;
    set.threshold = threshold; // members and threshold validated while decoding
    set.member_count = members.len() as u8;
    set.creator = *creator.key();
    set.set_id = set_id;
    set.members[..members.len()].copy_from_slice(members);
    Ok(())
}

/// A routed change's (signing) proposer holds one of its route's roles (the super-admin holds
/// every role); the first it holds is recorded and must still be held when the change runs.
fn check_routed_proposer(config: &SecurityConfig, proposer: &Pubkey, route: &Route) -> Result<Proposer, ProgramError> {
    let role = route.roles.iter().find(|r| config.has_role(**r, proposer)).ok_or(AccessError::MissingRole)?;
    Ok(Proposer { authority: *role as u8, set: None })
}

qd_runtime::accounts! {
    pub struct ProposeAccounts {
        /// Pays rent
        proposer(mut, signer),
        config(mut),
        /// PDA [b"proposal", config, config.proposal_count (u64 LE)]
        proposal(mut),
        system_program,
        /// Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

pub fn propose(accounts: &[AccountInfo], target_program: &Pubkey, data: &[u8]) -> ProgramResult {
    // Decoded before the accounts, as an argument: a change that cannot decode is refused first.
    let target = ProposalTarget::decode(target_program, data)?;
    let ProposeAccounts { proposer, config: config_info, proposal: proposal_info, system_program, instructions, remaining } =
        ProposeAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    validate::program(system_program, &system::ID)?;
    let config = config_mut(config_info)?;
    let (who, program, targets) = match target {
        ProposalTarget::Security(change) => {
            let who = check_proposer(config, proposer.key(), &change, remaining.first())?;
            let mut scratch = *config;
            apply(&mut scratch, &change)?;
            (who, crate::ID, &remaining[..0])
        }
        ProposalTarget::Routed(route) => {
            if remaining.is_empty() || remaining.len() > MAX_PROPOSAL_ACCOUNTS {
                return Err(E::InvalidProposalAccounts.into());
            }
            (check_routed_proposer(config, proposer.key(), route)?, route.program, remaining)
        }
    };
    let id = config.proposal_count;
    let id_bytes = id.to_le_bytes();
    let (proposal, bump) =
        system::create_pda::<Proposal>(proposer, proposal_info, &[PROPOSAL_SEED, &SECURITY_CONFIG, &id_bytes], &crate::ID)?;
    let now = Clock::get()?.unix_timestamp;
    proposal.version = PROPOSAL_VERSION;
    proposal.bump = bump;
    proposal.state = PENDING;
    proposal.authority = who.authority;
    proposal.id = id;
    proposal.proposer = *proposer.key();
    proposal.target_program = program;
    proposal.created_at = now;
    // The routed instruction's accounts as the proposer lists them: execution takes exactly these.
    for (i, info) in targets.iter().enumerate() {
        proposal.accounts[i] = *info.key();
        proposal.writable_mask |= (info.is_writable() as u8) << i;
    }
    proposal.account_count = targets.len() as u8;
    proposal.data_len = data.len() as u16;
    proposal.data[..data.len()].copy_from_slice(data);
    if let Some((set, threshold, index)) = who.set {
        // A member proposing approves; the delay starts once M members have.
        proposal.approval_set = set;
        proposal.threshold = threshold;
        proposal.approvals = 1 << index;
        proposal.approval_count = 1;
    }
    if proposal.approval_count >= proposal.threshold {
        proposal.eta = eta(now, config)?;
    }
    config.proposal_count = id.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    emit_proposal(proposal_info, proposal, events::PROPOSAL_CREATED, proposer.key())
}

qd_runtime::accounts! {
    pub struct ApproveProposalAccounts {
        /// A member of the super-admin approval set
        member(signer),
        config,
        proposal(mut),
        approval_set,
        /// Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

pub fn approve_proposal(accounts: &[AccountInfo]) -> ProgramResult {
    let ApproveProposalAccounts { member, config: config_info, proposal: proposal_info, approval_set: set_info, instructions, .. } =
        ApproveProposalAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let config = load_config(config_info)?;
    let proposal = proposal_info.load_mut::<Proposal>(&crate::ID)?;
    check_pending(proposal)?;
    if proposal.threshold == 0 {
        return Err(E::ApprovalsNotNeeded.into());
    }
    if set_info.key() != &proposal.approval_set {
        return Err(E::WrongApprovalSet.into());
    }
    // Approvals of a set that is no longer the super-admin would authorize nothing.
    if config.super_admin != proposal.approval_set {
        return Err(E::ProposerLostAuthority.into());
    }
    let index = load_approval_set(set_info)?.member_index(member.key()).ok_or(E::NotApprovalMember)?;
    if proposal.approvals & (1 << index) != 0 {
        return Err(E::AlreadyApproved.into());
    }
    proposal.approvals |= 1 << index;
    proposal.approval_count += 1;
    if proposal.approval_count == proposal.threshold {
        proposal.eta = eta(Clock::get()?.unix_timestamp, config)?;
    }
    emit_proposal(proposal_info, proposal, events::PROPOSAL_APPROVED, member.key())
}

qd_runtime::accounts! {
    /// A routed proposal's program and then exactly its stored accounts follow.
    pub struct ExecuteProposalAccounts {
        config(mut),
        proposal(mut),
        /// Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

/// Permissionless: whoever sends it, the stored change is what runs, once, after its eta, and
/// only while its proposer (or approval set) still holds the authority it was proposed with.
pub fn execute_proposal(accounts: &[AccountInfo]) -> ProgramResult {
    let ExecuteProposalAccounts { config: config_info, proposal: proposal_info, instructions, remaining } =
        ExecuteProposalAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let config = config_mut(config_info)?;
    let proposal = proposal_info.load_mut::<Proposal>(&crate::ID)?;
    check_pending(proposal)?;
    if proposal.approval_count < proposal.threshold {
        return Err(E::ProposalNotApproved.into());
    }
    let now = Clock::get()?.unix_timestamp;
    if now < proposal.eta {
        return Err(E::TimelockNotReady.into());
    }
    let authorized = match (proposal.authority, proposal.threshold) {
        (AUTHORITY_SUPER_ADMIN, 0) => config.super_admin == proposal.proposer,
        (AUTHORITY_SUPER_ADMIN, _) => config.super_admin == proposal.approval_set,
        (role, _) => Role::from_u8(role).is_some_and(|r| config.has_role(r, &proposal.proposer)),
    };
    if !authorized {
        return Err(E::ProposerLostAuthority.into());
    }
    if proposal.target_program != crate::ID {
        proposal.state = EXECUTED;
        proposal.closed_at = now;
        invoke_routed(proposal, remaining)?;
        return emit_proposal(proposal_info, proposal, events::PROPOSAL_EXECUTED, &SECURITY_CONFIG);
    }
    let change = SecurityChange::unpack(proposal.stored_data())?;
    let (action, subject, value) = apply(config, &change)?;
    proposal.state = EXECUTED;
    proposal.closed_at = now;
    audit_config(config, &proposal.proposer, action, subject, value)?;
    emit_proposal(proposal_info, proposal, events::PROPOSAL_EXECUTED, &SECURITY_CONFIG)
}

/// Invokes a routed proposal's instruction, signed by our authority PDA: `accounts` are its
/// program, then exactly the accounts stored at proposal time.
fn invoke_routed(proposal: &Proposal, accounts: &[AccountInfo]) -> ProgramResult {
    let (program, targets) = accounts.split_first().ok_or(RuntimeError::NotEnoughAccounts)?;
    let n = proposal.account_count as usize;
    if program.key() != &proposal.target_program || targets.len() != n || targets.iter().zip(&proposal.accounts).any(|(a, k)| a.key() != k)
    {
        return Err(E::InvalidProposalAccounts.into());
    }
    let mut metas = [AccountMeta::readonly(&SECURITY_AUTHORITY, false); MAX_PROPOSAL_ACCOUNTS];
    let mut infos: [&AccountInfo; MAX_PROPOSAL_ACCOUNTS] = [program; MAX_PROPOSAL_ACCOUNTS];
    for (i, info) in targets.iter().enumerate() {
        let signer = info.key() == &SECURITY_AUTHORITY;
        metas[i] = if proposal.writable_mask & (1 << i) != 0 {
            AccountMeta::writable(info.key(), signer)
        } else {
            AccountMeta::readonly(info.key(), signer)
        };
        infos[i] = info;
    }
    invoke_signed(
        &proposal.target_program,
        &metas[..n],
        &infos[..n],
        proposal.stored_data(),
        &[&[AUTHORITY_SEED, &[SECURITY_AUTHORITY_BUMP]]],
    )
}

qd_runtime::accounts! {
    pub struct CancelProposalAccounts {
        /// The proposer, an ADMIN, the super-admin, or a member of its approval set (then the first remaining account)
        authority(signer),
        config,
        proposal(mut),
        /// Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

/// Cancelling only ever stops a change, so any one of the keys that could have stopped it
/// otherwise may: the proposer, any ADMIN (the super-admin holds ADMIN) or one member of the
/// super-admin approval set.
pub fn cancel_proposal(accounts: &[AccountInfo]) -> ProgramResult {
    let CancelProposalAccounts { authority, config: config_info, proposal: proposal_info, instructions, remaining } =
        CancelProposalAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let config = load_config(config_info)?;
    let proposal = proposal_info.load_mut::<Proposal>(&crate::ID)?;
    check_pending(proposal)?;
    let key = authority.key();
    let allowed = key == &proposal.proposer
        || config.has_role(Role::Admin, key)
        || match remaining.first() {
            Some(set) if set.key() == &config.super_admin => load_approval_set(set)?.member_index(key).is_some(),
            _ => false,
        };
    if !allowed {
        return Err(E::NotCanceller.into());
    }
    proposal.state = CANCELLED;
    proposal.closed_at = Clock::get()?.unix_timestamp;
    emit_proposal(proposal_info, proposal, events::PROPOSAL_CANCELLED, key)
}

qd_runtime::accounts! {
    pub struct CloseProposalAccounts {
        proposal(mut),
        /// The proposal's proposer: receives the rent
        proposer(mut),
    }
}

/// Permissionless clean-up of a finished (executed or cancelled) proposal: its rent goes back to
/// its proposer. Proposal ids only grow, so a closed proposal's address is never proposed again.
pub fn close_proposal(accounts: &[AccountInfo]) -> ProgramResult {
    let CloseProposalAccounts { proposal: proposal_info, proposer, .. } = CloseProposalAccounts::parse(accounts)?;
    let proposal = proposal_info.load::<Proposal>(&crate::ID)?;
    if proposal.state == PENDING {
        return Err(E::ProposalPending.into());
    }
    if proposer.key() != &proposal.proposer {
        return Err(E::NotProposer.into());
    }
    proposal_info.close(proposer)
}
