//! Anchor events: every market change, every order's life (placed, modified, cancelled or
//! expired, filled), funding and PnL settlement. Each encodes as discriminator
//! sha256("event:<Name>")[..8] + borsh fields in IDL order. `seq` is the target's own sequence
//! number (PerpMarket.audit_seq for admin changes, TradingAccount.seq for account events), so
//! gaps in an indexer's copy show; fills are numbered by the market's `fill_seq` (`fill_id`).

use crate::instruction::MarketParams;
use qd_runtime::borsh::Writer;
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;
use qd_trading_state::Order;

/// Large enough for every event below (OrderModified: 8 + 64 + 16 + 136 + 16 = 240).
pub type EventBuf = Writer<240>;

/// `OrderCancelled::reason`.
pub const CANCEL_USER: u8 = 0;
pub const CANCEL_EXPIRED: u8 = 1;
/// A reduce-only order with nothing left to reduce.
pub const CANCEL_REDUCE_ONLY: u8 = 2;
/// The market went to settlement.
pub const CANCEL_SETTLEMENT: u8 = 3;

fn market_params(w: &mut EventBuf, p: &MarketParams) {
    w.u64(p.tick_size)
        .u64(p.lot_size)
        .u64(p.min_order_size)
        .u16(p.init_margin_bps)
        .u16(p.maint_margin_bps)
        .u64(p.size_margin_factor)
        .u16(p.upnl_init_weight_bps)
        .u16(p.upnl_maint_weight_bps)
        .u16(p.taker_fee_bps)
        .i16(p.maker_fee_bps)
        .u64(p.max_open_interest)
        .u16(p.auction_min_slots)
        .u16(p.auction_default_slots)
        .u16(p.auction_max_slots)
        .u16(p.auction_max_deviation_bps)
        .u16(p.post_auction_slots)
        .i64(p.funding_period_secs)
        .u16(p.funding_max_rate_bps)
        .u16(p.mark_band_bps)
        .u64(p.mark_depth_base)
        .u16(p.delegated_band_bps);
}

/// An Order as borsh lays out the IDL type (its repr(C) fields in order, padding included).
fn order(w: &mut EventBuf, o: &Order) {
    w.u64(o.order_id)
        .u64(o.client_order_id)
        .u16(o.market_index)
        .u8(o.side)
        .u8(o.kind)
        .u8(o.tif)
        .u8(o.flags)
        .u8(o.actor)
        .u8(o._pad)
        .i64(o.price)
        .u64(o.base_size)
        .u64(o.base_filled)
        .i64(o.reserved_price)
        .u64(o.placed_slot)
        .i64(o.expiry_ts)
        .i64(o.auction_start_price)
        .i64(o.auction_end_price)
        .u16(o.auction_slots)
        .bytes(&o._pad2)
        .u64(o.expiry_slot)
        .pubkey(&o.signer);
}

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
pub struct OrderPlaced<'a> {
    pub margin_account: Pubkey,
    pub signer: Pubkey,
    pub actor: u8,
    pub order: &'a Order,
    pub slot: u64,
    pub seq: u64,
}

/// `order` as it is after the change.
pub struct OrderModified<'a> {
    pub margin_account: Pubkey,
    pub signer: Pubkey,
    pub old_price: i64,
    pub old_base_size: u64,
    pub order: &'a Order,
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
    pub cumulative_funding: i64,
    pub ts: i64,
    pub slot: u64,
}

/// `funding`: settled into the position now; `closed_base`: the position closed at the
/// settlement price (settlement markets, else 0); `pnl`: moved into the quote balance.
pub struct PnlSettled {
    pub margin_account: Pubkey,
    pub market_index: u16,
    pub funding: i64,
    pub closed_base: i64,
    pub pnl: i64,
    pub settled_pnl: i64,
    pub slot: u64,
    pub seq: u64,
}

impl MarketCreated {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "MarketCreated");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.market).u16(self.index).bytes(&self.symbol).pubkey(&self.oracle).pubkey(&self.admin);
        market_params(&mut w, &self.params);
        w.u64(self.slot).u64(self.seq);
        w
    }
}

impl MarketParamsChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "MarketParamsChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.market).u16(self.index).pubkey(&self.signer);
        market_params(&mut w, &self.params);
        w.u64(self.slot).u64(self.seq);
        w
    }
}

impl MarketStatusChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "MarketStatusChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.market)
            .u16(self.index)
            .pubkey(&self.signer)
            .u8(self.old_status)
            .u8(self.status)
            .i64(self.settlement_price)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl MarketOracleChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "MarketOracleChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.market)
            .u16(self.index)
            .pubkey(&self.admin)
            .pubkey(&self.old_oracle)
            .pubkey(&self.new_oracle)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl TradingAccountOpened {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "TradingAccountOpened");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.trading)
            .pubkey(&self.margin_account)
            .pubkey(&self.owner)
            .bool(self.open)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl OrderPlaced<'_> {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "OrderPlaced");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.margin_account).pubkey(&self.signer).u8(self.actor);
        order(&mut w, self.order);
        w.u64(self.slot).u64(self.seq);
        w
    }
}

impl OrderModified<'_> {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "OrderModified");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.margin_account).pubkey(&self.signer).i64(self.old_price).u64(self.old_base_size);
        order(&mut w, self.order);
        w.u64(self.slot).u64(self.seq);
        w
    }
}

impl OrderCancelled {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "OrderCancelled");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.margin_account)
            .u64(self.order_id)
            .u64(self.client_order_id)
            .u16(self.market_index)
            .u8(self.side)
            .u8(self.reason)
            .u64(self.remaining)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl Fill {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "Fill");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .u64(self.fill_id)
            .u16(self.market_index)
            .pubkey(&self.taker)
            .u64(self.taker_order_id)
            .pubkey(&self.maker)
            .u64(self.maker_order_id)
            .u8(self.taker_side)
            .i64(self.price)
            .u64(self.base)
            .i64(self.quote)
            .i64(self.taker_fee)
            .i64(self.maker_fee)
            .u64(self.slot)
            .i64(self.ts);
        w
    }
}

impl FundingUpdated {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "FundingUpdated");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .u16(self.market_index)
            .i64(self.mark_twap)
            .i64(self.oracle_twap)
            .i64(self.delta)
            .i64(self.cumulative_funding)
            .i64(self.ts)
            .u64(self.slot);
        w
    }
}

impl PnlSettled {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "PnlSettled");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.margin_account)
            .u16(self.market_index)
            .i64(self.funding)
            .i64(self.closed_base)
            .i64(self.pnl)
            .i64(self.settled_pnl)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    #[test]
    fn events_fit_their_buffer_and_lay_out_orders_as_in_memory() {
        let created = MarketCreated { market: [1; 32], index: 2, symbol: [3; 16], oracle: [4; 32], admin: [5; 32], params: params(), slot: 6, seq: 7 };
        let bytes = created.encode().finish().unwrap().to_vec();
        assert_eq!(bytes.len(), 8 + 32 + 2 + 16 + 64 + 84 + 16);
        assert_eq!(&bytes[bytes.len() - 8..], &7u64.to_le_bytes());

        let o = Order { order_id: 1, client_order_id: 2, market_index: 3, side: 1, kind: 2, tif: 3, flags: 3, price: -4, base_size: 5, expiry_slot: 9, ..Order::default() };
        let placed = OrderPlaced { margin_account: [1; 32], signer: [2; 32], actor: 1, order: &o, slot: 3, seq: 4 };
        let bytes = placed.encode().finish().unwrap().to_vec();
        assert_eq!(bytes.len(), 8 + 64 + 1 + 136 + 16);
        // The borsh Order equals its repr(C) bytes: the IDL type and the account layout agree.
        let raw = unsafe { core::slice::from_raw_parts(&o as *const Order as *const u8, core::mem::size_of::<Order>()) };
        assert_eq!(&bytes[73..73 + 136], raw);

        let modified = OrderModified { margin_account: [1; 32], signer: [2; 32], old_price: 1, old_base_size: 2, order: &o, slot: 3, seq: 4 };
        assert_eq!(modified.encode().finish().unwrap().len(), 8 + 64 + 16 + 136 + 16);
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
        assert_eq!(fill.encode().finish().unwrap().len(), 8 + 8 + 2 + 32 + 8 + 32 + 8 + 1 + 40 + 16);
    }
}
