//! SPL Token CPI (classic Token program; the instruction layouts are shared by Token-2022 for
//! these calls, so `program` may be either id).

use crate::account_info::AccountInfo;
use crate::borsh::Writer;
use crate::cpi::{invoke_signed, AccountMeta};
use crate::error::{ProgramError, ProgramResult, RuntimeError};
use crate::pubkey::{pubkey, Pubkey};

pub const ID: Pubkey = pubkey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const ID_2022: Pubkey = pubkey("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
/// Size of a classic token account.
pub const ACCOUNT_LEN: usize = 165;
/// Size of a classic mint.
pub const MINT_LEN: usize = 82;

const TRANSFER: u8 = 3;
const MINT_TO: u8 = 7;
const TRANSFER_CHECKED: u8 = 12;
const INITIALIZE_ACCOUNT3: u8 = 18;

fn check_program(program: &AccountInfo) -> Result<&Pubkey, ProgramError> {
    let id = program.key();
    if id != &ID && id != &ID_2022 {
        return Err(RuntimeError::WrongProgram.into());
    }
    Ok(id)
}

pub fn transfer(program: &AccountInfo, from: &AccountInfo, to: &AccountInfo, authority: &AccountInfo, amount: u64, signers: &[&[&[u8]]]) -> ProgramResult {
    let id = check_program(program)?;
    let mut w = Writer::<9>::new();
    w.u8(TRANSFER).u64(amount);
    let metas = [AccountMeta::writable(from.key(), false), AccountMeta::writable(to.key(), false), AccountMeta::readonly(authority.key(), true)];
    invoke_signed(id, &metas, &[from, to, authority], w.finish()?, signers)
}

#[allow(clippy::too_many_arguments)]
pub fn transfer_checked(
    program: &AccountInfo,
    from: &AccountInfo,
    mint: &AccountInfo,
    to: &AccountInfo,
    authority: &AccountInfo,
    amount_and_decimals: (u64, u8),
    signers: &[&[&[u8]]],
) -> ProgramResult {
    let id = check_program(program)?;
    let mut w = Writer::<10>::new();
    w.u8(TRANSFER_CHECKED).u64(amount_and_decimals.0).u8(amount_and_decimals.1);
    let metas = [
        AccountMeta::writable(from.key(), false),
        AccountMeta::readonly(mint.key(), false),
        AccountMeta::writable(to.key(), false),
        AccountMeta::readonly(authority.key(), true),
    ];
    invoke_signed(id, &metas, &[from, mint, to, authority], w.finish()?, signers)
}

pub fn mint_to(program: &AccountInfo, mint: &AccountInfo, to: &AccountInfo, authority: &AccountInfo, amount: u64, signers: &[&[&[u8]]]) -> ProgramResult {
    let id = check_program(program)?;
    let mut w = Writer::<9>::new();
    w.u8(MINT_TO).u64(amount);
    let metas = [AccountMeta::writable(mint.key(), false), AccountMeta::writable(to.key(), false), AccountMeta::readonly(authority.key(), true)];
    invoke_signed(id, &metas, &[mint, to, authority], w.finish()?, signers)
}

/// Initializes an already allocated (owner = token program) account for `mint` and `owner`.
pub fn initialize_account3(program: &AccountInfo, account: &AccountInfo, mint: &AccountInfo, owner: &Pubkey) -> ProgramResult {
    let id = check_program(program)?;
    let mut w = Writer::<33>::new();
    w.u8(INITIALIZE_ACCOUNT3).pubkey(owner);
    let metas = [AccountMeta::writable(account.key(), false), AccountMeta::readonly(mint.key(), false)];
    invoke_signed(id, &metas, &[account, mint], w.finish()?, &[])
}

/// Token amount of a token account (bytes 64..72 of the classic layout), after checking it is
/// owned by a token program.
pub fn amount(account: &AccountInfo) -> Result<u64, ProgramError> {
    if account.owner() != &ID && account.owner() != &ID_2022 {
        return Err(RuntimeError::WrongOwner.into());
    }
    let bytes = account.data().get(64..72).ok_or(RuntimeError::WrongAccountSize)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(bytes);
    Ok(u64::from_le_bytes(a))
}
