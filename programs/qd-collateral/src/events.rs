//! Anchor events: the audit trail of every collateral config change and every balance change.
//! Each encodes as discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order. `seq`
//! is the target's own sequence number (CollateralConfig.audit_seq for config changes,
//! CollateralBalances.seq for balance changes), so gaps in an indexer's copy show.

use qd_runtime::pubkey::Pubkey;

qd_runtime::events! {
    pub struct CollateralCreated {
        pub config: Pubkey,
        pub mint: Pubkey,
        pub vault: Pubkey,
        pub oracle: Pubkey,
        pub admin: Pubkey,
        pub decimals: u8,
        pub is_quote: bool,
        pub status: u8,
        pub init_weight_bps: u16,
        pub maint_weight_bps: u16,
        pub deposit_cap: u64,
        pub account_cap: u64,
        pub liquidation_fee_bps: u16,
        pub slot: u64,
        pub seq: u64,
    }

    pub struct CollateralParamsChanged {
        pub config: Pubkey,
        pub signer: Pubkey,
        pub status: u8,
        pub init_weight_bps: u16,
        pub maint_weight_bps: u16,
        pub deposit_cap: u64,
        pub account_cap: u64,
        pub liquidation_fee_bps: u16,
        pub slot: u64,
        pub seq: u64,
    }

    pub struct CollateralOracleChanged {
        pub config: Pubkey,
        pub admin: Pubkey,
        pub old_oracle: Pubkey,
        pub new_oracle: Pubkey,
        pub slot: u64,
        pub seq: u64,
    }

    /// `open`: true when the balances account was opened, false when closed.
    pub struct BalancesOpened {
        pub margin_account: Pubkey,
        pub owner: Pubkey,
        pub balances: Pubkey,
        pub open: bool,
        pub slot: u64,
    }

    /// A deposit (`amount` > 0) or a withdrawal (`amount` < 0) by the owner.
    pub struct BalanceChanged {
        pub margin_account: Pubkey,
        pub mint: Pubkey,
        pub amount: i64,
        pub balance: i64,
        pub slot: u64,
        pub seq: u64,
    }

    pub struct Transferred {
        pub from: Pubkey,
        pub to: Pubkey,
        pub mint: Pubkey,
        pub amount: i64,
        pub from_balance: i64,
        pub to_balance: i64,
        pub slot: u64,
        pub from_seq: u64,
        pub to_seq: u64,
    }

    /// A CPI adjustment by qd-core or qd-trading; `protocol_balance` is the config's after it.
    pub struct BalanceAdjusted {
        pub margin_account: Pubkey,
        pub mint: Pubkey,
        pub caller: Pubkey,
        pub delta: i64,
        pub balance: i64,
        pub protocol_balance: i64,
        pub slot: u64,
        pub seq: u64,
    }

    /// The insurance fund's sweep (qd-core): `to_insurance` tokens left the vault for
    /// `destination` (the fund's vault) and the protocol balance; `to_revenue` became revenue.
    /// `protocol_balance` and `revenue` are the config's after it.
    pub struct FeesCollected {
        pub config: Pubkey,
        pub mint: Pubkey,
        pub destination: Pubkey,
        pub to_insurance: u64,
        pub to_revenue: u64,
        pub protocol_balance: i64,
        pub revenue: i64,
        pub slot: u64,
    }

    /// The insurance fund paid `amount` from `source` (its vault) into the vault and the
    /// protocol balance (qd-core's bankruptcy cover); `protocol_balance` is the config's after it.
    pub struct InsuranceCovered {
        pub config: Pubkey,
        pub mint: Pubkey,
        pub source: Pubkey,
        pub amount: u64,
        pub protocol_balance: i64,
        pub slot: u64,
    }
}
