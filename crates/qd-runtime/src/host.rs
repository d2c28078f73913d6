//! Running a program on the host: the loader's input buffer built from accounts, the entrypoint
//! run on it, and what came of it (`HostRun`: code, logs, events, return data, the accounts
//! afterwards). Host tests of processors use this; the syscall stubs (`host_syscalls`) write into
//! the per-thread record kept here.

use crate::account::AccountType;
use crate::account_info::{RawAccount, MAX_PERMITTED_DATA_INCREASE};
use crate::pubkey::Pubkey;
use crate::sysvar::Clock;
use core::mem::size_of;
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

    /// The data's `T` body (a copy). Panics unless the data is `T::LEN` bytes and starts with
    /// `T`'s discriminator.
    pub fn body<T: AccountType>(&self) -> T {
        let name = core::any::type_name::<T>();
        assert_eq!(self.data.len(), T::LEN, "not the size of a {name}");
        assert_eq!(self.data[..8], T::DISCRIMINATOR, "not a {name}");
        // SAFETY: size_of::<T>() bytes follow the discriminator; a Pod body takes any bytes.
        unsafe { core::ptr::read_unaligned(self.data[8..].as_ptr() as *const T) }
    }
}

const NON_DUP_MARKER: u8 = 0xff;

/// Account data holding `body`: `T`'s discriminator, then the body's bytes.
pub fn account_data<T: AccountType>(body: &T) -> Vec<u8> {
    // SAFETY: a Pod body is plain bytes without implicit padding.
    let bytes = unsafe { core::slice::from_raw_parts(body as *const T as *const u8, size_of::<T>()) };
    [&T::DISCRIMINATOR[..], bytes].concat()
}

/// The loader's input buffer (SBPF v0 aligned layout) for `accounts`, `data` and `program_id`;
/// an account whose key appeared earlier is passed as a duplicate of the first, as the loader does.
pub fn serialize(accounts: &[HostAccount], data: &[u8], program_id: &Pubkey) -> Vec<u64> {
    layout(accounts, data, program_id).0
}

/// `serialize`'s buffer and the byte offset of each account's entry in it.
fn layout(accounts: &[HostAccount], data: &[u8], program_id: &Pubkey) -> (Vec<u64>, Vec<usize>) {
    let mut b: Vec<u8> = Vec::new();
    let mut offsets = Vec::with_capacity(accounts.len());
    b.extend_from_slice(&(accounts.len() as u64).to_le_bytes());
    for (i, a) in accounts.iter().enumerate() {
        offsets.push(b.len());
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
    (words, offsets)
}

/// The accounts in a buffer `layout` made, as they are now: the entries at `offsets`, each
/// non-duplicate's header and data (at its current length), each duplicate its first's state.
/// The entries are found by the offsets of entry (as the loader does), not by walking the
/// current lengths, which a resize changes.
fn read_back(buf: &[u64], offsets: &[usize]) -> Vec<HostAccount> {
    // SAFETY: the words are initialized; any byte pattern is a valid u8.
    let bytes = unsafe { core::slice::from_raw_parts(buf.as_ptr() as *const u8, buf.len() * 8) };
    let mut accounts: Vec<HostAccount> = Vec::with_capacity(offsets.len());
    for &at in offsets {
        let marker = bytes[at];
        if marker != NON_DUP_MARKER {
            accounts.push(accounts[marker as usize].clone());
            continue;
        }
        let header = &bytes[at..at + size_of::<RawAccount>()];
        // SAFETY: a whole header in bounds, 8-aligned (u64 storage, entries at multiples of 8),
        // and RawAccount is plain integers and byte arrays.
        let raw = unsafe { &*(header.as_ptr() as *const RawAccount) };
        let data = &bytes[at + header.len()..][..raw.data_len as usize];
        accounts.push(HostAccount {
            key: raw.key,
            owner: raw.owner,
            lamports: raw.lamports,
            data: data.to_vec(),
            is_signer: raw.is_signer != 0,
            is_writable: raw.is_writable != 0,
        });
    }
    accounts
}

/// A program's entrypoint, as `entrypoint!` (and so `program!`) declares it.
pub type Entrypoint = unsafe extern "C" fn(*mut u8) -> u64;

/// What one `run` did.
#[derive(Clone, Debug)]
pub struct HostRun {
    /// 0 on success, else the custom error code.
    pub code: u64,
    /// The messages logged, in order (a failure's AnchorError line included).
    pub logs: Vec<String>,
    /// The `sol_log_data` records (events), in order, each discriminator first.
    pub events: Vec<Vec<u8>>,
    /// What the program last set with `sol_set_return_data` in this run (empty: nothing).
    pub return_data: Vec<u8>,
    /// Every input account as the program left it, in input order: key, owner, lamports, data
    /// at its length after any resize, flags. A duplicate is its first occurrence's state. After
    /// a failure too: what a failing program wrote is here, where the runtime would discard it.
    pub accounts: Vec<HostAccount>,
}

/// Runs `entrypoint` (a program's generated entrypoint) as program `program_id` on `accounts`
/// and `data`, at the clock `set_clock` set: its code, logs, events, return data and the
/// accounts afterwards. Records and return data of earlier runs are cleared first.
pub fn run(entrypoint: Entrypoint, program_id: &Pubkey, accounts: &[HostAccount], data: &[u8]) -> HostRun {
    HOST.with(|h| {
        let mut h = h.borrow_mut();
        h.records.clear();
        h.return_data.clear();
    });
    let (mut buf, offsets) = layout(accounts, data, program_id);
    // SAFETY: `buf` is laid out as the loader lays out program input.
    let code = unsafe { entrypoint(buf.as_mut_ptr() as *mut u8) };
    let (records, return_data) = HOST.with(|h| {
        let mut h = h.borrow_mut();
        (core::mem::take(&mut h.records), core::mem::take(&mut h.return_data))
    });
    let (mut logs, mut events) = (Vec::new(), Vec::new());
    for r in records {
        match r {
            HostRecord::Log(m) => logs.push(m),
            HostRecord::Data(d) => events.push(d),
        }
    }
    HostRun { code, logs, events, return_data, accounts: read_back(&buf, &offsets) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account_info::AccountInfo;
    use crate::error::ProgramResult;

    /// Data [0]: shrinks the first account to 2 bytes, grows the second by 20, moves 5 lamports
    /// from the first to the second, logs, emits and sets return data. Any other: nothing.
    fn process(_: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        if data != [0] {
            return Ok(());
        }
        accounts[0].resize(2)?;
        accounts[1].resize(accounts[1].data_len() + 20)?;
        accounts[1].data_mut()[0] = 9;
        accounts[0].transfer_lamports(&accounts[1], 5)?;
        crate::log::log("ran");
        crate::log::emit(&[1, 2, 3]);
        crate::log::set_return_data(&[4, 5]);
        Ok(())
    }

    crate::entrypoint!(process);

    #[test]
    fn a_run_returns_what_the_program_left() {
        let first = HostAccount::new([1; 32], [9; 32], vec![7; 16]).writable().signer();
        let second = HostAccount::new([2; 32], [9; 32], vec![3]).writable();
        let third = HostAccount::new([3; 32], [8; 32], vec![6; 5]);
        let accounts = [first.clone(), second, first, third.clone()];
        let ran = run(entrypoint, &[5; 32], &accounts, &[0]);
        assert_eq!(ran.code, 0);
        assert_eq!(ran.logs, ["ran"]);
        assert_eq!(ran.events, [vec![1, 2, 3]]);
        assert_eq!(ran.return_data, [4, 5]);
        let [a, b, dup, c] = &ran.accounts[..] else { panic!("{:?}", ran.accounts) };
        assert_eq!(
            (a.key, a.owner, a.lamports, &a.data[..], a.is_signer, a.is_writable),
            ([1; 32], [9; 32], 999_999_995, &[7, 7][..], true, true)
        );
        assert_eq!((b.lamports, b.data.len(), b.data[0], b.data[1..].iter().all(|&x| x == 0)), (1_000_000_005, 21, 9, true));
        // The duplicate is its first occurrence; the account after a resized one is found.
        assert_eq!((dup.key, dup.lamports, &dup.data), (a.key, a.lamports, &a.data));
        assert_eq!((c.key, c.owner, &c.data, c.is_signer, c.is_writable), (third.key, third.owner, &third.data, false, false));

        // The next run starts clean: no return data, logs or events of the last.
        let quiet = run(entrypoint, &[5; 32], &accounts, &[1]);
        assert_eq!((quiet.code, quiet.logs.len(), quiet.events.len(), quiet.return_data.len()), (0, 0, 0, 0));
        assert_eq!(quiet.accounts[0].data, accounts[0].data);
    }

    #[test]
    fn body_checks_the_discriminator_and_size() {
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[repr(C)]
        struct Thing {
            n: u64,
        }
        // SAFETY: one integer field.
        unsafe impl crate::account::Pod for Thing {}
        impl AccountType for Thing {
            const DISCRIMINATOR: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
        }
        let account = HostAccount::new([1; 32], [2; 32], account_data(&Thing { n: 42 }));
        assert_eq!(account.data.len(), Thing::LEN);
        assert_eq!(account.body::<Thing>(), Thing { n: 42 });
        let mut other = account.clone();
        other.data[0] = 0;
        assert!(std::panic::catch_unwind(|| other.body::<Thing>()).is_err());
        let short = HostAccount { data: account.data[..12].to_vec(), ..account };
        assert!(std::panic::catch_unwind(|| short.body::<Thing>()).is_err());
    }
}
