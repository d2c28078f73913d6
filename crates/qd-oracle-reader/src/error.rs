//! Oracle reader errors: codes 6050..6100 (the range qd-runtime reserves for this crate).
//!
//! Each variant's doc comment is its IDL message.

qd_runtime::errors! {
    /// Why an oracle account could not be read or its price was refused.
    pub enum OracleError {
        /// Oracle account is not owned by the QuantDesk oracle, the Pyth oracle or the Pyth receiver
        WrongOracleOwner = 6050,
        /// Oracle account data does not start with the magic number or discriminator of its owner's price account
        UnknownOracleFormat = 6051,
        /// Oracle account data is too short for its format
        OracleAccountTooShort = 6052,
        /// Oracle account has an unsupported layout version
        BadOracleVersion = 6053,
        /// Pyth account is not a price account
        WrongOracleAccountType = 6054,
        /// Oracle account holds a value outside its field's domain
        MalformedOracleData = 6055,
        /// Oracle price exponent is outside -18..=6
        ExponentOutOfRange = 6056,
        /// Oracle price does not fit in 6 decimals
        PriceOverflow = 6057,
        /// Oracle price is older than the allowed number of slots
        StaleOracleSlots = 6058,
        /// Oracle price is older than the allowed number of seconds
        StaleOracleTime = 6059,
        /// Oracle publish time or slot is ahead of the cluster clock
        OracleFromFuture = 6060,
        /// Oracle confidence interval is wider than allowed
        ConfidenceTooWide = 6061,
        /// Oracle price deviates from its EMA by more than allowed
        EmaDeviation = 6062,
        /// Oracle price is not in trading status
        OracleNotTrading = 6063,
        /// Oracle price is zero or negative
        NonPositivePrice = 6064,
        /// Oracle guard configuration is invalid (zero staleness or confidence limit, or out of range)
        InvalidGuardConfig = 6065,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_runtime::error::ProgramError;

    #[test]
    fn codes_stay_in_reserved_range_and_convert() {
        // tests/test_idl.py holds every IDL's error list equal to this enum (names, codes, docs).
        for e in [OracleError::WrongOracleOwner, OracleError::InvalidGuardConfig] {
            let code = e as u32;
            assert!((6050..6100).contains(&code), "{code}");
            assert_eq!(ProgramError::from(e), ProgramError(code));
        }
    }
}
