//! qd-trading: perp markets, orders with JIT auctions, fills, funding and PnL settlement.
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `create_market(index, symbol, params, guards)`: ADMIN lists a market: PerpMarket PDA
//!   [b"market", index u16 LE] (index < 64, the pause and session bits), its oracle (Pyth
//!   PriceUpdateV2 feeds pinned), tick/lot (`tick * lot % 1e9 == 0`), margins, fees, auction
//!   bounds and funding.
//! - `set_market_params(params)`: RISK_MANAGER or ADMIN; tick and lot never change.
//! - `set_market_status(status)`: RISK_MANAGER or ADMIN toggle active / reduce-only; ADMIN alone
//!   starts settlement (final) at the oracle price read with settlement guards.
//! - `set_market_oracle(guards)`: ADMIN replaces the oracle and its guards.
//! - `open_trading_account()` / `close_trading_account()`: the margin account's owner opens its
//!   TradingAccount PDA [b"trading", margin_account], and closes it when it holds nothing and
//!   its rate-limit bucket has refilled (close and reopen never resets the bucket).
//! - `place_order(params)`: market, limit or oracle-offset orders; IOC, FOK, GTC, GTT;
//!   post-only (reject or slide) and reduce-only. Market, IOC and FOK orders, and resting orders
//!   that cross the oracle, run an auction. Authorized (owner, delegate or session key),
//!   rate-limited, and health-checked with every open order filled at its worst. The market is
//!   read-only here, so placements in one market do not contend for a write lock. Returns the
//!   order id.
//! - `cancel_order(order_id)`, `cancel_order_by_client_id(client_order_id)`,
//!   `cancel_orders(market_index?)`: never paused, allowed while frozen, never rate-limited.
//! - `modify_order(order_id, price?, base_size?)`: a resting order after its auction, checked as
//!   a placement; keeps its id.
//! - `place_and_make(taker_order_id, maker)`: a maker fills a taker order during its auction at
//!   the auction price; the maker's order is immediate (any rest of it is not kept).
//! - `fill_order(taker_order_id, maker_order_ids)`: anyone matches a taker order whose auction
//!   is over with up to 4 resting maker orders, at the makers' prices.
//! - `update_funding()`: permissionless crank once per funding period (TWAP premium, clamped).
//! - `settle_pnl(market_index)`: permissionless; funding and realized PnL into the quote balance
//!   (a settlement market closes the position at the settlement price first).
//! - `expire_orders()`: permissionless; removes an account's expired orders.
//! - Advanced orders (rules in `advanced`, handlers in processor/advanced): `place_trigger_order`
//!   (stop and take-profit, market or limit, outside the book until `trigger_order` fires it),
//!   `place_bracket` (an entry with one-cancels-other take-profit and stop-loss exits),
//!   `place_iceberg_order` (a clip shows, refreshed from the rest in the fill), `place_scale_orders`
//!   (2 to 32 limit orders between two prices), `place_twap_order` with `crank_twap` placing its
//!   slices. Links between orders (exits, entries, slices, parents) are kept by processor/links.
//! - `take_fees(liquidation_fees, trading_fees)`: CPI only, signed by qd-core's authority PDA
//!   (the insurance fund's sweep): out of the market's fee pools and its PnL pool.
//!
//! Fills settle funding on both positions, charge fees (taker, maker or a maker rebate) into the
//! quote balances by CPI to qd-collateral's `adjust_balance` signed by the [b"authority"] PDA, and
//! check the health of each account whose position grew. Health accounts: after the fixed
//! accounts, per checked account, each non-quote balance's CollateralConfig and oracle, then
//! each other position's PerpMarket and oracle (crates/qd-trading-state). Layouts:
//! crates/qd-trading-state.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod advanced;
pub mod error;
pub mod events;
pub mod instruction;
pub mod processor;
pub mod rules;
#[cfg(test)]
mod tests;

pub use qd_ids::QD_TRADING as ID;

use qd_trading_state::{PerpMarket, TradingAccount};

qd_runtime::program! {
    name: "qd_trading",
    docs: "QuantDesk trading: perp markets, orders (market, limit, oracle-offset; IOC, FOK, GTC, GTT; post-only, reduce-only; stop and take-profit triggers, brackets with one-cancels-other exits, icebergs, scale orders, TWAPs) with JIT auctions, fills by makers and fillers, fees into per-market fee pools, two funding indices, PnL settlement through per-market PnL pools.",
    id: ID,
    process: processor::process,
    instructions: instruction::TradingInstruction,
    accounts: [PerpMarket, TradingAccount],
    events: events::idl,
    errors: [
        qd_runtime::error::RuntimeError,
        qd_oracle_reader::OracleError,
        error::TradingError,
        qd_access::AccessError,
        qd_health::HealthError,
        qd_collateral_state::CollateralStateError,
        qd_core_state::MarginError,
        qd_core_state::CoreAuthorityError,
    ],
}
