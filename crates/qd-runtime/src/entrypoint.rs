//! Program entrypoint: deserializes the loader's input buffer (SBPF v0 "aligned" layout) into
//! zero-copy account handles, calls the program and turns its error into the return code.

use crate::account_info::{AccountInfo, RawAccount, MAX_PERMITTED_DATA_INCREASE};
use crate::error::{ProgramError, ProgramResult, RuntimeError};
use crate::pubkey::Pubkey;

/// Accounts beyond this many are skipped (not visible to the program) and rejected.
pub const MAX_ACCOUNTS: usize = 64;
const NON_DUP_MARKER: u8 = 0xff;
const RENT_EPOCH_SIZE: usize = 8;

/// What the loader passed: the accounts (duplicates share one handle), instruction data and
/// the id of the program being run.
pub struct Input<'a> {
    pub program_id: &'a Pubkey,
    pub accounts: &'a [AccountInfo],
    pub data: &'a [u8],
}

/// Parses the input buffer into `slots`.
///
/// # Safety
/// `input` must be the buffer the loader passed to `entrypoint` (or one laid out the same way).
pub unsafe fn deserialize<'a>(input: *mut u8, slots: &'a mut [AccountInfo; MAX_ACCOUNTS]) -> Result<Input<'a>, ProgramError> {
    let count = (input as *const u64).read_unaligned() as usize;
    let mut cursor = input.add(8);
    for i in 0..count {
        let marker = *cursor;
        if marker == NON_DUP_MARKER {
            let raw = cursor as *mut RawAccount;
            let len = (*raw).data_len as usize;
            // Remember the length at entry: realloc may grow by at most 10 KiB over it.
            (*raw).original_data_len = len as u32;
            if i < MAX_ACCOUNTS {
                slots[i] = AccountInfo::from_raw(raw);
            }
            let after = core::mem::size_of::<RawAccount>() + len + MAX_PERMITTED_DATA_INCREASE;
            cursor = cursor.add(after);
            cursor = cursor.add(cursor.align_offset(8)).add(RENT_EPOCH_SIZE);
        } else {
            if i < MAX_ACCOUNTS {
                slots[i] = slots[marker as usize];
            }
            cursor = cursor.add(8);
        }
    }
    if count > MAX_ACCOUNTS {
        return Err(RuntimeError::TooManyAccounts.into());
    }
    let data_len = (cursor as *const u64).read_unaligned() as usize;
    let data = core::slice::from_raw_parts(cursor.add(8), data_len);
    let program_id = &*(cursor.add(8 + data_len) as *const Pubkey);
    Ok(Input { program_id, accounts: &slots[..count], data })
}

/// Runs `process` on the loader's input and encodes the result (0 = success, else the custom
/// error code, which the runtime reports as `Custom(code)`).
///
/// # Safety
/// As for `deserialize`.
pub unsafe fn run(input: *mut u8, process: fn(&Pubkey, &[AccountInfo], &[u8]) -> ProgramResult) -> u64 {
    let mut slots = [AccountInfo::EMPTY; MAX_ACCOUNTS];
    let result = match deserialize(input, &mut slots) {
        Ok(parsed) => process(parsed.program_id, parsed.accounts, parsed.data),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => 0,
        Err(ProgramError(code)) => code as u64,
    }
}

/// Declares the program's `entrypoint` symbol and panic handler (SBF only).
#[macro_export]
macro_rules! entrypoint {
    ($process:path) => {
        #[cfg(target_arch = "bpf")]
        #[no_mangle]
        pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
            $crate::entrypoint::run(input, $process)
        }

        // Inlined so LLVM sees the message is never read and drops core's formatting code
        // (Display impls, Arguments) from every panic path.
        #[cfg(target_arch = "bpf")]
        #[panic_handler]
        #[inline(always)]
        fn panic(_: &core::panic::PanicInfo) -> ! {
            $crate::log::log("program panicked");
            unsafe { $crate::syscalls::abort() }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an input buffer as the loader lays it out.
    fn serialize(accounts: &[(u8, bool, bool, [u8; 32], [u8; 32], u64, Vec<u8>)], data: &[u8], program: [u8; 32]) -> Vec<u64> {
        let mut b: Vec<u8> = Vec::new();
        b.extend_from_slice(&(accounts.len() as u64).to_le_bytes());
        for (dup, signer, writable, key, owner, lamports, body) in accounts {
            if *dup != NON_DUP_MARKER {
                b.push(*dup);
                b.extend_from_slice(&[0; 7]);
                continue;
            }
            b.extend_from_slice(&[NON_DUP_MARKER, *signer as u8, *writable as u8, 0, 0, 0, 0, 0]);
            b.extend_from_slice(key);
            b.extend_from_slice(owner);
            b.extend_from_slice(&lamports.to_le_bytes());
            b.extend_from_slice(&(body.len() as u64).to_le_bytes());
            b.extend_from_slice(body);
            b.extend(std::iter::repeat(0).take(MAX_PERMITTED_DATA_INCREASE));
            while b.len() % 8 != 0 {
                b.push(0);
            }
            b.extend_from_slice(&7u64.to_le_bytes()); // rent epoch
        }
        b.extend_from_slice(&(data.len() as u64).to_le_bytes());
        b.extend_from_slice(data);
        b.extend_from_slice(&program);
        // u64 storage gives the 8-byte alignment the loader guarantees.
        let mut words = vec![0u64; (b.len() + 7) / 8];
        unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), words.as_mut_ptr() as *mut u8, b.len()) };
        words
    }

    #[test]
    fn parses_accounts_duplicates_and_data() {
        let mut buf = serialize(
            &[
                (NON_DUP_MARKER, true, true, [1; 32], [9; 32], 500, vec![1, 2, 3]),
                (NON_DUP_MARKER, false, false, [2; 32], [9; 32], 7, vec![]),
                (0, false, false, [0; 32], [0; 32], 0, vec![]),
            ],
            &[0xaa, 0xbb],
            [5; 32],
        );
        let mut slots = [AccountInfo::EMPTY; MAX_ACCOUNTS];
        let input = unsafe { deserialize(buf.as_mut_ptr() as *mut u8, &mut slots) }.unwrap();
        assert_eq!(input.accounts.len(), 3);
        assert_eq!(input.data, &[0xaa, 0xbb]);
        assert_eq!(input.program_id, &[5; 32]);
        let a = &input.accounts[0];
        assert!(a.is_signer() && a.is_writable());
        assert_eq!((a.key(), a.owner(), a.lamports()), (&[1; 32], &[9; 32], 500));
        assert_eq!(a.data(), &[1, 2, 3]);
        assert_eq!(input.accounts[1].key(), &[2; 32]);
        assert!(input.accounts[1].data().is_empty());
        // The duplicate is the very same account.
        assert_eq!(input.accounts[2].key(), &[1; 32]);
        assert!(input.accounts[2].same_account(&input.accounts[0]));
    }

    #[test]
    fn resize_is_bounded_by_the_realloc_allowance() {
        let mut buf = serialize(&[(NON_DUP_MARKER, true, true, [1; 32], [9; 32], 1, vec![7; 16])], &[], [5; 32]);
        let mut slots = [AccountInfo::EMPTY; MAX_ACCOUNTS];
        let input = unsafe { deserialize(buf.as_mut_ptr() as *mut u8, &mut slots) }.unwrap();
        let a = input.accounts[0];
        a.resize(16 + MAX_PERMITTED_DATA_INCREASE).unwrap();
        assert_eq!(a.data().len(), 16 + MAX_PERMITTED_DATA_INCREASE);
        assert_eq!(a.resize(17 + MAX_PERMITTED_DATA_INCREASE), Err(RuntimeError::ReallocTooLarge.into()));
        a.resize(4).unwrap();
        a.resize(8).unwrap();
        // Growing again zeroes what a shrink left behind.
        assert_eq!(a.data(), &[7, 7, 7, 7, 0, 0, 0, 0]);
    }

    #[test]
    fn too_many_accounts_is_an_error() {
        let many: Vec<_> = (0..MAX_ACCOUNTS + 1).map(|i| (NON_DUP_MARKER, false, false, [i as u8; 32], [0; 32], 0, vec![])).collect();
        let mut buf = serialize(&many, &[], [5; 32]);
        let mut slots = [AccountInfo::EMPTY; MAX_ACCOUNTS];
        let r = unsafe { deserialize(buf.as_mut_ptr() as *mut u8, &mut slots) };
        assert_eq!(r.err(), Some(RuntimeError::TooManyAccounts.into()));
    }
}
