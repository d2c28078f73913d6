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
