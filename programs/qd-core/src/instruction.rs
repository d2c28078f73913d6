//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts, so a handler
//! only sees well-formed values.

use crate::error::CoreError;
use qd_core_state::MAX_SUB_ACCOUNTS_LIMIT;
/// `set_frozen` lives in qd-core-state, shared with qd-security's CPI.
pub use qd_core_state::SET_FROZEN;
use qd_runtime::borsh::{self, Reader};
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

pub const INITIALIZE: [u8; 8] = discriminator("global", "initialize");
pub const SET_MAX_SUB_ACCOUNTS: [u8; 8] = discriminator("global", "set_max_sub_accounts");
pub const CREATE_MARGIN_ACCOUNT: [u8; 8] = discriminator("global", "create_margin_account");
pub const CLOSE_MARGIN_ACCOUNT: [u8; 8] = discriminator("global", "close_margin_account");
pub const SET_DELEGATE: [u8; 8] = discriminator("global", "set_delegate");
pub const SET_LIMITS: [u8; 8] = discriminator("global", "set_limits");

/// Account leverage limit bounds (hundredths): 1x..100x; 0 means "the markets' own limits".
pub const MIN_LEVERAGE_X100: u16 = 100;
pub const MAX_LEVERAGE_X100: u16 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreInstruction {
    /// Accounts: admin (signer, writable: pays rent), global (writable, `CORE_GLOBAL`), quote
    /// mint, system program, qd-core program account, its ProgramData account.
    Initialize { max_sub_accounts: u16 },
    /// Accounts: admin (signer), global (writable).
    SetMaxSubAccounts { max_sub_accounts: u16 },
    /// Accounts: owner (signer, writable: pays rent), global (writable), margin account PDA
    /// (writable), system program.
    CreateMarginAccount { sub_id: u16, name: [u8; 32] },
    /// Accounts: owner (signer, writable: receives the rent), global (writable), margin
    /// account (writable), its qd-collateral balances PDA (must be closed).
    CloseMarginAccount,
    /// Accounts: owner (signer), margin account (writable).
    SetDelegate { delegate: Pubkey },
    /// Accounts: owner (signer), margin account (writable).
    SetLimits { max_leverage_x100: u16, allowed_markets: u64, reduce_only: bool },
    /// Accounts: qd-security's authority PDA (signer), margin account (writable).
    SetFrozen { frozen: bool, reason: u16 },
}

fn max_sub_accounts(r: &mut Reader) -> Result<u16, ProgramError> {
    let max = r.u16()?;
    if max == 0 || max > MAX_SUB_ACCOUNTS_LIMIT {
        return Err(CoreError::InvalidMaxSubAccounts.into());
    }
    Ok(max)
}

/// A label: valid UTF-8 up to its first zero byte, then only zeros (so one text has exactly
/// one encoding and nothing hides after the terminator). Empty is allowed.
pub fn valid_name(name: &[u8; 32]) -> bool {
    let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name[len..].iter().all(|&b| b == 0) && core::str::from_utf8(&name[..len]).is_ok()
}

impl CoreInstruction {
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let (tag, mut r) = borsh::instruction(data)?;
        let ix = match tag {
            INITIALIZE => CoreInstruction::Initialize { max_sub_accounts: max_sub_accounts(&mut r)? },
            SET_MAX_SUB_ACCOUNTS => CoreInstruction::SetMaxSubAccounts { max_sub_accounts: max_sub_accounts(&mut r)? },
            CREATE_MARGIN_ACCOUNT => {
                let sub_id = r.u16()?;
                let name = r.array()?;
                if !valid_name(&name) {
                    return Err(CoreError::InvalidName.into());
                }
                CoreInstruction::CreateMarginAccount { sub_id, name }
            }
            CLOSE_MARGIN_ACCOUNT => CoreInstruction::CloseMarginAccount,
            SET_DELEGATE => CoreInstruction::SetDelegate { delegate: r.pubkey()? },
            SET_LIMITS => {
                let max_leverage_x100 = r.u16()?;
                let allowed_markets = r.u64()?;
                let reduce_only = r.bool()?;
                if max_leverage_x100 != 0 && !(MIN_LEVERAGE_X100..=MAX_LEVERAGE_X100).contains(&max_leverage_x100) {
                    return Err(CoreError::InvalidLimits.into());
                }
                CoreInstruction::SetLimits { max_leverage_x100, allowed_markets, reduce_only }
            }
            SET_FROZEN => CoreInstruction::SetFrozen { frozen: r.bool()?, reason: r.u16()? },
            _ => return Err(RuntimeError::InvalidInstruction.into()),
        };
        r.finish()?;
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    fn name(text: &[u8]) -> [u8; 32] {
        let mut n = [0u8; 32];
        n[..text.len()].copy_from_slice(text);
        n
    }

    #[test]
    fn max_sub_accounts_is_bounded() {
        let ix = |n: u16| CoreInstruction::unpack(&with(SET_MAX_SUB_ACCOUNTS, &n.to_le_bytes()));
        assert_eq!(ix(1).unwrap(), CoreInstruction::SetMaxSubAccounts { max_sub_accounts: 1 });
        assert_eq!(CoreInstruction::unpack(&with(INITIALIZE, &256u16.to_le_bytes())).unwrap(), CoreInstruction::Initialize { max_sub_accounts: 256 });
        assert_eq!(ix(0).unwrap_err(), CoreError::InvalidMaxSubAccounts.into());
        assert_eq!(ix(257).unwrap_err(), CoreError::InvalidMaxSubAccounts.into());
        assert_eq!(CoreInstruction::unpack(&with(INITIALIZE, &[16])).unwrap_err(), RuntimeError::InvalidInstructionData.into());
    }

    #[test]
    fn names_are_utf8_then_zero_padding() {
        assert!(valid_name(&[0; 32]));
        assert!(valid_name(&name(b"hedge")));
        assert!(valid_name(&name("déjà vu ✓".as_bytes())));
        assert!(valid_name(&[b'x'; 32]));
        assert!(!valid_name(&name(b"a\0b")));
        assert!(!valid_name(&name(&[0xff, 0xfe])));
        // A multi-byte character cut by the 32-byte end is not UTF-8.
        let mut cut = [b'a'; 32];
        cut[31] = 0xc3;
        assert!(!valid_name(&cut));
        let args = [&3u16.to_le_bytes()[..], &name(b"a\0b")].concat();
        assert_eq!(CoreInstruction::unpack(&with(CREATE_MARGIN_ACCOUNT, &args)).unwrap_err(), CoreError::InvalidName.into());
        let args = [&3u16.to_le_bytes()[..], &name(b"main")].concat();
        assert_eq!(CoreInstruction::unpack(&with(CREATE_MARGIN_ACCOUNT, &args)).unwrap(), CoreInstruction::CreateMarginAccount { sub_id: 3, name: name(b"main") });
    }

    #[test]
    fn leverage_limit_is_zero_or_1x_to_100x() {
        let ix = |lev: u16, reduce: u8| {
            CoreInstruction::unpack(&with(SET_LIMITS, &[&lev.to_le_bytes()[..], &0b11u64.to_le_bytes(), &[reduce]].concat()))
        };
        for lev in [0, 100, 500, 10_000] {
            assert_eq!(ix(lev, 1).unwrap(), CoreInstruction::SetLimits { max_leverage_x100: lev, allowed_markets: 0b11, reduce_only: true });
        }
        for lev in [1, 99, 10_001, u16::MAX] {
            assert_eq!(ix(lev, 0).unwrap_err(), CoreError::InvalidLimits.into());
        }
        assert_eq!(ix(100, 2).unwrap_err(), RuntimeError::InvalidInstructionData.into());
    }

    #[test]
    fn set_frozen_and_set_delegate() {
        assert_eq!(CoreInstruction::unpack(&with(SET_FROZEN, &[1, 7, 0])).unwrap(), CoreInstruction::SetFrozen { frozen: true, reason: 7 });
        assert!(CoreInstruction::unpack(&with(SET_FROZEN, &[1, 7])).is_err());
        assert_eq!(CoreInstruction::unpack(&with(SET_DELEGATE, &[9; 32])).unwrap(), CoreInstruction::SetDelegate { delegate: [9; 32] });
        assert!(CoreInstruction::unpack(&with(CLOSE_MARGIN_ACCOUNT, &[0])).is_err());
    }

    #[test]
    fn unknown_or_short_discriminator() {
        assert_eq!(CoreInstruction::unpack(&[1, 2, 3]).unwrap_err(), RuntimeError::InvalidInstruction.into());
        assert_eq!(CoreInstruction::unpack(&[0; 8]).unwrap_err(), RuntimeError::InvalidInstruction.into());
    }
}
