//! Anchor events: the audit trail of every account and configuration change. Each encodes as
//! discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order. `set_frozen` emits
//! none: qd-security emits the audit event after its CPI, with the account's new audit_seq.
//! The insurance fund's events carry its balance and total shares after the change, and its
//! `seq` (one per change, from 1 at creation), so an indexer sees every step and any gap.

use qd_runtime::pubkey::Pubkey;

qd_runtime::events! {
    pub struct GlobalInitialized {
        pub global: Pubkey,
        pub admin: Pubkey,
        pub quote_mint: Pubkey,
        pub max_sub_accounts: u16,
        pub slot: u64,
        /// The config's audit sequence number (1 for initialize).
        pub seq: u64,
    }

    pub struct MaxSubAccountsChanged {
        pub admin: Pubkey,
        pub old: u16,
        pub new: u16,
        pub slot: u64,
        pub seq: u64,
    }

    /// The liquidation-end buffer changed (through the timelock: `signer` is qd-security's authority PDA).
    pub struct LiquidationBufferChanged {
        pub signer: Pubkey,
        pub old: u16,
        pub new: u16,
        pub slot: u64,
        pub seq: u64,
    }

    pub struct MarginAccountCreated {
        pub owner: Pubkey,
        pub margin_account: Pubkey,
        pub sub_id: u16,
        pub name: [u8; 32],
        pub slot: u64,
    }

    pub struct MarginAccountClosed {
        pub owner: Pubkey,
        pub margin_account: Pubkey,
        pub sub_id: u16,
        pub slot: u64,
    }

    pub struct DelegateChanged {
        pub margin_account: Pubkey,
        pub owner: Pubkey,
        pub old: Pubkey,
        pub new: Pubkey,
        pub slot: u64,
    }

    pub struct LimitsChanged {
        pub margin_account: Pubkey,
        pub owner: Pubkey,
        pub max_leverage_x100: u16,
        pub allowed_markets: u64,
        pub reduce_only: bool,
        pub slot: u64,
    }

    /// liquidate_orders took every open order of a liquidatable account off the book.
    pub struct LiquidationOrdersCancelled {
        /// The liquidator's margin account
        pub liquidator: Pubkey,
        pub margin_account: Pubkey,
        pub orders: u8,
        pub maint_health: i128,
        pub end_health: i128,
        pub slot: u64,
    }

    /// One perp liquidation step: the account's base change (toward zero) moved to the
    /// liquidator at the oracle price, the fees the account paid, its health before and after.
    pub struct PerpLiquidated {
        /// The market's liquidation id.
        pub liquidation_id: u64,
        pub market_index: u16,
        pub liquidator: Pubkey,
        pub margin_account: Pubkey,
        pub base: i64,
        pub price: i64,
        pub quote: i64,
        pub liquidator_fee: i64,
        pub insurance_fee: i64,
        pub maint_before: i128,
        pub maint_after: i128,
        pub end_before: i128,
        pub end_after: i128,
        pub slot: u64,
    }

    /// One collateral liquidation step: the liquidator repaid `repaid` of the account's debt in
    /// the market and received `collateral` (native units of `mint`) at the discount `fee_bps`.
    pub struct CollateralLiquidated {
        pub liquidation_id: u64,
        pub market_index: u16,
        pub liquidator: Pubkey,
        pub margin_account: Pubkey,
        pub mint: Pubkey,
        pub repaid: i64,
        pub collateral: i64,
        pub price: i64,
        pub fee_bps: u16,
        pub maint_before: i128,
        pub maint_after: i128,
        pub end_before: i128,
        pub end_after: i128,
        pub slot: u64,
    }

    /// A bankrupt account's debt in a market: what the insurance fund paid, what was
    /// socialized over the open positions and what no position was left to take.
    pub struct BankruptcyResolved {
        pub liquidation_id: u64,
        pub market_index: u16,
        pub margin_account: Pubkey,
        pub debt: i64,
        pub insurance: i64,
        pub socialized: i64,
        pub unbacked: i64,
        /// The insurance fund's balance after the payment.
        pub fund_balance: u64,
        pub slot: u64,
    }

    /// exit_liquidation: the account's liquidation-end health is back at or above zero.
    pub struct LiquidationEnded {
        pub margin_account: Pubkey,
        pub end_health: i128,
        pub slot: u64,
    }

    pub struct InsuranceFundCreated {
        pub fund: Pubkey,
        pub mint: Pubkey,
        pub vault: Pubkey,
        pub admin: Pubkey,
        pub unstake_delay_secs: i64,
        pub fee_share_bps: u16,
        pub slot: u64,
        pub seq: u64,
    }

    /// A timelocked change (`signer`: qd-security's authority PDA).
    pub struct InsuranceParamsChanged {
        pub fund: Pubkey,
        pub signer: Pubkey,
        pub unstake_delay_secs: i64,
        pub fee_share_bps: u16,
        pub balance: u64,
        pub total_shares: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// `amount` staked for `shares`; `stake_shares` is the staker's total after it.
    pub struct Staked {
        pub fund: Pubkey,
        pub staker: Pubkey,
        pub amount: u64,
        pub shares: u64,
        pub stake_shares: u64,
        pub balance: u64,
        pub total_shares: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// `shares` worth `value` now may be withdrawn from `unlock_ts` on.
    pub struct UnstakeRequested {
        pub fund: Pubkey,
        pub staker: Pubkey,
        pub shares: u64,
        pub value: u64,
        pub unlock_ts: i64,
        pub balance: u64,
        pub total_shares: u64,
        pub slot: u64,
        pub seq: u64,
    }

    pub struct UnstakeCancelled {
        pub fund: Pubkey,
        pub staker: Pubkey,
        pub shares: u64,
        pub balance: u64,
        pub total_shares: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// `shares` burnt for `amount` paid to `destination`.
    pub struct Unstaked {
        pub fund: Pubkey,
        pub staker: Pubkey,
        pub destination: Pubkey,
        pub shares: u64,
        pub amount: u64,
        pub balance: u64,
        pub total_shares: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// The fund paid `amount` of a bankrupt account's debt in a market (its PnL pool).
    pub struct InsurancePaid {
        pub fund: Pubkey,
        pub margin_account: Pubkey,
        pub market_index: u16,
        pub amount: u64,
        pub balance: u64,
        pub total_shares: u64,
        pub total_paid: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// One sweep of market `market_index`: the fees taken from its pools, their split, and its
    /// pools after.
    pub struct FeesSwept {
        pub fund: Pubkey,
        pub market_index: u16,
        pub liquidation_fees: u64,
        pub trading_fees: u64,
        pub to_insurance: u64,
        pub to_revenue: u64,
        pub fee_pool: i64,
        pub liquidation_fee_pool: i64,
        pub pnl_pool: i64,
        pub balance: u64,
        pub total_shares: u64,
        pub slot: u64,
        pub seq: u64,
    }
}
