//! qd-collateral: collateral configs and vaults per mint, and each margin account's balances.
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `create_collateral(params, guards)`: ADMIN lists a mint (weights, caps, the liquidator's
//!   discount): CollateralConfig PDA
//!   [b"collateral", mint] and its vault, an SPL token account at PDA [b"vault", mint] owned by
//!   the program's [b"authority"] PDA. The venue's quote mint is priced at 1 and takes no oracle;
//!   any other mint names an oracle the reader supports (Pyth PriceUpdateV2 feeds are pinned).
//! - `set_collateral_params(params, status)`: RISK_MANAGER or ADMIN tunes weights and caps,
//!   and may close deposits (withdraw-only).
//! - `set_collateral_oracle(guards)`: ADMIN replaces the oracle and its guards.
//! - `open_balances()` / `close_balances()`: the margin account's owner opens its
//!   CollateralBalances PDA [b"balances", margin_account], and closes it once empty (qd-core
//!   closes a margin account only after that).
//! - `deposit(amount)`: the owner moves tokens into the vault; allowed while frozen, refused
//!   when the Deposit operation is paused or a cap would be passed.
//! - `withdraw(amount)`: the owner takes tokens out; refused when frozen, paused, in
//!   liquidation, or if initial health after it (collateral and perp positions) would be below 0
//!   with prices valid for margin.
//! - `transfer(amount)`: between two margin accounts of the same owner, as a withdrawal of the
//!   source (health-checked) and a deposit of the destination.
//! - `adjust_balance(delta)`: CPI only, signed by qd-core's or qd-trading's authority PDA (PnL,
//!   fees, liquidation); the config's protocol balance is the counterparty, and only a quote
//!   balance may go negative.
//! - `collect_fees(to_insurance, to_revenue)`: CPI only, signed by qd-core's authority PDA (the
//!   insurance fund's sweep): the fund's share leaves the vault and the protocol balance, the
//!   rest is counted as the protocol's `revenue`.
//! - `cover_from_insurance(amount)`: CPI only, signed by qd-core's authority PDA: tokens from the
//!   insurance fund's vault into the protocol balance (a bankrupt account's loss).
//! - `view_health(oracle_action)`: the health of a margin account (balances and positions), as
//!   return data.
//!
//! Perp positions: withdraw, transfer (its source) and view_health take the margin account's
//! qd-trading TradingAccount PDA [b"trading", margin_account] as a fixed account right after its
//! balances. Owned by qd-trading, it is checked by type and `margin_account` field; otherwise it
//! must be that canonical PDA (an account never opened or closed: no positions), so a client
//! cannot hide its positions by passing another account.
//!
//! Health accounts: withdraw, transfer and view_health take, after their fixed accounts, each
//! held collateral's config and (except the quote's) its oracle, in balance order; then for each
//! position of the trading account its PerpMarket and that market's oracle, in position order.
//! Layouts: crates/qd-collateral-state, crates/qd-trading-state.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod balances;
pub mod error;
pub mod events;
pub mod instruction;
pub mod processor;

pub use qd_ids::QD_COLLATERAL as ID;

use qd_collateral_state::{CollateralBalances, CollateralConfig};

qd_runtime::program! {
    name: "qd_collateral",
    docs: "QuantDesk collateral: per-mint configs and vaults, margin account balances, deposits, health-checked withdrawals and transfers, balance adjustments by CPI from qd-core and qd-trading, fee collection and insurance cover by CPI from qd-core.",
    id: ID,
    process: processor::process,
    instructions: instruction::CollateralInstruction,
    accounts: [CollateralConfig, CollateralBalances],
    events: events::idl,
    errors: [
        qd_runtime::error::RuntimeError,
        qd_oracle_reader::OracleError,
        error::CollateralError,
        qd_access::AccessError,
        qd_health::HealthError,
        qd_collateral_state::CollateralStateError,
        qd_core_state::MarginError,
        qd_core_state::CoreAuthorityError,
    ],
}

#[cfg(test)]
mod tests;
