//! Running a program on the host: the loader's input buffer built from accounts, the entrypoint
//! run on it, and what the program logged. Host tests of processors use this; the syscall stubs
//! (`host_syscalls`) write into the per-thread record kept here.

use crate::account_info::MAX_PERMITTED_DATA_INCREASE;
use crate::pubkey::Pubkey;
use crate::sysvar::Clock;
use std::cell::RefCell;

/// One thing a program wrote through a syscall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostRecord {
    Log(String),
    Data(Vec<u8>),
}

#[derive(Default)]
pub(crate) struct HostState {
    pub(crate) clock: Clock,
    pub(crate) records: Vec<HostRecord>,
    pub(crate) return_data: Vec<u8>,
}

thread_local! {
    pub(crate) static HOST: RefCell<HostState> = RefCell::new(HostState::default());
}

pub(crate) fn record(r: HostRecord) {
    HOST.with(|h| h.borrow_mut().records.push(r));
}

/// Sets the clock `Clock::get` returns on this thread.
pub fn set_clock(slot: u64, unix_timestamp: i64) {
    HOST.with(|h| h.borrow_mut().clock = Clock { slot, unix_timestamp, ..Clock::default() });
}

/// Takes what the program logged (messages and event data) since the last call.
pub fn take_records() -> Vec<HostRecord> {
    HOST.with(|h| core::mem::take(&mut h.borrow_mut().records))
}

/// The messages among `take_records()`.
pub fn take_logs() -> Vec<String> {
    take_records()
        .into_iter()
        .filter_map(|r| match r {
            HostRecord::Log(m) => Some(m),
            HostRecord::Data(_) => None,
        })
        .collect()
}

/// An account as the loader passes it.
#[derive(Clone, Debug)]
pub struct HostAccount {
    pub key: Pubkey,
    pub owner: Pubkey,
    pub lamports: u64,
    pub data: Vec<u8>,
    pub is_signer: bool,
    pub is_writable: bool,
}

impl HostAccount {
    pub fn new(key: Pubkey, owner: Pubkey, data: Vec<u8>) -> Self {
        HostAccount { key, owner, lamports: 1_000_000_000, data, is_signer: false, is_writable: false }
    }
    pub fn signer(mut self) -> Self {
        self.is_signer = true;
        self
    }
    pub fn writable(mut self) -> Self {
        self.is_writable = true;
        self
    }
}

const NON_DUP_MARKER: u8 = 0xff;

/// The loader's input buffer (SBPF v0 aligned layout) for `accounts`, `data` and `program_id`;
/// an account whose key appeared earlier is passed as a duplicate of the first, as the loader does.
pub fn serialize(accounts: &[HostAccount], data: &[u8], program_id: &Pubkey) -> Vec<u64> {
    let mut b: Vec<u8> = Vec::new();
    b.extend_from_slice(&(accounts.len() as u64).to_le_bytes());
    for (i, a) in accounts.iter().enumerate() {
        if let Some(first) = accounts[..i].iter().position(|p| p.key == a.key) {
            b.push(first as u8);
            b.extend_from_slice(&[0; 7]);
            continue;
        }
        b.extend_from_slice(&[NON_DUP_MARKER, a.is_signer as u8, a.is_writable as u8, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&a.key);
        b.extend_from_slice(&a.owner);
        b.extend_from_slice(&a.lamports.to_le_bytes());
        b.extend_from_slice(&(a.data.len() as u64).to_le_bytes());
        b.extend_from_slice(&a.data);
        b.extend(std::iter::repeat_n(0, MAX_PERMITTED_DATA_INCREASE));
        while !b.len().is_multiple_of(8) {
            b.push(0);
        }
        b.extend_from_slice(&0u64.to_le_bytes()); // rent epoch
    }
    b.extend_from_slice(&(data.len() as u64).to_le_bytes());
    b.extend_from_slice(data);
    b.extend_from_slice(program_id);
    // u64 storage gives the 8-byte alignment the loader guarantees.
    let mut words = vec![0u64; b.len().div_ceil(8)];
    // SAFETY: `words` holds at least b.len() bytes.
    unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), words.as_mut_ptr() as *mut u8, b.len()) };
    words
}

/// Runs `entrypoint` (a program's generated entrypoint) on `accounts` and `data`: its return
/// code (0 on success, else the custom error code) and its logs.
pub fn run(entrypoint: unsafe fn(*mut u8) -> u64, program_id: &Pubkey, accounts: &[HostAccount], data: &[u8]) -> (u64, Vec<String>) {
    take_records();
    let mut buf = serialize(accounts, data, program_id);
    // SAFETY: `buf` is laid out as the loader lays out program input.
    let code = unsafe { entrypoint(buf.as_mut_ptr() as *mut u8) };
    (code, take_logs())
}
