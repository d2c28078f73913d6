//! Anchor events: the audit trail of every privileged action and the session lifecycle. Each
//! encodes as discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order.

use qd_runtime::borsh::Writer;
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

/// Large enough for every event below (SessionCreated: 8 + 96 + 1 + 32 = 137 bytes).
pub type EventBuf = Writer<144>;

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

impl AuditEvent {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "AuditEvent");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.actor)
            .pubkey(&self.target)
            .u8(self.action)
            .pubkey(&self.subject)
            .u64(self.value)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl ProposalEvent {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "ProposalEvent");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.proposal)
            .u64(self.id)
            .u8(self.action)
            .pubkey(&self.by)
            .u8(self.approval_count)
            .i64(self.eta)
            .u64(self.slot);
        w
    }
}

impl SessionCreated {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "SessionCreated");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.owner)
            .pubkey(&self.session)
            .pubkey(&self.session_key)
            .u8(self.scopes)
            .u64(self.markets)
            .u64(self.max_notional)
            .i64(self.expires_at)
            .u64(self.budget);
        w
    }
}

impl SessionRevoked {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "SessionRevoked");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.owner).pubkey(&self.session).pubkey(&self.by).u64(self.slot);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fit_their_buffer() {
        let a = AuditEvent { actor: [1; 32], target: [2; 32], action: 3, subject: [4; 32], value: 5, slot: 6, seq: 7 };
        let bytes = a.encode().finish().unwrap().to_vec();
        assert_eq!(bytes.len(), 8 + 32 + 32 + 1 + 32 + 24);
        assert_eq!(bytes[72], 3);
        assert_eq!(&bytes[bytes.len() - 8..], &7u64.to_le_bytes());
        let c = SessionCreated { owner: [1; 32], session: [2; 32], session_key: [3; 32], scopes: 3, markets: 1, max_notional: 2, expires_at: -3, budget: 4 };
        assert_eq!(c.encode().finish().unwrap().len(), 8 + 96 + 1 + 32);
        let p = ProposalEvent { proposal: [1; 32], id: 2, action: 3, by: [4; 32], approval_count: 5, eta: 6, slot: 7 };
        assert_eq!(p.encode().finish().unwrap().len(), 8 + 32 + 8 + 1 + 32 + 1 + 8 + 8);
        let r = SessionRevoked { owner: [1; 32], session: [2; 32], by: [1; 32], slot: 9 };
        assert_eq!(r.encode().finish().unwrap().len(), 8 + 96 + 8);
    }
}
