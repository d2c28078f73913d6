//! qd-test-math: a program that exists only for tests. It evaluates the integer and memory
//! operations that tools/sbf/legalize.py rewrites (i128 multiply, variable i128 shifts, signed
//! division, multiply-with-overflow, runtime-length mem*), so tests/toolchain/test_legalize.py
//! can check every rewrite by execution against exact arithmetic.
//!
//! Instruction data: a count byte, then that many operations, each an op code (see
//! `processor`) followed by its little-endian operands. The results are concatenated into the
//! return data.
#![cfg_attr(target_arch = "bpf", no_std)]

use qd_runtime::pubkey::{pubkey, Pubkey};

/// Only ever deployed by tests; no keypair is kept.
pub const ID: Pubkey = pubkey("5BETverTFXPa1jiE5zNXjv8FWDMjxybzCzi3KWgWATT5");

mod processor;

qd_runtime::entrypoint!(processor::process);
