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
