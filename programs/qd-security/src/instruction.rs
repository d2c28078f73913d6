//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts or the clock;
//! malformed data is `InvalidInstruction` / `InvalidInstructionData`.

use crate::error::SecurityError;
use crate::routes::{self, Route};
use crate::state::{MAX_MEMBERS, MAX_PROPOSAL_DATA, MAX_TIMELOCK_DELAY};
use qd_access::{Action, RateLimit, Request, Role, ALL_OPERATIONS, ALL_SCOPES, MAX_MARKETS, NO_MARKET};
use qd_runtime::borsh::{self, Reader};
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

pub const INITIALIZE: [u8; 8] = discriminator("global", "initialize");
pub const ACCEPT_SUPER_ADMIN: [u8; 8] = discriminator("global", "accept_super_admin");
pub const SET_PAUSE: [u8; 8] = discriminator("global", "set_pause");
pub const FREEZE_ACCOUNT: [u8; 8] = discriminator("global", "freeze_account");
pub const UNFREEZE_ACCOUNT: [u8; 8] = discriminator("global", "unfreeze_account");
pub const CREATE_SESSION: [u8; 8] = discriminator("global", "create_session");
pub const REVOKE_SESSION: [u8; 8] = discriminator("global", "revoke_session");
pub const CLOSE_SESSION: [u8; 8] = discriminator("global", "close_session");
pub const CHECK_ACTION: [u8; 8] = discriminator("global", "check_action");
pub const CREATE_APPROVAL_SET: [u8; 8] = discriminator("global", "create_approval_set");
pub const PROPOSE: [u8; 8] = discriminator("global", "propose");
pub const APPROVE_PROPOSAL: [u8; 8] = discriminator("global", "approve_proposal");
pub const EXECUTE_PROPOSAL: [u8; 8] = discriminator("global", "execute_proposal");
pub const CANCEL_PROPOSAL: [u8; 8] = discriminator("global", "cancel_proposal");
pub const CLOSE_PROPOSAL: [u8; 8] = discriminator("global", "close_proposal");
pub use qd_access::RECORD_SESSION_FILL;

/// `create_session` arguments; the expiry is checked against the clock by the processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionArgs {
    pub session_key: Pubkey,
    pub scopes: u8,
    pub markets: u64,
    pub max_notional: u64,
    pub expires_at: i64,
    /// Quote notional the session's fills may trade over its life (>= max_notional).
    pub budget: u64,
}

/// A privileged change to the SecurityConfig: the stored data of a proposal that targets
/// qd-security (borsh enum: a u8 variant index, then the fields; IDL type `SecurityChange`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityChange {
    GrantRole { role: Role, holder: Pubkey },
    RevokeRole { role: Role, holder: Pubkey },
    /// Clears pause bits (setting them is `set_pause`, immediate).
    Unpause { market: u16, operations: u8 },
    SetRateLimit { limit: RateLimit },
    /// Names the successor, who then accepts (zero cancels a pending hand-over).
    ProposeSuperAdmin { new_super_admin: Pubkey },
    /// Seconds; at least the config's minimum (checked when applied).
    SetTimelockDelay { delay: i64 },
}

impl SecurityChange {
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::new(data);
        let change = match r.u8()? {
            0 => {
                let (role, holder) = role_and_holder(&mut r)?;
                SecurityChange::GrantRole { role, holder }
            }
            1 => {
                let (role, holder) = role_and_holder(&mut r)?;
                SecurityChange::RevokeRole { role, holder }
            }
            2 => {
                let (market, operations) = pause_target(&mut r)?;
                SecurityChange::Unpause { market, operations }
            }
            3 => {
                let limit = RateLimit { capacity: r.u32()?, refill_milli_per_slot: r.u32()? };
                if !limit.is_valid() {
                    return Err(SecurityError::InvalidRateLimit.into());
                }
                SecurityChange::SetRateLimit { limit }
            }
            4 => SecurityChange::ProposeSuperAdmin { new_super_admin: r.pubkey()? },
            5 => SecurityChange::SetTimelockDelay { delay: timelock_delay(&mut r)? },
            _ => return Err(SecurityError::InvalidChange.into()),
        };
        r.finish()?;
        Ok(change)
    }

    /// Who may propose it: ADMIN is managed, the super-admin handed over and the delay set by the
    /// super-admin only (an ADMIN cannot multiply or remove its peers); the rest by any ADMIN.
    pub fn needs_super_admin(&self) -> bool {
        match self {
            SecurityChange::GrantRole { role, .. } | SecurityChange::RevokeRole { role, .. } => *role == Role::Admin,
            SecurityChange::ProposeSuperAdmin { .. } | SecurityChange::SetTimelockDelay { .. } => true,
            SecurityChange::Unpause { .. } | SecurityChange::SetRateLimit { .. } => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityInstruction {
    /// Accounts: super_admin (signer, writable: pays rent), config (writable), system program,
    /// program (qd-security), program_data (its ProgramData).
    Initialize { timelock_delay: i64 },
    /// Accounts: new_super_admin (signer), config (writable), instructions sysvar; the pending
    /// ApprovalSet when the signer is one of its members.
    AcceptSuperAdmin,
    /// Accounts: authority (signer), config (writable), instructions sysvar. Pauses only.
    SetPause { market: u16, operations: u8 },
    /// Accounts: compliance (signer), config, margin account (writable), security authority
    /// PDA, qd-core program, instructions sysvar. `frozen`: freeze_account or unfreeze_account.
    SetFrozen { frozen: bool, reason: u16 },
    /// Accounts: owner (signer, writable: pays rent), session PDA (writable), system program.
    CreateSession(SessionArgs),
    /// Accounts: owner or session key (signer), session (writable).
    RevokeSession,
    /// Accounts: owner (signer, writable: receives the rent), session (writable).
    CloseSession,
    /// Accounts: signer (signer), config, margin account; the Session as first remaining
    /// account when the signer is a session key.
    CheckAction { request: Request },
    /// Accounts: creator (signer, writable: pays rent), approval set PDA (writable), system program.
    CreateApprovalSet { set_id: u64, threshold: u8, members: [Pubkey; MAX_MEMBERS], count: u8 },
    /// Accounts: proposer (signer, writable: pays rent), config (writable), proposal PDA
    /// (writable), system program, instructions sysvar; the super-admin ApprovalSet when the
    /// proposer is one of its members. `data` is the change, kept as sent (`len` bytes).
    /// For a routed change, the target instruction's accounts follow the instructions sysvar
    /// (1..=8, in its order, writable as it needs them) instead of an approval set.
    Propose { target: ProposalTarget, data: [u8; MAX_PROPOSAL_DATA], len: u16 },
    /// Accounts: member (signer), config, proposal (writable), approval set, instructions sysvar.
    ApproveProposal,
    /// Accounts: config (writable), proposal (writable), instructions sysvar. Permissionless.
    ExecuteProposal,
    /// Accounts: authority (signer), config, proposal (writable), instructions sysvar; the
    /// super-admin ApprovalSet when the signer is one of its members.
    CancelProposal,
    /// Accounts: proposal (writable), proposer (writable: receives the rent). Permissionless,
    /// once the proposal is executed or cancelled.
    CloseProposal,
    /// CPI only. Accounts: qd-trading's authority PDA (signer), session (writable).
    RecordSessionFill { notional: u64 },
}

fn role_and_holder(r: &mut Reader) -> Result<(Role, Pubkey), ProgramError> {
    let role = Role::from_u8(r.u8()?).ok_or(SecurityError::InvalidRole)?;
    let holder = r.pubkey()?;
    if holder == [0; 32] {
        return Err(SecurityError::InvalidHolder.into());
    }
    Ok((role, holder))
}

fn pause_target(r: &mut Reader) -> Result<(u16, u8), ProgramError> {
    let (market, operations) = (r.u16()?, r.u8()?);
    if market != NO_MARKET && market as usize >= MAX_MARKETS {
        return Err(SecurityError::InvalidMarket.into());
    }
    if operations == 0 || operations & !ALL_OPERATIONS != 0 {
        return Err(SecurityError::InvalidOperations.into());
    }
    Ok((market, operations))
}

/// A delay within 0..=MAX_TIMELOCK_DELAY; the deployment's minimum is checked against the config.
fn timelock_delay(r: &mut Reader) -> Result<i64, ProgramError> {
    let delay = r.i64()?;
    if !(0..=MAX_TIMELOCK_DELAY).contains(&delay) {
        return Err(SecurityError::InvalidTimelockDelay.into());
    }
    Ok(delay)
}

fn reason(r: &mut Reader) -> Result<u16, ProgramError> {
    match r.u16()? {
        0 => Err(SecurityError::InvalidReason.into()),
        reason => Ok(reason),
    }
}

fn session_args(r: &mut Reader) -> Result<SessionArgs, ProgramError> {
    let args = SessionArgs { session_key: r.pubkey()?, scopes: r.u8()?, markets: r.u64()?, max_notional: r.u64()?, expires_at: r.i64()?, budget: r.u64()? };
    if args.session_key == [0; 32] {
        return Err(SecurityError::InvalidSessionKey.into());
    }
    if args.scopes == 0 || args.scopes & !ALL_SCOPES != 0 {
        return Err(SecurityError::InvalidScopes.into());
    }
    if args.markets == 0 {
        return Err(SecurityError::InvalidMarkets.into());
    }
    if args.max_notional == 0 {
        return Err(SecurityError::InvalidMaxNotional.into());
    }
    if args.budget < args.max_notional {
        return Err(SecurityError::InvalidBudget.into());
    }
    Ok(args)
}

/// 1..=8 distinct nonzero members and 1 <= threshold <= their number.
fn approval_set(r: &mut Reader) -> Result<SecurityInstruction, ProgramError> {
    let (set_id, threshold) = (r.u64()?, r.u8()?);
    let count = r.u32()? as usize;
    if count == 0 || count > MAX_MEMBERS || threshold == 0 || threshold as usize > count {
        return Err(SecurityError::InvalidApprovalSet.into());
    }
    let mut members = [[0u8; 32]; MAX_MEMBERS];
    for i in 0..count {
        let key = r.pubkey()?;
        if key == [0; 32] || members[..i].contains(&key) {
            return Err(SecurityError::InvalidApprovalSet.into());
        }
        members[i] = key;
    }
    Ok(SecurityInstruction::CreateApprovalSet { set_id, threshold, members, count: count as u8 })
}

/// What a proposal changes: qd-security's own config, or a routed instruction of another program
/// (`routes`), whose data that program validates when the proposal runs.
#[derive(Clone, Copy)]
pub enum ProposalTarget {
    Security(SecurityChange),
    Routed(&'static Route),
}

impl core::fmt::Debug for ProposalTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            ProposalTarget::Security(change) => f.debug_tuple("Security").field(change).finish(),
            ProposalTarget::Routed(route) => f.debug_tuple("Routed").field(&route.discriminator).finish(),
        }
    }
}

impl PartialEq for ProposalTarget {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ProposalTarget::Security(a), ProposalTarget::Security(b)) => a == b,
            (ProposalTarget::Routed(a), ProposalTarget::Routed(b)) => core::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

impl Eq for ProposalTarget {}

/// `propose(target_program, data)`: qd-security's own change decoded (so validated) here, or an
/// instruction of a routed program; stored as sent.
fn proposal(r: &mut Reader) -> Result<SecurityInstruction, ProgramError> {
    let program = r.pubkey()?;
    let bytes = r.vec_u8(MAX_PROPOSAL_DATA)?;
    let target = if program == crate::ID {
        ProposalTarget::Security(SecurityChange::unpack(bytes)?)
    } else {
        ProposalTarget::Routed(routes::find(&program, bytes).ok_or(SecurityError::UnsupportedTarget)?)
    };
    let mut data = [0u8; MAX_PROPOSAL_DATA];
    data[..bytes.len()].copy_from_slice(bytes);
    Ok(SecurityInstruction::Propose { target, data, len: bytes.len() as u16 })
}

impl SecurityInstruction {
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let (tag, mut r) = borsh::instruction(data)?;
        let ix = match tag {
            INITIALIZE => SecurityInstruction::Initialize { timelock_delay: timelock_delay(&mut r)? },
            ACCEPT_SUPER_ADMIN => SecurityInstruction::AcceptSuperAdmin,
            SET_PAUSE => {
                let (market, operations) = pause_target(&mut r)?;
                // Restarting is a proposal (the timelock); stopping stays immediate.
                if !r.bool()? {
                    return Err(SecurityError::UnpauseRequiresTimelock.into());
                }
                SecurityInstruction::SetPause { market, operations }
            }
            FREEZE_ACCOUNT => SecurityInstruction::SetFrozen { frozen: true, reason: reason(&mut r)? },
            UNFREEZE_ACCOUNT => SecurityInstruction::SetFrozen { frozen: false, reason: reason(&mut r)? },
            CREATE_SESSION => SecurityInstruction::CreateSession(session_args(&mut r)?),
            REVOKE_SESSION => SecurityInstruction::RevokeSession,
            CLOSE_SESSION => SecurityInstruction::CloseSession,
            CHECK_ACTION => {
                let action = Action::from_u8(r.u8()?)?;
                SecurityInstruction::CheckAction { request: Request::new(action, r.u16()?, r.u64()?) }
            }
            CREATE_APPROVAL_SET => approval_set(&mut r)?,
            PROPOSE => proposal(&mut r)?,
            APPROVE_PROPOSAL => SecurityInstruction::ApproveProposal,
            EXECUTE_PROPOSAL => SecurityInstruction::ExecuteProposal,
            CANCEL_PROPOSAL => SecurityInstruction::CancelProposal,
            CLOSE_PROPOSAL => SecurityInstruction::CloseProposal,
            RECORD_SESSION_FILL => SecurityInstruction::RecordSessionFill { notional: r.u64()? },
            _ => return Err(RuntimeError::InvalidInstruction.into()),
        };
        r.finish()?;
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_access::AccessError;

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    fn err(tag: [u8; 8], args: &[u8]) -> ProgramError {
        SecurityInstruction::unpack(&with(tag, args)).unwrap_err()
    }

    fn change(data: &[u8]) -> Result<SecurityChange, ProgramError> {
        SecurityChange::unpack(data)
    }

    /// `propose` arguments: target program, then the change as borsh bytes.
    fn propose_args(target: Pubkey, data: &[u8]) -> Vec<u8> {
        [&target[..], &(data.len() as u32).to_le_bytes(), data].concat()
    }

    #[test]
    fn decodes_role_changes_and_refuses_bad_ones() {
        let args = [&[0u8, 2][..], &[7; 32]].concat();
        assert_eq!(change(&args).unwrap(), SecurityChange::GrantRole { role: Role::Compliance, holder: [7; 32] });
        assert_eq!(change(&[&[1u8][..], &args[1..]].concat()).unwrap(), SecurityChange::RevokeRole { role: Role::Compliance, holder: [7; 32] });
        assert_eq!(change(&[&[0u8, 4][..], &[7; 32]].concat()).unwrap_err(), SecurityError::InvalidRole.into());
        assert_eq!(change(&[&[1u8, 0][..], &[0; 32]].concat()).unwrap_err(), SecurityError::InvalidHolder.into());
        assert_eq!(change(&args[..33]).unwrap_err(), RuntimeError::InvalidInstructionData.into());
        assert_eq!(change(&[&args[..], &[0]].concat()).unwrap_err(), RuntimeError::InvalidInstructionData.into());
        assert_eq!(change(&[6]).unwrap_err(), SecurityError::InvalidChange.into());
        assert!(!change(&args).unwrap().needs_super_admin());
        assert!(change(&[&[0u8, 0][..], &[7; 32]].concat()).unwrap().needs_super_admin());
    }

    #[test]
    fn decodes_the_other_changes() {
        let limit = |c: u32, r: u32| [&[3u8][..], &c.to_le_bytes(), &r.to_le_bytes()].concat();
        assert_eq!(change(&limit(10, 250)).unwrap(), SecurityChange::SetRateLimit { limit: RateLimit { capacity: 10, refill_milli_per_slot: 250 } });
        assert!(change(&limit(0, 0)).is_ok());
        assert_eq!(change(&limit(10, 0)).unwrap_err(), SecurityError::InvalidRateLimit.into());
        assert_eq!(change(&limit(0, 5)).unwrap_err(), SecurityError::InvalidRateLimit.into());
        let unpause = |m: u16, ops: u8| [&[2u8][..], &m.to_le_bytes(), &[ops]].concat();
        assert_eq!(change(&unpause(63, 0x7f)).unwrap(), SecurityChange::Unpause { market: 63, operations: 0x7f });
        assert_eq!(change(&unpause(64, 1)).unwrap_err(), SecurityError::InvalidMarket.into());
        assert_eq!(change(&unpause(0, 0x80)).unwrap_err(), SecurityError::InvalidOperations.into());
        let delay = |d: i64| [&[5u8][..], &d.to_le_bytes()].concat();
        assert_eq!(change(&delay(60)).unwrap(), SecurityChange::SetTimelockDelay { delay: 60 });
        assert_eq!(change(&delay(-1)).unwrap_err(), SecurityError::InvalidTimelockDelay.into());
        assert_eq!(change(&delay(MAX_TIMELOCK_DELAY + 1)).unwrap_err(), SecurityError::InvalidTimelockDelay.into());
        let hand_over = change(&[&[4u8][..], &[9; 32]].concat()).unwrap();
        assert!(hand_over.needs_super_admin() && change(&delay(60)).unwrap().needs_super_admin());
        assert!(!change(&unpause(1, 1)).unwrap().needs_super_admin());
    }

    #[test]
    fn proposals_target_qd_security_or_a_route_and_keep_the_bytes_sent() {
        let grant = [&[0u8, 1][..], &[7; 32]].concat();
        let SecurityInstruction::Propose { target, data, len } = SecurityInstruction::unpack(&with(PROPOSE, &propose_args(crate::ID, &grant))).unwrap() else {
            panic!("not a proposal")
        };
        assert_eq!(target, ProposalTarget::Security(SecurityChange::GrantRole { role: Role::RiskManager, holder: [7; 32] }));
        assert_eq!(&data[..len as usize], &grant[..]);
        // Another program's instruction: only a routed one, kept as sent for that program to check.
        assert_eq!(err(PROPOSE, &propose_args(qd_ids::QD_TRADING, &grant)), SecurityError::UnsupportedTarget.into());
        let params = [&routes::ROUTES[0].discriminator[..], &[1, 2, 3]].concat();
        let SecurityInstruction::Propose { target, data, len } = SecurityInstruction::unpack(&with(PROPOSE, &propose_args(qd_ids::QD_TRADING, &params))).unwrap() else {
            panic!("not a proposal")
        };
        assert!(matches!(target, ProposalTarget::Routed(r) if r.program == qd_ids::QD_TRADING));
        assert_eq!(&data[..len as usize], &params[..]);
        assert_eq!(err(PROPOSE, &propose_args(crate::ID, &[0; MAX_PROPOSAL_DATA + 1])), RuntimeError::InvalidInstructionData.into());
        assert_eq!(err(PROPOSE, &propose_args(crate::ID, &[9])), SecurityError::InvalidChange.into());
    }

    #[test]
    fn pauses_are_immediate_and_unpauses_refused() {
        let pause = |market: u16, ops: u8, paused: u8| [&market.to_le_bytes()[..], &[ops, paused]].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(SET_PAUSE, &pause(63, 0x7f, 1))).unwrap(),
            SecurityInstruction::SetPause { market: 63, operations: 0x7f }
        );
        assert_eq!(err(SET_PAUSE, &pause(NO_MARKET, 1, 0)), SecurityError::UnpauseRequiresTimelock.into());
        assert_eq!(err(SET_PAUSE, &pause(64, 1, 1)), SecurityError::InvalidMarket.into());
        assert_eq!(err(SET_PAUSE, &pause(NO_MARKET - 1, 1, 1)), SecurityError::InvalidMarket.into());
        assert_eq!(err(SET_PAUSE, &pause(0, 0, 1)), SecurityError::InvalidOperations.into());
        assert_eq!(err(SET_PAUSE, &pause(0, 0x80, 1)), SecurityError::InvalidOperations.into());
        assert_eq!(err(SET_PAUSE, &pause(0, 1, 2)), RuntimeError::InvalidInstructionData.into());
    }

    #[test]
    fn approval_sets_are_bounded_and_distinct() {
        let set = |threshold: u8, members: &[Pubkey]| {
            let keys: Vec<u8> = members.iter().flatten().copied().collect();
            [&5u64.to_le_bytes()[..], &[threshold], &(members.len() as u32).to_le_bytes(), &keys].concat()
        };
        let SecurityInstruction::CreateApprovalSet { set_id, threshold, members, count } =
            SecurityInstruction::unpack(&with(CREATE_APPROVAL_SET, &set(2, &[[1; 32], [2; 32], [3; 32]]))).unwrap()
        else {
            panic!("not an approval set")
        };
        assert_eq!((set_id, threshold, count, members[2], members[3]), (5, 2, 3, [3; 32], [0; 32]));
        let bad = SecurityError::InvalidApprovalSet.into();
        assert_eq!(err(CREATE_APPROVAL_SET, &set(0, &[[1; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(2, &[[1; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[[1; 32], [1; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[[1; 32], [0; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[[4; 32]; 9])), bad);
        assert!(SecurityInstruction::unpack(&with(CREATE_APPROVAL_SET, &set(8, &core::array::from_fn::<Pubkey, 8, _>(|i| [i as u8 + 1; 32])))).is_ok());
    }

    #[test]
    fn reason_action_and_delay() {
        assert_eq!(
            SecurityInstruction::unpack(&with(UNFREEZE_ACCOUNT, &9u16.to_le_bytes())).unwrap(),
            SecurityInstruction::SetFrozen { frozen: false, reason: 9 }
        );
        assert_eq!(err(FREEZE_ACCOUNT, &0u16.to_le_bytes()), SecurityError::InvalidReason.into());
        let check = [&[3u8][..], &5u16.to_le_bytes(), &77u64.to_le_bytes()].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(CHECK_ACTION, &check)).unwrap(),
            SecurityInstruction::CheckAction { request: Request::new(Action::PlaceOrder, 5, 77) }
        );
        assert_eq!(err(CHECK_ACTION, &[&[7u8][..], &check[1..]].concat()), AccessError::UnknownAction.into());
        assert_eq!(SecurityInstruction::unpack(&with(INITIALIZE, &60i64.to_le_bytes())).unwrap(), SecurityInstruction::Initialize { timelock_delay: 60 });
        assert_eq!(err(INITIALIZE, &(-5i64).to_le_bytes()), SecurityError::InvalidTimelockDelay.into());
    }

    #[test]
    fn session_arguments_are_validated() {
        let budgeted = |key: [u8; 32], scopes: u8, markets: u64, max: u64, budget: u64| {
            [&key[..], &[scopes], &markets.to_le_bytes(), &max.to_le_bytes(), &1_000i64.to_le_bytes(), &budget.to_le_bytes()].concat()
        };
        let args = |key, scopes, markets, max| budgeted(key, scopes, markets, max, 10);
        assert_eq!(
            SecurityInstruction::unpack(&with(CREATE_SESSION, &args([5; 32], 3, 1, 2))).unwrap(),
            SecurityInstruction::CreateSession(SessionArgs { session_key: [5; 32], scopes: 3, markets: 1, max_notional: 2, expires_at: 1_000, budget: 10 })
        );
        assert_eq!(err(CREATE_SESSION, &budgeted([5; 32], 3, 1, 2, 1)), SecurityError::InvalidBudget.into());
        assert_eq!(
            SecurityInstruction::unpack(&with(RECORD_SESSION_FILL, &7u64.to_le_bytes())).unwrap(),
            SecurityInstruction::RecordSessionFill { notional: 7 }
        );
        assert_eq!(err(CREATE_SESSION, &args([0; 32], 3, 1, 2)), SecurityError::InvalidSessionKey.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 0, 1, 2)), SecurityError::InvalidScopes.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 4, 1, 2)), SecurityError::InvalidScopes.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 1, 0, 2)), SecurityError::InvalidMarkets.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 1, 1, 0)), SecurityError::InvalidMaxNotional.into());
    }

    #[test]
    fn argument_free_instructions_and_unknown_tags() {
        assert_eq!(SecurityInstruction::unpack(&EXECUTE_PROPOSAL).unwrap(), SecurityInstruction::ExecuteProposal);
        assert_eq!(SecurityInstruction::unpack(&CLOSE_SESSION).unwrap(), SecurityInstruction::CloseSession);
        assert_eq!(err(REVOKE_SESSION, &[0]), RuntimeError::InvalidInstructionData.into());
        assert_eq!(err(CANCEL_PROPOSAL, &[0]), RuntimeError::InvalidInstructionData.into());
        assert_eq!(SecurityInstruction::unpack(&[1, 2, 3]).unwrap_err(), RuntimeError::InvalidInstruction.into());
        assert_eq!(SecurityInstruction::unpack(&[0; 8]).unwrap_err(), RuntimeError::InvalidInstruction.into());
    }
}
