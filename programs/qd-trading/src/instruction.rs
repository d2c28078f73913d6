//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts; checks against
//! the market (tick, lot, minimum size, auction bounds) and the clock are the processor's.

use crate::advanced;
use crate::error::TradingError as E;
use crate::processor::{
    CancelAccounts, CloseTradingAccountAccounts, CrankOrderAccounts, CreateMarketAccounts, ExpireOrdersAccounts, FillOrderAccounts,
    LiquidateOrdersAccounts, LiquidatePositionAccounts, OpenTradingAccountAccounts, PlaceAndMakeAccounts, PlaceOrderAccounts,
    RepayPnlAccounts, ResolveBankruptPositionAccounts, SetMarketOracleAccounts, SetMarketParamsAccounts, SetMarketStatusAccounts,
    SettlePnlAccounts, TakeFeesAccounts, UpdateFundingAccounts,
};
use qd_health::wide::{divrem_pow10, mul_wide};
use qd_oracle_reader::OracleGuards;
use qd_runtime::borsh::BoundedVec;
use qd_runtime::error::ProgramError;
use qd_trading_state::{
    KIND_LIMIT, KIND_MARKET, KIND_ORACLE_OFFSET, MARKET_STATUS_SETTLEMENT, POST_ONLY_NONE, POST_ONLY_SLIDE, SIDE_ASK, TIF_FOK, TIF_GTC,
    TIF_GTT, TIF_IOC, TRIGGER_ABOVE, TRIGGER_BELOW,
};

const BPS: u16 = 10_000;
/// Market indexes share qd-security's per-market pause and session bits: 0..64.
pub const MAX_MARKET_INDEX: u16 = qd_access::MAX_MARKETS as u16;
/// Makers one fill_order may match.
pub const MAX_MAKERS: usize = 4;
const MAX_FEE_BPS: u16 = 1_000;
const MAX_AUCTION_SLOTS: u16 = 1_000;
const MAX_DEVIATION_BPS: u16 = 5_000;
const MIN_FUNDING_PERIOD: i64 = 60;
const MAX_FUNDING_PERIOD: i64 = 86_400;
const MAX_FUNDING_RATE_BPS: u16 = 1_000;
/// Largest trigger or TWAP slice fee: 100 USDC.
const MAX_CRANK_FEE: u64 = 100_000_000;
/// Largest mark depth: 100,000 whole base units, so `size * 10_000` of a smaller fill fits u64.
const MAX_MARK_DEPTH: u64 = 100_000_000_000_000;

qd_runtime::borsh! {
    /// A market's parameters, validated where they are decoded.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MarketParams {
        pub tick_size: u64,
        /// tick_size * lot_size must be a multiple of 1e9
        pub lot_size: u64,
        pub min_order_size: u64,
        pub init_margin_bps: u16,
        pub maint_margin_bps: u16,
        pub size_margin_factor: u64,
        pub upnl_init_weight_bps: u16,
        pub upnl_maint_weight_bps: u16,
        pub taker_fee_bps: u16,
        /// Negative: a rebate, at most the taker fee
        pub maker_fee_bps: i16,
        pub max_open_interest: u64,
        pub auction_min_slots: u16,
        pub auction_default_slots: u16,
        pub auction_max_slots: u16,
        pub auction_max_deviation_bps: u16,
        pub post_auction_slots: u16,
        pub funding_period_secs: i64,
        pub funding_max_rate_bps: u16,
        /// Mark samples are fill prices clamped to this band of the oracle
        pub mark_band_bps: u16,
        /// A fill of this base size moves the prevailing mark premium all the way to its own; a smaller one by its share
        pub mark_depth_base: u64,
        /// Fills an order of a delegate or session key takes part in stay within this band of the oracle (<= auctionMaxDeviationBps)
        pub delegated_band_bps: u16,
        /// A perp liquidation's discount (bps of the oracle) that goes to the liquidator
        pub liquidator_fee_bps: u16,
        /// A perp liquidation's discount (bps) that goes to the insurance fund; with the liquidator's, below maintMarginBps
        pub insurance_fee_bps: u16,
        /// Most of a large position's |base| one liquidation step takes (1..=10,000 bps)
        pub liquidation_max_fraction_bps: u16,
        /// A position of at most this base is liquidated whole in one step
        pub liquidation_whole_base: u64,
        /// Most the insurance fund pays for this market's bankruptcies, in total (quote)
        pub insurance_cap: u64,
        /// Paid by an order's owner to whoever triggers it (quote, at most 100 USDC)
        pub trigger_fee: u64,
        /// Paid by a TWAP's owner to whoever places each of its slices (quote, at most 100 USDC)
        pub twap_slice_fee: u64,
    }
    validate = MarketParams::validate
}

impl MarketParams {
    fn validate(&self) -> Result<(), E> {
        let max = i64::MAX as u64;
        // Prices, sizes and open interest are i64 on the positions' side.
        if self.tick_size == 0 || self.lot_size == 0 || self.tick_size > max || self.lot_size > max || self.max_open_interest > max {
            return Err(E::InvalidMarketParams);
        }
        // Makes every quote amount of a lot multiple at a tick multiple an exact integer.
        if divrem_pow10::<9>(mul_wide(self.tick_size, self.lot_size)).1 {
            return Err(E::InvalidTickLot);
        }
        if self.taker_fee_bps > MAX_FEE_BPS || self.maker_fee_bps < -(self.taker_fee_bps as i16) || self.maker_fee_bps > MAX_FEE_BPS as i16
        {
            return Err(E::InvalidFees);
        }
        let ok = self.min_order_size >= self.lot_size
            && self.min_order_size.is_multiple_of(self.lot_size)
            && self.min_order_size <= max
            && self.maint_margin_bps > 0
            && self.maint_margin_bps <= self.init_margin_bps
            && self.init_margin_bps <= BPS
            && self.upnl_init_weight_bps <= self.upnl_maint_weight_bps
            && self.upnl_maint_weight_bps <= BPS
            && 1 <= self.auction_min_slots
            && self.auction_min_slots <= self.auction_default_slots
            && self.auction_default_slots <= self.auction_max_slots
            && self.auction_max_slots <= MAX_AUCTION_SLOTS
            && 0 < self.auction_max_deviation_bps
            && self.auction_max_deviation_bps <= MAX_DEVIATION_BPS
            && (MIN_FUNDING_PERIOD..=MAX_FUNDING_PERIOD).contains(&self.funding_period_secs)
            && (1..=MAX_FUNDING_RATE_BPS).contains(&self.funding_max_rate_bps)
            && (1..=MAX_DEVIATION_BPS).contains(&self.mark_band_bps)
            && (self.lot_size..=MAX_MARK_DEPTH).contains(&self.mark_depth_base)
            && (1..=self.auction_max_deviation_bps).contains(&self.delegated_band_bps)
            // Each liquidation step then raises the account's health: the discount it gives up
            // is less than the maintenance margin the step frees.
            && (self.liquidator_fee_bps as u32 + self.insurance_fee_bps as u32) < self.maint_margin_bps as u32
            && (1..=BPS).contains(&self.liquidation_max_fraction_bps)
            && self.liquidation_whole_base <= max
            && self.insurance_cap <= max
            && self.trigger_fee <= MAX_CRANK_FEE
            && self.twap_slice_fee <= MAX_CRANK_FEE;
        if !ok {
            return Err(E::InvalidMarketParams);
        }
        Ok(())
    }
}

qd_runtime::borsh! {
    /// An order's auction: from `start_price` to `end_price` over `duration_slots`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct AuctionParams {
        pub start_price: i64,
        pub end_price: i64,
        pub duration_slots: u16,
    }
}

qd_runtime::borsh! {
    /// A new order. Decoding checks codes and their combinations; the processor checks them
    /// against the market, the oracle and the clock.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct OrderParams {
        pub market_index: u16,
        /// 0 bid, 1 ask
        pub side: u8,
        /// 0 market, 1 limit, 2 oracle offset
        pub kind: u8,
        /// 0 GTC, 1 IOC, 2 FOK, 3 GTT
        pub tif: u8,
        /// 0 none, 1 reject, 2 slide
        pub post_only: u8,
        pub reduce_only: bool,
        pub client_order_id: u64,
        /// 1..=i64::MAX.
        pub base_size: u64,
        /// Limit; market: the worst price; oracle offset: the offset
        pub price: i64,
        /// GTT: unix time; else 0
        pub expiry_ts: i64,
        /// None: defaults (oracle -> limit over the market's default slots)
        pub auction: Option<AuctionParams>,
    }
    validate = OrderParams::validate
}

impl OrderParams {
    fn validate(&self) -> Result<(), E> {
        let known = self.side <= SIDE_ASK && self.kind <= KIND_ORACLE_OFFSET && self.tif <= TIF_GTT && self.post_only <= POST_ONLY_SLIDE;
        // A market order is taken at once or never: it cannot rest.
        let market_rests = self.kind == KIND_MARKET && !matches!(self.tif, TIF_IOC | TIF_FOK);
        // A post-only order rests as a maker: a priced kind that lives past its placement and
        // never runs an auction.
        let post_only_takes = self.post_only != POST_ONLY_NONE
            && (self.kind == KIND_MARKET || !matches!(self.tif, TIF_GTC | TIF_GTT) || self.auction.is_some());
        if !known || market_rests || post_only_takes {
            return Err(E::InvalidOrderType);
        }
        check_size(self.base_size)?;
        if self.kind != KIND_ORACLE_OFFSET && self.price <= 0 {
            return Err(E::InvalidPrice);
        }
        if (self.tif == TIF_GTT) != (self.expiry_ts != 0) || self.expiry_ts < 0 {
            return Err(E::InvalidOrderExpiry);
        }
        if let Some(a) = self.auction {
            if a.start_price <= 0 || a.end_price <= 0 {
                return Err(E::AuctionOutOfBounds);
            }
        }
        Ok(())
    }

    pub fn is_bid(&self) -> bool {
        self.side != SIDE_ASK
    }
}

qd_runtime::borsh! {
    /// The immediate maker order of `place_and_make`: it fills what it can and never rests.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MakerParams {
        pub price: i64,
        pub base_size: u64,
        pub client_order_id: u64,
    }
    validate = MakerParams::validate
}

impl MakerParams {
    fn validate(&self) -> Result<(), E> {
        if self.price <= 0 {
            return Err(E::InvalidPrice);
        }
        check_size(self.base_size)
    }
}

qd_runtime::borsh! {
    /// When an untriggered order fires: the oracle at or above (1) or at or below (2) `trigger_price`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TriggerParams {
        pub trigger_price: i64,
        /// 1 at or above, 2 at or below
        pub condition: u8,
    }
    validate = TriggerParams::validate
}

impl TriggerParams {
    fn validate(&self) -> Result<(), E> {
        if self.trigger_price <= 0 || !(self.condition == TRIGGER_ABOVE || self.condition == TRIGGER_BELOW) {
            return Err(E::InvalidTrigger);
        }
        Ok(())
    }
}

qd_runtime::borsh! {
    /// A bracket's take-profit or stop-loss: it fires at `trigger_price` (judged against the oracle) and then closes what the
    /// entry filled, as an IOC market order (kind 0, `price` its worst price) or a resting limit order (kind 1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ExitParams {
        pub trigger_price: i64,
        /// 0 market (IOC), 1 limit (GTC)
        pub kind: u8,
        pub price: i64,
    }
    validate = ExitParams::validate
}

impl ExitParams {
    fn validate(&self) -> Result<(), E> {
        if self.trigger_price <= 0 {
            return Err(E::InvalidTrigger);
        }
        if self.kind > KIND_LIMIT {
            return Err(E::InvalidOrderType);
        }
        if self.price <= 0 {
            return Err(E::InvalidPrice);
        }
        Ok(())
    }
}

qd_runtime::borsh! {
    /// A TWAP: `base_size` in `duration_secs / interval_secs` slices, one every interval (400 ms slots), each an IOC order
    /// worst `tolerance_bps` from the oracle and no worse than `limit_price` (0: none).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TwapParams {
        pub market_index: u16,
        /// 0 bid, 1 ask
        pub side: u8,
        pub reduce_only: bool,
        pub client_order_id: u64,
        pub base_size: u64,
        /// 300..=86,400 and a multiple of the interval
        pub duration_secs: u32,
        /// 30..=3,600
        pub interval_secs: u32,
        /// 1..=the market's auction deviation
        pub tolerance_bps: u16,
        pub limit_price: i64,
    }
    validate = TwapParams::validate
}

impl TwapParams {
    fn validate(&self) -> Result<(), E> {
        let (imin, imax) = advanced::TWAP_INTERVAL_SECS;
        let (dmin, dmax) = advanced::TWAP_DURATION_SECS;
        let ok = self.side <= SIDE_ASK
            && (imin..=imax).contains(&self.interval_secs)
            && (dmin..=dmax).contains(&self.duration_secs)
            && self.duration_secs.is_multiple_of(self.interval_secs)
            && (1..=MAX_DEVIATION_BPS).contains(&self.tolerance_bps);
        if !ok {
            return Err(E::InvalidTwap);
        }
        if self.limit_price < 0 {
            return Err(E::InvalidPrice);
        }
        check_size(self.base_size)
    }
}

qd_runtime::borsh! {
    /// 2 to 32 limit orders from `start_price` to `end_price` sharing `total_size` flat (0), ascending (1) or descending (2)
    /// from the start; client order ids `client_order_id + i`; GTT when `expiry_ts` is set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ScaleParams {
        pub market_index: u16,
        /// 0 bid, 1 ask
        pub side: u8,
        pub count: u8,
        /// 0 flat, 1 ascending, 2 descending
        pub distribution: u8,
        /// 0 GTC, 3 GTT
        pub tif: u8,
        /// 0 none, 1 reject, 2 slide
        pub post_only: u8,
        pub reduce_only: bool,
        pub client_order_id: u64,
        pub total_size: u64,
        pub start_price: i64,
        pub end_price: i64,
        pub expiry_ts: i64,
    }
    validate = ScaleParams::validate
}

impl ScaleParams {
    fn validate(&self) -> Result<(), E> {
        let (cmin, cmax) = advanced::SCALE_COUNT;
        let ok = self.side <= SIDE_ASK
            && (cmin..=cmax).contains(&self.count)
            && self.distribution <= advanced::SCALE_DESCENDING
            && self.post_only <= POST_ONLY_SLIDE
            && self.start_price > 0
            && self.end_price > 0;
        if !ok {
            return Err(E::InvalidScale);
        }
        if !matches!(self.tif, TIF_GTC | TIF_GTT) || (self.tif == TIF_GTT) != (self.expiry_ts != 0) || self.expiry_ts < 0 {
            return Err(E::InvalidOrderExpiry);
        }
        check_size(self.total_size)
    }
}

/// An order size: 1..=i64::MAX (positions and totals are i64).
fn check_size(size: u64) -> Result<(), E> {
    if size == 0 || size > i64::MAX as u64 {
        return Err(E::InvalidOrderSize);
    }
    Ok(())
}

qd_runtime::instructions! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TradingInstruction check check_args {
        /// ADMIN lists a perp market at PDA [b"market", index u16 LE] (index < 64: the pause and session market bits) with its
        /// zero-padded UTF-8 symbol, its oracle (a Pyth PriceUpdateV2 feed id is pinned), parameters and oracle guards per
        /// action (trade, margin, liquidation, settlement). TWAPs start unset; funding counts from now.
        create_market => CreateMarket { index: u16, symbol: [u8; 16], params: MarketParams, guards: OracleGuards } accounts CreateMarketAccounts,
        /// Through the timelock only (a RISK_MANAGER's or ADMIN's proposal in qd-security): a market's parameters; tick and lot
        /// sizes are immutable.
        set_market_params => SetMarketParams { params: MarketParams } accounts SetMarketParamsAccounts,
        /// RISK_MANAGER or ADMIN toggles active (0) / reduce-only (1); ADMIN alone moves a market to settlement (2, final),
        /// recording the oracle price read with Settlement guards, rounded down to a tick.
        set_market_status => SetMarketStatus { status: u8 } accounts SetMarketStatusAccounts,
        /// Through the timelock only (an ADMIN's proposal): replaces a market's oracle and guards.
        set_market_oracle => SetMarketOracle { guards: OracleGuards } accounts SetMarketOracleAccounts,
        /// The margin account's owner opens its TradingAccount PDA [b"trading", margin_account].
        open_trading_account => OpenTradingAccount {} accounts OpenTradingAccountAccounts,
        /// The owner closes an empty trading account (no positions, no orders) once its rate-limit bucket has refilled (so close
        /// and reopen never resets it); rent returns to the owner.
        close_trading_account => CloseTradingAccount {} accounts CloseTradingAccountAccounts,
        /// Places an order. Checks: authorization (pause, freeze, market limit, signer/delegate/session scope and notional), rate
        /// limit, market status, a liquidation in progress and the account's reduce-only limit (only reduce-only orders then),
        /// order parameters against the market and oracle, post-only crossing, reduce-only room, slots, then initial health with
        /// every open order filled at its worst (and the owner's leverage limit). Returns the order id (u64). Remaining accounts
        /// (health): for each non-quote balance entry in balance order its CollateralConfig then its oracle; then for each
        /// position in another market, in position order, its PerpMarket then its oracle.
        place_order => PlaceOrder { params: OrderParams } -> u64 accounts PlaceOrderAccounts,
        /// Cancels one order by id. Never paused, allowed while frozen, not rate-limited.
        cancel_order => CancelOrder { order_id: u64 } accounts CancelAccounts,
        /// Cancels the first order with this client order id.
        cancel_order_by_client_id => CancelOrderByClientId { client_order_id: u64 } accounts CancelAccounts,
        /// Cancels every order in one market (None: in every market); succeeds when there are none.
        cancel_orders => CancelOrders { market_index: Option<u16> } accounts CancelAccounts,
        /// Changes the price (oracle-offset orders: the offset) and/or total size (above the filled size) of a resting limit or
        /// oracle-offset order whose auction is over; re-checked as a placement (rate limit, post-only, reduce-only, health).
        /// Returns the order id (u64). Remaining accounts (health): as for placeOrder.
        modify_order => ModifyOrder { order_id: u64, price: Option<i64>, base_size: Option<u64> } -> u64 accounts PlaceOrderAccounts,
        /// Places a stop or take-profit order (market: `price` its worst price; or limit) that rests outside the book until
        /// the oracle meets `trigger` (refused if it does now: TriggerWouldFire). Checked as placeOrder, its size counting at
        /// its price. Returns the order id (u64). Remaining accounts (health): as for placeOrder.
        place_trigger_order => PlaceTriggerOrder { params: OrderParams, trigger: TriggerParams } -> u64 accounts PlaceOrderAccounts,
        /// Places an entry order with a take-profit and/or a stop-loss: reduce-only exits of the entry's size on the other
        /// side, each untriggered until the oracle passes its trigger, one-cancels-other (a fill of one reduces the other by
        /// as much, in the same transaction); the entry leaving the book unfilled takes its unfilled size out of the exits.
        /// The exits count once, at the worse price of the two. Returns the entry's id (u64; exits follow it). Remaining
        /// accounts (health): as for placeOrder.
        place_bracket => PlaceBracket { entry: OrderParams, take_profit: Option<ExitParams>, stop_loss: Option<ExitParams> } -> u64 accounts PlaceOrderAccounts,
        /// Places a resting limit order of which only `display_size` shows and fills at a time; when the clip fills it is
        /// refreshed from the rest in the same fill (its queue time restarts). It never takes: refused if it crosses the
        /// oracle (IcebergCrosses). Returns the order id (u64). Remaining accounts (health): as for placeOrder.
        place_iceberg_order => PlaceIcebergOrder { params: OrderParams, display_size: u64 } -> u64 accounts PlaceOrderAccounts,
        /// Places 2 to 32 resting limit orders between two prices in one instruction (none may cross the oracle:
        /// ScaleCrosses), authorized and rate-limited once, health-checked once with all of them, announced by one
        /// ScaleOrdersPlaced event. Returns the first order's id (u64; the others follow it). Remaining accounts (health):
        /// as for placeOrder.
        place_scale_orders => PlaceScaleOrders { params: ScaleParams } -> u64 accounts PlaceOrderAccounts,
        /// Places a TWAP parent outside the book; crankTwap places its slices. Its size not yet given to a slice counts at its
        /// limit (or its tolerance from the oracle now). Returns the order id (u64). Remaining accounts (health): as for
        /// placeOrder.
        place_twap_order => PlaceTwapOrder { params: TwapParams } -> u64 accounts PlaceOrderAccounts,
        /// Permissionless: fires an untriggered order whose condition the oracle (Trade guards) meets: it becomes a taker
        /// with its auction from the oracle (or rests, a limit that does not cross), and its owner pays the market's
        /// trigger fee to the cranker's trading account. Refused (nothing changes): not due (TriggerNotDue), not waiting
        /// (NotTriggerOrder), a bracket exit whose entry filled nothing (EntryNotFilled), paused, frozen, a stale oracle.
        /// Cancelled instead (success, no fee): expired; a reduce-only order with nothing to reduce; an order that may not
        /// add risk now (market or account reduce-only, a liquidation: limits); initial health or leverage broken with it
        /// and the fee (health); a market order whose worst price is past the auction band (price). A reduce-only order
        /// fires even so, its fee waived. The fee account may not be owned by the order's delegate or session key
        /// (AgentSelfDealing). A bracket exit fired while its entry rests cancels the entry's unfilled rest first.
        /// Remaining accounts (health): as for placeOrder.
        trigger_order => TriggerOrder { order_id: u64 } accounts CrankOrderAccounts,
        /// Permissionless: places a TWAP's due slice (its live slice, if any, leaves first and gives back its unfilled
        /// rest): what the schedule owes by now less what executed, at most 3 slices, as an IOC market order worst the
        /// tolerance from the oracle (an agent's TWAP without a limit: no worse than its reserved price); its owner pays
        /// the market's slice fee to the cranker, as for triggerOrder. Refused: not due (SliceNotDue),
        /// not a TWAP (NotTwap), paused, frozen, a stale oracle. Cancelled instead (the TWAP and its slice): limits or
        /// health as for triggerOrder. Remaining accounts (health): as for placeOrder.
        crank_twap => CrankTwap { order_id: u64 } accounts CrankOrderAccounts,
        /// A maker fills a taker order during its auction at the auction price of the current slot; the maker's order is
        /// immediate (its unfilled rest is not kept) and authorized for its size at that price. Fees are charged to the
        /// positions (realized PnL) and their net to the market's fee pool: a fill writes only the market, the two trading
        /// accounts and sessions. An account being liquidated may only reduce (AccountBeingLiquidated). Each side whose
        /// position changed is health-checked (growth at initial health >= 0 and the leverage limit, a reduction no lower
        /// than before when below). A fill in which a delegate or session key acts is priced within
        /// the market's delegated band and never against an account that key owns or is delegate of; session fills count
        /// against the session's budget. Remaining accounts: the maker's health list, then the taker's (each as for placeOrder,
        /// without this market).
        place_and_make => PlaceAndMake { taker_order_id: u64, maker: MakerParams } accounts PlaceAndMakeAccounts,
        /// Permissionless: matches a taker order whose auction is over with 1 to 4 resting maker orders at the makers' prices. An
        /// expired taker order is removed instead (success, no fill). Fees, health, delegated band, counterparty and
        /// session-budget rules as for placeAndMake; a maker order of an account being liquidated fills only what reduces its
        /// position. Remaining accounts: per maker its margin account, trading account (w), balances and the Session that
        /// placed its order (w; the qd-trading program id when none); then the taker's health list and each maker's, in order.
        fill_order => FillOrder { taker_order_id: u64, maker_order_ids: BoundedVec<u64, 4> } accounts FillOrderAccounts,
        /// Permissionless crank, once per funding period: samples the mark (the last fill's price if recent, else the oracle)
        /// and oracle TWAPs, and moves both funding indices (the longs' and the shorts') by the clamped premium.
        update_funding => UpdateFunding {} accounts UpdateFundingAccounts,
        /// Permissionless: settles funding into a position (at its side's index) and moves its realized PnL through the
        /// market's PnL pool by CPI: a loss from the quote balance into the pool (at most the balance), a profit out of it (at
        /// most what it holds beyond the fee pools); the rest stays unsettled. In a settlement market the position first
        /// closes at the settlement price and its orders are cancelled.
        settle_pnl => SettlePnl { market_index: u16 } accounts SettlePnlAccounts,
        /// Permissionless: removes every expired order of a trading account (GTT past its time, market/IOC/FOK past their last
        /// fillable slot).
        expire_orders => ExpireOrders {} accounts ExpireOrdersAccounts,
        /// CPI only, signed by qd-core's [b"authority"] PDA (liquidate_orders): every open order of the account off the book.
        // Each CPI-only instruction's discriminator is shared with qd-core through qd_trading_state::cpi.
        liquidate_orders => LiquidateOrders {} accounts LiquidateOrdersAccounts,
        /// CPI only (qd-core's liquidate_perp): `base` of the account's position (its change, toward zero) moves to the
        /// liquidator at `price`; the account pays `liquidator_fee` to the liquidator and `insurance_fee` into the market's
        /// liquidation fee pool, through the positions' realized PnL.
        liquidate_position => LiquidatePosition { base: i64, price: i64, liquidator_fee: i64, insurance_fee: i64 } accounts LiquidatePositionAccounts,
        /// CPI only (qd-core's liquidate_collateral): `amount` of the flat position's negative PnL repaid into the PnL pool.
        repay_pnl => RepayPnl { amount: i64 } accounts RepayPnlAccounts,
        /// CPI only (qd-core's resolve_bankruptcy): `insurance` of the flat position's debt arrived in the PnL pool from the
        /// insurance fund; the rest is socialized over the open positions by moving the two funding indices apart.
        resolve_bankrupt_position => ResolveBankruptPosition { insurance: i64 } accounts ResolveBankruptPositionAccounts,
        /// CPI only, signed by qd-core's [b"authority"] PDA (the insurance fund's sweep): takes liquidation_fees out of the
        /// liquidation-fee pool and trading_fees out of the fee pool, both out of the PnL pool; refused beyond what each
        /// holds.
        // Its discriminator is qd_trading_state::TAKE_FEES, shared with qd-core.
        take_fees => TakeFees { liquidation_fees: u64, trading_fees: u64 } accounts TakeFeesAccounts,
    }
}

/// The argument checks decoding runs across an instruction's arguments (each struct's own, the
/// oracle guards' included, run as it is read): market index, status, a modification, the maker
/// count.
fn check_args(ix: &TradingInstruction) -> Result<(), ProgramError> {
    match ix {
        TradingInstruction::CreateMarket { index, .. } if *index >= MAX_MARKET_INDEX => return Err(E::InvalidMarketIndex.into()),
        TradingInstruction::SetMarketStatus { status } if *status > MARKET_STATUS_SETTLEMENT => return Err(E::InvalidMarketStatus.into()),
        TradingInstruction::ModifyOrder { price, base_size, .. } => {
            if price.is_none() && base_size.is_none() {
                return Err(E::NothingToModify.into());
            }
            if let Some(size) = base_size {
                check_size(*size)?;
            }
        }
        // More than MAX_MAKERS does not decode.
        TradingInstruction::FillOrder { maker_order_ids, .. } if maker_order_ids.is_empty() => return Err(E::TooManyMakers.into()),
        TradingInstruction::PlaceBracket { take_profit: None, stop_loss: None, .. } => return Err(E::InvalidBracket.into()),
        TradingInstruction::PlaceIcebergOrder { display_size, params } if *display_size == 0 || *display_size >= params.base_size => {
            return Err(E::InvalidDisplaySize.into())
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_oracle_reader::OracleError;
    use qd_runtime::error::RuntimeError;
    use qd_runtime::hash::discriminator;
    use qd_trading_state::{KIND_LIMIT, POST_ONLY_REJECT, SIDE_BID};

    const CREATE_MARKET: [u8; 8] = discriminator("global", "create_market");
    const SET_MARKET_PARAMS: [u8; 8] = discriminator("global", "set_market_params");
    const SET_MARKET_STATUS: [u8; 8] = discriminator("global", "set_market_status");
    const SET_MARKET_ORACLE: [u8; 8] = discriminator("global", "set_market_oracle");
    const PLACE_ORDER: [u8; 8] = discriminator("global", "place_order");
    const CANCEL_ORDER: [u8; 8] = discriminator("global", "cancel_order");
    const CANCEL_ORDER_BY_CLIENT_ID: [u8; 8] = discriminator("global", "cancel_order_by_client_id");
    const CANCEL_ORDERS: [u8; 8] = discriminator("global", "cancel_orders");
    const MODIFY_ORDER: [u8; 8] = discriminator("global", "modify_order");
    const PLACE_AND_MAKE: [u8; 8] = discriminator("global", "place_and_make");
    const FILL_ORDER: [u8; 8] = discriminator("global", "fill_order");
    const SETTLE_PNL: [u8; 8] = discriminator("global", "settle_pnl");
    const EXPIRE_ORDERS: [u8; 8] = discriminator("global", "expire_orders");

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    fn code(r: Result<TradingInstruction, ProgramError>) -> u32 {
        r.unwrap_err().0
    }

    fn sample_params() -> MarketParams {
        MarketParams {
            tick_size: 10_000,
            lot_size: 1_000_000,
            min_order_size: 10_000_000,
            init_margin_bps: 1_000,
            maint_margin_bps: 500,
            size_margin_factor: 0,
            upnl_init_weight_bps: 5_000,
            upnl_maint_weight_bps: 10_000,
            taker_fee_bps: 10,
            maker_fee_bps: -2,
            max_open_interest: 1_000_000_000_000,
            auction_min_slots: 2,
            auction_default_slots: 10,
            auction_max_slots: 60,
            auction_max_deviation_bps: 500,
            post_auction_slots: 20,
            funding_period_secs: 3_600,
            funding_max_rate_bps: 100,
            mark_band_bps: 100,
            mark_depth_base: 100_000_000_000,
            delegated_band_bps: 50,
            liquidator_fee_bps: 100,
            insurance_fee_bps: 50,
            liquidation_max_fraction_bps: 2_500,
            liquidation_whole_base: 10_000_000_000,
            insurance_cap: 100_000_000_000,
            trigger_fee: 50_000,
            twap_slice_fee: 20_000,
        }
    }

    fn encode_params(p: &MarketParams) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(p.tick_size.to_le_bytes());
        v.extend(p.lot_size.to_le_bytes());
        v.extend(p.min_order_size.to_le_bytes());
        v.extend(p.init_margin_bps.to_le_bytes());
        v.extend(p.maint_margin_bps.to_le_bytes());
        v.extend(p.size_margin_factor.to_le_bytes());
        v.extend(p.upnl_init_weight_bps.to_le_bytes());
        v.extend(p.upnl_maint_weight_bps.to_le_bytes());
        v.extend(p.taker_fee_bps.to_le_bytes());
        v.extend(p.maker_fee_bps.to_le_bytes());
        v.extend(p.max_open_interest.to_le_bytes());
        v.extend(p.auction_min_slots.to_le_bytes());
        v.extend(p.auction_default_slots.to_le_bytes());
        v.extend(p.auction_max_slots.to_le_bytes());
        v.extend(p.auction_max_deviation_bps.to_le_bytes());
        v.extend(p.post_auction_slots.to_le_bytes());
        v.extend(p.funding_period_secs.to_le_bytes());
        v.extend(p.funding_max_rate_bps.to_le_bytes());
        v.extend(p.mark_band_bps.to_le_bytes());
        v.extend(p.mark_depth_base.to_le_bytes());
        v.extend(p.delegated_band_bps.to_le_bytes());
        v.extend(p.liquidator_fee_bps.to_le_bytes());
        v.extend(p.insurance_fee_bps.to_le_bytes());
        v.extend(p.liquidation_max_fraction_bps.to_le_bytes());
        v.extend(p.liquidation_whole_base.to_le_bytes());
        v.extend(p.insurance_cap.to_le_bytes());
        v.extend(p.trigger_fee.to_le_bytes());
        v.extend(p.twap_slice_fee.to_le_bytes());
        v
    }

    fn set_params(p: &MarketParams) -> Result<TradingInstruction, ProgramError> {
        TradingInstruction::unpack(&with(SET_MARKET_PARAMS, &encode_params(p)))
    }

    fn guards() -> Vec<u8> {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.extend(50u32.to_le_bytes());
            v.extend(20u32.to_le_bytes());
            v.extend(200u16.to_le_bytes());
            v.extend(0u16.to_le_bytes());
            v.extend([1, 0, 0, 0]);
        }
        v
    }

    fn order(p: &OrderParams) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(p.market_index.to_le_bytes());
        v.extend([p.side, p.kind, p.tif, p.post_only, p.reduce_only as u8]);
        v.extend(p.client_order_id.to_le_bytes());
        v.extend(p.base_size.to_le_bytes());
        v.extend(p.price.to_le_bytes());
        v.extend(p.expiry_ts.to_le_bytes());
        match p.auction {
            None => v.push(0),
            Some(a) => {
                v.push(1);
                v.extend(a.start_price.to_le_bytes());
                v.extend(a.end_price.to_le_bytes());
                v.extend(a.duration_slots.to_le_bytes());
            }
        }
        v
    }

    fn limit() -> OrderParams {
        OrderParams {
            market_index: 3,
            side: SIDE_BID,
            kind: KIND_LIMIT,
            tif: TIF_GTC,
            post_only: POST_ONLY_NONE,
            reduce_only: false,
            client_order_id: 77,
            base_size: 1_000_000_000,
            price: 100_000_000,
            expiry_ts: 0,
            auction: None,
        }
    }

    fn place(p: &OrderParams) -> Result<TradingInstruction, ProgramError> {
        TradingInstruction::unpack(&with(PLACE_ORDER, &order(p)))
    }

    #[test]
    fn market_params_round_trip_and_bounds() {
        let p = sample_params();
        assert_eq!(set_params(&p).unwrap(), TradingInstruction::SetMarketParams { params: p });
        let create = |index: u16| {
            let args = [&index.to_le_bytes()[..], b"SOL-PERP\0\0\0\0\0\0\0\0", &encode_params(&p), &guards()].concat();
            TradingInstruction::unpack(&with(CREATE_MARKET, &args))
        };
        assert!(matches!(create(63).unwrap(), TradingInstruction::CreateMarket { index: 63, .. }));
        assert_eq!(code(create(64)), E::InvalidMarketIndex as u32);

        let bad = |f: fn(&mut MarketParams)| {
            let mut q = sample_params();
            f(&mut q);
            code(set_params(&q))
        };
        let invalid = E::InvalidMarketParams as u32;
        assert_eq!(bad(|q| q.tick_size = 0), invalid);
        assert_eq!(bad(|q| q.lot_size = 0), invalid);
        assert_eq!(bad(|q| q.tick_size = 3), E::InvalidTickLot as u32);
        assert_eq!(bad(|q| q.lot_size = 1_000_001), E::InvalidTickLot as u32);
        assert_eq!(bad(|q| q.min_order_size = 500_000), invalid);
        assert_eq!(bad(|q| q.min_order_size = 1_500_000), invalid);
        assert_eq!(bad(|q| q.maint_margin_bps = 0), invalid);
        assert_eq!(bad(|q| q.maint_margin_bps = 1_001), invalid);
        assert_eq!(bad(|q| q.init_margin_bps = 10_001), invalid);
        assert_eq!(bad(|q| q.upnl_init_weight_bps = 10_001), invalid);
        assert_eq!(bad(|q| q.upnl_maint_weight_bps = 4_000), invalid);
        assert_eq!(bad(|q| q.taker_fee_bps = 1_001), E::InvalidFees as u32);
        assert_eq!(bad(|q| q.maker_fee_bps = -11), E::InvalidFees as u32);
        assert_eq!(bad(|q| q.maker_fee_bps = 1_001), E::InvalidFees as u32);
        assert_eq!(bad(|q| q.auction_min_slots = 0), invalid);
        assert_eq!(bad(|q| q.auction_default_slots = 1), invalid);
        assert_eq!(bad(|q| q.auction_max_slots = 9), invalid);
        assert_eq!(bad(|q| q.auction_max_slots = 1_001), invalid);
        assert_eq!(bad(|q| q.auction_max_deviation_bps = 0), invalid);
        assert_eq!(bad(|q| q.auction_max_deviation_bps = 5_001), invalid);
        assert_eq!(bad(|q| q.funding_period_secs = 59), invalid);
        assert_eq!(bad(|q| q.funding_period_secs = 86_401), invalid);
        assert_eq!(bad(|q| q.funding_max_rate_bps = 0), invalid);
        assert_eq!(bad(|q| q.funding_max_rate_bps = 1_001), invalid);
        assert_eq!(bad(|q| q.max_open_interest = u64::MAX), invalid);
        assert_eq!(bad(|q| q.mark_band_bps = 0), invalid);
        assert_eq!(bad(|q| q.mark_band_bps = 5_001), invalid);
        assert_eq!(bad(|q| q.mark_depth_base = q.lot_size - 1), invalid);
        assert_eq!(bad(|q| q.mark_depth_base = MAX_MARK_DEPTH + 1), invalid);
        assert_eq!(bad(|q| q.delegated_band_bps = 0), invalid);
        assert_eq!(bad(|q| q.delegated_band_bps = q.auction_max_deviation_bps + 1), invalid);
        // Liquidation fees below the maintenance margin (500 bps here), fraction 1..=10,000 bps,
        // whole base and insurance cap within i64.
        assert_eq!(bad(|q| q.liquidator_fee_bps = 450), invalid);
        assert_eq!(bad(|q| q.insurance_fee_bps = 400), invalid);
        assert_eq!(bad(|q| (q.liquidator_fee_bps, q.insurance_fee_bps) = (u16::MAX, u16::MAX)), invalid);
        assert_eq!(bad(|q| q.liquidation_max_fraction_bps = 0), invalid);
        assert_eq!(bad(|q| q.liquidation_max_fraction_bps = 10_001), invalid);
        assert_eq!(bad(|q| q.liquidation_whole_base = i64::MAX as u64 + 1), invalid);
        assert_eq!(bad(|q| q.insurance_cap = u64::MAX), invalid);
        assert_eq!(bad(|q| q.trigger_fee = MAX_CRANK_FEE + 1), invalid);
        assert_eq!(bad(|q| q.twap_slice_fee = MAX_CRANK_FEE + 1), invalid);
        // Edges that are allowed.
        assert!(
            set_params(&MarketParams { maker_fee_bps: -10, init_margin_bps: 10_000, maint_margin_bps: 10_000, ..sample_params() }).is_ok()
        );
        assert!(set_params(&MarketParams {
            auction_min_slots: 1000,
            auction_default_slots: 1000,
            auction_max_slots: 1000,
            ..sample_params()
        })
        .is_ok());
        assert!(
            set_params(&MarketParams { tick_size: 1, lot_size: 1_000_000_000, min_order_size: 1_000_000_000, ..sample_params() }).is_ok()
        );
        assert!(set_params(&MarketParams {
            liquidator_fee_bps: 499,
            insurance_fee_bps: 0,
            liquidation_max_fraction_bps: 10_000,
            liquidation_whole_base: i64::MAX as u64,
            insurance_cap: i64::MAX as u64,
            trigger_fee: MAX_CRANK_FEE,
            twap_slice_fee: MAX_CRANK_FEE,
            ..sample_params()
        })
        .is_ok());
        assert!(set_params(&MarketParams {
            liquidator_fee_bps: 0,
            insurance_fee_bps: 0,
            liquidation_max_fraction_bps: 1,
            ..sample_params()
        })
        .is_ok());
    }

    #[test]
    fn oracle_guards_are_validated() {
        assert!(TradingInstruction::unpack(&with(SET_MARKET_ORACLE, &guards())).is_ok());
        let mut bad = guards();
        bad[..4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(code(TradingInstruction::unpack(&with(SET_MARKET_ORACLE, &bad))), OracleError::InvalidGuardConfig as u32);
        // The guards are checked before the market index.
        let args = [&64u16.to_le_bytes()[..], &[0; 16], &encode_params(&sample_params()), &bad].concat();
        assert_eq!(code(TradingInstruction::unpack(&with(CREATE_MARKET, &args))), OracleError::InvalidGuardConfig as u32);
    }

    #[test]
    fn order_params_round_trip() {
        let p = OrderParams {
            auction: Some(AuctionParams { start_price: 99_000_000, end_price: 101_000_000, duration_slots: 5 }),
            tif: TIF_IOC,
            ..limit()
        };
        assert_eq!(place(&p).unwrap(), TradingInstruction::PlaceOrder { params: p });
        let gtt = OrderParams { tif: TIF_GTT, expiry_ts: 1_700_000_000, ..limit() };
        assert_eq!(place(&gtt).unwrap(), TradingInstruction::PlaceOrder { params: gtt });
        let offset = OrderParams { kind: KIND_ORACLE_OFFSET, price: -50_000, post_only: POST_ONLY_SLIDE, ..limit() };
        assert_eq!(place(&offset).unwrap(), TradingInstruction::PlaceOrder { params: offset });
    }

    #[test]
    fn order_types_are_validated() {
        let bad = |p: OrderParams| code(place(&p));
        let kind = E::InvalidOrderType as u32;
        assert_eq!(bad(OrderParams { side: 2, ..limit() }), kind);
        assert_eq!(bad(OrderParams { kind: 3, ..limit() }), kind);
        assert_eq!(bad(OrderParams { tif: 4, ..limit() }), kind);
        assert_eq!(bad(OrderParams { post_only: 3, ..limit() }), kind);
        // Market orders never rest.
        assert_eq!(bad(OrderParams { kind: KIND_MARKET, tif: TIF_GTC, ..limit() }), kind);
        assert_eq!(bad(OrderParams { kind: KIND_MARKET, tif: TIF_GTT, expiry_ts: 5, ..limit() }), kind);
        assert!(place(&OrderParams { kind: KIND_MARKET, tif: TIF_FOK, ..limit() }).is_ok());
        // Post-only: a priced resting order without an auction.
        assert_eq!(bad(OrderParams { post_only: POST_ONLY_REJECT, kind: KIND_MARKET, tif: TIF_IOC, ..limit() }), kind);
        assert_eq!(bad(OrderParams { post_only: POST_ONLY_REJECT, tif: TIF_IOC, ..limit() }), kind);
        assert_eq!(bad(OrderParams { post_only: POST_ONLY_REJECT, tif: TIF_FOK, ..limit() }), kind);
        let auction = Some(AuctionParams { start_price: 1, end_price: 2, duration_slots: 3 });
        assert_eq!(bad(OrderParams { post_only: POST_ONLY_REJECT, auction, ..limit() }), kind);
        assert!(place(&OrderParams { post_only: POST_ONLY_REJECT, tif: TIF_GTT, expiry_ts: 9, ..limit() }).is_ok());
        // Bad bool, trailing bytes.
        let mut raw = order(&limit());
        raw[6] = 2;
        assert_eq!(code(TradingInstruction::unpack(&with(PLACE_ORDER, &raw))), RuntimeError::InvalidInstructionData as u32);
        let raw = [order(&limit()), vec![0]].concat();
        assert_eq!(code(TradingInstruction::unpack(&with(PLACE_ORDER, &raw))), RuntimeError::InvalidInstructionData as u32);
    }

    #[test]
    fn sizes_prices_and_expiries_are_validated() {
        let bad = |p: OrderParams| code(place(&p));
        assert_eq!(bad(OrderParams { base_size: 0, ..limit() }), E::InvalidOrderSize as u32);
        assert_eq!(bad(OrderParams { base_size: i64::MAX as u64 + 1, ..limit() }), E::InvalidOrderSize as u32);
        assert_eq!(bad(OrderParams { price: 0, ..limit() }), E::InvalidPrice as u32);
        assert_eq!(bad(OrderParams { price: -5, kind: KIND_MARKET, tif: TIF_IOC, ..limit() }), E::InvalidPrice as u32);
        // An oracle offset may be zero or negative.
        assert!(place(&OrderParams { price: 0, kind: KIND_ORACLE_OFFSET, ..limit() }).is_ok());
        assert_eq!(bad(OrderParams { tif: TIF_GTT, ..limit() }), E::InvalidOrderExpiry as u32);
        assert_eq!(bad(OrderParams { expiry_ts: 5, ..limit() }), E::InvalidOrderExpiry as u32);
        assert_eq!(bad(OrderParams { tif: TIF_GTT, expiry_ts: -5, ..limit() }), E::InvalidOrderExpiry as u32);
        let auction = |start, end| Some(AuctionParams { start_price: start, end_price: end, duration_slots: 3 });
        assert_eq!(bad(OrderParams { auction: auction(0, 5), tif: TIF_IOC, ..limit() }), E::AuctionOutOfBounds as u32);
        assert_eq!(bad(OrderParams { auction: auction(5, -1), tif: TIF_IOC, ..limit() }), E::AuctionOutOfBounds as u32);
    }

    #[test]
    fn maker_modify_cancel_and_fill_arguments() {
        let make = |price: i64, size: u64| {
            let args = [&7u64.to_le_bytes()[..], &price.to_le_bytes(), &size.to_le_bytes(), &9u64.to_le_bytes()].concat();
            TradingInstruction::unpack(&with(PLACE_AND_MAKE, &args))
        };
        assert_eq!(
            make(100, 5).unwrap(),
            TradingInstruction::PlaceAndMake { taker_order_id: 7, maker: MakerParams { price: 100, base_size: 5, client_order_id: 9 } }
        );
        assert_eq!(code(make(0, 5)), E::InvalidPrice as u32);
        assert_eq!(code(make(100, 0)), E::InvalidOrderSize as u32);

        let modify = |price: Option<i64>, size: Option<u64>| {
            let mut args = 4u64.to_le_bytes().to_vec();
            for v in [price.map(|p| p.to_le_bytes()), size.map(|s| s.to_le_bytes())] {
                match v {
                    None => args.push(0),
                    Some(b) => {
                        args.push(1);
                        args.extend(b);
                    }
                }
            }
            TradingInstruction::unpack(&with(MODIFY_ORDER, &args))
        };
        assert_eq!(modify(Some(5), None).unwrap(), TradingInstruction::ModifyOrder { order_id: 4, price: Some(5), base_size: None });
        assert_eq!(code(modify(None, None)), E::NothingToModify as u32);
        assert_eq!(code(modify(None, Some(0))), E::InvalidOrderSize as u32);

        assert_eq!(
            TradingInstruction::unpack(&with(CANCEL_ORDERS, &[0])).unwrap(),
            TradingInstruction::CancelOrders { market_index: None }
        );
        assert_eq!(
            TradingInstruction::unpack(&with(CANCEL_ORDERS, &[1, 2, 0])).unwrap(),
            TradingInstruction::CancelOrders { market_index: Some(2) }
        );
        assert_eq!(
            TradingInstruction::unpack(&with(CANCEL_ORDER_BY_CLIENT_ID, &8u64.to_le_bytes())).unwrap(),
            TradingInstruction::CancelOrderByClientId { client_order_id: 8 }
        );
        assert_eq!(
            TradingInstruction::unpack(&with(CANCEL_ORDER, &3u64.to_le_bytes())).unwrap(),
            TradingInstruction::CancelOrder { order_id: 3 }
        );

        let fill = |ids: &[u64]| {
            let mut args = [&1u64.to_le_bytes()[..], &(ids.len() as u32).to_le_bytes()].concat();
            for id in ids {
                args.extend(id.to_le_bytes());
            }
            TradingInstruction::unpack(&with(FILL_ORDER, &args))
        };
        assert_eq!(
            fill(&[5, 6]).unwrap(),
            TradingInstruction::FillOrder { taker_order_id: 1, maker_order_ids: BoundedVec::from_slice(&[5, 6]) }
        );
        assert_eq!(code(fill(&[])), E::TooManyMakers as u32);
        // A borsh vector longer than its bound does not decode.
        assert_eq!(code(fill(&[1, 2, 3, 4, 5])), RuntimeError::InvalidInstructionData as u32);

        assert_eq!(code(TradingInstruction::unpack(&with(SET_MARKET_STATUS, &[3]))), E::InvalidMarketStatus as u32);
        assert_eq!(TradingInstruction::unpack(&with(SET_MARKET_STATUS, &[2])).unwrap(), TradingInstruction::SetMarketStatus { status: 2 });
        assert_eq!(TradingInstruction::unpack(&with(SETTLE_PNL, &[1, 0])).unwrap(), TradingInstruction::SettlePnl { market_index: 1 });
        assert_eq!(code(TradingInstruction::unpack(&with(EXPIRE_ORDERS, &[0]))), RuntimeError::InvalidInstructionData as u32);
        assert_eq!(code(TradingInstruction::unpack(&[0; 8])), RuntimeError::InvalidInstruction as u32);
    }
}
