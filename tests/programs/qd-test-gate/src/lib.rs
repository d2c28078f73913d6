//! qd-test-gate: a program that exists only for tests. It consumes crates/qd-access exactly as
//! the order-executing program (qd-trading) will: read the SecurityConfig and the MarginAccount,
//! authorize the signer (owner, delegate or session key), then take a token from the account's
//! rate-limit bucket, which lives in this program's own per-account state (`Throttle`) so the
//! update needs no CPI.
//!
//! Instruction `order_action(action: u8, market: u16, notional: u64)`: accounts signer (signer),
//! security config, margin account, throttle (writable, owned by this program, bound to the margin
//! account); a Session as first remaining account when the signer is a session key. Returns
//! [actor, tokens_milli after (u64 LE)].
#![cfg_attr(target_arch = "bpf", no_std)]

use qd_access::TokenBucket;
use qd_runtime::account::{AccountType, Pod};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::{pubkey, Pubkey};

/// Only ever deployed by tests; no keypair is kept.
pub const ID: Pubkey = pubkey("CcAgZmTEsBcZrwf54EYqns8QrTcd2qmWgLkD8dUh1f9T");

/// Per-margin-account state of an order-executing program: here only the bucket.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Throttle {
    pub margin_account: Pubkey,
    pub bucket: TokenBucket,
}

// SAFETY: repr(C): a 32-byte key and two u64, no padding.
unsafe impl Pod for Throttle {}
impl AccountType for Throttle {
    const DISCRIMINATOR: [u8; 8] = discriminator("account", "Throttle");
}

mod processor;

qd_runtime::entrypoint!(processor::process);
