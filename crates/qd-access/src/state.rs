//! Accounts owned by qd-security. Offsets in the comments are from the account start.

use crate::rate_limit::RateLimit;
use crate::Operation;
use qd_runtime::pubkey::Pubkey;

pub const SECURITY_SEED: &[u8] = b"security";
pub const AUTHORITY_SEED: &[u8] = b"authority";
pub const SESSION_SEED: &[u8] = b"session";

/// 2: the timelock fields (delay, its minimum, proposal count) out of the reserved bytes.
pub const SECURITY_CONFIG_VERSION: u8 = 2;
pub const SESSION_VERSION: u8 = 1;
/// Holders per role.
pub const MAX_ROLE_HOLDERS: usize = 4;
pub const NUM_ROLES: usize = 4;
/// Perp market indexes with their own pause bits and session market bits: 0..64.
pub const MAX_MARKETS: usize = 64;
/// Longest session: 7 days.
pub const MAX_SESSION_SECS: i64 = 7 * 24 * 3600;

/// Session scope bits.
pub const SCOPE_PLACE: u8 = 1 << 0;
pub const SCOPE_CANCEL: u8 = 1 << 1;
pub const ALL_SCOPES: u8 = SCOPE_PLACE | SCOPE_CANCEL;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    /// Grants and revokes the other roles, unpauses, sets rate limits, lists markets and collateral.
    Admin = 0,
    /// Pauses (never unpauses), tunes risk parameters.
    RiskManager = 1,
    /// Freezes and unfreezes margin accounts.
    Compliance = 2,
    /// Manages oracle feeds.
    OracleAdmin = 3,
}

impl Role {
    pub fn from_u8(code: u8) -> Option<Role> {
        Some(match code {
            0 => Role::Admin,
            1 => Role::RiskManager,
            2 => Role::Compliance,
            3 => Role::OracleAdmin,
            _ => return None,
        })
    }
}

qd_runtime::account! {
    /// Anchor account "SecurityConfig" at PDA [b"security"] (address `qd_ids::SECURITY_CONFIG`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SecurityConfig[728] {
        /// @8
        pub version: u8,
        /// @9
        pub bump: u8,
        /// @10: `Operation` bits paused venue-wide.
        pub global_pause: u8,
        /// @11
        pub _pad0: u8,
        /// @12: used entries of each `roles` row, by `Role`.
        pub role_counts: [u8; NUM_ROLES],
        /// @16: holds every role; hands over in two steps (propose, then the successor accepts).
        pub super_admin: Pubkey,
        /// @48: proposed successor (all zero: none).
        pub pending_super_admin: Pubkey,
        /// @80: role holders, a row per `Role`.
        pub roles: [[Pubkey; MAX_ROLE_HOLDERS]; NUM_ROLES],
        /// @592: `Operation` bits paused per market index.
        pub market_pause: [u8; MAX_MARKETS],
        /// @656: order-action throttle applied to every margin account.
        pub rate_limit: RateLimit,
        /// @664: sequence number of the latest privileged action on this config (audit events).
        pub audit_seq: u64,
        /// @672: seconds between a proposal (or its last needed approval) and its execution.
        pub timelock_delay: i64,
        /// @680: the lowest delay this deployment accepts (qd-security's MIN_TIMELOCK_DELAY, or 0
        /// under the immutable loader), fixed at initialize.
        pub min_timelock_delay: i64,
        /// @688: proposals created so far; the next one's id.
        pub proposal_count: u64,
        /// @696
        pub _reserved: [u8; 40],
    }
}

impl SecurityConfig {
    /// `key` holds `role`: listed in its row, or the super-admin.
    pub fn has_role(&self, role: Role, key: &Pubkey) -> bool {
        if key == &self.super_admin {
            return true;
        }
        let row = &self.roles[role as usize];
        row[..(self.role_counts[role as usize] as usize).min(MAX_ROLE_HOLDERS)].contains(key)
    }

    /// `op` paused venue-wide, or in `market` (an index < MAX_MARKETS; others have no bits).
    pub fn is_paused(&self, op: Operation, market: u16) -> bool {
        let bit = op.bit();
        self.global_pause & bit != 0 || self.market_pause.get(market as usize).is_some_and(|m| m & bit != 0)
    }
}

qd_runtime::account! {
    /// Anchor account "Session" at PDA [b"session", owner, session_key]: the on-chain half of
    /// Sign-In-With-Solana. The owner's wallet signs once to create it; the session key then signs
    /// order actions within `scopes`, `markets`, `max_notional` per order and `budget` over its
    /// life until `expires_at`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Session[136] {
        /// @8
        pub version: u8,
        /// @9
        pub bump: u8,
        /// @10: `SCOPE_*` bits.
        pub scopes: u8,
        /// @11: 1 once revoked.
        pub revoked: u8,
        /// @12
        pub _pad0: [u8; 4],
        /// @16: the wallet whose margin accounts the session acts for.
        pub owner: Pubkey,
        /// @48: the key that signs in place of the owner.
        pub session_key: Pubkey,
        /// @80: bit i set = perp market i allowed.
        pub markets: u64,
        /// @88: largest order notional, quote units.
        pub max_notional: u64,
        /// @96: unix seconds.
        pub created_at: i64,
        /// @104: unix seconds; the session is dead from this time on.
        pub expires_at: i64,
        /// @112: the most quote notional its fills may trade over its life (the owner sets it).
        pub budget: u64,
        /// @120: quote notional its fills have traded, at their fill prices.
        pub spent: u64,
        /// @128
        pub _reserved: [u8; 16],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;
    use qd_runtime::account::AccountType;

    #[test]
    fn security_config_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(SecurityConfig::LEN, 736);
        assert_eq!(at(offset_of!(SecurityConfig, global_pause)), 10);
        assert_eq!(at(offset_of!(SecurityConfig, role_counts)), 12);
        assert_eq!(at(offset_of!(SecurityConfig, super_admin)), 16);
        assert_eq!(at(offset_of!(SecurityConfig, pending_super_admin)), 48);
        assert_eq!(at(offset_of!(SecurityConfig, roles)), 80);
        assert_eq!(at(offset_of!(SecurityConfig, market_pause)), 592);
        assert_eq!(at(offset_of!(SecurityConfig, rate_limit)), 656);
        assert_eq!(at(offset_of!(SecurityConfig, audit_seq)), 664);
        assert_eq!(at(offset_of!(SecurityConfig, timelock_delay)), 672);
        assert_eq!(at(offset_of!(SecurityConfig, min_timelock_delay)), 680);
        assert_eq!(at(offset_of!(SecurityConfig, proposal_count)), 688);
        assert_eq!(at(offset_of!(SecurityConfig, _reserved)), 696);
    }

    #[test]
    fn session_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(Session::LEN, 144);
        assert_eq!(at(offset_of!(Session, scopes)), 10);
        assert_eq!(at(offset_of!(Session, owner)), 16);
        assert_eq!(at(offset_of!(Session, session_key)), 48);
        assert_eq!(at(offset_of!(Session, markets)), 80);
        assert_eq!(at(offset_of!(Session, expires_at)), 104);
        assert_eq!(at(offset_of!(Session, budget)), 112);
        assert_eq!(at(offset_of!(Session, spent)), 120);
        assert_eq!(at(offset_of!(Session, _reserved)), 128);
    }
}
