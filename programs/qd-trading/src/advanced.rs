//! The rules of the advanced orders that depend only on the market, the oracle price and the
//! clock: trigger orders and bracket exits as placed, TWAP parents and their slices, scale
//! orders' prices and sizes. Pure, host-tested; the processor applies them to accounts.
//!
//! Health: every one of these counts in its position's order totals at its worst, as a resting
//! order does (`Position::add_order`): an untriggered order at its limit (or, market kinds, its
//! worst price); a TWAP parent's remainder not yet given to a slice at its limit, or without
//! one at the oracle when placed moved by its tolerance against the account; a live slice at
//! its own worst price; a bracket's two exits once, at the worse of their prices (the other is
//! "covered": one-cancels-other keeps their remainders equal, so at most one of them fills).

use crate::error::{overflow, TradingError as E};
use crate::instruction::{ExitParams, OrderParams, ScaleParams, TriggerParams, TwapParams};
use crate::rules::{check_price, check_size};
use qd_health::wide::{divrem_u32, mul_wide};
use qd_runtime::error::ProgramError;
use qd_trading_state::{
    band, round_to_tick, Order, PerpMarket, KIND_LIMIT, KIND_MARKET, KIND_TWAP, ORDER_FLAG_EXIT, ORDER_FLAG_REDUCE_ONLY, ORDER_FLAG_SLICE,
    ORDER_FLAG_UNTRIGGERED, POST_ONLY_NONE, SIDE_ASK, SIDE_BID, TIF_GTC, TIF_GTT, TIF_IOC, TRIGGER_ABOVE, TRIGGER_BELOW,
};

/// Slots per second on Solana (400 ms slots): TWAP intervals are given in seconds, due in slots.
const SLOTS_PER_SECOND_X2: u32 = 5;
/// A late slice catches up missed ones up to this many slices' size (as Hyperliquid does).
pub const CATCH_UP_SLICES: u64 = 3;
/// TWAP bounds, as dYdX v4's: the interval 30 s to 1 h, the duration 5 min to 24 h.
pub const TWAP_INTERVAL_SECS: (u32, u32) = (30, 3_600);
pub const TWAP_DURATION_SECS: (u32, u32) = (300, 86_400);
/// A scale order places 2 to 32 orders.
pub const SCALE_COUNT: (u8, u8) = (2, 32);
/// `ScaleParams::distribution`.
pub const SCALE_FLAT: u8 = 0;
pub const SCALE_ASCENDING: u8 = 1;
pub const SCALE_DESCENDING: u8 = 2;

fn reduce_flag(reduce_only: bool) -> u8 {
    if reduce_only {
        ORDER_FLAG_REDUCE_ONLY
    } else {
        0
    }
}

/// A trigger price the market accepts: a positive tick multiple.
fn check_trigger_price(price: i64, market: &PerpMarket) -> Result<(), E> {
    check_price(price, market).map_err(|_| E::InvalidTrigger)
}

/// An untriggered order from `p` firing on `t`: a market (worst price `p.price`) or limit
/// order, never post-only and with the market's default auction once triggered. Refused if it
/// would fire at the oracle now: that is the order itself, placed at once.
pub fn trigger_order(
    p: &OrderParams,
    t: &TriggerParams,
    market: &PerpMarket,
    oracle: i64,
    slot: u64,
    now: i64,
) -> Result<Order, ProgramError> {
    if !(p.kind == KIND_MARKET || p.kind == KIND_LIMIT) || p.post_only != POST_ONLY_NONE || p.auction.is_some() {
        return Err(E::InvalidOrderType.into());
    }
    check_size(p.base_size, market)?;
    check_price(p.price, market)?;
    check_trigger_price(t.trigger_price, market)?;
    if p.tif == TIF_GTT && p.expiry_ts <= now {
        return Err(E::InvalidOrderExpiry.into());
    }
    let order = Order {
        client_order_id: p.client_order_id,
        market_index: p.market_index,
        side: p.side,
        kind: p.kind,
        tif: p.tif,
        flags: ORDER_FLAG_UNTRIGGERED | reduce_flag(p.reduce_only),
        trigger_condition: t.condition,
        trigger_price: t.trigger_price,
        price: p.price,
        base_size: p.base_size,
        reserved_price: p.price,
        placed_slot: slot,
        expiry_ts: p.expiry_ts,
        ..Order::default()
    };
    if order.trigger_due(oracle) {
        return Err(E::TriggerWouldFire.into());
    }
    Ok(order)
}

/// A bracket exit of `entry` (its id set): the opposite side, reduce-only, as large as the
/// entry; a take-profit fires beyond the oracle on the profit side (above for a long entry),
/// a stop-loss on the loss side, neither at once. A market exit is IOC (`e.price` its worst
/// price), a limit exit rests once triggered.
pub fn exit_order(entry: &Order, e: &ExitParams, take_profit: bool, market: &PerpMarket, oracle: i64) -> Result<Order, ProgramError> {
    check_price(e.price, market)?;
    check_trigger_price(e.trigger_price, market)?;
    let long = entry.is_bid();
    let condition = if take_profit == long { TRIGGER_ABOVE } else { TRIGGER_BELOW };
    let (kind, tif) = if e.kind == KIND_MARKET { (KIND_MARKET, TIF_IOC) } else { (KIND_LIMIT, TIF_GTC) };
    let order = Order {
        client_order_id: entry.client_order_id,
        market_index: entry.market_index,
        side: if long { SIDE_ASK } else { SIDE_BID },
        kind,
        tif,
        flags: ORDER_FLAG_UNTRIGGERED | ORDER_FLAG_REDUCE_ONLY | ORDER_FLAG_EXIT,
        trigger_condition: condition,
        trigger_price: e.trigger_price,
        price: e.price,
        base_size: entry.base_size,
        reserved_price: e.price,
        placed_slot: entry.placed_slot,
        parent_id: entry.order_id,
        ..Order::default()
    };
    if order.trigger_due(oracle) {
        return Err(E::InvalidBracket.into());
    }
    Ok(order)
}

/// The worse of two exits for the account (the one the pair counts at in the totals): the
/// lower price of two asks, the higher of two bids.
pub fn worse_exit(a: &Order, b: &Order) -> bool {
    if a.is_bid() {
        a.reserved_price >= b.reserved_price
    } else {
        a.reserved_price <= b.reserved_price
    }
}

/// The worst price within `bps` of `oracle` for side `bid` (above for a bid), on a tick toward
/// the oracle, never below one tick.
fn worst_within(bid: bool, bps: u16, oracle: i64, market: &PerpMarket) -> Result<i64, ProgramError> {
    let b = band(oracle, bps);
    let (price, side) = if bid { (oracle.checked_add(b), SIDE_BID) } else { (oracle.checked_sub(b), SIDE_ASK) };
    let p = round_to_tick(price.ok_or_else(overflow)?, market.tick_size, side)?;
    Ok(p.max(market.tick_size as i64))
}

/// A TWAP parent from `p` at `slot`: `duration / interval` slices of `floor(total / slices)`
/// rounded down to a lot (the last takes the rest), the first due at once; counted at its
/// limit or, without one, `tolerance_bps` from the oracle now against the account.
pub fn twap_order(p: &TwapParams, market: &PerpMarket, oracle: i64, slot: u64) -> Result<Order, ProgramError> {
    check_size(p.base_size, market)?;
    if p.limit_price != 0 {
        check_price(p.limit_price, market)?;
    }
    if p.tolerance_bps > market.auction_max_deviation_bps {
        return Err(E::InvalidTwap.into());
    }
    let slices = p.duration_secs / p.interval_secs;
    let slice_size = (p.base_size / slices as u64) / market.lot_size * market.lot_size;
    if slice_size < market.min_order_size {
        return Err(E::TwapSliceTooSmall.into());
    }
    let bid = p.side == SIDE_BID;
    let reserved = if p.limit_price != 0 { p.limit_price } else { worst_within(bid, p.tolerance_bps, oracle, market)? };
    Ok(Order {
        client_order_id: p.client_order_id,
        market_index: p.market_index,
        side: p.side,
        kind: KIND_TWAP,
        tif: TIF_GTC,
        flags: reduce_flag(p.reduce_only),
        price: p.limit_price,
        base_size: p.base_size,
        reserved_price: reserved,
        placed_slot: slot,
        tolerance_bps: p.tolerance_bps,
        interval_slots: p.interval_secs.checked_mul(SLOTS_PER_SECOND_X2).ok_or_else(overflow)? / 2,
        slice_size,
        next_due_slot: slot,
        slices: slices as u16,
        ..Order::default()
    })
}

/// The slices of `parent` due at `slot` (at least `slices_done + 1` when one is due).
pub fn slices_due(parent: &Order, slot: u64) -> u16 {
    let elapsed = slot.saturating_sub(parent.placed_slot) / parent.interval_slots.max(1) as u64 + 1;
    elapsed.min(parent.slices as u64) as u16
}

/// The next slice of `parent` once `due` slices are due: what the schedule owes by now
/// (`slice_size * due`, all of it at the last) less what executed, at most `CATCH_UP_SLICES`
/// slices and what is left to give; an IOC market order worst `tolerance_bps` from the oracle,
/// no worse than the parent's limit (an agent's parent without one: its reserved price). `reducible`: the most a reduce-only parent may still
/// reduce. None when nothing is owed.
pub fn next_slice(
    parent: &Order,
    due: u16,
    reducible: Option<u64>,
    oracle: i64,
    market: &PerpMarket,
) -> Result<Option<Order>, ProgramError> {
    let owed_total =
        if due >= parent.slices { parent.base_size } else { parent.slice_size.checked_mul(due as u64).ok_or_else(overflow)? };
    let cap = parent.slice_size.checked_mul(CATCH_UP_SLICES).ok_or_else(overflow)?;
    let mut size = owed_total.saturating_sub(parent.executed).min(cap).min(parent.remaining());
    if let Some(room) = reducible {
        size = size.min(room);
    }
    let size = size / market.lot_size * market.lot_size;
    if size == 0 {
        return Ok(None);
    }
    let bid = parent.is_bid();
    let mut worst = worst_within(bid, parent.tolerance_bps, oracle, market)?;
    // A delegate or session key was authorized for the parent's notional at its reserved price
    // (its limit, or the tolerance from the oracle when placed): its slices never fill worse.
    let cap = if parent.price != 0 {
        parent.price
    } else if parent.agent().is_some() {
        parent.reserved_price
    } else {
        0
    };
    if cap != 0 {
        worst = if bid { worst.min(cap) } else { worst.max(cap) };
    }
    Ok(Some(Order {
        client_order_id: parent.client_order_id,
        market_index: parent.market_index,
        side: parent.side,
        kind: KIND_MARKET,
        tif: TIF_IOC,
        flags: ORDER_FLAG_SLICE | (parent.flags & ORDER_FLAG_REDUCE_ONLY),
        actor: parent.actor,
        price: worst,
        base_size: size,
        reserved_price: worst,
        signer: parent.signer,
        parent_id: parent.order_id,
        ..Order::default()
    }))
}

/// Order `i` of scale order `p`: its limit price on the line from start to end, rounded to a
/// tick on its side (bids down, asks up), and its size by the distribution (weights 1 each,
/// 1..n ascending, n..1 descending) rounded down to a lot, the largest order taking the rest.
pub fn scale_order(p: &ScaleParams, i: u8, market: &PerpMarket) -> Result<OrderParams, ProgramError> {
    let n = p.count as u64;
    // Word-sized arithmetic (128-bit division is a slow software routine on-chain): |span| < 2^63
    // and i < 32, so the step fits u128 and divides by a u32.
    let span = p.end_price.abs_diff(p.start_price);
    let step = divrem_u32(mul_wide(span, i as u64), (n - 1) as u32).0 as u64;
    let raw = if p.end_price >= p.start_price { p.start_price as u64 + step } else { p.start_price as u64 - step };
    let price = round_to_tick(i64::try_from(raw).map_err(|_| overflow())?, market.tick_size, p.side)?;
    let weight = |k: u64| match p.distribution {
        SCALE_ASCENDING => k + 1,
        SCALE_DESCENDING => n - k,
        _ => 1,
    };
    let total_weight = if p.distribution == SCALE_FLAT { n } else { n * (n + 1) / 2 };
    let lot = market.lot_size;
    let size_of = |k: u64| (divrem_u32(mul_wide(p.total_size, weight(k)), total_weight as u32).0 as u64) / lot * lot;
    let largest = if p.distribution == SCALE_DESCENDING { 0 } else { n - 1 };
    let size = if i as u64 == largest {
        let others = (0..n).filter(|&k| k != largest).map(size_of).sum::<u64>();
        p.total_size.checked_sub(others).ok_or_else(overflow)?
    } else {
        size_of(i as u64)
    };
    if size < market.min_order_size || !size.is_multiple_of(lot) {
        return Err(E::ScaleSizeTooSmall.into());
    }
    if price <= 0 {
        return Err(E::InvalidPrice.into());
    }
    let tif = if p.expiry_ts != 0 { TIF_GTT } else { TIF_GTC };
    Ok(OrderParams {
        market_index: p.market_index,
        side: p.side,
        kind: KIND_LIMIT,
        tif,
        post_only: p.post_only,
        reduce_only: p.reduce_only,
        client_order_id: p.client_order_id.checked_add(i as u64).ok_or_else(overflow)?,
        base_size: size,
        price,
        expiry_ts: p.expiry_ts,
        auction: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::{code, limit, market, ORACLE};
    use qd_trading_state::{SIDE_ASK, TIF_GTC};

    /// The rules' resting limit order, as a `kind` order on `side` (market kinds IOC).
    fn stop(side: u8, kind: u8, price: i64) -> OrderParams {
        let tif = if kind == KIND_MARKET { TIF_IOC } else { TIF_GTC };
        OrderParams { side, kind, tif, ..limit(side == SIDE_BID, price) }
    }

    #[test]
    fn trigger_orders_rest_untriggered_and_never_fire_at_once() {
        let below = TriggerParams { trigger_price: 95_000_000, condition: TRIGGER_BELOW };
        let o = trigger_order(&stop(SIDE_ASK, KIND_MARKET, 90_000_000), &below, &market(), ORACLE, 5, 0).unwrap();
        assert!(o.is_untriggered() && !o.is_live() && o.auction_slots == 0 && o.expiry_slot == 0);
        assert_eq!((o.reserved_price, o.trigger_price, o.placed_slot), (90_000_000, 95_000_000, 5));
        assert!(!o.trigger_due(95_010_000) && o.trigger_due(95_000_000));
        let at_once = TriggerParams { trigger_price: 101_000_000, condition: TRIGGER_BELOW };
        assert_eq!(
            code(trigger_order(&stop(SIDE_ASK, KIND_MARKET, 90_000_000), &at_once, &market(), ORACLE, 5, 0)),
            E::TriggerWouldFire as u32
        );
        let off_tick = TriggerParams { trigger_price: 95_000_001, condition: TRIGGER_BELOW };
        assert_eq!(
            code(trigger_order(&stop(SIDE_ASK, KIND_MARKET, 90_000_000), &off_tick, &market(), ORACLE, 5, 0)),
            E::InvalidTrigger as u32
        );
        let oracle_offset = OrderParams { kind: 2, ..stop(SIDE_ASK, KIND_LIMIT, 90_000_000) };
        assert_eq!(code(trigger_order(&oracle_offset, &below, &market(), ORACLE, 5, 0)), E::InvalidOrderType as u32);
        let post_only = OrderParams { post_only: 1, ..stop(SIDE_ASK, KIND_LIMIT, 90_000_000) };
        assert_eq!(code(trigger_order(&post_only, &below, &market(), ORACLE, 5, 0)), E::InvalidOrderType as u32);
    }

    #[test]
    fn exits_sit_on_the_profit_and_loss_sides() {
        let entry = Order { order_id: 4, side: SIDE_BID, base_size: 2_000_000_000, ..Order::default() };
        let tp =
            exit_order(&entry, &ExitParams { trigger_price: 110_000_000, kind: KIND_LIMIT, price: 110_000_000 }, true, &market(), ORACLE)
                .unwrap();
        let sl =
            exit_order(&entry, &ExitParams { trigger_price: 95_000_000, kind: KIND_MARKET, price: 94_000_000 }, false, &market(), ORACLE)
                .unwrap();
        assert_eq!(
            (tp.side, tp.trigger_condition, tp.tif, tp.parent_id, tp.base_size),
            (SIDE_ASK, TRIGGER_ABOVE, TIF_GTC, 4, 2_000_000_000)
        );
        assert_eq!((sl.side, sl.trigger_condition, sl.tif), (SIDE_ASK, TRIGGER_BELOW, TIF_IOC));
        assert!(tp.is_reduce_only() && tp.is_exit() && sl.is_untriggered());
        // The pair counts at the stop's worst price: the lower of two asks.
        assert!(worse_exit(&sl, &tp) && !worse_exit(&tp, &sl));
        // A take-profit below a long's oracle would fire at once.
        let wrong = ExitParams { trigger_price: 99_000_000, kind: KIND_LIMIT, price: 99_000_000 };
        assert_eq!(code(exit_order(&entry, &wrong, true, &market(), ORACLE)), E::InvalidBracket as u32);
        let short = Order { side: SIDE_ASK, ..entry };
        let tp = exit_order(&short, &wrong, true, &market(), ORACLE).unwrap();
        assert_eq!((tp.side, tp.trigger_condition), (SIDE_BID, TRIGGER_BELOW));
    }

    fn twap_args(size: u64, duration: u32, interval: u32, limit: i64) -> TwapParams {
        TwapParams {
            market_index: 0,
            side: SIDE_BID,
            reduce_only: false,
            client_order_id: 1,
            base_size: size,
            duration_secs: duration,
            interval_secs: interval,
            tolerance_bps: 100,
            limit_price: limit,
        }
    }

    #[test]
    fn twap_slices_follow_the_schedule_and_catch_up_three_times() {
        let m = market();
        let mut p = twap_order(&twap_args(1_005_000_000, 300, 30, 0), &m, ORACLE, 100).unwrap();
        p.order_id = 9;
        // 10 slices of 0.1 (the last takes the 0.005 left), 75 slots apart, counted 1% above the oracle.
        assert_eq!((p.slices, p.slice_size, p.interval_slots, p.reserved_price, p.next_due_slot), (10, 100_000_000, 75, 101_000_000, 100));
        assert_eq!((slices_due(&p, 100), slices_due(&p, 174), slices_due(&p, 175), slices_due(&p, 10_000)), (1, 1, 2, 10));
        let s = next_slice(&p, 1, None, ORACLE, &m).unwrap().unwrap();
        assert_eq!((s.base_size, s.price, s.tif, s.parent_id), (100_000_000, 101_000_000, TIF_IOC, 9));
        assert!(s.is_slice() && s.is_live());
        // Five slices due and none executed: three slices' worth at most.
        assert_eq!(next_slice(&p, 5, None, ORACLE, &m).unwrap().unwrap().base_size, 300_000_000);
        // The last slice owes the rest.
        let late = Order { executed: 900_000_000, base_filled: 900_000_000, ..p };
        assert_eq!(next_slice(&late, 10, None, ORACLE, &m).unwrap().unwrap().base_size, 105_000_000);
        // A limit caps the worst price; a reduce-only parent is capped by what it may reduce.
        let limited = Order { price: 100_500_000, ..p };
        assert_eq!(next_slice(&limited, 1, None, ORACLE, &m).unwrap().unwrap().price, 100_500_000);
        // An agent's parent without a limit is capped at its reserved price (1% above the oracle when placed).
        let agents = Order { actor: 1, ..p };
        assert_eq!(next_slice(&agents, 1, None, 110_000_000, &m).unwrap().unwrap().price, 101_000_000);
        assert_eq!(next_slice(&p, 1, None, 110_000_000, &m).unwrap().unwrap().price, 111_100_000);
        assert_eq!(next_slice(&p, 1, Some(40_000_000), ORACLE, &m).unwrap().unwrap().base_size, 40_000_000);
        assert!(next_slice(&p, 1, Some(0), ORACLE, &m).unwrap().is_none());
        let too_small = twap_order(&twap_args(50_000_000, 300, 30, 0), &m, ORACLE, 100);
        assert_eq!(code(too_small), E::TwapSliceTooSmall as u32);
    }

    #[test]
    fn scale_orders_spread_prices_and_sizes() {
        let m = market();
        let p = ScaleParams {
            market_index: 0,
            side: SIDE_BID,
            count: 4,
            distribution: SCALE_ASCENDING,
            tif: TIF_GTC,
            post_only: POST_ONLY_NONE,
            reduce_only: false,
            client_order_id: 100,
            total_size: 1_000_000_000,
            start_price: 99_000_000,
            end_price: 96_000_005,
            expiry_ts: 0,
        };
        let orders: Vec<OrderParams> = (0..4).map(|i| scale_order(&p, i, &m).unwrap()).collect();
        assert_eq!(orders.iter().map(|o| o.price).collect::<Vec<_>>(), [99_000_000, 98_000_000, 97_000_000, 96_000_000]);
        assert_eq!(orders.iter().map(|o| o.base_size).collect::<Vec<_>>(), [100_000_000, 200_000_000, 300_000_000, 400_000_000]);
        assert_eq!(orders[3].client_order_id, 103);
        let flat = ScaleParams { distribution: SCALE_FLAT, total_size: 1_001_000_000, ..p };
        let sizes: Vec<u64> = (0..4).map(|i| scale_order(&flat, i, &m).unwrap().base_size).collect();
        assert_eq!(sizes, [250_000_000, 250_000_000, 250_000_000, 251_000_000]);
        let desc = ScaleParams { distribution: SCALE_DESCENDING, ..p };
        assert_eq!(scale_order(&desc, 0, &m).unwrap().base_size, 400_000_000);
        let tiny = ScaleParams { total_size: 30_000_000, ..p };
        assert_eq!(scale_order(&tiny, 0, &m).unwrap_err().0, E::ScaleSizeTooSmall as u32);
    }
}
