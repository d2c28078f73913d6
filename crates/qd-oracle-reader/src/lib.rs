//! Oracle reader for every QuantDesk program: reads our `PriceFeed`, Pyth legacy v2 price accounts
//! and Pyth `PriceUpdateV2` accounts, normalizes them to one 6-decimal `NormalizedPrice`, and judges
//! them against per-action guards (staleness, confidence, EMA deviation, trading status).
//!
//! Pure functions over account bytes: no runtime account type, no allocation, no floats, no
//! panics on any input, 64-bit arithmetic on the hot path (u128 multiplication only for ratios
//! whose products overflow u64; no 128-bit division anywhere). Reading and guarding a feed costs
//! about 450 compute units on SBF, mostly byte-wise loads of fields the compiler must assume
//! unaligned. `no_std` on SBF; std on the host for unit tests.
#![cfg_attr(target_arch = "bpf", no_std)]

mod error;
mod feed;
mod guard;
mod read;

pub use error::OracleError;
pub use feed::{PriceFeed, PublisherPrice, FEED_STATUS_HALTED, FEED_STATUS_TRADING, MAX_PUBLISHERS, PRICE_FEED_VERSION};
pub use guard::{check, Action, GuardConfig, OracleGuards, MAX_FUTURE_SECS};
pub use read::{feed_authority, price_update_feed_id, read_price, NormalizedPrice, OracleSource, MAX_EXPO, MIN_EXPO, PRICE_DECIMALS};

use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;

/// `read_price`, then `check` against `guard` (usually `guards.get(action)`) at the clock's slot
/// and time: the one call most instructions need. Takes the guard and the clock by reference
/// because SBF passes at most five arguments, all in registers.
pub fn read_guarded(owner: &Pubkey, data: &[u8], guard: &GuardConfig, clock: &Clock) -> Result<NormalizedPrice, OracleError> {
    let price = read_price(owner, data)?;
    check(&price, guard, clock.slot, clock.unix_timestamp)?;
    Ok(price)
}

#[cfg(test)]
mod test_rng;
#[cfg(test)]
mod tests;
