//! Health engine errors: codes 6250..6300 (the range qd-runtime reserves for this crate). Each
//! variant's doc comment is its IDL message; clients/health.py raises the same names and codes.

qd_runtime::errors! {
    pub enum HealthError {
        /// Health arithmetic overflowed
        MathOverflow = 6250,
        /// Collateral decimals exceed 18
        InvalidDecimals = 6251,
        /// A price given to the health engine is zero or negative
        NonPositiveInputPrice = 6252,
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
        /// Initial health would fall below zero
        InsufficientHealth = 6258,
    }
}
