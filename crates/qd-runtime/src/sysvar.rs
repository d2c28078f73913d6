//! Sysvars read through syscalls, so no account is passed and no fake sysvar account can be
//! substituted (the fake-sysvar attack has nothing to aim at).

use crate::error::{ProgramError, RuntimeError};
#[cfg(target_arch = "bpf")]
use crate::syscalls;

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
    #[cfg(target_arch = "bpf")]
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
#[cfg(target_arch = "bpf")]
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawRent {
    lamports_per_byte_year: u64,
    exemption_threshold_bits: u64,
    burn_percent: u8,
}

/// Bytes the runtime charges rent for on top of the data.
const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;

#[cfg(target_arch = "bpf")]
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

#[cfg(test)]
mod tests {
    use super::*;

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
