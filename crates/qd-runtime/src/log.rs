//! Program logs, Anchor events and return data.

use crate::pubkey::Pubkey;
use crate::syscalls::{self, SolBytes};

pub fn log(message: &str) {
    // SAFETY: valid pointer and length of a live str.
    unsafe { syscalls::sol_log_(message.as_ptr(), message.len() as u64) }
}

/// Logs up to five numbers as one hex line (cheap diagnostics).
pub fn log_u64(a: u64, b: u64, c: u64, d: u64, e: u64) {
    // SAFETY: plain values.
    unsafe { syscalls::sol_log_64_(a, b, c, d, e) }
}

pub fn log_pubkey(key: &Pubkey) {
    // SAFETY: a 32-byte key.
    unsafe { syscalls::sol_log_pubkey(key.as_ptr()) }
}

pub fn log_compute_units() {
    // SAFETY: no arguments.
    unsafe { syscalls::sol_log_compute_units_() }
}

/// Emits an Anchor event: one `Program data:` log line holding the event discriminator
/// (sha256("event:<Name>")[..8]) followed by the borsh body, as anchor's `emit!` does, so
/// anchorpy's EventParser decodes it. `encoded` already starts with the discriminator.
pub fn emit(encoded: &[u8]) {
    let slice = SolBytes::new(encoded);
    // SAFETY: one valid slice descriptor.
    unsafe { syscalls::sol_log_data(&slice, 1) }
}

/// Sets the instruction's return data (read by callers via simulateTransaction or CPI).
pub fn set_return_data(data: &[u8]) {
    // SAFETY: valid pointer and length.
    unsafe { syscalls::sol_set_return_data(data.as_ptr(), data.len() as u64) }
}
