//! Anchor events: the audit trail of every privileged action and the session lifecycle. Each
//! encodes as discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order.

use qd_runtime::pubkey::Pubkey;

/// `AuditEvent::action` codes.
pub const AUDIT_INITIALIZE: u8 = 0;
pub const AUDIT_PROPOSE_SUPER_ADMIN: u8 = 1;
pub const AUDIT_ACCEPT_SUPER_ADMIN: u8 = 2;
pub const AUDIT_GRANT_ROLE: u8 = 3;
pub const AUDIT_REVOKE_ROLE: u8 = 4;
pub const AUDIT_PAUSE: u8 = 5;
pub const AUDIT_UNPAUSE: u8 = 6;
pub const AUDIT_SET_RATE_LIMIT: u8 = 7;
pub const AUDIT_FREEZE: u8 = 8;
pub const AUDIT_UNFREEZE: u8 = 9;
pub const AUDIT_SET_TIMELOCK_DELAY: u8 = 10;

/// `ProposalEvent::action` codes.
pub const PROPOSAL_CREATED: u8 = 0;
pub const PROPOSAL_APPROVED: u8 = 1;
pub const PROPOSAL_EXECUTED: u8 = 2;
pub const PROPOSAL_CANCELLED: u8 = 3;

qd_runtime::events! {
    /// One privileged action. `seq` is the target's own sequence number (SecurityConfig.audit_seq
    /// for config actions, MarginAccount.audit_seq for freezes), so gaps in an indexer's copy show.
    pub struct AuditEvent {
        pub actor: Pubkey,
        /// The config address, or the margin account frozen / unfrozen.
        pub target: Pubkey,
        pub action: u8,
        /// Role holder (grant / revoke), proposed or accepted super-admin, the margin account's
        /// owner (freeze / unfreeze); zero otherwise.
        pub subject: Pubkey,
        /// Role (grant / revoke), operations | market << 8 (pause / unpause),
        /// capacity << 32 | refill (rate limit), reason (freeze / unfreeze), the timelock delay in
        /// seconds (initialize, set delay); zero otherwise.
        pub value: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// One step of a proposal's life: created, approved, executed or cancelled. The change itself,
    /// once executed, is also an AuditEvent (actor: the proposer).
    pub struct ProposalEvent {
        pub proposal: Pubkey,
        pub id: u64,
        pub action: u8,
        /// The proposer, approving member, canceller; the config for a (permissionless) execution.
        pub by: Pubkey,
        pub approval_count: u8,
        /// Unix seconds from which it may execute; 0 while approvals are missing.
        pub eta: i64,
        pub slot: u64,
    }

    pub struct SessionCreated {
        pub owner: Pubkey,
        pub session: Pubkey,
        pub session_key: Pubkey,
        pub scopes: u8,
        pub markets: u64,
        pub max_notional: u64,
        pub expires_at: i64,
        pub budget: u64,
    }

    pub struct SessionRevoked {
        pub owner: Pubkey,
        pub session: Pubkey,
        /// The owner or the session key itself.
        pub by: Pubkey,
        pub slot: u64,
    }
}
