//! Anchor events: the audit trail of every account and configuration change. Each encodes as
//! discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order. `set_frozen` emits
//! none: qd-security emits the audit event after its CPI, with the account's new audit_seq.

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
}
