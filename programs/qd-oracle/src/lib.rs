//! qd-oracle: QuantDesk's push price feeds.
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `initialize_feed(symbol, expo, ema_window_secs, publishers, min_publishers,
//!   max_publisher_age_secs)`: an ORACLE_ADMIN holder (qd-security) creates the feed PDA
//!   [b"feed", symbol] and becomes its authority; default guards; no price until a quorum publishes.
//! - `publish(price, conf, publish_time)`: a listed publisher signs; its own publish times
//!   strictly increase and run at most `MAX_PUBLISH_SKEW_SECS` ahead of the cluster clock. Its
//!   price is stored as its latest; when at least `min_publishers` publishers are fresh (published
//!   within `max_publisher_age_secs`), the feed's price becomes their median (see `aggregate`),
//!   stamped with cluster time and slot, and the EMA advances by the cluster time elapsed.
//! - `set_publishers` (with the quorum), `set_guards`: through qd-security's timelock only (an
//!   ORACLE_ADMIN's proposal). `set_status`: the feed's authority while it holds ORACLE_ADMIN.
//!   `set_authority`: the authority, or any ORACLE_ADMIN holder once the authority has lost the
//!   role; the new authority co-signs and holds ORACLE_ADMIN.
//! - `read_price(action, guard)`: reads any supported oracle account (our feed, Pyth legacy,
//!   Pyth PriceUpdateV2), applies the guard for `action` and returns the normalized price as
//!   return data. Read-only: a view for clients and the cost benchmark of the reader.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod aggregate;
pub mod ema;
pub mod error;
pub mod events;
pub mod instruction;
pub mod processor;

pub use qd_ids::QD_ORACLE as ID;

use qd_oracle_reader::PriceFeed;

/// Seed prefix of feed PDAs: [FEED_SEED, symbol (16 bytes, zero padded)].
pub const FEED_SEED: &[u8] = b"feed";

/// How far (seconds) a publisher's stamp may run ahead of the cluster clock. Small: a stamp
/// counts as fresh for `max_publisher_age_secs` after it, so slack here is extra life for a
/// price; publishers' clocks are NTP-synced and the cluster clock follows stake-weighted time.
pub const MAX_PUBLISH_SKEW_SECS: i64 = 2;

qd_runtime::program! {
    name: "qd_oracle",
    docs: "QuantDesk push oracle: feeds published by a set of publishers, with EMA and per-action guards.",
    id: ID,
    process: processor::process,
    instructions: instruction::OracleInstruction,
    accounts: [PriceFeed],
    events: events::idl,
    errors: [
        qd_runtime::error::RuntimeError,
        qd_oracle_reader::OracleError,
        error::OracleProgramError,
        qd_access::AccessError,
    ],
}
