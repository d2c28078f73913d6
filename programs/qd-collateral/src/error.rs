//! qd-collateral's own errors (6100..); runtime 6000.., oracle reader 6050.., access 6200..,
//! health engine 6250.., health-account reads 6300...

qd_runtime::errors! {
    pub enum CollateralError {
        /// Mint must be an initialized SPL Token or Token-2022 mint without extensions
        UnsupportedMint = 6100,
        /// Mint decimals must be at most 18
        DecimalsTooLarge = 6101,
        /// The quote mint must have 6 decimals, the decimals of prices
        QuoteDecimals = 6102,
        /// The quote collateral is priced at 1: pass the System program as its oracle
        QuoteHasNoOracle = 6103,
        /// Weights must satisfy init <= maint <= 10000 bps
        InvalidWeights = 6104,
        /// Caps must be at most i64::MAX
        InvalidCap = 6105,
        /// Status must be 0 (active) or 1 (withdraw only)
        InvalidCollateralStatus = 6106,
        /// Account is for another mint than the collateral config
        WrongMint = 6107,
        /// Vault is not the collateral config's vault
        WrongVault = 6108,
        /// Token program is not the collateral config's token program
        WrongTokenProgram = 6109,
        /// Amount must be between 1 and i64::MAX
        InvalidAmount = 6111,
        /// This collateral is withdraw-only: deposits are closed
        DepositsClosed = 6112,
        /// Deposit would exceed the collateral's total deposit cap
        DepositCapExceeded = 6113,
        /// Balance would exceed the collateral's per-account cap
        AccountCapExceeded = 6114,
        /// A margin account holds at most 8 collateral mints
        TooManyCollaterals = 6115,
        /// Balance is lower than the amount
        InsufficientBalance = 6116,
        /// Sub-accounts belong to different owners
        NotSameOwner = 6118,
        /// Balance adjustments must be signed by qd-core's or qd-trading's authority PDA
        NotAdjustAuthority = 6119,
        /// Collateral balances are not all zero
        BalancesNotEmpty = 6120,
        /// The margin account is being liquidated or is bankrupt
        AccountInLiquidation = 6121,
        /// Unknown oracle action code
        InvalidOracleAction = 6122,
        /// The vault holds less than the amount: funds the protocol owes are not yet collected
        VaultShortfall = 6123,
        /// The margin account still holds perp positions or PnL to settle
        PositionsOpen = 6124,
        /// The liquidation fee must be below 10000 - maint_weight_bps bps, and 0 for the quote mint
        InvalidLiquidationFee = 6125,
    }
}
