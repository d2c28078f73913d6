//! Health engine errors: codes 6250..6300 (the range qd-runtime reserves for this crate). Each
//! variant's doc comment is its IDL message (tests/test_idl.py reads `/// msg` + `Name = code,`);
//! clients/health.py raises the same names and codes.

use qd_runtime::error::ProgramError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum HealthError {
    /// Health arithmetic overflowed
    MathOverflow = 6250,
    /// Collateral decimals exceed 18
    InvalidDecimals = 6251,
    /// Price is zero or negative
    NonPositivePrice = 6252,
    /// Asset weight exceeds 10,000 bps
    WeightTooLarge = 6253,
    /// Collateral maintenance weight is below its initial weight
    MaintWeightBelowInit = 6254,
    /// Margin ratio exceeds 10,000 bps
    MarginRatioTooLarge = 6255,
    /// Maintenance margin ratio exceeds the initial margin ratio
    MaintMarginAboveInit = 6256,
    /// Open order totals must not be negative
    NegativeOrderTotal = 6257,
}

impl From<HealthError> for ProgramError {
    fn from(e: HealthError) -> Self {
        ProgramError(e as u32)
    }
}
