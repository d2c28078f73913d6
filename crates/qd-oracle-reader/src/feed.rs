//! `PriceFeed`: the QuantDesk push feed, owned by the qd-oracle program. That program writes it
//! through `qd_runtime::account::view_mut`; every other program reads it with `read_price`.
//!
//! Each publisher's latest price is kept in `latest`; `price`/`conf` are the aggregate (median of
//! the publishers fresh at the latest update, with a quorum), the only values readers see.

use crate::guard::OracleGuards;
use qd_runtime::pubkey::Pubkey;

/// Layout version stored in `PriceFeed::version` (2: per-publisher prices and the aggregate).
pub const PRICE_FEED_VERSION: u8 = 2;
/// `PriceFeed::status`: not publishing (unknown or halted).
pub const FEED_STATUS_HALTED: u8 = 0;
/// `PriceFeed::status`: publishing, prices usable for trading.
pub const FEED_STATUS_TRADING: u8 = 1;
/// Capacity of `PriceFeed::publishers`.
pub const MAX_PUBLISHERS: usize = 8;

qd_runtime::layout! {
    /// One publisher's latest accepted publish, in the feed's exponent. All zero: never published
    /// (or listed since its last publish).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct PublisherPrice[32] {
        pub price: i64,
        pub conf: u64,
        /// The publisher's stamp (unix seconds): at most qd-oracle's `MAX_PUBLISH_SKEW_SECS` ahead
        /// of the cluster clock when accepted, strictly increasing per publisher.
        pub publish_time: i64,
        /// Cluster slot the publish landed in.
        pub slot: u64,
    }
}

qd_runtime::account! {
    /// Anchor account "PriceFeed". Offsets in the comments are from the account start (discriminator
    /// included) and are what getProgramAccounts memcmp filters use; a test pins every one.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PriceFeed[760] {
        /// @8: `PRICE_FEED_VERSION`.
        pub version: u8,
        /// @9: `FEED_STATUS_HALTED` or `FEED_STATUS_TRADING`; any other value reads as not trading.
        pub status: u8,
        /// @10: number of used entries in `publishers`.
        pub num_publishers: u8,
        /// @11: bump of the feed PDA.
        pub bump: u8,
        /// @12: decimal exponent of every price and confidence in the feed (e.g. -6).
        pub expo: i32,
        /// @16: ASCII symbol, zero padded.
        pub symbol: [u8; 16],
        /// @32: may change publishers, quorum, status and guards while it holds ORACLE_ADMIN.
        pub authority: Pubkey,
        /// @64: keys allowed to publish; `latest[i]` is `publishers[i]`'s.
        pub publishers: [Pubkey; MAX_PUBLISHERS],
        /// @320: aggregate price: median of the fresh publishers' latest prices.
        pub price: i64,
        /// @328: aggregate confidence: max(median of their confs, median absolute deviation of
        /// their prices from `price`).
        pub conf: u64,
        /// @336
        pub ema_price: i64,
        /// @344
        pub ema_conf: u64,
        /// @352: cluster unix time of the latest aggregate update (0: never). Readers judge age by
        /// it, and the EMA advances by the cluster time elapsed since it, never by a publisher's stamp.
        pub publish_time: i64,
        /// @360: cluster slot of the latest aggregate update.
        pub publish_slot: u64,
        /// @368: a publisher's latest price counts while cluster time - its publish_time <= this.
        pub max_publisher_age_secs: u32,
        /// @372: quorum: the aggregate updates only when at least this many publishers are fresh.
        pub min_publishers: u8,
        /// @373: publishers that were fresh at the latest aggregate update.
        pub num_aggregated: u8,
        /// @374
        pub _pad0: [u8; 2],
        /// @376: EMA smoothing window in seconds.
        pub ema_window_secs: u32,
        /// @380
        pub _pad1: [u8; 4],
        /// @384: limits per action for consumers of this feed.
        pub guards: OracleGuards,
        /// @448: each publisher's latest publish, by index in `publishers`.
        pub latest: [PublisherPrice; MAX_PUBLISHERS],
        /// @704: room for future fields without a realloc.
        pub _reserved: [u8; 64],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of};
    use qd_runtime::account::AccountType;

    #[test]
    fn layout_matches_documented_offsets() {
        assert_eq!(PriceFeed::LEN, 768);
        assert_eq!(align_of::<PriceFeed>(), 8);
        let at = |body_offset: usize| body_offset + 8;
        assert_eq!(at(offset_of!(PriceFeed, version)), 8);
        assert_eq!(at(offset_of!(PriceFeed, status)), 9);
        assert_eq!(at(offset_of!(PriceFeed, num_publishers)), 10);
        assert_eq!(at(offset_of!(PriceFeed, bump)), 11);
        assert_eq!(at(offset_of!(PriceFeed, expo)), 12);
        assert_eq!(at(offset_of!(PriceFeed, symbol)), 16);
        assert_eq!(at(offset_of!(PriceFeed, authority)), 32);
        assert_eq!(at(offset_of!(PriceFeed, publishers)), 64);
        assert_eq!(at(offset_of!(PriceFeed, price)), 320);
        assert_eq!(at(offset_of!(PriceFeed, conf)), 328);
        assert_eq!(at(offset_of!(PriceFeed, ema_price)), 336);
        assert_eq!(at(offset_of!(PriceFeed, ema_conf)), 344);
        assert_eq!(at(offset_of!(PriceFeed, publish_time)), 352);
        assert_eq!(at(offset_of!(PriceFeed, publish_slot)), 360);
        assert_eq!(at(offset_of!(PriceFeed, max_publisher_age_secs)), 368);
        assert_eq!(at(offset_of!(PriceFeed, min_publishers)), 372);
        assert_eq!(at(offset_of!(PriceFeed, num_aggregated)), 373);
        assert_eq!(at(offset_of!(PriceFeed, _pad0)), 374);
        assert_eq!(at(offset_of!(PriceFeed, ema_window_secs)), 376);
        assert_eq!(at(offset_of!(PriceFeed, _pad1)), 380);
        assert_eq!(at(offset_of!(PriceFeed, guards)), 384);
        assert_eq!(at(offset_of!(PriceFeed, latest)), 448);
        assert_eq!(at(offset_of!(PriceFeed, _reserved)), 704);
    }
}
