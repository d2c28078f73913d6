//! The account layouts (offsets from the account start, the 8-byte discriminator first) and the
//! bookkeeping on them: positions after fills and funding, order totals, compact arrays, flags.

use crate::math::{band, overflow, quote_for};
use crate::{
    KIND_TWAP, MAX_ORDERS, MAX_POSITIONS, ORDER_FLAG_COVERED, ORDER_FLAG_EXIT, ORDER_FLAG_POST_ONLY, ORDER_FLAG_REDUCE_ONLY,
    ORDER_FLAG_SLICE, ORDER_FLAG_UNTRIGGERED, SIDE_BID, TRIGGER_ABOVE, TRIGGER_BELOW,
};
use qd_access::TokenBucket;
use qd_collateral_state::CollateralStateError;
use qd_health::wide::{div_floor, div_floor_wide, div_pow10, divrem_u32, mul_small, mul_wide, signed};
use qd_health::{funding_pnl, PerpInput, PerpMarketParams, FUNDING_SCALE};
use qd_oracle_reader::OracleGuards;
use qd_runtime::error::ProgramError;
use qd_runtime::pubkey::Pubkey;

/// Funding rates are quoted per day: one period pays `premium * period / DAY_SECS`.
const DAY_SECS: u32 = 86_400;

qd_runtime::account! {
    /// Anchor account "PerpMarket" at PDA [b"market", index u16 LE].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PerpMarket[512] {
        /// @8
        pub version: u8,
        /// @9: canonical bump of the market PDA.
        pub bump: u8,
        /// @10: `MARKET_STATUS_*`.
        pub status: u8,
        /// @11
        pub _pad0: u8,
        /// @12: the market's number (PDA seed, `Position::market_index`).
        pub index: u16,
        /// @14
        pub init_margin_bps: u16,
        /// @16
        pub maint_margin_bps: u16,
        /// @18
        pub upnl_init_weight_bps: u16,
        /// @20
        pub upnl_maint_weight_bps: u16,
        /// @22
        pub taker_fee_bps: u16,
        /// @24: negative = rebate; >= -taker_fee_bps.
        pub maker_fee_bps: i16,
        /// @26
        pub auction_min_slots: u16,
        /// @28
        pub auction_default_slots: u16,
        /// @30
        pub auction_max_slots: u16,
        /// @32: UTF-8, zero padded.
        pub symbol: [u8; 16],
        /// @48: price account (qd-oracle PriceFeed, Pyth v2 price or Pyth PriceUpdateV2).
        pub oracle: Pubkey,
        /// @80: pinned Pyth feed id for a PriceUpdateV2 oracle, else zero.
        pub oracle_feed_id: [u8; 32],
        /// @112: oracle guards per action.
        pub guards: OracleGuards,
        /// @176: every order price is a multiple.
        pub tick_size: u64,
        /// @184: every order size is a multiple.
        pub lot_size: u64,
        /// @192
        pub min_order_size: u64,
        /// @200: extra margin per whole base unit of |position| (qd-health), scaled by 1e9.
        pub size_margin_factor: u64,
        /// @208: base units, per side.
        pub max_open_interest: u64,
        /// @216: auction start/end within this of the oracle.
        pub auction_max_deviation_bps: u16,
        /// @218: clamp of one period's funding, bps of the oracle TWAP.
        pub funding_max_rate_bps: u16,
        /// @220: how long a market/IOC/FOK order stays fillable after its auction.
        pub post_auction_slots: u16,
        /// @222
        pub _pad1: [u8; 2],
        /// @224
        pub funding_period_secs: i64,
        /// @232
        pub open_interest_long: u64,
        /// @240
        pub open_interest_short: u64,
        /// @248: the longs' cumulative funding index (`cumulative_funding_short` is the shorts'):
        /// a long pays when it rises. The funding crank moves both alike (OI long == OI short,
        /// so a payment is zero-sum).
        pub cumulative_funding_long: i64,
        /// @256
        pub last_funding_ts: i64,
        /// @264: index change of the last crank.
        pub last_funding_delta: i64,
        /// @272
        pub mark_twap: i64,
        /// @280
        pub oracle_twap: i64,
        /// @288: time of the last TWAP sample; 0 before the first.
        pub twap_ts: i64,
        /// @296
        pub last_fill_price: i64,
        /// @304
        pub last_fill_ts: i64,
        /// @312: fill ids.
        pub fill_seq: u64,
        /// @320: net fees paid into the protocol from this market.
        pub total_fees: i64,
        /// @328: funding settled into positions (<= 0: rounding dust).
        pub total_funding_settled: i64,
        /// @336: realized PnL moved into collateral balances.
        pub total_pnl_settled: i64,
        /// @344
        pub settlement_price: i64,
        /// @352: sequence of admin changes (events).
        pub audit_seq: u64,
        /// @360
        pub total_volume_quote: u64,
        /// @368: mark samples are the fill price clamped to this band of the oracle.
        pub mark_band_bps: u16,
        /// @370: fills an order of a delegate or a session key takes part in are priced within
        /// this band of the oracle.
        pub delegated_band_bps: u16,
        /// @372
        pub _pad2: [u8; 4],
        /// @376: base size of a fill that moves the prevailing premium all the way to its own;
        /// a smaller fill moves it by its share.
        pub mark_depth_base: u64,
        /// @384: the prevailing premium of the mark over the oracle (fills move it, each funding
        /// crank resets it).
        pub mark_premium: i64,
        /// @392: the oracle price at the last TWAP sample.
        pub oracle_sample: i64,
        /// @400: the shorts' cumulative funding index (`cumulative_funding_long` is the longs'): a
        /// short pays when it falls. One funding payment moves both alike; a socialized loss
        /// moves each against its side.
        pub cumulative_funding_short: i64,
        /// @408: trading fees charged to positions and not yet swept (a claim on `pnl_pool`).
        pub fee_pool: i64,
        /// @416: insurance shares of liquidation fees not yet swept (a claim on `pnl_pool`).
        pub liquidation_fee_pool: i64,
        /// @424: quote paid into the market by settlements and the insurance fund, held in the
        /// quote config's protocol balance: all that winners and the sweep can take.
        pub pnl_pool: i64,
        /// @432: discount of a perp liquidation that goes to the liquidator (bps of the oracle).
        pub liquidator_fee_bps: u16,
        /// @434: discount of a perp liquidation that goes to the insurance fund (bps).
        pub insurance_fee_bps: u16,
        /// @436: most of a large position's |base| one liquidation takes (bps).
        pub liquidation_max_fraction_bps: u16,
        /// @438
        pub _pad3: [u8; 2],
        /// @440: a position of at most this base is liquidated whole in one step.
        pub liquidation_whole_base: u64,
        /// @448: most the insurance fund pays for this market's bankruptcies, in total (quote).
        pub insurance_cap: u64,
        /// @456: what it has paid.
        pub insurance_paid: u64,
        /// @464: losses socialized over the open positions (quote).
        pub socialized_loss: u64,
        /// @472: losses no open position was left to take (quote).
        pub unbacked_loss: u64,
        /// @480: liquidation ids.
        pub liquidation_seq: u64,
        /// @488: fees swept out of the pools to the protocol and the insurance fund (quote).
        pub fees_swept: u64,
        /// @496: paid by an order's owner to whoever triggers it (quote).
        pub trigger_fee: u64,
        /// @504: paid by a TWAP's owner to whoever places each of its slices (quote).
        pub twap_slice_fee: u64,
        /// @512
        pub _reserved: [u8; 8],
    }
}

impl PerpMarket {
    /// The risk parameters the health engine applies to this market's positions.
    pub fn params(&self) -> PerpMarketParams {
        PerpMarketParams {
            init_margin_bps: self.init_margin_bps,
            maint_margin_bps: self.maint_margin_bps,
            size_margin_factor: self.size_margin_factor,
            upnl_init_weight_bps: self.upnl_init_weight_bps,
            upnl_maint_weight_bps: self.upnl_maint_weight_bps,
        }
    }

    /// The funding index of the side of `base`: the longs' for `base >= 0` (a flat position
    /// owes nothing at either), the shorts' for `base < 0`.
    pub fn funding_index(&self, base: i64) -> i64 {
        if base < 0 {
            self.cumulative_funding_short
        } else {
            self.cumulative_funding_long
        }
    }

    fn period(&self) -> Result<u32, ProgramError> {
        u32::try_from(self.funding_period_secs).ok().filter(|&p| p > 0).ok_or_else(overflow)
    }

    /// Advances both TWAPs to `now`, each weighing the value that prevailed since the last
    /// sample by the time it prevailed (at most a period), as a time-weighted average does:
    /// `twap = floor((twap * (period - w) + prevailing * w) / period)`, the oracle's prevailing
    /// value its last sample and the mark's that plus the prevailing premium. `oracle` is the
    /// new prevailing oracle. The first sample starts both TWAPs at `oracle`, with no premium.
    pub fn sample_twaps(&mut self, oracle: i64, now: i64) -> Result<(), ProgramError> {
        if self.twap_ts == 0 {
            self.mark_twap = oracle;
            self.oracle_twap = oracle;
            self.mark_premium = 0;
        } else {
            let period = self.period()?;
            let w = now.saturating_sub(self.twap_ts).clamp(0, period as i64) as u32;
            // A weighted mean of two i64 values: within their range.
            let mean = |twap: i64, prevailing: i64| -> Result<i64, ProgramError> {
                let sum =
                    mul_small(twap as i128, period - w).ok_or_else(overflow)? + mul_small(prevailing as i128, w).ok_or_else(overflow)?;
                i64::try_from(div_floor(sum, period)).map_err(|_| overflow())
            };
            let mark = self.oracle_sample.checked_add(self.mark_premium).ok_or_else(overflow)?;
            let (mark_twap, oracle_twap) = (mean(self.mark_twap, mark)?, mean(self.oracle_twap, self.oracle_sample)?);
            self.mark_twap = mark_twap;
            self.oracle_twap = oracle_twap;
        }
        self.oracle_sample = oracle;
        self.twap_ts = now;
        Ok(())
    }

    /// A fill of `size` at `price`, the oracle at `oracle` (> 0): the TWAPs advance to `now`,
    /// then the fill's premium over the oracle, clamped to `mark_band_bps` of it, moves the
    /// prevailing premium by the share `min(size, mark_depth_base) / mark_depth_base` of the
    /// gap (toward zero). A dust fill barely moves the mark, and no fill moves it off the band.
    pub fn sample_fill(&mut self, price: i64, size: u64, oracle: i64, now: i64) -> Result<(), ProgramError> {
        self.sample_twaps(oracle, now)?;
        let band = band(oracle, self.mark_band_bps);
        let premium = price.checked_sub(oracle).ok_or_else(overflow)?.clamp(-band, band);
        // |gap| <= 2 * band <= oracle: fits i64. share_bps: size < depth <= MAX_MARK_DEPTH.
        let gap = premium.checked_sub(self.mark_premium).ok_or_else(overflow)?;
        let step = if size >= self.mark_depth_base {
            gap
        } else {
            let share_bps = size.checked_mul(10_000).ok_or_else(overflow)? / self.mark_depth_base;
            let magnitude = div_pow10::<4>(mul_wide(gap.unsigned_abs(), share_bps), false) as i64;
            if gap < 0 {
                -magnitude
            } else {
                magnitude
            }
        };
        self.mark_premium = self.mark_premium.checked_add(step).ok_or_else(overflow)?;
        Ok(())
    }

    /// One period's change of the funding index: the TWAP premium paid for `period / 1 day`,
    /// `(mark_twap - oracle_twap) * period * 1e6 / 86_400` (toward zero), clamped to
    /// `funding_max_rate_bps` of the oracle TWAP (`± oracle_twap * bps * 100`).
    pub fn funding_delta(&self) -> Result<i64, ProgramError> {
        let period = self.period()?;
        let premium = self.mark_twap as i128 - self.oracle_twap as i128;
        // |premium| < 2^64, period < 2^32, 1e6 < 2^20: below 2^116.
        let scaled = mul_small(mul_small(premium, period).ok_or_else(overflow)?, FUNDING_SCALE).ok_or_else(overflow)?;
        let (magnitude, _) = divrem_u32(scaled.unsigned_abs(), DAY_SECS);
        let delta = signed(scaled < 0, magnitude).ok_or_else(overflow)?;
        let bound = mul_small(mul_small(self.oracle_twap.max(0) as i128, self.funding_max_rate_bps as u32).ok_or_else(overflow)?, 100)
            .ok_or_else(overflow)?;
        i64::try_from(delta.clamp(-bound, bound)).map_err(|_| overflow())
    }
}

qd_runtime::layout! {
    /// A position in one market, with the totals of the account's open orders there (80 bytes).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Position[80] {
        /// +0
        pub market_index: u16,
        /// +2: orders of this account in this market.
        pub open_orders: u8,
        /// +3
        pub _pad: [u8; 5],
        /// +8: 9 decimals, negative short.
        pub base: i64,
        /// +16: signed cost basis of `base` (long 1.0 @100 -> -100e6).
        pub quote_entry: i64,
        /// +24: realized and funding PnL not yet settled into collateral.
        pub realized_pnl: i64,
        /// +32: the funding index of the position's side (`PerpMarket::funding_index`) when its
        /// funding was last settled.
        pub funding_snapshot: i64,
        /// +40: remaining base of open bids.
        pub bids_base: i64,
        /// +48: their value at each order's reserved price.
        pub bids_quote: i64,
        /// +56
        pub asks_base: i64,
        /// +64
        pub asks_quote: i64,
        /// +72: lifetime realized PnL including funding (reporting).
        pub total_realized: i64,
    }
}

fn add(a: i64, b: i64) -> Result<i64, ProgramError> {
    a.checked_add(b).ok_or_else(overflow)
}

impl Position {
    /// Flat, nothing to settle, no orders: the slot can be freed.
    pub fn is_empty(&self) -> bool {
        self.base == 0 && self.realized_pnl == 0 && self.open_orders == 0
    }

    /// Applies a fill of `delta_base` (> 0 buys) at `price` and returns the PnL it realizes.
    /// Opening or adding: `quote_entry` pays the fill's quote. Reducing: the closed share of
    /// the cost basis, `floor(quote_entry * closing / |base|)`, leaves `quote_entry` and is
    /// realized with the closing quote; a remainder past zero opens the other way with the rest
    /// of the quote. `quote_entry + realized_pnl` moves by exactly the fill's quote, so two
    /// opposite fills of the same size and price are zero-sum. Nothing changes on error.
    pub fn apply_fill(&mut self, delta_base: i64, price: i64) -> Result<i64, ProgramError> {
        let size = delta_base.unsigned_abs();
        let buy = delta_base > 0;
        let quote = quote_for(size, price)?;
        // What the account receives for `q` of the fill's quote (q >= 0).
        let flow = |q: i64| if buy { -q } else { q };
        let base = add(self.base, delta_base)?;
        if self.base == 0 || (self.base > 0) == buy {
            self.quote_entry = add(self.quote_entry, flow(quote))?;
            self.base = base;
            return Ok(0);
        }
        let held = self.base.unsigned_abs();
        let closing = size.min(held);
        let entry_part = if closing == held {
            self.quote_entry
        } else {
            // |quote_entry * closing| < 2^127 and the quotient is at most |quote_entry|.
            let product = signed(self.quote_entry < 0, mul_wide(self.quote_entry.unsigned_abs(), closing)).ok_or_else(overflow)?;
            div_floor_wide(product, held as i128) as i64
        };
        let close_quote = if closing == size { quote } else { quote_for(closing, price)? };
        let realized = add(entry_part, flow(close_quote))?;
        // entry_part lies between 0 and quote_entry: the difference cannot overflow.
        let quote_entry = add(self.quote_entry - entry_part, flow(quote - close_quote))?;
        let realized_pnl = add(self.realized_pnl, realized)?;
        let total_realized = add(self.total_realized, realized)?;
        *self = Position { base, quote_entry, realized_pnl, total_realized, ..*self };
        Ok(realized)
    }

    /// Settles the funding since the snapshot into `realized_pnl` with the health engine's
    /// formula (`qd_health::funding_pnl`) and moves the snapshot to `cumulative`; returns the
    /// amount (< 0 paid). A flat position only moves the snapshot.
    pub fn settle_funding(&mut self, cumulative: i64) -> Result<i64, ProgramError> {
        let funding = i64::try_from(funding_pnl(self.base, self.funding_snapshot, cumulative)).map_err(|_| overflow())?;
        let realized_pnl = add(self.realized_pnl, funding)?;
        let total_realized = add(self.total_realized, funding)?;
        *self = Position { realized_pnl, total_realized, funding_snapshot: cumulative, ..*self };
        Ok(funding)
    }

    /// Settles the funding since the snapshot at the index of the position's side in `market`.
    pub fn settle_market_funding(&mut self, market: &PerpMarket) -> Result<i64, ProgramError> {
        self.settle_funding(market.funding_index(self.base))
    }

    /// A fill in `market` (`apply_fill`): the funding owed on the side the position held is
    /// settled first, and the snapshot ends at the index of the side it holds after (opened from
    /// flat or flipped: the other index). Returns the funding settled and the PnL realized;
    /// nothing changes on error.
    pub fn fill(&mut self, market: &PerpMarket, delta_base: i64, price: i64) -> Result<(i64, i64), ProgramError> {
        let mut next = *self;
        let funding = next.settle_market_funding(market)?;
        let realized = next.apply_fill(delta_base, price)?;
        next.funding_snapshot = market.funding_index(next.base);
        *self = next;
        Ok((funding, realized))
    }

    /// Adds `order` to the open orders: its remaining size at its reserved price on its side (a
    /// covered bracket exit: nothing, its other exit counts for it).
    pub fn add_order(&mut self, order: &Order) -> Result<(), ProgramError> {
        self.order_totals(order, true)
    }

    /// Takes `order`'s remaining size out of the totals and the open orders (cancelled,
    /// expired, filled; a partial fill is `remove_remaining`, then `add_order` of the rest).
    pub fn remove_remaining(&mut self, order: &Order) -> Result<(), ProgramError> {
        self.order_totals(order, false)
    }

    fn order_totals(&mut self, order: &Order, adding: bool) -> Result<(), ProgramError> {
        // The other exit of its bracket counts for it.
        if order.flags & ORDER_FLAG_COVERED != 0 {
            return Ok(());
        }
        let size = i64::try_from(order.remaining()).map_err(|_| overflow())?;
        let value = quote_for(order.remaining(), order.reserved_price)?;
        let (size, value) = if adding { (size, value) } else { (-size, -value) };
        let open_orders = if adding { self.open_orders.checked_add(1) } else { self.open_orders.checked_sub(1) }.ok_or_else(overflow)?;
        let mut next = *self;
        if order.is_bid() {
            next.bids_base = add(next.bids_base, size)?;
            next.bids_quote = add(next.bids_quote, value)?;
        } else {
            next.asks_base = add(next.asks_base, size)?;
            next.asks_quote = add(next.asks_quote, value)?;
        }
        next.open_orders = open_orders;
        *self = next;
        Ok(())
    }

    /// The health engine's view of this position in `market` at `price`.
    pub fn perp_input(&self, market: &PerpMarket, price: i64) -> Result<PerpInput, ProgramError> {
        Ok(PerpInput {
            base: self.base,
            quote: add(self.quote_entry, self.realized_pnl)?,
            funding_snapshot: self.funding_snapshot,
            cumulative_funding: market.funding_index(self.base),
            bids_base: self.bids_base,
            bids_quote: self.bids_quote,
            asks_base: self.asks_base,
            asks_quote: self.asks_quote,
            price,
            market: market.params(),
        })
    }
}

qd_runtime::layout! {
    /// An order (208 bytes): resting, auctioning, waiting for its trigger, or a TWAP parent.
    /// Only priced, triggered orders that are not TWAP parents are on the book.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Order[208] {
        /// +0: per-account sequence (`TradingAccount::next_order_id`, from 1).
        pub order_id: u64,
        /// +8
        pub client_order_id: u64,
        /// +16
        pub market_index: u16,
        /// +18: `SIDE_*`.
        pub side: u8,
        /// +19: `KIND_*`.
        pub kind: u8,
        /// +20: `TIF_*`.
        pub tif: u8,
        /// +21: `ORDER_FLAG_*`.
        pub flags: u8,
        /// +22: who placed it, a `qd_access::Actor` (0 owner, 1 delegate, 2 session key).
        pub actor: u8,
        /// +23: `TRIGGER_*`: when `trigger_price` fires it (judged against the oracle).
        pub trigger_condition: u8,
        /// +24: limit price (MARKET: the worst price = auction end; ORACLE_OFFSET: the offset;
        /// TWAP: the limit, 0 for none).
        pub price: i64,
        /// +32
        pub base_size: u64,
        /// +40: filled (a TWAP parent: given to its slices).
        pub base_filled: u64,
        /// +48: the price the remaining size counts at in the position's order totals.
        pub reserved_price: i64,
        /// +56: placed, triggered, or (iceberg) its clip last refreshed.
        pub placed_slot: u64,
        /// +64: GTT expiry (unix ts), else 0.
        pub expiry_ts: i64,
        /// +72
        pub auction_start_price: i64,
        /// +80
        pub auction_end_price: i64,
        /// +88: 0: no auction.
        pub auction_slots: u16,
        /// +90: TWAP: each slice's worst price from the oracle (bps).
        pub tolerance_bps: u16,
        /// +92: TWAP: slots between slices.
        pub interval_slots: u32,
        /// +96: MARKET/IOC/FOK: placed_slot + auction_slots + post_auction_slots; else 0.
        pub expiry_slot: u64,
        /// +104: the key that placed it (the owner, the delegate or the session key).
        pub signer: Pubkey,
        /// +136: trigger orders: the oracle price that fires it; else 0.
        pub trigger_price: i64,
        /// +144: a bracket exit: its entry's id; a TWAP slice: its parent's; else 0.
        pub parent_id: u64,
        /// +152: a bracket exit: the other exit's id; a TWAP parent: its live slice's; else 0.
        pub linked_id: u64,
        /// +160: iceberg: the displayed clip; else 0.
        pub display_size: u64,
        /// +168: iceberg: `base_filled` when the displayed clip was last refreshed.
        pub clip_start: u64,
        /// +176: TWAP: the size of one slice.
        pub slice_size: u64,
        /// +184: TWAP: base its slices have filled.
        pub executed: u64,
        /// +192: TWAP: the slot the next slice is due.
        pub next_due_slot: u64,
        /// +200: TWAP: slices in all.
        pub slices: u16,
        /// +202: TWAP: slices placed (a late slice counts the ones it caught up).
        pub slices_done: u16,
        /// +204
        pub _pad: [u8; 4],
    }
}

impl Order {
    pub fn remaining(&self) -> u64 {
        self.base_size.saturating_sub(self.base_filled)
    }

    pub fn is_bid(&self) -> bool {
        self.side == SIDE_BID
    }

    pub fn is_post_only(&self) -> bool {
        self.flags & ORDER_FLAG_POST_ONLY != 0
    }

    pub fn is_reduce_only(&self) -> bool {
        self.flags & ORDER_FLAG_REDUCE_ONLY != 0
    }

    /// Waiting for its trigger price: outside the book until `trigger_order`.
    pub fn is_untriggered(&self) -> bool {
        self.flags & ORDER_FLAG_UNTRIGGERED != 0
    }

    pub fn is_twap(&self) -> bool {
        self.kind == KIND_TWAP
    }

    /// A take-profit or stop-loss of a bracket (`parent_id`: its entry, `linked_id`: the other).
    pub fn is_exit(&self) -> bool {
        self.flags & ORDER_FLAG_EXIT != 0
    }

    /// A slice of the TWAP `parent_id`.
    pub fn is_slice(&self) -> bool {
        self.flags & ORDER_FLAG_SLICE != 0
    }

    /// On the book: fillable against other orders (not waiting for a trigger, not a parent).
    pub fn is_live(&self) -> bool {
        !self.is_untriggered() && !self.is_twap()
    }

    /// What a taker may fill of it now: an iceberg shows only what is left of its clip.
    pub fn visible(&self) -> u64 {
        if self.display_size == 0 {
            return self.remaining();
        }
        let shown = self.base_filled.saturating_sub(self.clip_start);
        self.display_size.saturating_sub(shown).min(self.remaining())
    }

    /// The oracle price `oracle` meets the trigger condition.
    pub fn trigger_due(&self, oracle: i64) -> bool {
        match self.trigger_condition {
            TRIGGER_ABOVE => oracle >= self.trigger_price,
            TRIGGER_BELOW => oracle <= self.trigger_price,
            _ => false,
        }
    }

    /// The delegate or session key that placed it (`Some((key, is_session))`); None for the owner.
    pub fn agent(&self) -> Option<(Pubkey, bool)> {
        match self.actor {
            0 => None,
            actor => Some((self.signer, actor == 2)),
        }
    }

    /// The auction runs for slots `placed_slot..placed_slot + auction_slots`.
    pub fn in_auction(&self, slot: u64) -> bool {
        slot < self.placed_slot.saturating_add(self.auction_slots as u64)
    }

    /// Past its GTT time (`expiry_ts <= ts`) or its last fillable slot (`slot > expiry_slot`).
    pub fn expired(&self, slot: u64, ts: i64) -> bool {
        (self.expiry_ts != 0 && self.expiry_ts <= ts) || (self.expiry_slot != 0 && slot > self.expiry_slot)
    }
}

qd_runtime::account! {
    /// Anchor account "TradingAccount" at PDA [b"trading", margin_account].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TradingAccount[7480] {
        /// @8
        pub version: u8,
        /// @9
        pub bump: u8,
        /// @10: 1 while order_count > 0 (keeper filter).
        pub has_open_order: u8,
        /// @11: 1 while an order's auction may still run at the last write (keeper filter).
        pub has_open_auction: u8,
        /// @12: `positions[..position_count]`, compact, in health-account order.
        pub position_count: u8,
        /// @13: `orders[..order_count]`, compact.
        pub order_count: u8,
        /// @14: 1 while an order waits for its trigger or a TWAP runs (keeper filter).
        pub has_trigger: u8,
        /// @15
        pub _pad0: u8,
        /// @16: the qd-core MarginAccount this account trades for.
        pub margin_account: Pubkey,
        /// @48: that account's owner (for getProgramAccounts memcmp filters).
        pub owner: Pubkey,
        /// @80: order-action rate limit (qd-access).
        pub bucket: TokenBucket,
        /// @96
        pub next_order_id: u64,
        /// @104: sequence of this account's events.
        pub seq: u64,
        /// @112: lifetime PnL moved into collateral.
        pub settled_pnl: i64,
        /// @120: lifetime net fees (rebates negative).
        pub fees_paid: i64,
        /// @128: 8 positions of 80 bytes.
        pub positions: [Position; MAX_POSITIONS],
        /// @768: 32 orders of 208 bytes.
        pub orders: [Order; MAX_ORDERS],
        /// @7424
        pub _reserved: [u8; 64],
    }
}

/// Removes `items[index]` of `items[..*count]`, shifting the rest down (order kept).
fn remove_at<T: Copy + Default>(items: &mut [T], count: &mut u8, index: usize) -> Option<T> {
    let len = (*count as usize).min(items.len());
    if index >= len {
        return None;
    }
    let removed = items[index];
    items.copy_within(index + 1..len, index);
    items[len - 1] = T::default();
    *count = (len - 1) as u8;
    Some(removed)
}

impl TradingAccount {
    /// The positions in use (a corrupt count never reads past the array).
    pub fn positions(&self) -> &[Position] {
        &self.positions[..(self.position_count as usize).min(MAX_POSITIONS)]
    }

    pub fn positions_mut(&mut self) -> &mut [Position] {
        &mut self.positions[..(self.position_count as usize).min(MAX_POSITIONS)]
    }

    /// The orders in use.
    pub fn orders(&self) -> &[Order] {
        &self.orders[..(self.order_count as usize).min(MAX_ORDERS)]
    }

    pub fn orders_mut(&mut self) -> &mut [Order] {
        &mut self.orders[..(self.order_count as usize).min(MAX_ORDERS)]
    }

    /// Fails unless this is `margin_account`'s trading account (a reader's identity check).
    pub fn check_margin_account(&self, margin_account: &Pubkey) -> Result<(), ProgramError> {
        if &self.margin_account != margin_account {
            return Err(CollateralStateError::WrongTradingAccount.into());
        }
        Ok(())
    }

    pub fn position_index(&self, market_index: u16) -> Option<usize> {
        self.positions().iter().position(|p| p.market_index == market_index)
    }

    /// The position in `market_index`, opened (flat, funding snapshot `funding_index`: the
    /// market's `funding_index(0)`) if there is none; None when every slot is taken.
    pub fn open_position(&mut self, market_index: u16, funding_index: i64) -> Option<usize> {
        if let Some(i) = self.position_index(market_index) {
            return Some(i);
        }
        let i = self.positions().len();
        if i == MAX_POSITIONS {
            return None;
        }
        self.positions[i] = Position { market_index, funding_snapshot: funding_index, ..Position::default() };
        self.position_count = i as u8 + 1;
        Some(i)
    }

    /// Frees every empty position (`Position::is_empty`), keeping the others in order.
    pub fn free_empty_positions(&mut self) {
        let mut i = 0;
        while i < self.positions().len() {
            if self.positions[i].is_empty() {
                remove_at(&mut self.positions, &mut self.position_count, i);
            } else {
                i += 1;
            }
        }
    }

    pub fn order_index(&self, order_id: u64) -> Option<usize> {
        self.orders().iter().position(|o| o.order_id == order_id)
    }

    /// The first order with this client id.
    pub fn order_index_by_client_id(&self, client_order_id: u64) -> Option<usize> {
        self.orders().iter().position(|o| o.client_order_id == client_order_id)
    }

    /// Appends `order`; None when every slot is taken.
    pub fn push_order(&mut self, order: Order) -> Option<usize> {
        let i = self.orders().len();
        if i == MAX_ORDERS {
            return None;
        }
        self.orders[i] = order;
        self.order_count = i as u8 + 1;
        Some(i)
    }

    /// Removes `orders[index]`, keeping the others compact and in order.
    pub fn remove_order(&mut self, index: usize) -> Option<Order> {
        remove_at(&mut self.orders, &mut self.order_count, index)
    }

    /// Recomputes the keeper flags at `slot` (written with every change of the account).
    pub fn refresh_flags(&mut self, slot: u64) {
        self.has_open_order = !self.orders().is_empty() as u8;
        self.has_open_auction = self.orders().iter().any(|o| o.in_auction(slot)) as u8;
        self.has_trigger = self.orders().iter().any(|o| o.is_untriggered() || o.is_twap()) as u8;
    }
}
