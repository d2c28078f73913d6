//! The account checks every instruction makes, each returning its named error.

use crate::account_info::AccountInfo;
use crate::error::{ProgramResult, RuntimeError};
use crate::pubkey::Pubkey;

pub fn signer(account: &AccountInfo) -> ProgramResult {
    if account.is_signer() {
        Ok(())
    } else {
        Err(RuntimeError::MissingSigner.into())
    }
}

pub fn writable(account: &AccountInfo) -> ProgramResult {
    if account.is_writable() {
        Ok(())
    } else {
        Err(RuntimeError::NotWritable.into())
    }
}

pub fn owned_by(account: &AccountInfo, owner: &Pubkey) -> ProgramResult {
    if account.owner() == owner {
        Ok(())
    } else {
        Err(RuntimeError::WrongOwner.into())
    }
}

/// `account` is none of `others` (an accounts declaration's writable ones; None: not writable
/// there): one account in two writable slots would be seen through two names.
#[inline(always)]
pub fn not_among(account: &AccountInfo, others: &[Option<&AccountInfo>]) -> ProgramResult {
    if others.iter().flatten().any(|b| account.same_account(b)) {
        return Err(RuntimeError::DuplicateAccount.into());
    }
    Ok(())
}

pub fn address(account: &AccountInfo, expected: &Pubkey) -> ProgramResult {
    if account.key() == expected {
        Ok(())
    } else {
        Err(RuntimeError::WrongAddress.into())
    }
}

/// The account is the program `id` (an arbitrary CPI target fails here). Only the key is
/// compared: the serialized executable flag is not reliable for builtins, and the runtime
/// itself refuses a CPI into a non-executable account.
pub fn program(account: &AccountInfo, id: &Pubkey) -> ProgramResult {
    if account.key() != id {
        return Err(RuntimeError::WrongProgram.into());
    }
    Ok(())
}

/// No account appears twice among `accounts` (pass the writable ones of an instruction):
/// duplicates would let one instruction see the same state through two names.
pub fn distinct(accounts: &[&AccountInfo]) -> ProgramResult {
    for (i, a) in accounts.iter().enumerate() {
        for b in &accounts[i + 1..] {
            if a.key() == b.key() {
                return Err(RuntimeError::DuplicateAccount.into());
            }
        }
    }
    Ok(())
}

/// Takes the next `N` accounts of an instruction, or `NotEnoughAccounts`.
pub fn accounts<const N: usize>(accounts: &[AccountInfo]) -> Result<&[AccountInfo; N], crate::error::ProgramError> {
    accounts.get(..N).and_then(|s| s.try_into().ok()).ok_or_else(|| RuntimeError::NotEnoughAccounts.into())
}

/// Fails with `TooManyAccounts` unless `rest` is used up (a health-account list read to its end
/// must not carry accounts its reader skipped).
pub fn no_more_accounts(rest: &mut core::slice::Iter<AccountInfo>) -> ProgramResult {
    if rest.next().is_some() {
        return Err(RuntimeError::TooManyAccounts.into());
    }
    Ok(())
}
