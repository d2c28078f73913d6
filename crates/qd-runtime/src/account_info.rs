//! Zero-copy handles to the accounts in the loader's input buffer. A handle is a pointer to
//! the serialized account header; reads and writes go straight to the buffer the runtime
//! copies back, so nothing is deserialized or serialized twice.

use crate::account::{view, view_mut, AccountType};
use crate::error::{ProgramError, ProgramResult, RuntimeError};
use crate::pubkey::Pubkey;

/// Realloc allowance per instruction above an account's size at entry.
pub const MAX_PERMITTED_DATA_INCREASE: usize = 10 * 1024;

/// The serialized account header; the data follows it.
#[repr(C)]
pub(crate) struct RawAccount {
    pub dup_marker: u8,
    pub is_signer: u8,
    pub is_writable: u8,
    pub executable: u8,
    /// Loader padding, used to remember the data length at entry (bounds realloc).
    pub original_data_len: u32,
    pub key: Pubkey,
    pub owner: Pubkey,
    pub lamports: u64,
    pub data_len: u64,
}

/// A handle to one account. Duplicated account metas share one handle, so `same_account`
/// detects aliasing.
#[derive(Clone, Copy)]
pub struct AccountInfo {
    raw: *mut RawAccount,
}

impl AccountInfo {
    pub(crate) const EMPTY: AccountInfo = AccountInfo { raw: core::ptr::null_mut() };

    pub(crate) fn from_raw(raw: *mut RawAccount) -> Self {
        AccountInfo { raw }
    }

    fn raw(&self) -> &RawAccount {
        // SAFETY: handles are only made by `deserialize` from the live input buffer.
        unsafe { &*self.raw }
    }

    pub fn key(&self) -> &Pubkey {
        &self.raw().key
    }
    pub fn owner(&self) -> &Pubkey {
        &self.raw().owner
    }
    pub fn is_signer(&self) -> bool {
        self.raw().is_signer != 0
    }
    pub fn is_writable(&self) -> bool {
        self.raw().is_writable != 0
    }
    pub fn executable(&self) -> bool {
        self.raw().executable != 0
    }
    pub fn lamports(&self) -> u64 {
        self.raw().lamports
    }
    pub fn data_len(&self) -> usize {
        self.raw().data_len as usize
    }
    /// True when both handles are the same serialized account (a duplicated meta).
    pub fn same_account(&self, other: &AccountInfo) -> bool {
        self.raw == other.raw
    }

    pub fn data(&self) -> &[u8] {
        // SAFETY: the data follows the header and is data_len bytes long.
        unsafe { core::slice::from_raw_parts((self.raw as *const u8).add(core::mem::size_of::<RawAccount>()), self.data_len()) }
    }

    /// Mutable data. Callers reject duplicate writable accounts first (see `validate`), so no
    /// two live mutable views of one account exist.
    #[allow(clippy::mut_from_ref)]
    pub fn data_mut(&self) -> &mut [u8] {
        // SAFETY: as in `data`; uniqueness is the caller's validated precondition.
        unsafe { core::slice::from_raw_parts_mut((self.raw as *mut u8).add(core::mem::size_of::<RawAccount>()), self.data_len()) }
    }

    /// For CPI account infos (SBF only).
    pub(crate) fn lamports_ptr(&self) -> *mut u64 {
        // SAFETY: field of the live header.
        unsafe { &mut (*self.raw).lamports as *mut u64 }
    }
    pub(crate) fn data_ptr(&self) -> *mut u8 {
        // SAFETY: the data follows the header.
        unsafe { (self.raw as *mut u8).add(core::mem::size_of::<RawAccount>()) }
    }

    pub fn set_lamports(&self, lamports: u64) {
        // SAFETY: header of a live account; the runtime checks lamport conservation.
        unsafe { (*self.raw).lamports = lamports }
    }

    /// Moves lamports to `to` (both owned by this program or `to` any writable account), checked.
    pub fn transfer_lamports(&self, to: &AccountInfo, amount: u64) -> ProgramResult {
        let from_balance = self.lamports().checked_sub(amount).ok_or(RuntimeError::InsufficientLamports)?;
        let to_balance = to.lamports().checked_add(amount).ok_or(RuntimeError::ArithmeticOverflow)?;
        self.set_lamports(from_balance);
        to.set_lamports(to_balance);
        Ok(())
    }

    /// Changes the data length within the realloc allowance; new bytes are zero.
    pub fn resize(&self, new_len: usize) -> ProgramResult {
        let original = self.raw().original_data_len as usize;
        if new_len > original + MAX_PERMITTED_DATA_INCREASE {
            return Err(RuntimeError::ReallocTooLarge.into());
        }
        let old_len = self.data_len();
        // SAFETY: the serialized buffer reserves original + MAX_PERMITTED_DATA_INCREASE bytes.
        unsafe {
            if new_len > old_len {
                core::ptr::write_bytes(self.data_ptr().add(old_len), 0, new_len - old_len);
            }
            (*self.raw).data_len = new_len as u64;
        }
        Ok(())
    }

    /// Typed read-only view after checking the owner (the discriminator and size are checked
    /// by `view`).
    pub fn load<T: AccountType>(&self, owner: &Pubkey) -> Result<&T, ProgramError> {
        if self.owner() != owner {
            return Err(RuntimeError::WrongOwner.into());
        }
        Ok(view::<T>(self.data())?)
    }

    /// Typed mutable view: owner, writable, size and discriminator checked.
    #[allow(clippy::mut_from_ref)]
    pub fn load_mut<T: AccountType>(&self, owner: &Pubkey) -> Result<&mut T, ProgramError> {
        if self.owner() != owner {
            return Err(RuntimeError::WrongOwner.into());
        }
        if !self.is_writable() {
            return Err(RuntimeError::NotWritable.into());
        }
        Ok(view_mut::<T>(self.data_mut())?)
    }

    /// Closes a program-owned account: lamports to `destination`, data zeroed, length 0 and
    /// the System program as owner, so it cannot be revived as a live account of this program
    /// within the transaction (the account-closing attack).
    pub fn close(&self, destination: &AccountInfo) -> ProgramResult {
        if self.same_account(destination) {
            return Err(RuntimeError::DuplicateAccount.into());
        }
        self.transfer_lamports(destination, self.lamports())?;
        self.data_mut().fill(0);
        self.resize(0)?;
        // SAFETY: header of a live account; the runtime allows the owner to reassign an
        // account whose data is all zero.
        unsafe { (*self.raw).owner = [0; 32] };
        Ok(())
    }
}
