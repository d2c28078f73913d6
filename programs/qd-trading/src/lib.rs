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
//!
//! Fills settle funding on both positions, charge fees (taker, maker or a maker rebate) into the
//! quote balances by CPI to qd-collateral's `adjust_balance` signed by the [b"authority"] PDA, and
//! check the health of each account whose position grew. Health accounts: after the fixed
//! accounts, per checked account, each non-quote balance's CollateralConfig and oracle, then
//! each other position's PerpMarket and oracle (crates/qd-trading-state). Layouts:
//! crates/qd-trading-state.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod error;
pub mod events;
pub mod instruction;
#[cfg(target_arch = "bpf")]
pub mod processor;
pub mod rules;

pub use qd_ids::QD_TRADING as ID;

#[cfg(target_arch = "bpf")]
qd_runtime::entrypoint!(processor::process);

#[cfg(test)]
mod idl_layout {
    use qd_oracle_reader::{GuardConfig, OracleGuards};
    use qd_access::TokenBucket;
    use qd_runtime::idl::check_layout;
    use qd_runtime::idl_fields;
    use qd_trading_state::{Order, PerpMarket, Position, TradingAccount};

    const IDL: &str = include_str!("../../../idl/qd_trading.json");

    #[test]
    fn accounts_match_the_idl() {
        check_layout(
            IDL,
            "PerpMarket",
            &idl_fields!(PerpMarket: version, bump, status, _pad0, index, init_margin_bps, maint_margin_bps, upnl_init_weight_bps,
                upnl_maint_weight_bps, taker_fee_bps, maker_fee_bps, auction_min_slots, auction_default_slots, auction_max_slots, symbol,
                oracle, oracle_feed_id, guards, tick_size, lot_size, min_order_size, size_margin_factor, max_open_interest,
                auction_max_deviation_bps, funding_max_rate_bps, post_auction_slots, _pad1, funding_period_secs, open_interest_long,
                open_interest_short, cumulative_funding, last_funding_ts, last_funding_delta, mark_twap, oracle_twap, twap_ts,
                last_fill_price, last_fill_ts, fill_seq, total_fees, total_funding_settled, total_pnl_settled, settlement_price,
                audit_seq, total_volume_quote, mark_band_bps, delegated_band_bps, _pad2, mark_depth_base, mark_premium, oracle_sample,
                _reserved),
            core::mem::size_of::<PerpMarket>(),
        );
        check_layout(
            IDL,
            "Position",
            &idl_fields!(Position: market_index, open_orders, _pad, base, quote_entry, realized_pnl, funding_snapshot, bids_base,
                bids_quote, asks_base, asks_quote, total_realized),
            core::mem::size_of::<Position>(),
        );
        check_layout(
            IDL,
            "Order",
            &idl_fields!(Order: order_id, client_order_id, market_index, side, kind, tif, flags, actor, _pad, price, base_size, base_filled,
                reserved_price, placed_slot, expiry_ts, auction_start_price, auction_end_price, auction_slots, _pad2, expiry_slot, signer),
            core::mem::size_of::<Order>(),
        );
        check_layout(
            IDL,
            "TradingAccount",
            &idl_fields!(TradingAccount: version, bump, has_open_order, has_open_auction, position_count, order_count, _pad0,
                margin_account, owner, bucket, next_order_id, seq, settled_pnl, fees_paid, positions, orders, _reserved),
            core::mem::size_of::<TradingAccount>(),
        );
        check_layout(IDL, "TokenBucket", &idl_fields!(TokenBucket: tokens_milli, last_slot), core::mem::size_of::<TokenBucket>());
        check_layout(IDL, "OracleGuards", &idl_fields!(OracleGuards: by_action), core::mem::size_of::<OracleGuards>());
        check_layout(
            IDL,
            "GuardConfig",
            &idl_fields!(GuardConfig: max_staleness_slots, max_staleness_secs, max_conf_bps, max_ema_deviation_bps, require_trading, _pad),
            core::mem::size_of::<GuardConfig>(),
        );
    }
}
