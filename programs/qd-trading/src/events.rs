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
/// A bracket exit whose other exit filled as much as it had left (one-cancels-other).
pub const CANCEL_OCO: u8 = 5;
/// A bracket exit whose entry left the book having filled nothing (or less than it had left).
pub const CANCEL_BRACKET: u8 = 6;
/// A TWAP whose slices are all placed, once the last one left the book.
pub const CANCEL_TWAP_FINISHED: u8 = 7;
/// A TWAP slice replaced by the next one (its unfilled rest went back to the TWAP).
pub const CANCEL_TWAP_NEXT_SLICE: u8 = 8;
/// A trigger or TWAP slice that would break initial health or the leverage limit now.
pub const CANCEL_HEALTH: u8 = 9;
/// A trigger or TWAP slice that would add risk while the market or the account may only reduce.
pub const CANCEL_LIMITS: u8 = 10;
/// A triggered market order whose worst price is beyond the auction band of the oracle.
pub const CANCEL_PRICE: u8 = 11;

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

    /// A scale order's orders, placed at once (one event: 32 OrderPlaced would pass the transaction's log limit): ids
    /// `first_order_id..` and client ids `first_client_order_id..` in order, each a resting LIMIT order at `prices[i]`
    /// (its reserved price too) for `sizes[i]`, with the shared side, `flags`, `tif` and `expiry_ts`.
    pub struct ScaleOrdersPlaced {
        pub margin_account: Pubkey,
        pub signer: Pubkey,
        pub actor: u8,
        pub market_index: u16,
        pub side: u8,
        pub flags: u8,
        pub tif: u8,
        pub expiry_ts: i64,
        pub first_order_id: u64,
        pub first_client_order_id: u64,
        pub prices: BoundedVec<i64, 32>,
        pub sizes: BoundedVec<u64, 32>,
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

    /// An untriggered order fired by `cranker` at `oracle_price`: `order` as it is now (live, with its auction); `fee` paid
    /// by the account to the cranker's trading account (`fee_account`; the qd-trading id and 0 when none).
    pub struct OrderTriggered {
        pub margin_account: Pubkey,
        pub cranker: Pubkey,
        pub fee_account: Pubkey,
        pub fee: i64,
        pub oracle_price: i64,
        pub order: Order,
        pub slot: u64,
        pub seq: u64,
    }

    /// An order made smaller by a link (`reason`: a `CANCEL_*` code): a bracket exit by a fill of the other exit (OCO)
    /// or by its entry leaving the book unfilled.
    pub struct OrderReduced {
        pub margin_account: Pubkey,
        pub order_id: u64,
        pub reason: u8,
        pub old_base_size: u64,
        pub base_size: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// An iceberg's clip filled and was refreshed from the rest in the same fill: `clip` now shows of `remaining`.
    pub struct IcebergRefreshed {
        pub margin_account: Pubkey,
        pub order_id: u64,
        pub clip: u64,
        pub remaining: u64,
        pub slot: u64,
        pub seq: u64,
    }

    /// A TWAP's slice placed by `cranker` (the slice enters the book with this event): `slices_done` of `slices` due by
    /// now are placed, `executed` of `base_size` filled so far, the next due at `next_due_slot` (0: none); `fee` as for
    /// OrderTriggered.
    pub struct TwapSlicePlaced {
        pub margin_account: Pubkey,
        pub cranker: Pubkey,
        pub fee_account: Pubkey,
        pub fee: i64,
        pub parent_id: u64,
        pub base_size: u64,
        pub executed: u64,
        pub slices_done: u16,
        pub slices: u16,
        pub next_due_slot: u64,
        pub slice: Order,
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
            trigger_fee: 27,
            twap_slice_fee: 28,
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
        assert_eq!(bytes.len(), 8 + 32 + 2 + 16 + 64 + 122 + 16);
        // MarketParams in declaration order: tick, lot, min size, init margin ... delegated band,
        // then the liquidation fees and limits, the insurance cap and the crank fees.
        assert_eq!(&bytes[122..146], &[1u64.to_le_bytes(), 2u64.to_le_bytes(), 3u64.to_le_bytes()].concat()[..]);
        assert_eq!(&bytes[122 + 82..122 + 84], &21u16.to_le_bytes());
        assert_eq!(&bytes[122 + 84..122 + 90], &[22u16.to_le_bytes(), 23u16.to_le_bytes(), 24u16.to_le_bytes()].concat()[..]);
        assert_eq!(
            &bytes[122 + 90..122 + 122],
            &[25u64.to_le_bytes(), 26u64.to_le_bytes(), 27u64.to_le_bytes(), 28u64.to_le_bytes()].concat()[..]
        );
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
        let o = Order { expiry_slot: 9, trigger_condition: 7, tolerance_bps: 8, next_due_slot: 10, _pad: [11; 4], ..o };
        let bytes = emitted(|| OrderPlaced { margin_account: [1; 32], signer: [2; 32], actor: 1, order: o, slot: 3, seq: 4 }.emit());
        assert_eq!(bytes.len(), 8 + 64 + 1 + 208 + 16);
        // The borsh Order equals its repr(C) bytes, padding included: the IDL type and the account layout agree.
        let raw = unsafe { core::slice::from_raw_parts(&o as *const Order as *const u8, core::mem::size_of::<Order>()) };
        assert_eq!(&bytes[73..73 + 208], raw);

        let modified =
            OrderModified { margin_account: [1; 32], signer: [2; 32], old_price: 1, old_base_size: 2, order: o, slot: 3, seq: 4 };
        assert_eq!(emitted(|| modified.emit()).len(), 8 + 64 + 16 + 208 + 16);
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
