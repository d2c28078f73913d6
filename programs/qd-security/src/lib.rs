//! qd-security: who may do what on QuantDesk. It owns the SecurityConfig (roles, pause bits,
//! rate-limit parameters) and the Sessions; every program reads both through `qd-access`.
//!
//! Accounts:
//! - `SecurityConfig` at PDA [b"security"] (`qd_ids::SECURITY_CONFIG`), layout in qd-access.
//! - `Session` at PDA [b"session", owner, session_key], layout in qd-access.
//! - `Proposal` at PDA [b"proposal", config, id (u64 LE)] and `ApprovalSet` at PDA
//!   [b"approval_set", creator, set_id (u64 LE)]: the timelock (`state`).
//! - The `[b"authority"]` PDA (`qd_ids::SECURITY_AUTHORITY`) holds no data: it signs the CPIs
//!   into qd-core that freeze and unfreeze margin accounts (and, later, routed proposals).
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `initialize(timelock_delay)`: the program's upgrade authority creates the config and becomes
//!   super-admin; the delay is at least 2 days (0 allowed only under the immutable loader).
//! - `propose(target_program, data)`: queues a `SecurityChange` (grant or revoke a role, unpause,
//!   set the rate limit, name a successor super-admin, set the delay). ADMIN proposes the
//!   ADMIN-level changes; the super-admin (or a member of its approval set) the rest.
//!   `approve_proposal()`: members of the super-admin approval set, M distinct ones before the
//!   delay starts. `execute_proposal()`: anyone, once, after the delay. `cancel_proposal()`: the
//!   proposer, any ADMIN, the super-admin or one member of its approval set.
//! - `create_approval_set(set_id, threshold, members)`: M of N (N <= 8) keys, immutable; it has
//!   power only once a hand-over makes it the super-admin.
//! - `accept_super_admin()`: the successor a proposal named (or a member of that approval set).
//! - `set_pause(market, operations, paused)`: RISK_MANAGER or ADMIN pause at once, venue-wide
//!   (`market` = 65535) or per market (< 64); `paused = false` is refused: unpausing is a proposal.
//! - `freeze_account(reason)`, `unfreeze_account(reason)`: COMPLIANCE, immediate; CPI into
//!   qd-core's `set_frozen`, signed by the authority PDA.
//! - `create_session(session_key, scopes, markets, max_notional, expires_at)`: the owner's wallet
//!   delegates order actions to a session key for at most 7 days; `revoke_session()` by the owner
//!   or the key; `close_session()` by the owner once revoked or expired (rent back).
//! - `check_action(action, market, notional)`: read-only view of `qd_access::authorize` (pause,
//!   freeze, signer, session) for a margin account; returns [actor].
//!
//! Every privileged instruction takes the Instructions sysvar and refuses a transaction that
//! advances a durable nonce (`DurableNonce`). Every privileged action emits an `AuditEvent` with
//! the target's own sequence number, and every proposal step a `ProposalEvent`.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod error;
pub mod events;
pub mod instruction;
pub mod processor;
mod routes;
pub mod state;
#[cfg(test)]
mod tests;
mod timelock;

pub use qd_ids::QD_SECURITY as ID;

use qd_access::{SecurityConfig, Session};
use state::{ApprovalSet, Proposal};

qd_runtime::program! {
    name: "qd_security",
    docs: "QuantDesk security: roles, pauses, freezes, rate-limit parameters and session keys.",
    id: ID,
    process: processor::process,
    instructions: instruction::SecurityInstruction,
    accounts: [SecurityConfig, Session, Proposal, ApprovalSet],
    types: [instruction::SecurityChange],
    events: events::idl,
    errors: [
        qd_runtime::error::RuntimeError,
        qd_access::AccessError,
        error::SecurityError,
    ],
}
