//! Anchor events (the audit trail of every feed change) and the `read_price` return value.
//! Each event encodes as discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order.

use qd_runtime::pubkey::Pubkey;

qd_runtime::events! {
    pub struct FeedInitialized {
        pub feed: Pubkey,
        pub authority: Pubkey,
        pub symbol: [u8; 16],
        pub expo: i32,
        pub slot: u64,
    }

    /// One publisher's price, and the feed's aggregate after it (unchanged when `aggregated` is
    /// false: fewer than the quorum were fresh).
    pub struct PricePublished {
        pub feed: Pubkey,
        pub publisher: Pubkey,
        pub price: i64,
        pub conf: u64,
        pub publish_time: i64,
        pub slot: u64,
        pub aggregated: bool,
        pub num_aggregated: u8,
        pub agg_price: i64,
        pub agg_conf: u64,
        pub ema_price: i64,
        pub ema_conf: u64,
    }

    /// One event for each authority action: `action` 0 publishers, 1 authority, 2 guards, 3 status.
    pub struct FeedUpdated {
        pub feed: Pubkey,
        pub authority: Pubkey,
        pub action: u8,
        /// New authority for action 1, zero otherwise.
        pub new_authority: Pubkey,
        /// Publisher count (0), status (3), zero otherwise.
        pub value: u8,
        pub slot: u64,
    }
}

pub const FEED_UPDATED_PUBLISHERS: u8 = 0;
pub const FEED_UPDATED_AUTHORITY: u8 = 1;
pub const FEED_UPDATED_GUARDS: u8 = 2;
pub const FEED_UPDATED_STATUS: u8 = 3;
