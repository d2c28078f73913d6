//! The order rules that depend only on the market, the oracle price and the clock: sizes and
//! prices against the tick and lot, reserved prices, post-only crossing, auctions, reduce-only
//! room, fees and open interest. Pure, host-tested; the processor applies them to accounts.

use crate::error::{overflow, TradingError as E};
use crate::instruction::{AuctionParams, OrderParams};
use qd_health::wide::{div_pow10, mul_wide};
use qd_health::Health;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_trading_state::{
    band, round_to_tick, Order, PerpMarket, KIND_LIMIT, KIND_MARKET, KIND_ORACLE_OFFSET, ORDER_FLAG_POST_ONLY, ORDER_FLAG_REDUCE_ONLY,
    POST_ONLY_NONE, POST_ONLY_REJECT, SIDE_ASK, SIDE_BID, TIF_FOK, TIF_GTC, TIF_GTT, TIF_IOC,
};

fn side_of(bid: bool) -> u8 {
    if bid {
        SIDE_BID
    } else {
        SIDE_ASK
    }
}

/// A size the market accepts for an order's total: a lot multiple, at least the minimum.
pub fn check_size(size: u64, market: &PerpMarket) -> Result<(), E> {
    if size < market.min_order_size || !size.is_multiple_of(market.lot_size) {
        return Err(E::InvalidOrderSize);
    }
    Ok(())
}

/// A price the market accepts: positive and a tick multiple.
pub fn check_price(price: i64, market: &PerpMarket) -> Result<(), E> {
    if price <= 0 || !(price as u64).is_multiple_of(market.tick_size) {
        return Err(E::InvalidPrice);
    }
    Ok(())
}

/// Resting orders are the priced kinds that live past their placement (GTC, GTT).
pub fn rests(kind: u8, tif: u8) -> bool {
    (kind == KIND_LIMIT || kind == KIND_ORACLE_OFFSET) && (tif == TIF_GTC || tif == TIF_GTT)
}

/// The price an order of `kind` on `side` with `price` executes at now: its limit (LIMIT,
/// MARKET), or the oracle plus its offset rounded to a tick against the side (ORACLE_OFFSET).
pub fn order_price(kind: u8, side: u8, price: i64, oracle: i64, market: &PerpMarket) -> Result<i64, ProgramError> {
    if kind != KIND_ORACLE_OFFSET {
        return Ok(price);
    }
    let p = round_to_tick(oracle.checked_add(price).ok_or(E::InvalidPrice)?, market.tick_size, side)?;
    if p <= 0 {
        return Err(E::InvalidPrice.into());
    }
    Ok(p)
}

/// A bid at or above the oracle, an ask at or below it, would take at once.
pub fn crosses(bid: bool, price: i64, oracle: i64) -> bool {
    if bid {
        price >= oracle
    } else {
        price <= oracle
    }
}

/// How much an order on the bid (ask) side may fill and only reduce a position of `base`.
pub fn reducible(base: i64, bid: bool) -> u64 {
    if (bid && base < 0) || (!bid && base > 0) {
        base.unsigned_abs()
    } else {
        0
    }
}

/// How far an auction may start or end from the oracle.
fn deviation_bound(oracle: i64, market: &PerpMarket) -> i64 {
    band(oracle, market.auction_max_deviation_bps)
}

/// A fill that an order of a delegate or a session key takes part in is priced within the
/// market's `delegated_band_bps` of the oracle: an agent cannot sell its principal's
/// position at the far edge of an auction to an account it controls.
pub fn check_delegated_price(price: i64, oracle: i64, market: &PerpMarket) -> Result<(), E> {
    if price.abs_diff(oracle) > band(oracle, market.delegated_band_bps) as u64 {
        return Err(E::DelegatedPriceOutOfBand);
    }
    Ok(())
}

/// An order's auction: `(start, end, slots)` for a bid (`bid`) or ask reserved at `reserved`.
/// `given` parameters are checked as they are; defaults start at the oracle and end at the
/// reserved price, clamped into the deviation bound (a crossing order) and never starting beyond
/// its end (a bid's start at most its end).
fn auction(
    bid: bool,
    given: Option<AuctionParams>,
    reserved: i64,
    oracle: i64,
    market: &PerpMarket,
) -> Result<(i64, i64, u16), ProgramError> {
    let side = side_of(bid);
    let tick = market.tick_size;
    let bound = deviation_bound(oracle, market);
    let (low, high) = (oracle - bound, oracle + bound);
    let (start, end, slots) = match given {
        Some(a) => (a.start_price, a.end_price, a.duration_slots),
        None => {
            let start = round_to_tick(oracle, tick, side)?;
            if bid {
                let end = reserved.min(round_to_tick(high, tick, SIDE_BID)?);
                (start.min(end), end, market.auction_default_slots)
            } else {
                let end = reserved.max(round_to_tick(low, tick, SIDE_ASK)?);
                (start.max(end), end, market.auction_default_slots)
            }
        }
    };
    let on_tick = |x: i64| x > 0 && (x as u64).is_multiple_of(tick);
    let within = |x: i64| low <= x && x <= high;
    // A bid's auction rises toward its limit, an ask's falls toward it.
    let ordered = if bid { start <= end && end <= reserved } else { start >= end && end >= reserved };
    if !(on_tick(start) && on_tick(end) && within(start) && within(end) && ordered) {
        return Err(E::AuctionOutOfBounds.into());
    }
    if slots < market.auction_min_slots || slots > market.auction_max_slots {
        return Err(E::AuctionDurationOutOfRange.into());
    }
    Ok((start, end, slots))
}

/// Starts `order` (priced: `reserved_price` set) at `slot`: MARKET, IOC and FOK orders always
/// run an auction, a resting order only when it would take at once (post-only orders never
/// take); the kinds that do not rest expire after their auction and the post-auction window.
/// New orders, triggered orders and TWAP slices all start here.
pub fn start(order: &mut Order, given: Option<AuctionParams>, oracle: i64, market: &PerpMarket, slot: u64) -> ProgramResult {
    let crossing = crosses(order.is_bid(), order.reserved_price, oracle);
    let runs = order.kind == KIND_MARKET || order.tif == TIF_IOC || order.tif == TIF_FOK || (!order.is_post_only() && crossing);
    let (auction_start_price, auction_end_price, auction_slots) = if runs {
        auction(order.is_bid(), given, order.reserved_price, oracle, market)?
    } else if given.is_some() {
        return Err(E::InvalidOrderType.into());
    } else {
        (0, 0, 0)
    };
    let expiry_slot = if rests(order.kind, order.tif) {
        0
    } else {
        slot.checked_add(auction_slots as u64 + market.post_auction_slots as u64).ok_or_else(overflow)?
    };
    *order = Order { auction_start_price, auction_end_price, auction_slots, expiry_slot, placed_slot: slot, ..*order };
    Ok(())
}

/// A new order from `p`, checked against `market` at the oracle price, `slot` and `now`, and
/// priced: post-only SLIDE repricing, the reserved price its remaining size counts at, and its
/// auction (`start`). `order_id` is left 0 for the caller.
pub fn new_order(p: &OrderParams, market: &PerpMarket, oracle: i64, slot: u64, now: i64) -> Result<Order, ProgramError> {
    check_size(p.base_size, market)?;
    if p.kind != KIND_ORACLE_OFFSET {
        check_price(p.price, market)?;
    }
    if p.tif == TIF_GTT && p.expiry_ts <= now {
        return Err(E::InvalidOrderExpiry.into());
    }
    let bid = p.is_bid();
    let mut price = p.price;
    let mut reserved = order_price(p.kind, p.side, price, oracle, market)?;
    if p.post_only != POST_ONLY_NONE && crosses(bid, reserved, oracle) {
        if p.post_only == POST_ONLY_REJECT {
            return Err(E::PostOnlyCrosses.into());
        }
        // SLIDE: one tick behind the oracle, on the order's own side of it.
        let tick = market.tick_size as i64;
        let offset = if bid { -tick } else { tick };
        reserved = round_to_tick(oracle.checked_add(offset).ok_or_else(overflow)?, market.tick_size, p.side)?;
        if reserved <= 0 {
            return Err(E::InvalidPrice.into());
        }
        price = if p.kind == KIND_ORACLE_OFFSET { offset } else { reserved };
    }
    let flags =
        if p.post_only != POST_ONLY_NONE { ORDER_FLAG_POST_ONLY } else { 0 } | if p.reduce_only { ORDER_FLAG_REDUCE_ONLY } else { 0 };
    let mut order = Order {
        client_order_id: p.client_order_id,
        market_index: p.market_index,
        side: p.side,
        kind: p.kind,
        tif: p.tif,
        flags,
        price,
        base_size: p.base_size,
        reserved_price: reserved,
        expiry_ts: p.expiry_ts,
        ..Order::default()
    };
    start(&mut order, p.auction, oracle, market, slot)?;
    Ok(order)
}

/// Fees of a fill worth `quote` (>= 0): the taker's `ceil(quote * taker_bps / 1e4)`; the
/// maker's `ceil(quote * maker_bps / 1e4)`, or a rebate `-floor(quote * |maker_bps| / 1e4)`.
/// Both round toward the protocol, so the net fee is never negative.
pub fn fees(quote: i64, taker_bps: u16, maker_bps: i16) -> (i64, i64) {
    // quote < 2^63 and bps <= 1_000: each fee is below quote.
    let fee = |bps: u64, up: bool| div_pow10::<4>(mul_wide(quote.unsigned_abs(), bps), up) as i64;
    let maker = if maker_bps >= 0 { fee(maker_bps as u64, true) } else { -fee(maker_bps.unsigned_abs() as u64, false) };
    (fee(taker_bps as u64, true), maker)
}

/// The long and short open interest after a fill moved two positions from `before` to
/// `after`: every long counts on the long side, every short on the short side.
pub fn open_interest(market: &PerpMarket, before: [i64; 2], after: [i64; 2]) -> Result<(u64, u64), ProgramError> {
    let (mut long, mut short) = (market.open_interest_long as i128, market.open_interest_short as i128);
    for (b, a) in before.into_iter().zip(after) {
        long += a.max(0) as i128 - b.max(0) as i128;
        short += b.min(0) as i128 - a.min(0) as i128;
    }
    let long = u64::try_from(long).map_err(|_| overflow())?;
    let short = u64::try_from(short).map_err(|_| overflow())?;
    Ok((long, short))
}

/// The owner's leverage limit (x100; 0: none) holds: the positions' notional with every open
/// order filled on its larger side is at most `limit / 100` times the equity.
pub fn check_leverage(health: &Health, limit: u16) -> Result<(), ProgramError> {
    if limit == 0 {
        return Ok(());
    }
    let allowed = health.equity().checked_mul(limit as i128).ok_or_else(overflow)?;
    if health.worst_notional().checked_mul(100).ok_or_else(overflow)? > allowed {
        return Err(E::LeverageExceeded.into());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use qd_trading_state::POST_ONLY_SLIDE;

    pub(crate) const ORACLE: i64 = 100_000_000;

    /// The markets the rules' and the advanced orders' tests price against.
    pub(crate) fn market() -> PerpMarket {
        // SAFETY: PerpMarket is Pod: all zero is a valid value.
        let mut m: PerpMarket = unsafe { core::mem::zeroed() };
        m.tick_size = 10_000;
        m.lot_size = 1_000_000;
        m.min_order_size = 10_000_000;
        m.auction_min_slots = 2;
        m.auction_default_slots = 10;
        m.auction_max_slots = 60;
        m.auction_max_deviation_bps = 500;
        m.post_auction_slots = 20;
        m
    }

    pub(crate) fn limit(bid: bool, price: i64) -> OrderParams {
        OrderParams {
            market_index: 0,
            side: side_of(bid),
            kind: KIND_LIMIT,
            tif: TIF_GTC,
            post_only: POST_ONLY_NONE,
            reduce_only: false,
            client_order_id: 1,
            base_size: 1_000_000_000,
            price,
            expiry_ts: 0,
            auction: None,
        }
    }

    pub(crate) fn code(r: Result<Order, ProgramError>) -> u32 {
        r.unwrap_err().0
    }

    #[test]
    fn resting_limit_below_the_oracle_has_no_auction() {
        let o = new_order(&limit(true, 99_000_000), &market(), ORACLE, 50, 0).unwrap();
        assert_eq!((o.reserved_price, o.auction_slots, o.expiry_slot, o.placed_slot), (99_000_000, 0, 0, 50));
        assert_eq!(
            code(new_order(
                &OrderParams {
                    auction: Some(AuctionParams { start_price: 1, end_price: 1, duration_slots: 5 }),
                    ..limit(true, 99_000_000)
                },
                &market(),
                ORACLE,
                0,
                0
            )),
            E::InvalidOrderType as u32
        );
    }

    #[test]
    fn crossing_limit_runs_a_default_auction_clamped_to_the_deviation() {
        // Bid 120 with the oracle at 100 and a 5% bound: the auction runs 100 -> 105.
        let o = new_order(&limit(true, 120_000_000), &market(), ORACLE, 50, 0).unwrap();
        assert_eq!(
            (o.auction_start_price, o.auction_end_price, o.auction_slots, o.reserved_price),
            (100_000_000, 105_000_000, 10, 120_000_000)
        );
        assert_eq!(o.expiry_slot, 0);
        let o = new_order(&limit(false, 80_000_000), &market(), ORACLE + 5_000, 50, 0).unwrap();
        // An ask starts at the oracle rounded up and ends at the bound rounded up.
        assert_eq!((o.auction_start_price, o.auction_end_price), (100_010_000, 95_010_000));
    }

    #[test]
    fn market_and_ioc_orders_always_run_an_auction_and_expire() {
        let m = OrderParams { kind: KIND_MARKET, tif: TIF_IOC, ..limit(true, 102_000_000) };
        let o = new_order(&m, &market(), ORACLE, 50, 0).unwrap();
        assert_eq!((o.auction_start_price, o.auction_end_price, o.expiry_slot), (100_000_000, 102_000_000, 50 + 10 + 20));
        // A non-crossing IOC bid: a flat auction at its limit.
        let ioc = OrderParams { tif: TIF_IOC, ..limit(true, 98_000_000) };
        let o = new_order(&ioc, &market(), ORACLE, 0, 0).unwrap();
        assert_eq!((o.auction_start_price, o.auction_end_price), (98_000_000, 98_000_000));
        // Far beyond the deviation bound: refused.
        assert_eq!(
            code(new_order(&OrderParams { tif: TIF_FOK, ..limit(true, 90_000_000) }, &market(), ORACLE, 0, 0)),
            E::AuctionOutOfBounds as u32
        );
    }

    #[test]
    fn given_auctions_are_checked() {
        let with = |start, end, slots| OrderParams {
            tif: TIF_IOC,
            auction: Some(AuctionParams { start_price: start, end_price: end, duration_slots: slots }),
            ..limit(true, 104_000_000)
        };
        let o = new_order(&with(99_000_000, 103_000_000, 5), &market(), ORACLE, 7, 0).unwrap();
        assert_eq!((o.auction_start_price, o.auction_end_price, o.auction_slots, o.expiry_slot), (99_000_000, 103_000_000, 5, 7 + 5 + 20));
        let out = E::AuctionOutOfBounds as u32;
        assert_eq!(code(new_order(&with(99_000_001, 103_000_000, 5), &market(), ORACLE, 0, 0)), out); // off tick
        assert_eq!(code(new_order(&with(94_990_000, 103_000_000, 5), &market(), ORACLE, 0, 0)), out); // below the bound
        assert_eq!(code(new_order(&with(103_000_000, 99_000_000, 5), &market(), ORACLE, 0, 0)), out); // a falling bid
        assert_eq!(code(new_order(&with(99_000_000, 104_010_000, 5), &market(), ORACLE, 0, 0)), out); // past the limit
        assert_eq!(code(new_order(&with(99_000_000, 103_000_000, 1), &market(), ORACLE, 0, 0)), E::AuctionDurationOutOfRange as u32);
        assert_eq!(code(new_order(&with(99_000_000, 103_000_000, 61), &market(), ORACLE, 0, 0)), E::AuctionDurationOutOfRange as u32);
    }

    #[test]
    fn post_only_rejects_or_slides() {
        let reject = OrderParams { post_only: POST_ONLY_REJECT, ..limit(true, 100_000_000) };
        assert_eq!(code(new_order(&reject, &market(), ORACLE, 0, 0)), E::PostOnlyCrosses as u32);
        let slide = OrderParams { post_only: POST_ONLY_SLIDE, ..limit(false, 90_000_000) };
        let o = new_order(&slide, &market(), ORACLE + 3_000, 0, 0).unwrap();
        // One tick above the oracle, rounded up: 100.013 -> 100.02.
        assert_eq!((o.price, o.reserved_price, o.auction_slots, o.flags), (100_020_000, 100_020_000, 0, ORDER_FLAG_POST_ONLY));
        let offset = OrderParams { kind: KIND_ORACLE_OFFSET, post_only: POST_ONLY_SLIDE, ..limit(true, 50_000) };
        let o = new_order(&offset, &market(), ORACLE, 0, 0).unwrap();
        assert_eq!((o.price, o.reserved_price), (-10_000, 99_990_000));
        // Not crossing: kept as is.
        let o = new_order(&OrderParams { post_only: POST_ONLY_REJECT, ..limit(true, 99_990_000) }, &market(), ORACLE, 0, 0).unwrap();
        assert_eq!(o.reserved_price, 99_990_000);
    }

    #[test]
    fn sizes_prices_offsets_and_expiry() {
        let m = market();
        assert_eq!(
            code(new_order(&OrderParams { base_size: 9_000_000, ..limit(true, ORACLE) }, &m, ORACLE, 0, 0)),
            E::InvalidOrderSize as u32
        );
        assert_eq!(
            code(new_order(&OrderParams { base_size: 10_500_000, ..limit(true, ORACLE) }, &m, ORACLE, 0, 0)),
            E::InvalidOrderSize as u32
        );
        assert_eq!(code(new_order(&limit(true, 99_999_999), &m, ORACLE, 0, 0)), E::InvalidPrice as u32);
        // An offset order's reserved price is the oracle plus the offset, rounded against it.
        let o = new_order(&OrderParams { kind: KIND_ORACLE_OFFSET, ..limit(true, -1_234_567) }, &m, ORACLE, 0, 0).unwrap();
        assert_eq!(o.reserved_price, 98_760_000);
        assert_eq!(
            code(new_order(&OrderParams { kind: KIND_ORACLE_OFFSET, ..limit(true, -ORACLE) }, &m, ORACLE, 0, 0)),
            E::InvalidPrice as u32
        );
        assert_eq!(
            code(new_order(&OrderParams { kind: KIND_ORACLE_OFFSET, ..limit(true, i64::MAX) }, &m, ORACLE, 0, 0)),
            E::InvalidPrice as u32
        );
        let gtt = OrderParams { tif: TIF_GTT, expiry_ts: 1_000, ..limit(true, 99_000_000) };
        assert_eq!(code(new_order(&gtt, &m, ORACLE, 0, 1_000)), E::InvalidOrderExpiry as u32);
        assert_eq!(new_order(&gtt, &m, ORACLE, 0, 999).unwrap().expiry_ts, 1_000);
    }

    #[test]
    fn reducible_room() {
        assert_eq!(reducible(-5, true), 5);
        assert_eq!(reducible(-5, false), 0);
        assert_eq!(reducible(7, false), 7);
        assert_eq!(reducible(0, true), 0);
    }

    #[test]
    fn fees_round_toward_the_protocol() {
        assert_eq!(fees(1_000_001, 10, -2), (1_001, -200));
        assert_eq!(fees(1_000_001, 10, 3), (1_001, 301));
        assert_eq!(fees(0, 10, -2), (0, 0));
        assert_eq!(fees(i64::MAX, 1_000, -1_000), (922_337_203_685_477_581, -922_337_203_685_477_580));
    }

    #[test]
    fn open_interest_counts_each_side() {
        let mut m = market();
        // Two flat accounts trade 5: one long, one short.
        assert_eq!(open_interest(&m, [0, 0], [5, -5]).unwrap(), (5, 5));
        m.open_interest_long = 5;
        m.open_interest_short = 5;
        // The long sells 8 to a new account: long 0 -> short 3; the buyer goes long 8.
        assert_eq!(open_interest(&m, [5, 0], [-3, 8]).unwrap(), (8, 8));
        // Both close.
        assert_eq!(open_interest(&m, [5, -5], [0, 0]).unwrap(), (0, 0));
    }
}
