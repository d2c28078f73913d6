//! qd-oracle: QuantDesk's push price feeds.
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `initialize_feed(symbol, expo, ema_window_secs, publishers)`: authority creates the feed PDA
//!   [b"feed", symbol] with default guards, halted until the first publish.
//! - `publish(price, conf, publish_time)`: a listed publisher signs; time strictly increases;
//!   the EMA of price and confidence is updated; status becomes trading.
//! - `set_publishers`, `set_authority` (the new authority co-signs), `set_guards`, `set_status`:
//!   authority only.
//! - `read_price(action, guard)`: reads any supported oracle account (our feed, Pyth legacy,
//!   Pyth PriceUpdateV2), applies the guard for `action` and returns the normalized price as
//!   return data. Read-only: a view for clients and the cost benchmark of the reader.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod ema;
pub mod error;
pub mod events;
pub mod instruction;
#[cfg(target_arch = "bpf")]
pub mod processor;

pub use qd_ids::QD_ORACLE as ID;

/// Seed prefix of feed PDAs: [FEED_SEED, symbol (16 bytes, zero padded)].
pub const FEED_SEED: &[u8] = b"feed";

#[cfg(target_arch = "bpf")]
qd_runtime::entrypoint!(processor::process);

#[cfg(test)]
mod idl_layout {
    use qd_oracle_reader::{GuardConfig, OracleGuards, PriceFeed};
    use qd_runtime::idl::check_layout;
    use qd_runtime::idl_fields;

    const IDL: &str = include_str!("../../../idl/qd_oracle.json");

    #[test]
    fn accounts_match_the_idl() {
        check_layout(
            IDL,
            "PriceFeed",
            &idl_fields!(PriceFeed: version, status, num_publishers, bump, expo, symbol, authority, publishers, price, conf,
                ema_price, ema_conf, publish_time, publish_slot, prev_publish_time, ema_window_secs, _pad0, guards, _reserved),
            core::mem::size_of::<PriceFeed>(),
        );
        check_layout(
            IDL,
            "GuardConfig",
            &idl_fields!(GuardConfig: max_staleness_slots, max_staleness_secs, max_conf_bps, max_ema_deviation_bps, require_trading, _pad),
            core::mem::size_of::<GuardConfig>(),
        );
        check_layout(IDL, "OracleGuards", &idl_fields!(OracleGuards: by_action), core::mem::size_of::<OracleGuards>());
    }
}
