//! Errors of health-account reads (codes 6300..6350): returned by every program whose health
//! check reads collateral through this crate or perp positions through qd-trading-state (which
//! shares this enum), so each of their IDLs lists them.

qd_runtime::errors! {
    pub enum CollateralStateError {
        /// Collateral config does not match the balance entry's mint (health accounts out of order)
        ConfigMintMismatch = 6300,
        /// Oracle account is not the collateral config's oracle
        WrongOracle = 6301,
        /// Price update is for another Pyth feed than the collateral config's
        OracleFeedMismatch = 6302,
        /// Price update is only partially verified
        OracleNotFullyVerified = 6303,
        /// Collateral balances belong to another margin account
        BalancesMismatch = 6304,
        /// Perp market does not match the position's market (health accounts out of order)
        MarketMismatch = 6305,
        /// Trading account belongs to another margin account
        WrongTradingAccount = 6306,
        /// QuantDesk feed's authority does not hold ORACLE_ADMIN
        UntrustedFeedAuthority = 6307,
    }
}
