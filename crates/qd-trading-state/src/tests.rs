use super::*;
use core::mem::{offset_of, size_of};
use qd_health::{funding_pnl, PerpMarketParams};
use qd_runtime::account::AccountType;
use qd_runtime::error::RuntimeError;
use qd_runtime::hash::discriminator;

const OVERFLOW: qd_runtime::error::ProgramError = qd_runtime::error::ProgramError(RuntimeError::ArithmeticOverflow as u32);
/// One whole base unit (9 decimals) and one quote unit at 6 decimals.
const B: i64 = 1_000_000_000;
const Q: i64 = 1_000_000;
/// One whole base unit as an order size.
const BASE: u64 = B as u64;

fn zeroed<T: qd_runtime::account::Pod>() -> T {
    // SAFETY: Pod types are valid for any bit pattern.
    unsafe { core::mem::zeroed() }
}

#[test]
fn market_offsets() {
    let at = |o: usize| o + 8;
    assert_eq!(PerpMarket::LEN, 520);
    assert_eq!(PerpMarket::DISCRIMINATOR, discriminator("account", "PerpMarket"));
    assert_eq!(at(offset_of!(PerpMarket, status)), 10);
    assert_eq!(at(offset_of!(PerpMarket, index)), 12);
    assert_eq!(at(offset_of!(PerpMarket, init_margin_bps)), 14);
    assert_eq!(at(offset_of!(PerpMarket, maker_fee_bps)), 24);
    assert_eq!(at(offset_of!(PerpMarket, auction_max_slots)), 30);
    assert_eq!(at(offset_of!(PerpMarket, symbol)), 32);
    assert_eq!(at(offset_of!(PerpMarket, oracle)), 48);
    assert_eq!(at(offset_of!(PerpMarket, oracle_feed_id)), 80);
    assert_eq!(at(offset_of!(PerpMarket, guards)), 112);
    assert_eq!(at(offset_of!(PerpMarket, tick_size)), 176);
    assert_eq!(at(offset_of!(PerpMarket, max_open_interest)), 208);
    assert_eq!(at(offset_of!(PerpMarket, auction_max_deviation_bps)), 216);
    assert_eq!(at(offset_of!(PerpMarket, post_auction_slots)), 220);
    assert_eq!(at(offset_of!(PerpMarket, funding_period_secs)), 224);
    assert_eq!(at(offset_of!(PerpMarket, cumulative_funding_long)), 248);
    assert_eq!(at(offset_of!(PerpMarket, mark_twap)), 272);
    assert_eq!(at(offset_of!(PerpMarket, twap_ts)), 288);
    assert_eq!(at(offset_of!(PerpMarket, fill_seq)), 312);
    assert_eq!(at(offset_of!(PerpMarket, total_pnl_settled)), 336);
    assert_eq!(at(offset_of!(PerpMarket, settlement_price)), 344);
    assert_eq!(at(offset_of!(PerpMarket, total_volume_quote)), 360);
    assert_eq!(at(offset_of!(PerpMarket, mark_band_bps)), 368);
    assert_eq!(at(offset_of!(PerpMarket, delegated_band_bps)), 370);
    assert_eq!(at(offset_of!(PerpMarket, mark_depth_base)), 376);
    assert_eq!(at(offset_of!(PerpMarket, mark_premium)), 384);
    assert_eq!(at(offset_of!(PerpMarket, oracle_sample)), 392);
    assert_eq!(at(offset_of!(PerpMarket, cumulative_funding_short)), 400);
    assert_eq!(at(offset_of!(PerpMarket, fee_pool)), 408);
    assert_eq!(at(offset_of!(PerpMarket, pnl_pool)), 424);
    assert_eq!(at(offset_of!(PerpMarket, liquidator_fee_bps)), 432);
    assert_eq!(at(offset_of!(PerpMarket, liquidation_whole_base)), 440);
    assert_eq!(at(offset_of!(PerpMarket, liquidation_seq)), 480);
    assert_eq!(at(offset_of!(PerpMarket, fees_swept)), 488);
    assert_eq!(at(offset_of!(PerpMarket, trigger_fee)), 496);
    assert_eq!(at(offset_of!(PerpMarket, twap_slice_fee)), 504);
    assert_eq!(at(offset_of!(PerpMarket, _reserved)), 512);
}

#[test]
fn position_and_order_offsets() {
    assert_eq!(size_of::<Position>(), 80);
    assert_eq!(offset_of!(Position, open_orders), 2);
    assert_eq!(offset_of!(Position, base), 8);
    assert_eq!(offset_of!(Position, quote_entry), 16);
    assert_eq!(offset_of!(Position, funding_snapshot), 32);
    assert_eq!(offset_of!(Position, bids_base), 40);
    assert_eq!(offset_of!(Position, asks_quote), 64);
    assert_eq!(offset_of!(Position, total_realized), 72);
    assert_eq!(size_of::<Order>(), 208);
    assert_eq!(offset_of!(Order, actor), 22);
    assert_eq!(offset_of!(Order, market_index), 16);
    assert_eq!(offset_of!(Order, side), 18);
    assert_eq!(offset_of!(Order, flags), 21);
    assert_eq!(offset_of!(Order, price), 24);
    assert_eq!(offset_of!(Order, reserved_price), 48);
    assert_eq!(offset_of!(Order, expiry_ts), 64);
    assert_eq!(offset_of!(Order, auction_slots), 88);
    assert_eq!(offset_of!(Order, expiry_slot), 96);
    assert_eq!(offset_of!(Order, signer), 104);
    assert_eq!(offset_of!(Order, trigger_condition), 23);
    assert_eq!(offset_of!(Order, tolerance_bps), 90);
    assert_eq!(offset_of!(Order, interval_slots), 92);
    assert_eq!(offset_of!(Order, trigger_price), 136);
    assert_eq!(offset_of!(Order, parent_id), 144);
    assert_eq!(offset_of!(Order, linked_id), 152);
    assert_eq!(offset_of!(Order, display_size), 160);
    assert_eq!(offset_of!(Order, clip_start), 168);
    assert_eq!(offset_of!(Order, slice_size), 176);
    assert_eq!(offset_of!(Order, executed), 184);
    assert_eq!(offset_of!(Order, next_due_slot), 192);
    assert_eq!(offset_of!(Order, slices), 200);
    assert_eq!(offset_of!(Order, slices_done), 202);
}

#[test]
fn trading_account_offsets() {
    let at = |o: usize| o + 8;
    assert_eq!(TradingAccount::LEN, 7488);
    assert_eq!(TradingAccount::DISCRIMINATOR, discriminator("account", "TradingAccount"));
    assert_eq!(at(offset_of!(TradingAccount, has_open_order)), 10);
    assert_eq!(at(offset_of!(TradingAccount, position_count)), 12);
    assert_eq!(at(offset_of!(TradingAccount, order_count)), 13);
    assert_eq!(at(offset_of!(TradingAccount, has_trigger)), 14);
    assert_eq!(at(offset_of!(TradingAccount, margin_account)), 16);
    assert_eq!(at(offset_of!(TradingAccount, owner)), 48);
    assert_eq!(at(offset_of!(TradingAccount, bucket)), 80);
    assert_eq!(at(offset_of!(TradingAccount, next_order_id)), 96);
    assert_eq!(at(offset_of!(TradingAccount, fees_paid)), 120);
    assert_eq!(at(offset_of!(TradingAccount, positions)), 128);
    assert_eq!(at(offset_of!(TradingAccount, orders)), 768);
    assert_eq!(at(offset_of!(TradingAccount, _reserved)), 7424);
}

#[test]
fn tick_rounding_protects_the_order() {
    assert_eq!(round_to_tick(105, 10, SIDE_BID), Ok(100));
    assert_eq!(round_to_tick(105, 10, SIDE_ASK), Ok(110));
    assert_eq!(round_to_tick(110, 10, SIDE_BID), Ok(110));
    assert_eq!(round_to_tick(110, 10, SIDE_ASK), Ok(110));
    // Below zero too: down is toward -inf.
    assert_eq!(round_to_tick(-5, 10, SIDE_BID), Ok(-10));
    assert_eq!(round_to_tick(-5, 10, SIDE_ASK), Ok(0));
    assert_eq!(round_to_tick(5, 0, SIDE_BID), Err(OVERFLOW));
    assert_eq!(round_to_tick(i64::MAX, 10, SIDE_ASK), Err(OVERFLOW));
    assert_eq!(round_to_tick(i64::MIN + 5, 10, SIDE_BID), Err(OVERFLOW));
}

#[test]
fn quote_amounts() {
    assert_eq!(quote_for(B as u64, 100 * Q), Ok(100 * Q));
    assert_eq!(quote_for(B as u64 / 2, 101 * Q), Ok(50_500_000));
    // Floor, also below zero.
    assert_eq!(quote_for(1, 1_500_000_000), Ok(1));
    assert_eq!(quote_for(1, -1_500_000_000), Ok(-2));
    assert_eq!(quote_for(0, 100 * Q), Ok(0));
    assert_eq!(quote_for(u64::MAX, i64::MAX), Err(OVERFLOW));
    // The tick/lot rule makes every lot multiple at every tick multiple exact.
    let (tick, lot) = (10_000u64, 100_000u64);
    assert_eq!(tick * lot % B as u64, 0);
    for k in 1..50u64 {
        for t in [1u64, 7, 12_345] {
            let (size, price) = (lot * k, (tick * t) as i64);
            assert_eq!(quote_for(size, price).unwrap() as i128 * B as i128, size as i128 * price as i128);
        }
    }
}

fn auction(side: u8, start: i64, end: i64, slots: u16) -> Order {
    Order { side, placed_slot: 100, auction_start_price: start, auction_end_price: end, auction_slots: slots, ..Order::default() }
}

#[test]
fn auction_moves_from_start_to_end() {
    let bid = auction(SIDE_BID, 100 * Q, 110 * Q, 10);
    assert_eq!(auction_price(&bid, 100, 1), Ok(100 * Q));
    assert_eq!(auction_price(&bid, 99, 1), Ok(100 * Q));
    assert_eq!(auction_price(&bid, 105, 1), Ok(105 * Q));
    assert_eq!(auction_price(&bid, 110, 1), Ok(110 * Q));
    assert_eq!(auction_price(&bid, 500, 1), Ok(110 * Q));
    let ask = auction(SIDE_ASK, 110 * Q, 100 * Q, 10);
    assert_eq!(auction_price(&ask, 103, 1), Ok(107 * Q));
    // Steps truncate toward the start, then the tick rounds against the side.
    let bid = auction(SIDE_BID, 100, 107, 3);
    assert_eq!(auction_price(&bid, 101, 1), Ok(102)); // 100 + 7/3
    assert_eq!(auction_price(&bid, 101, 5), Ok(100));
    let ask = auction(SIDE_ASK, 107, 100, 3);
    assert_eq!(auction_price(&ask, 101, 1), Ok(105)); // 107 - 7/3
    assert_eq!(auction_price(&ask, 101, 5), Ok(105));
    assert_eq!(auction_price(&ask, 102, 5), Ok(105)); // 107 - 14/3 = 103 -> 105
                                                      // No auction: the end price.
    assert_eq!(auction_price(&auction(SIDE_BID, 1, 50, 0), 100, 1), Ok(50));
    // Extreme spans do not overflow.
    let wide = auction(SIDE_BID, i64::MIN + 1, i64::MAX, 2);
    assert_eq!(auction_price(&wide, 101, 1), Ok(0));
}

fn position(base: i64, quote_entry: i64) -> Position {
    Position { base, quote_entry, ..Position::default() }
}

#[test]
fn fills_open_add_reduce_and_flip() {
    let mut p = Position::default();
    assert_eq!(p.apply_fill(B, 100 * Q), Ok(0));
    assert_eq!((p.base, p.quote_entry), (B, -100 * Q));
    assert_eq!(p.apply_fill(B, 110 * Q), Ok(0));
    assert_eq!((p.base, p.quote_entry), (2 * B, -210 * Q));
    // Sell half at 120: cost basis 105 per unit, +15 realized.
    assert_eq!(p.apply_fill(-B, 120 * Q), Ok(15 * Q));
    assert_eq!((p.base, p.quote_entry, p.realized_pnl, p.total_realized), (B, -105 * Q, 15 * Q, 15 * Q));
    // Sell 3 at 100: closes 1 (-5 realized), opens a short of 2 at 100.
    assert_eq!(p.apply_fill(-3 * B, 100 * Q), Ok(-5 * Q));
    assert_eq!((p.base, p.quote_entry, p.realized_pnl), (-2 * B, 200 * Q, 10 * Q));
    // Buy back 2 at 90: +20 realized, flat.
    assert_eq!(p.apply_fill(2 * B, 90 * Q), Ok(20 * Q));
    assert_eq!((p.base, p.quote_entry, p.realized_pnl, p.total_realized), (0, 0, 30 * Q, 30 * Q));
}

#[test]
fn partial_close_rounds_the_cost_basis_down() {
    // Long 3 units for 100 quote units: closing one takes floor(-100/3) = -34.
    let mut p = position(3 * B, -100);
    assert_eq!(p.apply_fill(-B, 0), Ok(-34));
    assert_eq!((p.base, p.quote_entry), (2 * B, -66));
    // Short 3 for +100: closing one takes floor(100/3) = 33.
    let mut p = position(-3 * B, 100);
    assert_eq!(p.apply_fill(B, 0), Ok(33));
    assert_eq!((p.base, p.quote_entry), (-2 * B, 67));
}

#[test]
fn a_failed_fill_changes_nothing() {
    let mut p = position(i64::MAX - 1, -1);
    let before = p;
    assert_eq!(p.apply_fill(2, Q), Err(OVERFLOW));
    assert_eq!(p, before);
    let mut p = position(B, i64::MIN + 1);
    let before = p;
    assert_eq!(p.apply_fill(B, 10 * Q), Err(OVERFLOW));
    assert_eq!(p, before);
}

/// The `i`-th of a deterministic spread of values in `lo..=hi` (a multiplicative hash: no two
/// neighbours are close, so flips, partial closes and adds all come up).
fn spread(i: u64, lo: i64, hi: i64) -> i64 {
    lo + (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20) as i64 % (hi - lo + 1)
}

#[test]
fn opposite_fills_are_zero_sum() {
    let (tick, lot) = (10_000i64, 100_000i64);
    let mut maker = Position::default();
    let mut taker = Position::default();
    for i in 0..20_000 {
        let size = lot * spread(i, -400, 400);
        let price = tick * spread(i + 1_000_000, 1, 50_000);
        let before = maker.quote_entry + maker.realized_pnl + taker.quote_entry + taker.realized_pnl;
        let maker_before = maker.quote_entry + maker.realized_pnl;
        maker.apply_fill(size, price).unwrap();
        taker.apply_fill(-size, price).unwrap();
        // Each side's quote + realized moves by exactly the fill's quote, opposite ways.
        assert_eq!(maker.quote_entry + maker.realized_pnl - maker_before, -(size * price / B));
        assert_eq!(maker.quote_entry + maker.realized_pnl + taker.quote_entry + taker.realized_pnl, before);
        assert_eq!(maker.base, -taker.base);
    }
    // Flatten: both positions' PnL is now all realized and sums to zero.
    let (size, price) = (-maker.base, 100 * Q);
    maker.apply_fill(size, price).unwrap();
    taker.apply_fill(-size, price).unwrap();
    assert_eq!((maker.base, maker.quote_entry, taker.quote_entry), (0, 0, 0));
    assert_eq!(maker.realized_pnl + taker.realized_pnl, 0);
}

#[test]
fn funding_settles_with_the_engine_formula() {
    // Long 2 units, index up by 3 quote units per base (scaled 1e6): pays 6.
    let unit = Q * Q;
    let mut long = Position { base: 2 * B, funding_snapshot: 10 * unit, ..Position::default() };
    assert_eq!(long.settle_funding(13 * unit), Ok(-6 * Q));
    assert_eq!((long.realized_pnl, long.total_realized, long.funding_snapshot), (-6 * Q, -6 * Q, 13 * unit));
    let mut short = Position { base: -2 * B, funding_snapshot: 10 * unit, ..Position::default() };
    assert_eq!(short.settle_funding(13 * unit), Ok(6 * Q));
    // Index down: longs receive.
    assert_eq!(Position { base: B, ..Position::default() }.settle_funding(-Q), Ok(1));
    // A payment rounds up: 1 base unit (1e-9) over +1 index unit owes 1 (floor of -1e-15).
    let mut tiny = Position { base: 1, ..Position::default() };
    assert_eq!(tiny.settle_funding(1), Ok(-1));
    assert_eq!(Position { base: -1, ..Position::default() }.settle_funding(1), Ok(0));
    // Flat: only the snapshot moves.
    let mut flat = Position { realized_pnl: 5, ..Position::default() };
    assert_eq!(flat.settle_funding(99 * Q), Ok(0));
    assert_eq!((flat.realized_pnl, flat.funding_snapshot), (5, 99 * Q));
    // Same as the health engine's valuation.
    for i in 0..1_000 {
        let (base, snap, cum) = (
            spread(i, -(1 << 43), 1 << 43) << spread(i + 7, 0, 19),
            spread(2 * i, -(1 << 43), 1 << 43),
            spread(3 * i, -(1 << 43), 1 << 43),
        );
        let mut p = Position { base, funding_snapshot: snap, ..Position::default() };
        assert_eq!(p.settle_funding(cum).map(|f| f as i128), Ok(funding_pnl(base, snap, cum)));
    }
}

#[test]
fn each_side_settles_at_its_own_index_and_a_fill_snapshots_the_side_it_ends_on() {
    let unit = Q * Q;
    let mut m: PerpMarket = zeroed();
    m.cumulative_funding_long = 10 * unit;
    m.cumulative_funding_short = 20 * unit;
    assert_eq!((m.funding_index(B), m.funding_index(0), m.funding_index(-1)), (10 * unit, 10 * unit, 20 * unit));
    // Long 1 since the long index stood at 7: pays 3, then buys 1 more (no change of side).
    let mut long = Position { base: B, quote_entry: -100 * Q, funding_snapshot: 7 * unit, ..Position::default() };
    assert_eq!(long.fill(&m, B, 100 * Q), Ok((-3 * Q, 0)));
    assert_eq!((long.base, long.realized_pnl, long.funding_snapshot), (2 * B, -3 * Q, 10 * unit));
    // Sells 3: the funding since 10 (none) is settled on the long side, the snapshot moves to the shorts' index.
    assert_eq!(long.fill(&m, -3 * B, 100 * Q), Ok((0, 0)));
    assert_eq!((long.base, long.funding_snapshot), (-B, 20 * unit));
    // Short 1 since the short index stood at 25: pays 5 (its index fell), then buys back at 90 (+10): flat, at the longs' index.
    let mut short = Position { base: -B, quote_entry: 100 * Q, funding_snapshot: 25 * unit, ..Position::default() };
    assert_eq!(short.fill(&m, B, 90 * Q), Ok((-5 * Q, 10 * Q)));
    assert_eq!((short.base, short.realized_pnl, short.funding_snapshot), (0, 5 * Q, 10 * unit));
    // Flat to short: no funding, the shorts' index.
    let mut flat = Position { funding_snapshot: 10 * unit, ..Position::default() };
    assert_eq!(flat.fill(&m, -B, 90 * Q), Ok((0, 0)));
    assert_eq!(flat.funding_snapshot, 20 * unit);
    assert_eq!(flat.settle_market_funding(&m), Ok(0));
    // A failed fill changes nothing, its funding included.
    let mut p = Position { base: B, quote_entry: i64::MIN + 1, funding_snapshot: 0, ..Position::default() };
    let before = p;
    assert_eq!(p.fill(&m, B, 10 * Q), Err(OVERFLOW));
    assert_eq!(p, before);
}

fn order(side: u8, size: u64, reserved_price: i64) -> Order {
    Order { side, base_size: size, reserved_price, ..Order::default() }
}

#[test]
fn order_totals_follow_the_remaining_size() {
    let mut p = Position::default();
    let mut bid = order(SIDE_BID, 3 * B as u64, 100 * Q);
    let ask = order(SIDE_ASK, B as u64, 120 * Q);
    p.add_order(&bid).unwrap();
    p.add_order(&ask).unwrap();
    assert_eq!((p.open_orders, p.bids_base, p.bids_quote, p.asks_base, p.asks_quote), (2, 3 * B, 300 * Q, B, 120 * Q));
    // A partial fill: the old remaining out, the new one in.
    p.remove_remaining(&bid).unwrap();
    bid.base_filled = B as u64;
    p.add_order(&bid).unwrap();
    assert_eq!((p.open_orders, p.bids_base, p.bids_quote), (2, 2 * B, 200 * Q));
    p.remove_remaining(&bid).unwrap();
    p.remove_remaining(&ask).unwrap();
    assert_eq!(p, Position::default());
    assert_eq!(p.remove_remaining(&ask), Err(OVERFLOW));
}

fn market() -> PerpMarket {
    let mut m: PerpMarket = zeroed();
    m.funding_period_secs = 3_600;
    m.funding_max_rate_bps = 100;
    m
}

#[test]
fn twaps_weigh_the_prevailing_values_by_time() {
    let mut m = market();
    m.mark_band_bps = 500;
    m.mark_depth_base = 10 * BASE;
    // The first sample starts both at the oracle; a full-depth fill at 101 sets a premium of 1.
    m.sample_fill(101 * Q, 10 * BASE, 100 * Q, 1_000).unwrap();
    assert_eq!((m.mark_twap, m.oracle_twap, m.twap_ts, m.mark_premium, m.oracle_sample), (100 * Q, 100 * Q, 1_000, Q, 100 * Q));
    // A quarter period later the values that prevailed (mark 101, oracle 100) get 1/4 weight,
    // whatever the new sample is.
    m.sample_fill(200 * Q, 0, 104 * Q, 1_900).unwrap();
    assert_eq!((m.mark_twap, m.oracle_twap, m.twap_ts), (100_250_000, 100 * Q, 1_900));
    // A fill of no size moves nothing but the oracle sample.
    assert_eq!((m.mark_premium, m.oracle_sample), (Q, 104 * Q));
    // More than a period: the prevailing values alone (mark 105, oracle 104).
    m.sample_twaps(91 * Q, 100_000).unwrap();
    assert_eq!((m.mark_twap, m.oracle_twap), (105 * Q, 104 * Q));
    // Same second: unchanged.
    m.sample_twaps(91 * Q, 100_000).unwrap();
    assert_eq!(m.mark_twap, 105 * Q);
    m.funding_period_secs = 0;
    assert_eq!(m.sample_twaps(1, 100_002), Err(OVERFLOW));
}

#[test]
fn fills_move_the_premium_by_their_share_within_the_band() {
    let mut m = market();
    m.mark_band_bps = 100;
    m.mark_depth_base = 100 * BASE;
    // A dust wash trade at 105 against an oracle of 100: clamped to the 1% band, moved by
    // 0.01 / 100 of the gap (1 bps of it): the premium is 0.0001.
    m.sample_fill(105 * Q, BASE / 100, 100 * Q, 1_000).unwrap();
    assert_eq!(m.mark_premium, 100);
    // Half the depth below the oracle: halfway from 0.0001 to -1.
    m.sample_fill(90 * Q, 50 * BASE, 100 * Q, 1_000).unwrap();
    assert_eq!(m.mark_premium, 100 - (1_000_100 / 2));
    // Beyond the depth: all the way, to the band's edge.
    m.sample_fill(120 * Q, 500 * BASE, 100 * Q, 1_000).unwrap();
    assert_eq!(m.mark_premium, Q);
}

#[test]
fn funding_delta_is_the_clamped_premium() {
    let mut m = market();
    // Premium 0.24 per unit over one hour of a day: 0.01 per unit, scaled 1e6.
    m.mark_twap = 100_240_000;
    m.oracle_twap = 100 * Q;
    assert_eq!(m.funding_delta(), Ok(10_000 * Q));
    m.mark_twap = 100 * Q - 240_000;
    assert_eq!(m.funding_delta(), Ok(-10_000 * Q));
    // Truncated toward zero: premium 1 over an hour is 1e6/24 = 41_666.67.
    m.mark_twap = 100 * Q + 1;
    assert_eq!(m.funding_delta(), Ok(41_666));
    m.mark_twap = 100 * Q - 1;
    assert_eq!(m.funding_delta(), Ok(-41_666));
    // Clamp: 100 bps of 100 = 1 per unit = 1e12 in the index.
    m.mark_twap = 200 * Q;
    assert_eq!(m.funding_delta(), Ok(Q * Q));
    m.mark_twap = 0;
    assert_eq!(m.funding_delta(), Ok(-Q * Q));
}

#[test]
fn market_and_position_feed_the_engine() {
    let mut m = market();
    m.init_margin_bps = 1_000;
    m.maint_margin_bps = 500;
    m.size_margin_factor = 7;
    m.upnl_init_weight_bps = 5_000;
    m.upnl_maint_weight_bps = 8_000;
    m.cumulative_funding_long = 42;
    m.cumulative_funding_short = -8;
    let params = PerpMarketParams {
        init_margin_bps: 1_000,
        maint_margin_bps: 500,
        size_margin_factor: 7,
        upnl_init_weight_bps: 5_000,
        upnl_maint_weight_bps: 8_000,
    };
    assert_eq!(m.params(), params);
    let p = Position {
        base: B,
        quote_entry: -100 * Q,
        realized_pnl: 3,
        funding_snapshot: 40,
        bids_base: 1,
        bids_quote: 2,
        asks_base: 3,
        asks_quote: 4,
        ..Position::default()
    };
    let input = p.perp_input(&m, 99 * Q).unwrap();
    assert_eq!(
        input,
        qd_health::PerpInput {
            base: B,
            quote: -100 * Q + 3,
            funding_snapshot: 40,
            cumulative_funding: 42,
            bids_base: 1,
            bids_quote: 2,
            asks_base: 3,
            asks_quote: 4,
            price: 99 * Q,
            market: params,
        }
    );
    // A short is valued at the shorts' index.
    let short = Position { base: -B, quote_entry: 100 * Q, ..p };
    assert_eq!(short.perp_input(&m, 99 * Q).unwrap().cumulative_funding, -8);
}

#[test]
fn positions_open_find_and_free_in_order() {
    let mut t: TradingAccount = zeroed();
    assert_eq!(t.open_position(5, 77), Some(0));
    assert_eq!(t.positions()[0], Position { market_index: 5, funding_snapshot: 77, ..Position::default() });
    assert_eq!(t.open_position(5, 99), Some(0));
    for i in 1..MAX_POSITIONS as u16 {
        assert_eq!(t.open_position(10 + i, 0), Some(i as usize));
    }
    assert_eq!(t.open_position(99, 0), None);
    assert_eq!(t.position_index(12), Some(2));
    for (i, p) in t.positions_mut().iter_mut().enumerate() {
        p.base = if i % 3 == 0 { 0 } else { B };
    }
    t.positions[3].realized_pnl = 1; // not flat in PnL: kept
    t.free_empty_positions();
    let kept: Vec<u16> = t.positions().iter().map(|p| p.market_index).collect();
    assert_eq!(kept, vec![11, 12, 13, 14, 15, 17]);
    assert_eq!(t.positions[6], Position::default());
    t.position_count = 200; // corrupt count: clamped, never out of bounds
    assert_eq!(t.positions().len(), MAX_POSITIONS);
}

#[test]
fn orders_stay_compact_and_identified() {
    let mut t: TradingAccount = zeroed();
    for id in 1..=MAX_ORDERS as u64 {
        assert_eq!(t.push_order(Order { order_id: id, client_order_id: 100 + id % 3, ..Order::default() }), Some(id as usize - 1));
    }
    assert_eq!(t.push_order(Order::default()), None);
    assert_eq!(t.order_index(7), Some(6));
    assert_eq!(t.order_index(99), None);
    assert_eq!(t.order_index_by_client_id(100), Some(2));
    assert_eq!(t.remove_order(2).map(|o| o.order_id), Some(3));
    assert_eq!(t.order_index_by_client_id(100), Some(4));
    assert_eq!(t.remove_order(MAX_ORDERS - 1), None);
    let ids: Vec<u64> = t.orders().iter().map(|o| o.order_id).collect();
    assert_eq!(ids, (1..=MAX_ORDERS as u64).filter(|&id| id != 3).collect::<Vec<_>>());
    assert_eq!(t.orders[MAX_ORDERS - 1], Order::default());
    t.order_count = 255;
    assert_eq!(t.orders().len(), MAX_ORDERS);
}

#[test]
fn flags_and_expiry() {
    let mut t: TradingAccount = zeroed();
    t.refresh_flags(10);
    assert_eq!((t.has_open_order, t.has_open_auction), (0, 0));
    let market_order = Order { order_id: 1, placed_slot: 10, auction_slots: 5, expiry_slot: 18, ..Order::default() };
    let gtt = Order { order_id: 2, expiry_ts: 1_000, flags: ORDER_FLAG_POST_ONLY, ..Order::default() };
    t.push_order(market_order);
    t.push_order(gtt);
    t.refresh_flags(14);
    assert_eq!((t.has_open_order, t.has_open_auction), (1, 1));
    t.refresh_flags(15);
    assert_eq!((t.has_open_order, t.has_open_auction), (1, 0));
    assert!(market_order.in_auction(10) && market_order.in_auction(14) && !market_order.in_auction(15));
    assert!(!market_order.expired(18, 0) && market_order.expired(19, 0));
    assert!(!gtt.expired(u64::MAX, 999) && gtt.expired(0, 1_000));
    assert!(gtt.is_post_only() && !gtt.is_reduce_only() && gtt.is_bid());
    assert!(!Order { expiry_slot: 0, expiry_ts: 0, ..gtt }.expired(u64::MAX, i64::MAX));
}

#[test]
fn trading_account_identity() {
    let mut t: TradingAccount = zeroed();
    t.margin_account = [7; 32];
    assert_eq!(t.check_margin_account(&[7; 32]), Ok(()));
    assert_eq!(t.check_margin_account(&[8; 32]), Err(qd_collateral_state::CollateralStateError::WrongTradingAccount.into()));
}
