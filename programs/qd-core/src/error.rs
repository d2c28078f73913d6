//! qd-core's own errors (6100..); runtime errors are 6000.., access errors 6200...

qd_runtime::errors! {
    pub enum CoreError {
        /// The signer is not the GlobalConfig admin
        NotAdmin = 6100,
        /// max_sub_accounts must be between 1 and 256
        InvalidMaxSubAccounts = 6101,
        /// Quote mint must be an initialized SPL Token or Token-2022 mint
        InvalidQuoteMint = 6102,
        /// sub_id must be below the venue's max_sub_accounts
        InvalidSubId = 6103,
        /// Name must be UTF-8, zero padded after its end
        InvalidName = 6104,
        /// The margin account is being liquidated
        BeingLiquidated = 6106,
        /// The margin account's collateral balances or trading account is still open
        AccountNotEmpty = 6107,
        /// The delegate cannot be the owner
        InvalidDelegate = 6108,
        /// max_leverage_x100 must be 0 (no limit) or 100..=10000
        InvalidLimits = 6109,
        /// The signer is not qd-security's authority PDA
        NotSecurityAuthority = 6110,
        /// The account's maintenance health is not negative (nor, while it is being liquidated, its liquidation-end health)
        NotLiquidatable = 6130,
        /// A liquidator may not liquidate an account of its own owner or one it is delegate of
        SelfLiquidation = 6131,
        /// The liquidator's margin account is itself being liquidated or bankrupt
        LiquidatorBeingLiquidated = 6132,
        /// The liquidator's initial health would fall below zero
        LiquidatorInsufficientHealth = 6133,
        /// The step would move nothing
        NothingToLiquidate = 6134,
        /// The account has no position in this market
        NoPositionToLiquidate = 6135,
        /// The market is in settlement: its positions close at the settlement price
        MarketInSettlement = 6136,
        /// The market account is not the instruction's market index
        MarketIndexMismatch = 6137,
        /// The quote config is not the quote mint's
        NotQuoteConfig = 6138,
        /// The account has no debt in this market
        NoDebt = 6139,
        /// The account still holds quote: settle_pnl pays its debt from it first
        SettleQuoteFirst = 6140,
        /// A debt is repaid with collateral once its position is closed
        PositionNotFlat = 6141,
        /// The liquidator's quote balance does not cover the repayment
        LiquidatorQuoteShort = 6142,
        /// The collateral to take is the quote mint
        QuoteIsNotCollateral = 6143,
        /// The account is not bankrupt (it still holds a balance or a position, or owes nothing here)
        NotBankrupt = 6144,
        /// The account still has open orders: liquidate_orders first
        OpenOrders = 6145,
        /// The account is not being liquidated
        NotBeingLiquidated = 6146,
        /// The account's liquidation-end health is still below zero
        LiquidationNotOver = 6147,
        /// The liquidator's owner limits do not allow this market
        LiquidatorMarketNotAllowed = 6148,
        /// A reduce-only liquidator may only take a position that reduces its own
        LiquidatorReduceOnly = 6149,
        /// max_base and max_quote must be positive (max_quote at most i64::MAX)
        InvalidLiquidationAmount = 6129,
        /// The liquidation buffer must be at most 2000 bps
        InvalidLiquidationBuffer = 6128,
        // The insurance fund's (6150..).
        /// unstake_delay_secs must be between 1 second and 90 days
        InvalidUnstakeDelay = 6150,
        /// fee_share_bps must be at most 10000
        InvalidFeeShare = 6151,
        /// The mint is not the venue's quote mint
        NotQuoteMint = 6152,
        /// The vault is not the insurance fund's vault
        WrongFundVault = 6153,
        /// The mint, token account or collateral config is not of the insurance fund's mint
        WrongFundMint = 6154,
        /// The stake account is not this staker's stake in this fund
        StakeMismatch = 6155,
        /// Amounts and shares must be positive
        InvalidStakeAmount = 6156,
        /// More shares than the stake holds
        InsufficientShares = 6157,
        /// An unstake request is already pending: cancel it or withdraw it first
        UnstakePending = 6158,
        /// The stake has no pending unstake request
        NoUnstakeRequest = 6159,
        /// The unstake delay since the request has not passed
        UnstakeTooEarly = 6160,
        /// The market's pools hold no fees to sweep
        NothingToSweep = 6161,
    }
}

/// Checked arithmetic failed.
pub fn overflow() -> qd_runtime::error::ProgramError {
    qd_runtime::error::RuntimeError::ArithmeticOverflow.into()
}
