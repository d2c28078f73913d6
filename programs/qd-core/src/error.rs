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
    }
}
