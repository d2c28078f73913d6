//! qd-security: who may do what on QuantDesk. It owns the SecurityConfig (roles, pause bits,
//! rate-limit parameters) and the Sessions; every program reads both through `qd-access`.
//!
//! Accounts:
//! - `SecurityConfig` at PDA [b"security"] (`qd_ids::SECURITY_CONFIG`), layout in qd-access.
//! - `Session` at PDA [b"session", owner, session_key], layout in qd-access.
//! - The `[b"authority"]` PDA (`qd_ids::SECURITY_AUTHORITY`) holds no data: it signs the CPIs
//!   into qd-core that freeze and unfreeze margin accounts.
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `initialize()`: the program's upgrade authority creates the config and becomes super-admin.
//! - `propose_super_admin(new_super_admin)` (super-admin; zero cancels), then
//!   `accept_super_admin()` signed by the proposed key: the old key keeps power until then.
//! - `grant_role(role, holder)`, `revoke_role(role, holder)`: the super-admin manages every role,
//!   an ADMIN every role but ADMIN. At most 4 holders per role.
//! - `set_pause(market, operations, paused)`: pause bits venue-wide (`market` = 65535) or per
//!   market (< 64). Policy: RISK_MANAGER or ADMIN may pause; only ADMIN may unpause (the
//!   super-admin holds every role), so a hasty or compromised risk key can halt trading but never
//!   reopen it.
//! - `set_rate_limit(capacity, refill_milli_per_slot)`: ADMIN; both zero turns it off.
//! - `freeze_account(reason)`, `unfreeze_account(reason)`: COMPLIANCE; CPI into qd-core's
//!   `set_frozen`, signed by the authority PDA.
//! - `create_session(session_key, scopes, markets, max_notional, expires_at)`: the owner's wallet
//!   delegates order actions to a session key for at most 7 days; `revoke_session()` by the owner
//!   or the key; `close_session()` by the owner once revoked or expired (rent back).
//! - `check_action(action, market, notional)`: read-only view of `qd_access::authorize` (pause,
//!   freeze, signer, session) for a margin account; returns [actor].
//!
//! Every privileged action emits an `AuditEvent` with the target's own sequence number.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod error;
pub mod events;
pub mod instruction;
#[cfg(target_arch = "bpf")]
pub mod processor;

pub use qd_ids::QD_SECURITY as ID;

#[cfg(target_arch = "bpf")]
qd_runtime::entrypoint!(processor::process);

#[cfg(test)]
mod idl_layout {
    use qd_access::{RateLimit, SecurityConfig, Session};
    use qd_runtime::idl::check_layout;
    use qd_runtime::idl_fields;

    const IDL: &str = include_str!("../../../idl/qd_security.json");

    #[test]
    fn accounts_match_the_idl() {
        check_layout(
            IDL,
            "SecurityConfig",
            &idl_fields!(SecurityConfig: version, bump, global_pause, _pad0, role_counts, super_admin, pending_super_admin, roles,
                market_pause, rate_limit, audit_seq, _reserved),
            core::mem::size_of::<SecurityConfig>(),
        );
        check_layout(
            IDL,
            "Session",
            &idl_fields!(Session: version, bump, scopes, revoked, _pad0, owner, session_key, markets, max_notional, created_at,
                expires_at, budget, spent, _reserved),
            core::mem::size_of::<Session>(),
        );
        check_layout(IDL, "RateLimit", &idl_fields!(RateLimit: capacity, refill_milli_per_slot), core::mem::size_of::<RateLimit>());
    }
}
