//! Sysvars read through syscalls, so no account is passed and no fake sysvar account can be
//! substituted (the fake-sysvar attack has nothing to aim at). The one exception is the
//! Instructions sysvar, which has no syscall: its account is checked by address.

use crate::account_info::AccountInfo;
use crate::error::{ProgramError, ProgramResult, RuntimeError};
use crate::pubkey::{pubkey, Pubkey};
use crate::syscalls;
use crate::validate;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Clock {
    pub slot: u64,
    pub epoch_start_timestamp: i64,
    pub epoch: u64,
    pub leader_schedule_epoch: u64,
    pub unix_timestamp: i64,
}

impl Clock {
    pub fn get() -> Result<Clock, ProgramError> {
        let mut clock = Clock::default();
        // SAFETY: Clock matches the runtime's 40-byte layout.
        match unsafe { syscalls::sol_get_clock_sysvar(&mut clock as *mut Clock as *mut u8) } {
            0 => Ok(clock),
            _ => Err(RuntimeError::InvalidSysvar.into()),
        }
    }
}

/// The Rent sysvar: lamports per byte-year and the exemption threshold (an f64 in years).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawRent {
    lamports_per_byte_year: u64,
    exemption_threshold_bits: u64,
    burn_percent: u8,
}

/// Bytes the runtime charges rent for on top of the data.
const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;

/// Minimum lamports for a rent-exempt account of `space` data bytes, computed in integers from
/// the sysvar's f64 threshold bits (no floats on chain): threshold = mantissa * 2^(exp-1075).
pub fn minimum_balance(space: usize) -> Result<u64, ProgramError> {
    let mut rent = RawRent::default();
    // SAFETY: the runtime writes the 17-byte Rent layout.
    if unsafe { syscalls::sol_get_rent_sysvar(&mut rent as *mut RawRent as *mut u8) } != 0 {
        return Err(RuntimeError::InvalidSysvar.into());
    }
    rent_exempt_minimum(rent.lamports_per_byte_year, rent.exemption_threshold_bits, space)
}

pub fn rent_exempt_minimum(per_byte_year: u64, threshold_bits: u64, space: usize) -> Result<u64, ProgramError> {
    let overflow = || ProgramError::from(RuntimeError::ArithmeticOverflow);
    let biased_exp = (threshold_bits >> 52) & 0x7ff;
    if threshold_bits >> 63 != 0 || biased_exp == 0x7ff {
        return Err(RuntimeError::InvalidSysvar.into());
    }
    let mantissa = (threshold_bits & ((1 << 52) - 1)) | if biased_exp == 0 { 0 } else { 1 << 52 };
    let per_year = (ACCOUNT_STORAGE_OVERHEAD + space as u64).checked_mul(per_byte_year).ok_or_else(overflow)?;
    let scaled = (per_year as u128).checked_mul(mantissa as u128).ok_or_else(overflow)?;
    let shift = 1075i64 - biased_exp.max(1) as i64;
    let lamports = if shift >= 0 { scaled >> shift.min(127) } else { scaled.checked_shl((-shift) as u32).ok_or_else(overflow)? };
    u64::try_from(lamports).map_err(|_| overflow())
}

/// The Instructions sysvar: the transaction's instructions, serialized by the runtime.
pub const INSTRUCTIONS_ID: Pubkey = pubkey("Sysvar1nstructions1111111111111111111111111");
/// The System program's AdvanceNonceAccount (its instruction enum index, u32 LE).
const ADVANCE_NONCE_ACCOUNT: u32 = 4;

/// Fails with `DurableNonce` if the transaction advances a durable nonce. Privileged instructions
/// call this: a durable-nonce transaction never expires, so one signed today (a pre-signed admin
/// transaction, Drift's April 2026 loss) can be replayed whenever its holder likes. The runtime
/// accepts a nonce transaction only when AdvanceNonceAccount is its first instruction, so
/// instruction 0 is the one to check.
pub fn refuse_durable_nonce(instructions: &AccountInfo) -> ProgramResult {
    validate::address(instructions, &INSTRUCTIONS_ID)?;
    if first_instruction_advances_nonce(instructions.data())? {
        return Err(RuntimeError::DurableNonce.into());
    }
    Ok(())
}

/// Reads instruction 0 of the sysvar's layout: u16 count, u16 offsets[count], and at each offset
/// u16 account count, (u8 flags + 32-byte key) per account, 32-byte program id, u16 data length,
/// data. Malformed data is `InvalidSysvar`.
pub fn first_instruction_advances_nonce(data: &[u8]) -> Result<bool, ProgramError> {
    let bad = || ProgramError::from(RuntimeError::InvalidSysvar);
    let u16_at = |at: usize| data.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize).ok_or_else(bad);
    if u16_at(0)? == 0 {
        return Ok(false);
    }
    let start = u16_at(2)?;
    let program_at = start + 2 + u16_at(start)? * 33;
    let program = data.get(program_at..program_at + 32).ok_or_else(bad)?;
    let len = u16_at(program_at + 32)?;
    let ix = data.get(program_at + 34..program_at + 34 + len).ok_or_else(bad)?;
    Ok(program == [0u8; 32] && ix.len() >= 4 && ix[..4] == ADVANCE_NONCE_ACCOUNT.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sysvar's serialization of `ixs` (program, account count, data), current index last.
    fn instructions(ixs: &[(Pubkey, usize, &[u8])]) -> Vec<u8> {
        let mut out = (ixs.len() as u16).to_le_bytes().to_vec();
        let mut bodies = Vec::new();
        let mut offset = 2 + 2 * ixs.len();
        for (program, accounts, data) in ixs {
            out.extend_from_slice(&(offset as u16).to_le_bytes());
            let mut body = (*accounts as u16).to_le_bytes().to_vec();
            for i in 0..*accounts {
                body.push(3);
                body.extend_from_slice(&[i as u8; 32]);
            }
            body.extend_from_slice(program);
            body.extend_from_slice(&(data.len() as u16).to_le_bytes());
            body.extend_from_slice(data);
            offset += body.len();
            bodies.extend(body);
        }
        out.extend(bodies);
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn detects_a_nonce_advance_in_first_position_only() {
        let system = [0u8; 32];
        let advance = 4u32.to_le_bytes();
        let transfer = [2u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        let ours = [9u8; 32];
        assert!(first_instruction_advances_nonce(&instructions(&[(system, 3, &advance), (ours, 2, &[1, 2])])).unwrap());
        assert!(!first_instruction_advances_nonce(&instructions(&[(system, 2, &transfer), (ours, 2, &[])])).unwrap());
        assert!(!first_instruction_advances_nonce(&instructions(&[(ours, 2, &advance)])).unwrap());
        assert!(!first_instruction_advances_nonce(&instructions(&[(ours, 1, &[]), (system, 3, &advance)])).unwrap());
        assert!(!first_instruction_advances_nonce(&instructions(&[(system, 3, &advance[..3])])).unwrap());
        let whole = instructions(&[(system, 3, &advance)]);
        assert_eq!(first_instruction_advances_nonce(&whole[..whole.len() - 4]), Err(RuntimeError::InvalidSysvar.into()));
        assert_eq!(first_instruction_advances_nonce(&[1]), Err(RuntimeError::InvalidSysvar.into()));
    }

    #[test]
    fn rent_matches_default_cluster_rent() {
        // Default rent: 3480 lamports/byte-year, threshold 2.0 years -> (128 + space) * 6960.
        let two = 2.0f64.to_bits();
        assert_eq!(rent_exempt_minimum(3480, two, 0).unwrap(), 890_880);
        assert_eq!(rent_exempt_minimum(3480, two, 165).unwrap(), 2_039_280);
        assert_eq!(rent_exempt_minimum(3480, 0.5f64.to_bits(), 72).unwrap(), 348_000);
        assert!(rent_exempt_minimum(3480, (-1.0f64).to_bits(), 1).is_err());
    }
}
