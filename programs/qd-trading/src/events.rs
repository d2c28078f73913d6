//! Anchor events: every market change, every order's life (placed, modified, cancelled or
//! expired, filled), funding and PnL settlement. Each encodes as discriminator
//! sha256("event:<Name>")[..8] + borsh fields in IDL order (an `Order` as its repr(C) bytes,
//! padding included). `seq` is the target's own sequence number (PerpMarket.audit_seq for admin
//! changes, TradingAccount.seq for account events), so gaps in an indexer's copy show; fills are
//! numbered by the market's `fill_seq` (`fill_id`).

use crate::instruction::MarketParams;
use qd_runtime::borsh::BoundedVec;
use qd_runtime::pubkey::Pubkey;
use qd_trading_state::Order;

/// `OrderCancelled::reason`.
pub const CANCEL_USER: u8 = 0;
pub const CANCEL_EXPIRED: u8 = 1;
/// A reduce-only order with nothing left to reduce.
pub const CANCEL_REDUCE_ONLY: u8 = 2;
/// The market went to settlement.
pub const CANCEL_SETTLEMENT: u8 = 3;
/// qd-core's liquidate_orders.
pub const CANCEL_LIQUIDATION: u8 = 4;

qd_runtime::events! {
    pub struct MarketCreated {
        pub market: Pubkey,
        pub index: u16,
        pub symbol: [u8; 16],
        pub oracle: Pubkey,
        pub admin: Pubkey,
        pub params: MarketParams,
        pub slot: u64,
        pub seq: u64,
    }

    pub struct MarketParamsChanged {
        pub market: Pubkey,
        pub index: u16,
        pub signer: Pubkey,
        pub params: MarketParams,
        pub slot: u64,
        pub seq: u64,
    }

    /// `settlement_price`: recorded when the market enters settlement, else 0.
    pub struct MarketStatusChanged {
        pub market: Pubkey,
        pub index: u16,
        pub signer: Pubkey,
        pub old_status: u8,
        pub status: u8,
        pub settlement_price: i64,
        pub slot: u64,
        pub seq: u64,
    }

    pub struct MarketOracleChanged {
        pub market: Pubkey,
        pub index: u16,
        pub admin: Pubkey,
        pub old_oracle: Pubkey,
        pub new_oracle: Pubkey,
        pub slot: u64,
        pub seq: u64,
    }

    /// `open`: true when opened, false when closed.
    pub struct TradingAccountOpened {
        pub trading: Pubkey,
        pub margin_account: Pubkey,
        pub owner: Pubkey,
        pub open: bool,
        pub slot: u64,
        pub seq: u64,
    }

    /// `actor`: qd_access::Actor (0 owner, 1 delegate, 2 session).
    pub struct OrderPlaced {
        pub margin_account: Pubkey,
        pub signer: Pubkey,
        pub actor: u8,
        pub order: Order,
        pub slot: u64,
        pub seq: u64,
    }

    /// `order` as it is after the change.
    pub struct OrderModified {
        pub margin_account: Pubkey,
        pub signer: Pubkey,
        pub old_price: i64,
        pub old_base_size: u64,
        pub order: Order,
        pub slot: u64,
        pub seq: u64,
    }

    /// `remaining`: the unfilled size taken off the book.
    pub struct OrderCancelled {
        pub margin_account: Pubkey,
        pub order_id: u64,
        pub client_order_id: u64,
        pub market_index: u16,
        pub side: u8,
        pub reason: u8,
        pub remaining: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// Every open order of an account taken off the book at once (qd-core's liquidate_orders):
    /// their ids, in book order; each order's remaining size left the totals with it.
    pub struct OrdersCancelled {
        pub margin_account: Pubkey,
        pub reason: u8,
        pub order_ids: BoundedVec<u64, 32>,
        pub slot: u64,
        pub seq: u64,
    }

    /// `maker_fee` < 0 is a rebate; `quote` = base * price / 1e9, exact.
    pub struct Fill {
        pub fill_id: u64,
        pub market_index: u16,
        pub taker: Pubkey,
        pub taker_order_id: u64,
        pub maker: Pubkey,
        pub maker_order_id: u64,
        pub taker_side: u8,
        pub price: i64,
        pub base: u64,
        pub quote: i64,
        pub taker_fee: i64,
        pub maker_fee: i64,
        pub slot: u64,
        pub ts: i64,
    }

    pub struct FundingUpdated {
        pub market_index: u16,
        pub mark_twap: i64,
        pub oracle_twap: i64,
        pub delta: i64,
        pub cumulative_funding_long: i64,
        pub cumulative_funding_short: i64,
        pub ts: i64,
        pub slot: u64,
    }

    /// `funding`: settled into the position now; `closed_base`: the position closed at the
    /// settlement price (settlement markets, else 0); `pnl`: moved into the quote balance
    /// through the market's PnL pool (< 0 paid in); `unsettled`: the position's PnL left to
    /// settle (a loss beyond the quote balance, a profit beyond what the pool holds).
    pub struct PnlSettled {
        pub margin_account: Pubkey,
        pub market_index: u16,
        pub funding: i64,
        pub closed_base: i64,
        pub pnl: i64,
        pub unsettled: i64,
        pub settled_pnl: i64,
        pub slot: u64,
        pub seq: u64,
    }

    /// A bankrupt account's debt in the market: `insurance` paid by the insurance fund into the
    /// PnL pool, `socialized` over the open positions (each funding index moved by
    /// `index_delta` against its side), `unbacked` when no position was open to take it.
    pub struct LossSocialized {
        pub market_index: u16,
        pub margin_account: Pubkey,
        pub liquidation_id: u64,
        pub debt: i64,
        pub insurance: i64,
        pub socialized: u64,
        pub unbacked: u64,
        pub index_delta: i64,
        pub open_interest_long: u64,
        pub open_interest_short: u64,
        pub slot: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_runtime::host::{take_records, HostRecord};

    fn params() -> MarketParams {
        MarketParams {
            tick_size: 1,
            lot_size: 2,
            min_order_size: 3,
            init_margin_bps: 4,
            maint_margin_bps: 5,
            size_margin_factor: 6,
            upnl_init_weight_bps: 7,
            upnl_maint_weight_bps: 8,
            taker_fee_bps: 9,
            maker_fee_bps: -10,
            max_open_interest: 11,
            auction_min_slots: 12,
            auction_default_slots: 13,
            auction_max_slots: 14,
            auction_max_deviation_bps: 15,
            post_auction_slots: 16,
            funding_period_secs: 17,
            funding_max_rate_bps: 18,
            mark_band_bps: 19,
            mark_depth_base: 20,
            delegated_band_bps: 21,
            liquidator_fee_bps: 22,
            insurance_fee_bps: 23,
            liquidation_max_fraction_bps: 24,
            liquidation_whole_base: 25,
            insurance_cap: 26,
        }
    }

    /// The bytes of the one event `emit` logged.
    fn emitted(emit: impl FnOnce()) -> Vec<u8> {
        take_records();
        emit();
        match take_records().as_slice() {
            [HostRecord::Data(bytes)] => bytes.clone(),
            other => panic!("expected one event, got {other:?}"),
        }
    }

    #[test]
    fn events_lay_out_params_and_orders_as_before() {
        let created = MarketCreated {
            market: [1; 32],
            index: 2,
            symbol: [3; 16],
            oracle: [4; 32],
            admin: [5; 32],
            params: params(),
            slot: 6,
            seq: 7,
        };
        let bytes = emitted(|| created.emit());
        assert_eq!(&bytes[..8], &MarketCreated::DISCRIMINATOR);
        assert_eq!(bytes.len(), 8 + 32 + 2 + 16 + 64 + 106 + 16);
        // MarketParams in declaration order: tick, lot, min size, init margin ... delegated band,
        // then the liquidation fees and limits and the insurance cap.
        assert_eq!(&bytes[122..146], &[1u64.to_le_bytes(), 2u64.to_le_bytes(), 3u64.to_le_bytes()].concat()[..]);
        assert_eq!(&bytes[122 + 82..122 + 84], &21u16.to_le_bytes());
        assert_eq!(&bytes[122 + 84..122 + 90], &[22u16.to_le_bytes(), 23u16.to_le_bytes(), 24u16.to_le_bytes()].concat()[..]);
        assert_eq!(&bytes[122 + 90..122 + 106], &[25u64.to_le_bytes(), 26u64.to_le_bytes()].concat()[..]);
        assert_eq!(&bytes[bytes.len() - 8..], &7u64.to_le_bytes());

        let o = Order {
            order_id: 1,
            client_order_id: 2,
            market_index: 3,
            side: 1,
            kind: 2,
            tif: 3,
            flags: 3,
            price: -4,
            base_size: 5,
            ..Order::default()
        };
        let o = Order { expiry_slot: 9, _pad: 7, _pad2: [8; 6], ..o };
        let bytes = emitted(|| OrderPlaced { margin_account: [1; 32], signer: [2; 32], actor: 1, order: o, slot: 3, seq: 4 }.emit());
        assert_eq!(bytes.len(), 8 + 64 + 1 + 136 + 16);
        // The borsh Order equals its repr(C) bytes, padding included: the IDL type and the account layout agree.
        let raw = unsafe { core::slice::from_raw_parts(&o as *const Order as *const u8, core::mem::size_of::<Order>()) };
        assert_eq!(&bytes[73..73 + 136], raw);

        let modified =
            OrderModified { margin_account: [1; 32], signer: [2; 32], old_price: 1, old_base_size: 2, order: o, slot: 3, seq: 4 };
        assert_eq!(emitted(|| modified.emit()).len(), 8 + 64 + 16 + 136 + 16);
        let fill = Fill {
            fill_id: 1,
            market_index: 2,
            taker: [3; 32],
            taker_order_id: 4,
            maker: [5; 32],
            maker_order_id: 6,
            taker_side: 0,
            price: 7,
            base: 8,
            quote: 9,
            taker_fee: 10,
            maker_fee: -11,
            slot: 12,
            ts: 13,
        };
        assert_eq!(emitted(|| fill.emit()).len(), 8 + 8 + 2 + 32 + 8 + 32 + 8 + 1 + 40 + 16);
    }
}
