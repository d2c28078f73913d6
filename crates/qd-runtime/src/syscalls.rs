//! Raw Solana syscalls (SBPF v0 names; the loader resolves them by murmur3 hash). On the host
//! (`cargo test`, clippy) the same names are stubs (`host_syscalls`), so every processor compiles
//! and runs there: logs and return data are recorded, memory and hashing work, sysvars come from
//! a per-thread host clock, and what needs a real runtime (PDAs, CPI) fails with a nonzero code.

/// A (pointer, length) pair as the C syscall ABI expects for seeds and log slices.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SolBytes {
    pub addr: *const u8,
    pub len: u64,
}

impl SolBytes {
    pub fn new(bytes: &[u8]) -> Self {
        SolBytes { addr: bytes.as_ptr(), len: bytes.len() as u64 }
    }
}

#[cfg(target_arch = "bpf")]
extern "C" {
    pub fn sol_log_(message: *const u8, len: u64);
    pub fn sol_log_64_(a: u64, b: u64, c: u64, d: u64, e: u64);
    pub fn sol_log_pubkey(key: *const u8);
    pub fn sol_log_data(slices: *const SolBytes, count: u64);
    pub fn sol_log_compute_units_();
    pub fn sol_memcpy_(dst: *mut u8, src: *const u8, n: u64);
    pub fn sol_memmove_(dst: *mut u8, src: *const u8, n: u64);
    pub fn sol_memset_(dst: *mut u8, value: u8, n: u64);
    pub fn sol_memcmp_(a: *const u8, b: *const u8, n: u64, result: *mut i32);
    pub fn sol_invoke_signed_c(
        instruction: *const u8,
        account_infos: *const u8,
        account_infos_len: u64,
        signers_seeds: *const u8,
        signers_seeds_len: u64,
    ) -> u64;
    pub fn sol_create_program_address(seeds: *const SolBytes, seeds_len: u64, program_id: *const u8, address: *mut u8) -> u64;
    pub fn sol_try_find_program_address(
        seeds: *const SolBytes,
        seeds_len: u64,
        program_id: *const u8,
        address: *mut u8,
        bump: *mut u8,
    ) -> u64;
    pub fn sol_get_clock_sysvar(out: *mut u8) -> u64;
    pub fn sol_get_rent_sysvar(out: *mut u8) -> u64;
    pub fn sol_set_return_data(data: *const u8, len: u64);
    pub fn sol_sha256(slices: *const SolBytes, count: u64, out: *mut u8) -> u64;
    pub fn abort() -> !;
}

#[cfg(not(target_arch = "bpf"))]
pub use crate::host_syscalls::*;
