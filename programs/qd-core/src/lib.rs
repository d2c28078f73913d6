//! qd-core: the venue's GlobalConfig, its margin accounts (master wallet, sub-accounts) and the
//! insurance fund.
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
//! - `create_insurance_fund(unstake_delay_secs, fee_share_bps)`: the admin creates the quote
//!   mint's InsuranceFund PDA [b"insurance", mint] and its vault [b"insurance_vault", mint].
//! - `set_insurance_params(unstake_delay_secs, fee_share_bps)`: through qd-security's timelock.
//! - `stake(amount)`, `request_unstake(shares)`, `cancel_unstake()`, `unstake()`: anyone stakes
//!   the quote for shares (Stake PDA [b"stake", fund, staker]); a withdrawal is a request, then
//!   the unstake once the fund's delay has passed, paying the lower of the value then and now.
//! - `sweep_fees()`: permissionless crank: a market's liquidation fees and a share of its trading
//!   fees into the fund, the rest to the protocol's revenue (CPIs to qd-trading and qd-collateral,
//!   signed by the program's [b"authority"] PDA).
//!
//! Accounts (layouts in crates/qd-core-state): `GlobalConfig` (singleton, `qd_ids::CORE_GLOBAL`),
//! `MarginAccount`, `InsuranceFund`, `Stake`. An owner's accounts are the PDAs for sub ids
//! 0..max_sub_accounts, or getProgramAccounts with memcmp discriminator @0 and owner @16; a
//! staker's stakes, Stake's discriminator @0 and staker @48.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod error;
pub mod events;
pub mod instruction;
pub mod processor;
#[cfg(test)]
mod tests;

pub use qd_ids::QD_CORE as ID;

use qd_core_state::{GlobalConfig, InsuranceFund, MarginAccount, Stake};

qd_runtime::program! {
    name: "qd_core",
    docs: "QuantDesk core: GlobalConfig, margin accounts (sub-accounts, delegation, owner limits, compliance freeze) and the insurance fund (stakes, delayed unstakes, the fee sweep).",
    id: ID,
    process: processor::process,
    instructions: instruction::CoreInstruction,
    accounts: [GlobalConfig, MarginAccount, InsuranceFund, Stake],
    events: events::idl,
    errors: [
        qd_runtime::error::RuntimeError,
        qd_oracle_reader::OracleError,
        qd_access::AccessError,
        qd_health::HealthError,
        qd_collateral_state::CollateralStateError,
        qd_core_state::MarginError,
        error::CoreError,
    ],
}
