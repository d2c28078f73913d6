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
