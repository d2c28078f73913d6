//! Accounts owned by qd-trading, the math of fills, auctions and funding, and the perp half of
//! every health check.
//!
//! qd-trading writes one `PerpMarket` per market (PDA [b"market", index u16 LE]) and one
//! `TradingAccount` per margin account (PDA [b"trading", margin_account]) holding its positions
//! (`positions[..position_count]`, at most 8) and resting orders (`orders[..order_count]`, at
//! most 32), both kept compact. qd-collateral (withdrawals, transfers, view_health) and qd-core
//! (closing a margin account) read them too; clients/trading_state.py decodes the same bytes.
//!
//! Identity by fields, as for CollateralBalances: qd-trading creates a market only at its PDA
//! and never changes `index`, and a TradingAccount only at its PDA and never changes
//! `margin_account`; a reader that checked the owner program and type trusts those fields.
//!
//! Units: prices i64 with 6 decimals (quote native per whole base), base amounts with 9
//! decimals (`qd_health::BASE_SCALE`), quote amounts in quote native units, the funding index
//! in quote native per whole base scaled by 1e6 (longs pay when it rises). A market's
//! `tick_size * lot_size` is a multiple of 1e9, so `quote_for(size, price)` of a lot multiple
//! at a tick multiple is exact and both sides of a fill exchange the same quote.
//!
//! Health-account order (every health check over a margin account): after the instruction's
//! fixed accounts, for each balance entry in balance order its CollateralConfig and (except for
//! the quote mint) its oracle; then for each position in position order its PerpMarket and its
//! oracle. A quote config or a market the instruction already holds as a fixed account is not
//! repeated (`account_health`'s `quote` and `fixed_market`). Nothing more.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod cpi;
mod health;
mod math;
mod state;

pub use health::trading_account_of;
pub use health::{account_health, add_perps, load_market, load_trading, market_price};
pub use math::{auction_price, band, quote_for, round_to_tick};
pub use state::{Order, PerpMarket, Position, TradingAccount};

pub const MARKET_SEED: &[u8] = b"market";
pub const TRADING_SEED: &[u8] = b"trading";

pub const PERP_MARKET_VERSION: u8 = 1;
pub const TRADING_ACCOUNT_VERSION: u8 = 2;

/// Markets one trading account can hold positions (or orders) in at once.
pub const MAX_POSITIONS: usize = 8;
/// Resting orders of one trading account.
pub const MAX_ORDERS: usize = 32;

/// `PerpMarket::status`: trading open.
pub const MARKET_STATUS_ACTIVE: u8 = 0;
/// Only fills that reduce both sides' positions.
pub const MARKET_STATUS_REDUCE_ONLY: u8 = 1;
/// Final: positions close at `settlement_price` when settled.
pub const MARKET_STATUS_SETTLEMENT: u8 = 2;

/// `Order::side`: buy (long).
pub const SIDE_BID: u8 = 0;
/// Sell (short).
pub const SIDE_ASK: u8 = 1;

/// `Order::kind`: an auction toward `price`, the worst price accepted.
pub const KIND_MARKET: u8 = 0;
pub const KIND_LIMIT: u8 = 1;
/// Price = oracle + `price` (the offset), rounded to a tick against the order's side.
pub const KIND_ORACLE_OFFSET: u8 = 2;
/// A TWAP parent: outside the book, it places IOC slices (`crank_twap`).
pub const KIND_TWAP: u8 = 3;

/// `Order::trigger_condition`: not a trigger order.
pub const TRIGGER_NONE: u8 = 0;
/// Fires when the oracle is at or above `trigger_price`.
pub const TRIGGER_ABOVE: u8 = 1;
/// Fires when the oracle is at or below `trigger_price`.
pub const TRIGGER_BELOW: u8 = 2;

/// `Order::tif`: good till cancelled.
pub const TIF_GTC: u8 = 0;
/// Immediate or cancel: fillable only during its auction and the post-auction window.
pub const TIF_IOC: u8 = 1;
/// Fill or kill: as IOC, and only whole.
pub const TIF_FOK: u8 = 2;
/// Good till `expiry_ts`.
pub const TIF_GTT: u8 = 3;

/// `Order::flags` bits.
pub const ORDER_FLAG_POST_ONLY: u8 = 1 << 0;
pub const ORDER_FLAG_REDUCE_ONLY: u8 = 1 << 1;
/// Waiting for its trigger price, outside the book.
pub const ORDER_FLAG_UNTRIGGERED: u8 = 1 << 2;
/// A bracket's entry (its exits name it in `parent_id`).
pub const ORDER_FLAG_ENTRY: u8 = 1 << 3;
/// A bracket's take-profit or stop-loss.
pub const ORDER_FLAG_EXIT: u8 = 1 << 4;
/// A TWAP's slice.
pub const ORDER_FLAG_SLICE: u8 = 1 << 5;
/// A bracket exit the other exit counts for in the order totals (their remainders stay equal).
pub const ORDER_FLAG_COVERED: u8 = 1 << 6;

/// `OrderParams::post_only`: a taker may take.
pub const POST_ONLY_NONE: u8 = 0;
/// A crossing post-only order is refused.
pub const POST_ONLY_REJECT: u8 = 1;
/// A crossing post-only order is repriced one tick behind the oracle.
pub const POST_ONLY_SLIDE: u8 = 2;

/// qd-trading's `take_fees` discriminator: shared by its decoder and qd-core's CPI.
pub const TAKE_FEES: [u8; 8] = qd_runtime::hash::discriminator("global", "take_fees");

/// CPI into qd-trading's `take_fees`: takes `liquidation_fees` and `trading_fees` out of
/// `market`'s pools and its PnL pool (the insurance fund's sweep). `authority` is qd-core's
/// [b"authority"] PDA, signing with `authority_seeds` (bump included): the only caller accepted.
pub fn take_fees(
    authority: &qd_runtime::account_info::AccountInfo,
    market: &qd_runtime::account_info::AccountInfo,
    liquidation_fees: u64,
    trading_fees: u64,
    authority_seeds: &[&[u8]],
) -> Result<(), qd_runtime::error::ProgramError> {
    use qd_runtime::cpi::{invoke_signed, AccountMeta};
    let mut data = qd_runtime::borsh::Writer::<24>::new();
    data.bytes(&TAKE_FEES).u64(liquidation_fees).u64(trading_fees);
    invoke_signed(
        &qd_ids::QD_TRADING,
        &[AccountMeta::readonly(authority.key(), true), AccountMeta::writable(market.key(), false)],
        &[authority, market],
        data.finish()?,
        &[authority_seeds],
    )
}

#[cfg(test)]
mod tests;
