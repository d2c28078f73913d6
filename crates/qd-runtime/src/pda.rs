//! Program-derived addresses. Bumps are checked to be canonical once, when an account is
//! created (`find`), and stored; later checks recreate the address from the stored bump
//! (`verify`), which costs a third of a search.

use crate::error::{ProgramError, ProgramResult, RuntimeError};
use crate::pubkey::Pubkey;
use crate::syscalls::{self, SolBytes};

pub const MAX_SEEDS: usize = 16;

fn seed_array(seeds: &[&[u8]], out: &mut [SolBytes; MAX_SEEDS]) -> Result<usize, ProgramError> {
    if seeds.len() > MAX_SEEDS {
        return Err(RuntimeError::TooManySeeds.into());
    }
    for (slot, seed) in out.iter_mut().zip(seeds) {
        *slot = SolBytes::new(seed);
    }
    Ok(seeds.len())
}

/// The canonical (highest valid) bump and its address.
pub fn find(seeds: &[&[u8]], program_id: &Pubkey) -> Result<(Pubkey, u8), ProgramError> {
    let mut array = [SolBytes { addr: core::ptr::null(), len: 0 }; MAX_SEEDS];
    let n = seed_array(seeds, &mut array)?;
    let mut address = [0u8; 32];
    let mut bump = 0u8;
    // SAFETY: descriptors point at live seeds; outputs are 32 bytes and 1 byte.
    let rc =
        unsafe { syscalls::sol_try_find_program_address(array.as_ptr(), n as u64, program_id.as_ptr(), address.as_mut_ptr(), &mut bump) };
    if rc != 0 {
        return Err(RuntimeError::WrongAddress.into());
    }
    Ok((address, bump))
}

/// The address for `seeds` (which include the bump), or an error if it is on the curve.
pub fn create(seeds: &[&[u8]], program_id: &Pubkey) -> Result<Pubkey, ProgramError> {
    let mut array = [SolBytes { addr: core::ptr::null(), len: 0 }; MAX_SEEDS];
    let n = seed_array(seeds, &mut array)?;
    let mut address = [0u8; 32];
    // SAFETY: as in `find`.
    let rc = unsafe { syscalls::sol_create_program_address(array.as_ptr(), n as u64, program_id.as_ptr(), address.as_mut_ptr()) };
    if rc != 0 {
        return Err(RuntimeError::WrongAddress.into());
    }
    Ok(address)
}

/// Checks that `key` is the canonical PDA of `seeds` and returns its bump (use at creation).
pub fn check_canonical(key: &Pubkey, seeds: &[&[u8]], program_id: &Pubkey) -> Result<u8, ProgramError> {
    let (address, bump) = find(seeds, program_id)?;
    if &address != key {
        return Err(RuntimeError::WrongAddress.into());
    }
    Ok(bump)
}

/// Checks that `key` is the PDA of `seeds` + `bump` (a bump stored at creation, so canonical).
pub fn verify(key: &Pubkey, seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> ProgramResult {
    let bump_seed = [bump];
    let mut all: [&[u8]; MAX_SEEDS] = [&[]; MAX_SEEDS];
    if seeds.len() + 1 > MAX_SEEDS {
        return Err(RuntimeError::TooManySeeds.into());
    }
    all[..seeds.len()].copy_from_slice(seeds);
    all[seeds.len()] = &bump_seed;
    if &create(&all[..=seeds.len()], program_id)? != key {
        return Err(RuntimeError::WrongAddress.into());
    }
    Ok(())
}
