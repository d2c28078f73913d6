//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts or the clock;
//! malformed data is `InvalidInstruction` / `InvalidInstructionData`.

use crate::error::SecurityError;
use crate::processor::{
    AcceptSuperAdminAccounts, CheckActionAccounts, CloseSessionAccounts, CreateSessionAccounts, InitializeAccounts,
    RecordSessionFillAccounts, RevokeSessionAccounts, SetFrozenAccounts, SetPauseAccounts,
};
use crate::routes::{self, Route};
use crate::state::{MAX_MEMBERS, MAX_PROPOSAL_DATA, MAX_TIMELOCK_DELAY};
use crate::timelock::{
    ApproveProposalAccounts, CancelProposalAccounts, CloseProposalAccounts, CreateApprovalSetAccounts, ExecuteProposalAccounts,
    ProposeAccounts,
};
use qd_access::{Action, RateLimit, Role, ALL_OPERATIONS, ALL_SCOPES, MAX_MARKETS, NO_MARKET};
use qd_runtime::borsh::{BorshRead, BoundedVec, Reader};
use qd_runtime::error::ProgramError;
use qd_runtime::pubkey::Pubkey;

qd_runtime::borsh_enum! {
    /// A privileged change to the SecurityConfig: the stored data of a proposal that targets
    /// qd-security (IDL type `SecurityChange`). Roles are their `Role` codes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SecurityChange {
        GrantRole { role: u8, holder: Pubkey },
        RevokeRole { role: u8, holder: Pubkey },
        /// Clears pause bits (setting them is `set_pause`, immediate).
        Unpause { market: u16, operations: u8 },
        /// The `RateLimit` fields.
        SetRateLimit { capacity: u32, refill_milli_per_slot: u32 },
        /// Names the successor, who then accepts (zero cancels a pending hand-over).
        ProposeSuperAdmin { new_super_admin: Pubkey },
        /// Seconds; at least the config's minimum (checked when applied).
        SetTimelockDelay { delay: i64 },
    } unknown = SecurityError::InvalidChange, validate = check_change
}

impl SecurityChange {
    /// A proposal's stored data: exactly one change.
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::new(data);
        let change = Self::read(&mut r)?;
        r.finish()?;
        Ok(change)
    }

    /// Who may propose it: ADMIN is managed, the super-admin handed over and the delay set by the
    /// super-admin only (an ADMIN cannot multiply or remove its peers); the rest by any ADMIN.
    pub fn needs_super_admin(&self) -> bool {
        match self {
            SecurityChange::GrantRole { role, .. } | SecurityChange::RevokeRole { role, .. } => *role == Role::Admin as u8,
            SecurityChange::ProposeSuperAdmin { .. } | SecurityChange::SetTimelockDelay { .. } => true,
            SecurityChange::Unpause { .. } | SecurityChange::SetRateLimit { .. } => false,
        }
    }
}

fn check_change(change: &SecurityChange) -> Result<(), ProgramError> {
    match *change {
        SecurityChange::GrantRole { role, holder } | SecurityChange::RevokeRole { role, holder } => {
            if Role::from_u8(role).is_none() {
                return Err(SecurityError::InvalidRole.into());
            }
            if holder == [0; 32] {
                return Err(SecurityError::InvalidHolder.into());
            }
            Ok(())
        }
        SecurityChange::Unpause { market, operations } => check_pause_target(market, operations),
        SecurityChange::SetRateLimit { capacity, refill_milli_per_slot } if !(RateLimit { capacity, refill_milli_per_slot }).is_valid() => {
            Err(SecurityError::InvalidRateLimit.into())
        }
        SecurityChange::SetTimelockDelay { delay } => check_delay(delay),
        SecurityChange::SetRateLimit { .. } | SecurityChange::ProposeSuperAdmin { .. } => Ok(()),
    }
}

/// `create_approval_set`'s members (IDL `vec publicKey`): 1..=MAX_MEMBERS distinct nonzero keys.
/// Any other list, a longer one too, is `InvalidApprovalSet` (a `BoundedVec` would call a longer
/// one malformed data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Members {
    keys: [Pubkey; MAX_MEMBERS],
    len: u8,
}

impl Members {
    pub fn as_slice(&self) -> &[Pubkey] {
        &self.keys[..self.len as usize]
    }
}

impl BorshRead for Members {
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        let len = r.u32()? as usize;
        if len == 0 || len > MAX_MEMBERS {
            return Err(SecurityError::InvalidApprovalSet.into());
        }
        let mut keys = [[0u8; 32]; MAX_MEMBERS];
        for i in 0..len {
            let key = r.pubkey()?;
            if key == [0; 32] || keys[..i].contains(&key) {
                return Err(SecurityError::InvalidApprovalSet.into());
            }
            keys[i] = key;
        }
        Ok(Members { keys, len: len as u8 })
    }
}

#[cfg(not(target_arch = "bpf"))]
impl qd_runtime::idl::IdlType for Members {
    fn idl() -> qd_runtime::idl::Json {
        qd_runtime::idl_ty!(BoundedVec<Pubkey, MAX_MEMBERS>)
    }
}

qd_runtime::instructions! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SecurityInstruction check check_args {
        /// Creates the SecurityConfig; the signer (the program's upgrade authority) becomes super-admin and pays rent.
        /// `timelock_delay`: 2 to 30 days; below 2 days only under the immutable loader (LiteSVM, the local validator).
        initialize => Initialize { timelock_delay: i64 } accounts InitializeAccounts,
        /// Signed by the successor a proposal named, or by a member of that approval set (passed as the first remaining account)
        accept_super_admin => AcceptSuperAdmin {} accounts AcceptSuperAdminAccounts,
        /// Pauses at once (RISK_MANAGER or ADMIN) `market` < 64 or 65535 for venue-wide; paused = false is refused with
        /// UnpauseRequiresTimelock: unpausing is a proposal
        set_pause => SetPause { market: u16, operations: u8, paused: bool } accounts SetPauseAccounts,
        /// COMPLIANCE freezes a margin account (CPI to qd-core set_frozen signed by the authority PDA); `reason` is non-zero.
        freeze_account => FreezeAccount { reason: u16 } accounts SetFrozenAccounts,
        /// COMPLIANCE unfreezes a margin account (CPI to qd-core set_frozen signed by the authority PDA); `reason` is non-zero.
        unfreeze_account => UnfreezeAccount { reason: u16 } accounts SetFrozenAccounts,
        /// The owner's wallet creates a session key with scopes, markets, a notional cap and an expiry of at most 7 days.
        create_session => CreateSession { session_key: Pubkey, scopes: u8, markets: u64, max_notional: u64, expires_at: i64, budget: u64 }
            accounts CreateSessionAccounts,
        /// The owner or the session key itself revokes the session, effective immediately.
        revoke_session => RevokeSession {} accounts RevokeSessionAccounts,
        /// The owner closes a revoked or expired session and gets the rent back.
        close_session => CloseSession {} accounts CloseSessionAccounts,
        /// Read-only: may the signer take this action on the margin account now? Pass the Session as first remaining
        /// account when the signer is a session key. Returns the actor (0 owner, 1 delegate, 2 session).
        check_action => CheckAction { action: Action, market: u16, notional: u64 } -> u8 accounts CheckActionAccounts,
        /// CPI from qd-trading only (its [b"authority"] PDA signs): counts a session-placed order's fill, quote at the
        /// fill price, against the session's budget. Refused when the session is revoked or expired, the fill is above
        /// the per-order maximum, or the fills would pass the budget.
        record_session_fill => RecordSessionFill { notional: u64 } accounts RecordSessionFillAccounts,
        /// M of N keys (N <= 8, immutable) that a hand-over can make the super-admin
        create_approval_set => CreateApprovalSet { set_id: u64, threshold: u8, members: Members } accounts CreateApprovalSetAccounts,
        /// Queues a privileged change: `target_program` qd-security with a SecurityChange (the super-admin approval set
        /// as first remaining account when the proposer is its member), or a routed instruction (`routes`), its full
        /// instruction data (at most 192 bytes), with that instruction's accounts (1..=8) as remaining accounts
        propose => Propose { target_program: Pubkey, data: BoundedVec<u8, MAX_PROPOSAL_DATA> } accounts ProposeAccounts,
        /// A member of the super-admin approval set approves; the delay starts at the M-th approval
        approve_proposal => ApproveProposal {} accounts ApproveProposalAccounts,
        /// Permissionless, once, after the delay, while the proposer still holds the role it proposed with: applies the
        /// stored change, or invokes the routed instruction signed by the authority PDA (remaining accounts: its
        /// program, then exactly the stored accounts)
        execute_proposal => ExecuteProposal {} accounts ExecuteProposalAccounts,
        /// The proposer, any ADMIN, the super-admin, or a member of its approval set (first remaining account)
        cancel_proposal => CancelProposal {} accounts CancelProposalAccounts,
        /// Permissionless: closes an executed or cancelled proposal; its rent returns to its proposer
        close_proposal => CloseProposal {} accounts CloseProposalAccounts,
    }
}

/// The argument checks decoding runs (a proposal's `data` is decoded by `propose` itself, which
/// keeps the decoded target). Inlined into each instruction's decoding, where only its own arm
/// remains, rather than called with each decoded instruction on the stack (SBF's 4 KiB frame).
#[inline(always)]
fn check_args(ix: &SecurityInstruction) -> Result<(), ProgramError> {
    match *ix {
        SecurityInstruction::Initialize { timelock_delay } => check_delay(timelock_delay),
        SecurityInstruction::SetPause { market, operations, paused } => {
            check_pause_target(market, operations)?;
            // Restarting is a proposal (the timelock); stopping stays immediate.
            if !paused {
                return Err(SecurityError::UnpauseRequiresTimelock.into());
            }
            Ok(())
        }
        SecurityInstruction::FreezeAccount { reason: 0 } | SecurityInstruction::UnfreezeAccount { reason: 0 } => {
            Err(SecurityError::InvalidReason.into())
        }
        SecurityInstruction::CreateSession { session_key, scopes, markets, max_notional, budget, .. } => {
            if session_key == [0; 32] {
                return Err(SecurityError::InvalidSessionKey.into());
            }
            if scopes == 0 || scopes & !ALL_SCOPES != 0 {
                return Err(SecurityError::InvalidScopes.into());
            }
            if markets == 0 {
                return Err(SecurityError::InvalidMarkets.into());
            }
            if max_notional == 0 {
                return Err(SecurityError::InvalidMaxNotional.into());
            }
            if budget < max_notional {
                return Err(SecurityError::InvalidBudget.into());
            }
            Ok(())
        }
        // The members are checked as read; the threshold is 1..=their number.
        SecurityInstruction::CreateApprovalSet { threshold, ref members, .. }
            if threshold == 0 || threshold as usize > members.as_slice().len() =>
        {
            Err(SecurityError::InvalidApprovalSet.into())
        }
        _ => Ok(()),
    }
}

fn check_pause_target(market: u16, operations: u8) -> Result<(), ProgramError> {
    if market != NO_MARKET && market as usize >= MAX_MARKETS {
        return Err(SecurityError::InvalidMarket.into());
    }
    if operations == 0 || operations & !ALL_OPERATIONS != 0 {
        return Err(SecurityError::InvalidOperations.into());
    }
    Ok(())
}

/// A delay within 0..=MAX_TIMELOCK_DELAY; the deployment's minimum is checked against the config.
fn check_delay(delay: i64) -> Result<(), ProgramError> {
    if !(0..=MAX_TIMELOCK_DELAY).contains(&delay) {
        return Err(SecurityError::InvalidTimelockDelay.into());
    }
    Ok(())
}

/// What a proposal changes: qd-security's own config, or a routed instruction of another program
/// (`routes`), whose data that program validates when the proposal runs.
#[derive(Clone, Copy)]
pub enum ProposalTarget {
    Security(SecurityChange),
    Routed(&'static Route),
}

impl ProposalTarget {
    /// `propose(target_program, data)`: qd-security's own change decoded (so validated), or an
    /// instruction of a routed program.
    pub fn decode(program: &Pubkey, data: &[u8]) -> Result<Self, ProgramError> {
        if program == &crate::ID {
            Ok(ProposalTarget::Security(SecurityChange::unpack(data)?))
        } else {
            Ok(ProposalTarget::Routed(routes::find(program, data).ok_or(SecurityError::UnsupportedTarget)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_access::{AccessError, RECORD_SESSION_FILL};
    use qd_runtime::error::RuntimeError;
    use qd_runtime::hash::discriminator;

    const INITIALIZE: [u8; 8] = discriminator("global", "initialize");
    const SET_PAUSE: [u8; 8] = discriminator("global", "set_pause");
    const FREEZE_ACCOUNT: [u8; 8] = discriminator("global", "freeze_account");
    const UNFREEZE_ACCOUNT: [u8; 8] = discriminator("global", "unfreeze_account");
    const CREATE_SESSION: [u8; 8] = discriminator("global", "create_session");
    const REVOKE_SESSION: [u8; 8] = discriminator("global", "revoke_session");
    const CLOSE_SESSION: [u8; 8] = discriminator("global", "close_session");
    const CHECK_ACTION: [u8; 8] = discriminator("global", "check_action");
    const CREATE_APPROVAL_SET: [u8; 8] = discriminator("global", "create_approval_set");
    const PROPOSE: [u8; 8] = discriminator("global", "propose");
    const EXECUTE_PROPOSAL: [u8; 8] = discriminator("global", "execute_proposal");
    const CANCEL_PROPOSAL: [u8; 8] = discriminator("global", "cancel_proposal");

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

    /// A `propose` decoded, and its target.
    fn proposal(target: Pubkey, data: &[u8]) -> Result<(ProposalTarget, Vec<u8>), ProgramError> {
        let SecurityInstruction::Propose { target_program, data } =
            SecurityInstruction::unpack(&with(PROPOSE, &propose_args(target, data)))?
        else {
            panic!("not a proposal")
        };
        Ok((ProposalTarget::decode(&target_program, data.as_slice())?, data.as_slice().to_vec()))
    }

    #[test]
    fn decodes_role_changes_and_refuses_bad_ones() {
        let args = [&[0u8, 2][..], &[7; 32]].concat();
        assert_eq!(change(&args).unwrap(), SecurityChange::GrantRole { role: Role::Compliance as u8, holder: [7; 32] });
        assert_eq!(
            change(&[&[1u8][..], &args[1..]].concat()).unwrap(),
            SecurityChange::RevokeRole { role: Role::Compliance as u8, holder: [7; 32] }
        );
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
        assert_eq!(change(&limit(10, 250)).unwrap(), SecurityChange::SetRateLimit { capacity: 10, refill_milli_per_slot: 250 });
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
        let (target, data) = proposal(crate::ID, &grant).unwrap();
        assert!(
            matches!(target, ProposalTarget::Security(c) if c == SecurityChange::GrantRole { role: Role::RiskManager as u8, holder: [7; 32] })
        );
        assert_eq!(data, grant);
        // Another program's instruction: only a routed one, kept as sent for that program to check.
        assert_eq!(proposal(qd_ids::QD_TRADING, &grant).err(), Some(SecurityError::UnsupportedTarget.into()));
        let params = [&routes::ROUTES[0].discriminator[..], &[1, 2, 3]].concat();
        let (target, data) = proposal(qd_ids::QD_TRADING, &params).unwrap();
        assert!(matches!(target, ProposalTarget::Routed(r) if r.program == qd_ids::QD_TRADING));
        assert_eq!(data, params);
        assert_eq!(err(PROPOSE, &propose_args(crate::ID, &[0; MAX_PROPOSAL_DATA + 1])), RuntimeError::InvalidInstructionData.into());
        assert_eq!(proposal(crate::ID, &[9]).err(), Some(SecurityError::InvalidChange.into()));
    }

    #[test]
    fn pauses_are_immediate_and_unpauses_refused() {
        let pause = |market: u16, ops: u8, paused: u8| [&market.to_le_bytes()[..], &[ops, paused]].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(SET_PAUSE, &pause(63, 0x7f, 1))).unwrap(),
            SecurityInstruction::SetPause { market: 63, operations: 0x7f, paused: true }
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
        let SecurityInstruction::CreateApprovalSet { set_id, threshold, members } =
            SecurityInstruction::unpack(&with(CREATE_APPROVAL_SET, &set(2, &[[1; 32], [2; 32], [3; 32]]))).unwrap()
        else {
            panic!("not an approval set")
        };
        assert_eq!((set_id, threshold, members.as_slice()), (5, 2, &[[1; 32], [2; 32], [3; 32]][..]));
        let bad = SecurityError::InvalidApprovalSet.into();
        assert_eq!(err(CREATE_APPROVAL_SET, &set(0, &[[1; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(2, &[[1; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[[1; 32], [1; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[[1; 32], [0; 32]])), bad);
        assert_eq!(err(CREATE_APPROVAL_SET, &set(1, &[[4; 32]; 9])), bad);
        let eight: [Pubkey; 8] = core::array::from_fn(|i| [i as u8 + 1; 32]);
        assert!(SecurityInstruction::unpack(&with(CREATE_APPROVAL_SET, &set(8, &eight))).is_ok());
    }

    #[test]
    fn reason_action_and_delay() {
        let unfreeze = SecurityInstruction::unpack(&with(UNFREEZE_ACCOUNT, &9u16.to_le_bytes()));
        assert_eq!(unfreeze.unwrap(), SecurityInstruction::UnfreezeAccount { reason: 9 });
        assert_eq!(err(FREEZE_ACCOUNT, &0u16.to_le_bytes()), SecurityError::InvalidReason.into());
        assert_eq!(err(UNFREEZE_ACCOUNT, &0u16.to_le_bytes()), SecurityError::InvalidReason.into());
        let check = [&[3u8][..], &5u16.to_le_bytes(), &77u64.to_le_bytes()].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(CHECK_ACTION, &check)).unwrap(),
            SecurityInstruction::CheckAction { action: Action::PlaceOrder, market: 5, notional: 77 }
        );
        assert_eq!(err(CHECK_ACTION, &[&[7u8][..], &check[1..]].concat()), AccessError::UnknownAction.into());
        let initialize = SecurityInstruction::unpack(&with(INITIALIZE, &60i64.to_le_bytes()));
        assert_eq!(initialize.unwrap(), SecurityInstruction::Initialize { timelock_delay: 60 });
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
            SecurityInstruction::CreateSession {
                session_key: [5; 32],
                scopes: 3,
                markets: 1,
                max_notional: 2,
                expires_at: 1_000,
                budget: 10
            }
        );
        assert_eq!(err(CREATE_SESSION, &budgeted([5; 32], 3, 1, 2, 1)), SecurityError::InvalidBudget.into());
        // qd-trading's CPI builds the data with qd-access's shared discriminator.
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
        assert_eq!(SecurityInstruction::unpack(&EXECUTE_PROPOSAL).unwrap(), SecurityInstruction::ExecuteProposal {});
        assert_eq!(SecurityInstruction::unpack(&CLOSE_SESSION).unwrap(), SecurityInstruction::CloseSession {});
        assert_eq!(err(REVOKE_SESSION, &[0]), RuntimeError::InvalidInstructionData.into());
        assert_eq!(err(CANCEL_PROPOSAL, &[0]), RuntimeError::InvalidInstructionData.into());
        assert_eq!(SecurityInstruction::unpack(&[1, 2, 3]).unwrap_err(), RuntimeError::InvalidInstruction.into());
        assert_eq!(SecurityInstruction::unpack(&[0; 8]).unwrap_err(), RuntimeError::InvalidInstruction.into());
    }
}
