//! System program CPI: account creation (of a program's PDA accounts too) and SOL transfers.

use crate::account::{init, AccountType};
use crate::account_info::AccountInfo;
use crate::borsh::Writer;
use crate::cpi::{invoke_signed, AccountMeta};
use crate::error::{ProgramError, ProgramResult, RuntimeError};
use crate::pda;
use crate::pubkey::Pubkey;
use crate::sysvar;

pub const ID: Pubkey = [0; 32];

const CREATE_ACCOUNT: u32 = 0;
const ASSIGN: u32 = 1;
const TRANSFER: u32 = 2;
const ALLOCATE: u32 = 8;

pub fn transfer(from: &AccountInfo, to: &AccountInfo, lamports: u64, signers: &[&[&[u8]]]) -> ProgramResult {
    let mut w = Writer::<12>::new();
    w.u32(TRANSFER).u64(lamports);
    invoke_signed(
        &ID,
        &[AccountMeta::writable(from.key(), true), AccountMeta::writable(to.key(), false)],
        &[from, to],
        w.finish()?,
        signers,
    )
}

/// Creates `new` with `space` bytes owned by `owner`, rent-exempt, paid by `payer`. `signers`
/// holds the new account's PDA seeds when it is a PDA. An address someone pre-funded (to block
/// creation) is topped up, allocated and assigned instead, which the System program allows.
pub fn create_account(payer: &AccountInfo, new: &AccountInfo, space: usize, owner: &Pubkey, signers: &[&[&[u8]]]) -> ProgramResult {
    if new.data_len() != 0 || new.owner() != &ID {
        return Err(RuntimeError::AlreadyInitialized.into());
    }
    let rent = sysvar::minimum_balance(space)?;
    let metas = [AccountMeta::writable(payer.key(), true), AccountMeta::writable(new.key(), true)];
    if new.lamports() == 0 {
        let mut w = Writer::<52>::new();
        w.u32(CREATE_ACCOUNT).u64(rent).u64(space as u64).pubkey(owner);
        return invoke_signed(&ID, &metas, &[payer, new], w.finish()?, signers);
    }
    let shortfall = rent.saturating_sub(new.lamports());
    if shortfall > 0 {
        transfer(payer, new, shortfall, &[])?;
    }
    let new_meta = [AccountMeta::writable(new.key(), true)];
    let mut w = Writer::<12>::new();
    w.u32(ALLOCATE).u64(space as u64);
    invoke_signed(&ID, &new_meta, &[new], w.finish()?, signers)?;
    let mut w = Writer::<36>::new();
    w.u32(ASSIGN).pubkey(owner);
    invoke_signed(&ID, &new_meta, &[new], w.finish()?, signers)
}

/// Creates `program_id`'s account of type `T` at `info`, the canonical PDA of `seeds` (one account
/// per seeds, whatever bump a client tries), `payer` paying the rent; an existing account is
/// `AlreadyInitialized`. Returns its zeroed body (discriminator written) and the bump.
pub fn create_pda<'a, T: AccountType>(
    payer: &AccountInfo,
    info: &'a AccountInfo,
    seeds: &[&[u8]],
    program_id: &Pubkey,
) -> Result<(&'a mut T, u8), ProgramError> {
    let bump = pda::check_canonical(info.key(), seeds, program_id)?;
    let bump_seed = [bump];
    let mut signer: [&[u8]; pda::MAX_SEEDS] = [&[]; pda::MAX_SEEDS];
    if seeds.len() >= pda::MAX_SEEDS {
        return Err(RuntimeError::TooManySeeds.into());
    }
    signer[..seeds.len()].copy_from_slice(seeds);
    signer[seeds.len()] = &bump_seed;
    create_account(payer, info, T::LEN, program_id, &[&signer[..=seeds.len()]])?;
    Ok((init::<T>(info.data_mut())?, bump))
}
