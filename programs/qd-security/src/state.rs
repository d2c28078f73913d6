//! The timelock's accounts, owned by qd-security only (no other program reads them: a routed
//! instruction sees just the `[b"authority"]` PDA's signature). Offsets are from the account start.

use qd_runtime::pubkey::Pubkey;

pub const PROPOSAL_SEED: &[u8] = b"proposal";
pub const APPROVAL_SET_SEED: &[u8] = b"approval_set";
pub const PROPOSAL_VERSION: u8 = 1;
pub const APPROVAL_SET_VERSION: u8 = 1;

/// The delay a deployment under the upgradeable loader (every public cluster) must keep at
/// least: two days for holders, risk and compliance to see a queued change and cancel it.
pub const MIN_TIMELOCK_DELAY: i64 = 2 * 24 * 3600;
/// The longest delay: a longer one could lock governance out of its own fixes.
pub const MAX_TIMELOCK_DELAY: i64 = 30 * 24 * 3600;

/// Members of an approval set (the bitmask of a proposal's approvals is a u8).
pub const MAX_MEMBERS: usize = 8;
/// Account metas a proposal stores for the instruction it routes to another program.
pub const MAX_PROPOSAL_ACCOUNTS: usize = 8;
/// Instruction data a proposal stores (qd-trading's set_market_params is 90 bytes).
pub const MAX_PROPOSAL_DATA: usize = 192;

/// `Proposal::state`.
pub const PENDING: u8 = 0;
pub const EXECUTED: u8 = 1;
pub const CANCELLED: u8 = 2;

/// `Proposal::authority`: a `Role` code (the proposer must still hold it at execution), or this.
pub const AUTHORITY_SUPER_ADMIN: u8 = 4;

qd_runtime::account! {
    /// Anchor account "Proposal" at PDA [b"proposal", config, id (u64 LE)]: one queued privileged
    /// change. Everything execution uses is stored here at proposal time; `execute_proposal` takes no
    /// data, and only qd-security writes the account, so nobody can alter what gets executed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Proposal[624] {
        /// @8
        pub version: u8,
        /// @9
        pub bump: u8,
        /// @10: PENDING, EXECUTED or CANCELLED.
        pub state: u8,
        /// @11: the authority the proposer used: `Role::Admin` (0) or AUTHORITY_SUPER_ADMIN.
        pub authority: u8,
        /// @12: bit i = member i of `approval_set` approved.
        pub approvals: u8,
        /// @13
        pub approval_count: u8,
        /// @14: approvals needed before the delay starts (0: none, the proposer's key suffices).
        pub threshold: u8,
        /// @15: stored account metas (0 for qd-security's own changes).
        pub account_count: u8,
        /// @16: used bytes of `data`.
        pub data_len: u16,
        /// @18: bit i = account i is writable (the authority PDA is the one signer, by address).
        pub writable_mask: u8,
        /// @19
        pub _pad0: [u8; 5],
        /// @24
        pub id: u64,
        /// @32
        pub proposer: Pubkey,
        /// @64: the super-admin approval set this proposal counts approvals of (zero: none).
        pub approval_set: Pubkey,
        /// @96: qd-security (its own changes, applied in place) or, later, a routed program.
        pub target_program: Pubkey,
        /// @128: unix seconds.
        pub created_at: i64,
        /// @136: unix seconds from which it may execute; 0 while approvals are missing.
        pub eta: i64,
        /// @144: unix seconds of execution or cancellation (0 while pending).
        pub closed_at: i64,
        /// @152
        pub accounts: [Pubkey; MAX_PROPOSAL_ACCOUNTS],
        /// @408: for qd-security, a borsh `SecurityChange`; for a routed program, its instruction.
        pub data: [u8; MAX_PROPOSAL_DATA],
        /// @600
        pub _reserved: [u8; 32],
    }
}

impl Proposal {
    pub fn stored_data(&self) -> &[u8] {
        &self.data[..(self.data_len as usize).min(MAX_PROPOSAL_DATA)]
    }
}

qd_runtime::account! {
    /// Anchor account "ApprovalSet" at PDA [b"approval_set", creator, set_id (u64 LE)]: M of N keys
    /// that can be made the super-admin. Immutable once created (rotation is a hand-over to a new
    /// set), so a proposal's approvals can be kept as member indexes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ApprovalSet[336] {
        /// @8
        pub version: u8,
        /// @9
        pub bump: u8,
        /// @10: M, approvals a super-admin proposal needs.
        pub threshold: u8,
        /// @11: N, used entries of `members`.
        pub member_count: u8,
        /// @12
        pub _pad0: [u8; 4],
        /// @16
        pub creator: Pubkey,
        /// @48
        pub set_id: u64,
        /// @56
        pub members: [Pubkey; MAX_MEMBERS],
        /// @312
        pub _reserved: [u8; 32],
    }
}

impl ApprovalSet {
    /// Index of `key` among the members.
    pub fn member_index(&self, key: &Pubkey) -> Option<usize> {
        self.members[..(self.member_count as usize).min(MAX_MEMBERS)].iter().position(|m| m == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;
    use qd_runtime::account::AccountType;

    #[test]
    fn proposal_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(Proposal::LEN, 632);
        assert_eq!(at(offset_of!(Proposal, state)), 10);
        assert_eq!(at(offset_of!(Proposal, data_len)), 16);
        assert_eq!(at(offset_of!(Proposal, id)), 24);
        assert_eq!(at(offset_of!(Proposal, proposer)), 32);
        assert_eq!(at(offset_of!(Proposal, approval_set)), 64);
        assert_eq!(at(offset_of!(Proposal, target_program)), 96);
        assert_eq!(at(offset_of!(Proposal, eta)), 136);
        assert_eq!(at(offset_of!(Proposal, accounts)), 152);
        assert_eq!(at(offset_of!(Proposal, data)), 408);
        assert_eq!(at(offset_of!(Proposal, _reserved)), 600);
    }

    #[test]
    fn approval_set_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(ApprovalSet::LEN, 344);
        assert_eq!(at(offset_of!(ApprovalSet, threshold)), 10);
        assert_eq!(at(offset_of!(ApprovalSet, creator)), 16);
        assert_eq!(at(offset_of!(ApprovalSet, set_id)), 48);
        assert_eq!(at(offset_of!(ApprovalSet, members)), 56);
        assert_eq!(at(offset_of!(ApprovalSet, _reserved)), 312);
    }
}
