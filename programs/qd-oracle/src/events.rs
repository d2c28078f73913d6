//! Anchor events (the audit trail of every feed change) and the `read_price` return value.
//! Each encodes as discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order.

use qd_oracle_reader::{OraclePrice, OracleSource};
use qd_runtime::borsh::Writer;
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

/// Large enough for every event below.
pub type EventBuf = Writer<160>;

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

pub const FEED_UPDATED_PUBLISHERS: u8 = 0;
pub const FEED_UPDATED_AUTHORITY: u8 = 1;
pub const FEED_UPDATED_GUARDS: u8 = 2;
pub const FEED_UPDATED_STATUS: u8 = 3;

impl FeedInitialized {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "FeedInitialized");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.feed).pubkey(&self.authority).bytes(&self.symbol).i32(self.expo).u64(self.slot);
        w
    }
}

impl PricePublished {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "PricePublished");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.feed)
            .pubkey(&self.publisher)
            .i64(self.price)
            .u64(self.conf)
            .i64(self.publish_time)
            .u64(self.slot)
            .bool(self.aggregated)
            .u8(self.num_aggregated)
            .i64(self.agg_price)
            .u64(self.agg_conf)
            .i64(self.ema_price)
            .u64(self.ema_conf);
        w
    }
}

impl FeedUpdated {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "FeedUpdated");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.feed)
            .pubkey(&self.authority)
            .u8(self.action)
            .pubkey(&self.new_authority)
            .u8(self.value)
            .u64(self.slot);
        w
    }
}

/// `read_price` return data: the IDL type `NormalizedPrice`.
pub fn encode_price(p: &OraclePrice) -> Writer<51> {
    let source = match p.source {
        OracleSource::QuantDesk => 0,
        OracleSource::PythLegacy => 1,
        OracleSource::PythReceiver => 2,
    };
    let mut w = Writer::<51>::new();
    w.i64(p.price)
        .u64(p.conf)
        .i64(p.ema_price)
        .u64(p.ema_conf)
        .i64(p.publish_time)
        .u64(p.publish_slot)
        .bool(p.trading)
        .bool(p.verified_full)
        .u8(source);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fit_their_buffer() {
        let p = PricePublished {
            feed: [1; 32],
            publisher: [2; 32],
            price: 1,
            conf: 2,
            publish_time: 5,
            slot: 6,
            aggregated: true,
            num_aggregated: 3,
            agg_price: 7,
            agg_conf: 8,
            ema_price: 3,
            ema_conf: 4,
        };
        assert_eq!(p.encode().finish().unwrap().len(), 8 + 64 + 32 + 2 + 32);
        let u = FeedUpdated { feed: [1; 32], authority: [2; 32], action: 1, new_authority: [3; 32], value: 0, slot: 9 };
        assert_eq!(u.encode().finish().unwrap().len(), 8 + 32 + 32 + 1 + 32 + 1 + 8);
        let i = FeedInitialized { feed: [1; 32], authority: [2; 32], symbol: [b'S'; 16], expo: -6, slot: 1 };
        assert_eq!(i.encode().finish().unwrap().len(), 8 + 64 + 16 + 4 + 8);
    }
}
