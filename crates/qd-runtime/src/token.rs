//! SPL Token CPI (classic Token program; the instruction layouts are shared by Token-2022 for
//! these calls, so `program` may be either id).

use crate::account_info::AccountInfo;
use crate::borsh::Writer;
use crate::cpi::{invoke_signed, AccountMeta};
use crate::error::ProgramResult;
use crate::error::{ProgramError, RuntimeError};
use crate::pubkey::{pubkey, Pubkey};

pub const ID: Pubkey = pubkey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const ID_2022: Pubkey = pubkey("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
/// Size of a classic token account.
pub const ACCOUNT_LEN: usize = 165;
/// Size of a mint without extensions (classic, or Token-2022 without any).
pub const MINT_LEN: usize = 82;
const MINT_DECIMALS: usize = 44;
const MINT_IS_INITIALIZED: usize = 45;
/// Token-2022 accounts with extensions carry an account-type byte here (1 = mint).
const ACCOUNT_TYPE: usize = 165;
const ACCOUNT_TYPE_MINT: u8 = 1;

/// What programs check of a mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mint {
    pub decimals: u8,
    /// A Token-2022 mint with extensions (transfer fees, hooks, ...).
    pub extensions: bool,
}

/// The initialized SPL Token or Token-2022 mint in an account owned by `owner`, or None. The
/// size rule keeps token accounts (165 bytes, or Token-2022 extended accounts typed 2) and
/// multisigs from passing as a mint.
pub fn mint(owner: &Pubkey, data: &[u8]) -> Option<Mint> {
    if owner != &ID && owner != &ID_2022 {
        return None;
    }
    let extensions = match data.len() {
        MINT_LEN => false,
        len if len > ACCOUNT_TYPE && owner == &ID_2022 && data[ACCOUNT_TYPE] == ACCOUNT_TYPE_MINT => true,
        _ => return None,
    };
    (data[MINT_IS_INITIALIZED] == 1).then_some(Mint { decimals: data[MINT_DECIMALS], extensions })
}

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

pub fn transfer(
    program: &AccountInfo,
    from: &AccountInfo,
    to: &AccountInfo,
    authority: &AccountInfo,
    amount: u64,
    signers: &[&[&[u8]]],
) -> ProgramResult {
    let id = check_program(program)?;
    let mut w = Writer::<9>::new();
    w.u8(TRANSFER).u64(amount);
    let metas =
        [AccountMeta::writable(from.key(), false), AccountMeta::writable(to.key(), false), AccountMeta::readonly(authority.key(), true)];
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

pub fn mint_to(
    program: &AccountInfo,
    mint: &AccountInfo,
    to: &AccountInfo,
    authority: &AccountInfo,
    amount: u64,
    signers: &[&[&[u8]]],
) -> ProgramResult {
    let id = check_program(program)?;
    let mut w = Writer::<9>::new();
    w.u8(MINT_TO).u64(amount);
    let metas =
        [AccountMeta::writable(mint.key(), false), AccountMeta::writable(to.key(), false), AccountMeta::readonly(authority.key(), true)];
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

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, initialized: u8) -> Vec<u8> {
        let mut d = vec![0u8; len];
        d[MINT_IS_INITIALIZED] = initialized;
        d[MINT_DECIMALS] = 6;
        d
    }

    #[test]
    fn mint_rules() {
        let plain = Some(Mint { decimals: 6, extensions: false });
        assert_eq!(mint(&ID, &data(82, 1)), plain);
        assert_eq!(mint(&ID_2022, &data(82, 1)), plain);
        assert_eq!(mint(&ID, &data(82, 0)), None);
        assert_eq!(mint(&[0; 32], &data(82, 1)), None);
        assert_eq!(mint(&ID, &data(81, 1)), None);
        // A token account (165 bytes) whose owner key has a 1 at byte 45.
        assert_eq!(mint(&ID, &data(165, 1)), None);
        let mut extended = data(234, 1);
        extended[ACCOUNT_TYPE] = ACCOUNT_TYPE_MINT;
        assert_eq!(mint(&ID_2022, &extended), Some(Mint { decimals: 6, extensions: true }));
        assert_eq!(mint(&ID, &extended), None);
        extended[ACCOUNT_TYPE] = 2;
        assert_eq!(mint(&ID_2022, &extended), None);
    }
}
