//! qd-core: the venue's GlobalConfig and its margin accounts (master wallet, sub-accounts).
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `initialize(max_sub_accounts)`: the program's upgrade authority creates the GlobalConfig
//!   PDA [b"global"] with the quote mint, the other programs' ids and the sub-account limit.
//! - `set_max_sub_accounts(max_sub_accounts)`: admin only; existing accounts stay valid.
//! - `create_margin_account(sub_id, name)`: the owner creates its MarginAccount PDA
//!   [b"margin", owner, sub_id u16 LE] (sub_id < max_sub_accounts) and pays the rent.
//! - `close_margin_account()`: the owner closes an unfrozen account not being liquidated whose
//!   qd-collateral balances account and qd-trading trading account are closed, and gets the
//!   rent back.
//! - `set_delegate(delegate)`, `set_limits(max_leverage_x100, allowed_markets, reduce_only)`:
//!   owner only. A frozen account may only remove its delegate.
//! - `set_frozen(frozen, reason)`: CPI only, signed by qd-security's authority PDA (the
//!   COMPLIANCE role's freeze); bumps the account's audit_seq.
//!
//! Accounts (layouts in crates/qd-core-state): `GlobalConfig` (singleton, `qd_ids::CORE_GLOBAL`),
//! `MarginAccount`. An owner's accounts are the PDAs for sub ids 0..max_sub_accounts, or
//! getProgramAccounts with memcmp discriminator @0 and owner @16.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod error;
pub mod events;
pub mod instruction;
pub mod processor;
#[cfg(test)]
mod tests;

pub use qd_ids::QD_CORE as ID;

use qd_core_state::{GlobalConfig, MarginAccount};

qd_runtime::program! {
    name: "qd_core",
    docs: "QuantDesk core: GlobalConfig and margin accounts (sub-accounts, delegation, owner limits, compliance freeze).",
    id: ID,
    process: processor::process,
    instructions: instruction::CoreInstruction,
    accounts: [GlobalConfig, MarginAccount],
    events: events::idl,
    errors: [
        qd_runtime::error::RuntimeError,
        qd_access::AccessError,
        qd_core_state::MarginError,
        error::CoreError,
    ],
}
