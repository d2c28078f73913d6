//! qd-test-health: a program that exists only for tests. It runs the health engine
//! (crates/qd-health) on SBF over a portfolio passed in the instruction data, so
//! tests/test_health.py can compare every output with clients/health.py and
//! quantdesk/bench/health.py can measure what n collateral entries and m perps cost.
//!
//! Instruction `evaluate` (Anchor discriminator, no accounts), little-endian arguments:
//! `u8 n`, n x CollateralInput (balance i64, decimals u8, price i64, init_weight_bps u16,
//! maint_weight_bps u16), `u8 m`, m x PerpInput (base, quote, funding_snapshot,
//! cumulative_funding, bids_base, bids_quote, asks_base, asks_quote, price: i64; then the market:
//! init_margin_bps u16, maint_margin_bps u16, size_margin_factor u64, upnl_init_weight_bps u16,
//! upnl_maint_weight_bps u16), `u8 flags` (bit 0: also compute each perp's liquidation price).
//! At most 8 + 8 entries.
//!
//! Return data: `u8 1`, then init_health, maint_health, free_collateral (i128 each),
//! health_factor_bps, margin_ratio_bps (u8 tag + i128 each), the sums assets_init,
//! liabilities_init, assets_maint, liabilities_maint, equity, notional, worst_notional (i128 each), `u8 k` and
//! k x (u8 tag + i64) liquidation prices (k = m with flag bit 0, else 0). A
//! `HealthError` is not a failed instruction but return data `u8 0` + its u32 code, so one
//! transaction answers every portfolio.
#![cfg_attr(target_arch = "bpf", no_std)]

use qd_runtime::pubkey::{pubkey, Pubkey};

/// Only ever deployed by tests; no keypair is kept.
pub const ID: Pubkey = pubkey("Hk3ZMZFdMbegCMcWaLtEtiTz1ZwH4FNvdirHRd9c6EAE");

mod processor;

qd_runtime::entrypoint!(processor::process);
