//! Zero-copy views of program-owned account data in Anchor's layout: an 8-byte discriminator
//! (sha256("account:<Name>")[..8]) followed by a fixed-size `#[repr(C)]` body.

use core::mem::{align_of, size_of};

/// Plain old data: every bit pattern is a valid value, no padding the compiler may use, no
/// pointers. Bodies keep alignment <= 8 (no u128 fields) because account data is 8-aligned.
///
/// # Safety
/// Implement only for `#[repr(C)]` structs of integers and byte arrays with explicit padding.
pub unsafe trait Pod: Copy + 'static {}

/// An all-zero `T` (a fresh account's body; tests build state from it).
pub fn zeroed<T: Pod>() -> T {
    // SAFETY: every bit pattern of a Pod type is a valid value.
    unsafe { core::mem::zeroed() }
}

/// An account type owned by one program, identified by its Anchor discriminator.
pub trait AccountType: Pod {
    const DISCRIMINATOR: [u8; 8];
    /// Total account size: discriminator plus body.
    const LEN: usize = 8 + size_of::<Self>();
}

/// Why account data could not be viewed as a given type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewError {
    /// Data is shorter or longer than the type's fixed size.
    WrongSize,
    /// The first 8 bytes are not the type's discriminator (type cosplay or uninitialized).
    WrongDiscriminator,
    /// Data pointer is not aligned for the body type.
    Misaligned,
}

fn check<T: AccountType>(data: &[u8]) -> Result<(), ViewError> {
    if data.len() != T::LEN {
        return Err(ViewError::WrongSize);
    }
    if data[..8] != T::DISCRIMINATOR {
        return Err(ViewError::WrongDiscriminator);
    }
    if !(data.as_ptr() as usize + 8).is_multiple_of(align_of::<T>()) {
        return Err(ViewError::Misaligned);
    }
    Ok(())
}

/// Views initialized account data as `T`.
pub fn view<T: AccountType>(data: &[u8]) -> Result<&T, ViewError> {
    check::<T>(data)?;
    // SAFETY: size, discriminator and alignment checked; T is Pod.
    Ok(unsafe { &*(data.as_ptr().add(8) as *const T) })
}

/// Views initialized account data as a mutable `T`.
pub fn view_mut<T: AccountType>(data: &mut [u8]) -> Result<&mut T, ViewError> {
    check::<T>(data)?;
    // SAFETY: as in `view`; the caller holds the only mutable borrow of the data.
    Ok(unsafe { &mut *(data.as_mut_ptr().add(8) as *mut T) })
}

/// Initializes freshly allocated, all-zero account data as `T`: writes the discriminator and
/// returns the body. Fails with `WrongDiscriminator` if the data is not all zero in the
/// discriminator (re-initialization of a live account).
pub fn init<T: AccountType>(data: &mut [u8]) -> Result<&mut T, ViewError> {
    if data.len() != T::LEN {
        return Err(ViewError::WrongSize);
    }
    if data[..8] != [0u8; 8] {
        return Err(ViewError::WrongDiscriminator);
    }
    if !(data.as_ptr() as usize + 8).is_multiple_of(align_of::<T>()) {
        return Err(ViewError::Misaligned);
    }
    data[..8].copy_from_slice(&T::DISCRIMINATOR);
    // SAFETY: size and alignment checked; T is Pod so the zeroed bytes are a valid value.
    Ok(unsafe { &mut *(data.as_mut_ptr().add(8) as *mut T) })
}
