//! Host stand-ins for the SBF syscalls (same names and signatures), the way pinocchio stubs them
//! off-chain: `cargo test` and clippy compile every processor, and host tests run them. Logs,
//! events and return data are recorded per thread (read with `crate::host`), memory and SHA-256
//! behave as on chain, the clock is the per-thread host clock, and what only a validator can do
//! (PDA derivation, CPI, rent) reports failure.
#![allow(clippy::missing_safety_doc)]

use crate::host::{record, HostRecord, HOST};
use crate::syscalls::SolBytes;

unsafe fn bytes<'a>(addr: *const u8, len: u64) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        core::slice::from_raw_parts(addr, len as usize)
    }
}

unsafe fn slices<'a>(s: *const SolBytes, count: u64) -> Vec<&'a [u8]> {
    (0..count as usize).map(|i| bytes((*s.add(i)).addr, (*s.add(i)).len)).collect()
}

pub unsafe fn sol_log_(message: *const u8, len: u64) {
    record(HostRecord::Log(String::from_utf8_lossy(bytes(message, len)).into_owned()));
}

pub unsafe fn sol_log_64_(a: u64, b: u64, c: u64, d: u64, e: u64) {
    record(HostRecord::Log(format!("{a:#x}, {b:#x}, {c:#x}, {d:#x}, {e:#x}")));
}

pub unsafe fn sol_log_pubkey(key: *const u8) {
    record(HostRecord::Log(format!("{:?}", bytes(key, 32))));
}

pub unsafe fn sol_log_data(s: *const SolBytes, count: u64) {
    record(HostRecord::Data(slices(s, count).concat()));
}

pub unsafe fn sol_log_compute_units_() {}

pub unsafe fn sol_memcpy_(dst: *mut u8, src: *const u8, n: u64) {
    core::ptr::copy_nonoverlapping(src, dst, n as usize);
}

pub unsafe fn sol_memmove_(dst: *mut u8, src: *const u8, n: u64) {
    core::ptr::copy(src, dst, n as usize);
}

pub unsafe fn sol_memset_(dst: *mut u8, value: u8, n: u64) {
    core::ptr::write_bytes(dst, value, n as usize);
}

pub unsafe fn sol_memcmp_(a: *const u8, b: *const u8, n: u64, result: *mut i32) {
    let (x, y) = (bytes(a, n), bytes(b, n));
    *result = x.iter().zip(y).find(|(p, q)| p != q).map_or(0, |(p, q)| *p as i32 - *q as i32);
}

/// CPI needs the callee's runtime: refused on the host.
pub unsafe fn sol_invoke_signed_c(_: *const u8, _: *const u8, _: u64, _: *const u8, _: u64) -> u64 {
    1
}

/// PDA derivation needs the ed25519 curve check the validator does: refused on the host.
pub unsafe fn sol_create_program_address(_: *const SolBytes, _: u64, _: *const u8, _: *mut u8) -> u64 {
    1
}

pub unsafe fn sol_try_find_program_address(_: *const SolBytes, _: u64, _: *const u8, _: *mut u8, _: *mut u8) -> u64 {
    1
}

pub unsafe fn sol_get_clock_sysvar(out: *mut u8) -> u64 {
    let clock = HOST.with(|h| h.borrow().clock);
    core::ptr::write_unaligned(out as *mut crate::sysvar::Clock, clock);
    0
}

/// Rent needs the cluster's parameters: refused on the host.
pub unsafe fn sol_get_rent_sysvar(_: *mut u8) -> u64 {
    1
}

pub unsafe fn sol_set_return_data(data: *const u8, len: u64) {
    let data = bytes(data, len).to_vec();
    HOST.with(|h| h.borrow_mut().return_data = data);
}

pub unsafe fn sol_sha256(s: *const SolBytes, count: u64, out: *mut u8) -> u64 {
    let digest = crate::hash::sha256(&slices(s, count));
    core::ptr::copy_nonoverlapping(digest.as_ptr(), out, 32);
    0
}

pub unsafe fn abort() -> ! {
    panic!("program aborted")
}
