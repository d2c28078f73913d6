//! The health engine: how much a margin account is worth to the venue, at the initial level
//! (may it open risk or withdraw?) and the maintenance level (must it be liquidated?).
//!
//! Programs read a margin account's collateral balances and perp positions one account at a
//! time, without allocation, so the engine is an accumulator:
//!
//! ```text
//! let mut health = Health::new();
//! for c in collateral { health.add_collateral(&c)?; }   // balance, decimals, oracle price, weights
//! for p in perps { health.add_perp(&p)?; }              // position, open orders, mark price, market
//! if health.maint_health()? < 0 { /* liquidatable */ }
//! ```
//!
//! Units: prices have 6 decimals (quote per whole token or base unit); collateral balances are
//! in the token's native units; perp base amounts have 9 decimals (`BASE_SCALE`); the funding
//! index is quote native units per whole base unit scaled by `FUNDING_SCALE`; weights and
//! ratios are basis points. Every figure out of the engine is in quote native units (the quote
//! mint has 6 decimals, as prices do).
//!
//! Rounding is always against the account: asset-side values round down (toward -inf),
//! requirements round up. Every step that can overflow is checked and fails with
//! `HealthError::MathOverflow`; the steps of a perp valuation are bounded by construction (see
//! `Valuation`) and exact without checks. The engine never wraps and never panics.
//! clients/health.py mirrors every step and every overflow check; tests/test_health.py holds
//! the two equal on SBF.
//!
//! Cost on SBF (measured through tests/programs/qd-test-health by quantdesk/bench/health.py):
//! ~200 CU per collateral entry, ~1,000 CU per perp position with orders on both sides,
//! funding and size margin; ~11k CU per liquidation price (about 50 valuations). Nothing
//! divides an i128 with `/` (a ~4k CU loop on SBF): see `wide`.
//!
//! Per level L (init, maint) the engine sums:
//! - collateral: `value = floor(balance * price / 10^decimals)`; a positive value adds
//!   `floor(value * weight_L / 10_000)` to the assets, a debt adds `-value` to the liabilities in
//!   full; `value` also adds to the (unweighted) equity.
//! - perps at (base b, quote q, price p): `pnl = floor(b * p / 1e9) + q + funding_pnl`;
//!   `notional = ceil(|b| * p / 1e9)`; the requirement `ceil(notional * ratio_L / 10_000)` with
//!   `ratio_L = min(margin_bps_L + ceil(|b| * size_margin_factor / 1e18), 10_000)`. Positive
//!   pnl is an asset at `floor(pnl * upnl_weight_L / 10_000)`; negative pnl adds to the
//!   liabilities. Maintenance values the position as it is (and adds its pnl to the equity, its
//!   notional to the notional); the initial level takes the worse (lower asset - liability) of
//!   (b + bids_base, q - bids_quote) and (b - asks_base, q + asks_quote), a tie picking the
//!   bids. `funding_pnl = floor(-(b * (cumulative_funding - funding_snapshot)) / 1e15)` is
//!   owed by the position as it is, so both order scenarios carry the current position's
//!   funding (an order filling now starts at the current index).
#![cfg_attr(target_arch = "bpf", no_std)]

mod error;
pub mod liquidation;
pub mod wide;

pub use error::HealthError;

use wide::{div_floor_pow10, div_floor_wide, div_pow10, divrem_pow10, mul_bps, mul_bps_bounded, mul_small, mul_wide, signed};

/// Decimal exponents of the fixed-point scales: every division in a valuation is by a power of
/// ten (`wide::divrem_pow10`).
const BPS_DECIMALS: u32 = 4;
const BASE_DECIMALS: u32 = 9;
const FUNDING_DECIMALS: u32 = 6;
const SIZE_FACTOR_DECIMALS: u32 = 9;
/// 100% in basis points: the largest weight or margin ratio.
pub const BPS: u32 = 10u32.pow(BPS_DECIMALS);
/// Perp base amounts have 9 decimals.
pub const BASE_SCALE: u32 = 10u32.pow(BASE_DECIMALS);
/// The funding index is scaled by 1e6.
pub const FUNDING_SCALE: u32 = 10u32.pow(FUNDING_DECIMALS);
/// `size_margin_factor` is scaled by 1e9 and applies per whole base unit: the product with a
/// base amount is divided by `BASE_SCALE * SIZE_FACTOR_SCALE`.
pub const SIZE_FACTOR_SCALE: u32 = 10u32.pow(SIZE_FACTOR_DECIMALS);
/// The largest collateral `decimals`.
pub const MAX_DECIMALS: u8 = 18;
/// The liquidation price search covers prices `1..=PRICE_SEARCH_MAX` (1e9 quote per unit).
pub const PRICE_SEARCH_MAX: i64 = 1_000_000_000_000_000;

type Result<T> = core::result::Result<T, HealthError>;

const OVERFLOW: HealthError = HealthError::MathOverflow;

/// A collateral balance and how it counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollateralInput {
    /// Native units of the token; negative is a debt.
    pub balance: i64,
    /// The token's decimals, 0..=18.
    pub decimals: u8,
    /// Quote per whole token, 6 decimals; > 0.
    pub price: i64,
    /// Share of a positive value that counts at the initial level (bps).
    pub init_weight_bps: u16,
    /// Share at the maintenance level (bps, >= `init_weight_bps`).
    pub maint_weight_bps: u16,
}

/// The risk parameters of a perp market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerpMarketParams {
    /// Initial margin ratio (bps).
    pub init_margin_bps: u16,
    /// Maintenance margin ratio (bps, <= `init_margin_bps`).
    pub maint_margin_bps: u16,
    /// extra margin ratio (bps) per whole base unit of |position|, scaled by 1e9:
    /// ratio(|b|) = min(base_ratio + ceil(|b| * size_margin_factor / 1e18), 10_000)
    pub size_margin_factor: u64,
    /// Share of a positive unrealized PnL that counts at the initial level (bps).
    pub upnl_init_weight_bps: u16,
    /// Share at the maintenance level (bps).
    pub upnl_maint_weight_bps: u16,
}

/// A perp position with the account's open orders in its market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerpInput {
    /// Position size, 9 decimals; negative is short.
    pub base: i64,
    /// Signed quote amount of the position, realized but unsettled PnL folded in (a long of 1.0
    /// bought at 100 has base 1e9, quote -100e6).
    pub quote: i64,
    /// The market's cumulative funding index when the position last settled funding.
    pub funding_snapshot: i64,
    /// The market's cumulative funding index now (longs pay when it rises).
    pub cumulative_funding: i64,
    /// Base total of the open bids (>= 0).
    pub bids_base: i64,
    /// What the open bids would pay at their limit prices (>= 0).
    pub bids_quote: i64,
    /// Base total of the open asks (>= 0).
    pub asks_base: i64,
    /// What the open asks would receive at their limit prices (>= 0).
    pub asks_quote: i64,
    /// Mark price, 6 decimals; > 0.
    pub price: i64,
    pub market: PerpMarketParams,
}

/// A perp position's contribution at one level: what counts for the account and against it.
/// Both are below 2^99 (see `Valuation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parts {
    asset: i128,
    liability: i128,
}

impl Parts {
    fn net(&self) -> i128 {
        self.asset - self.liability
    }
}

/// The scenario with the lower `asset - liability`; a tie picks the bids.
fn worse(bid: Parts, ask: Parts) -> Parts {
    if ask.net() < bid.net() {
        ask
    } else {
        bid
    }
}

/// The funding a position of `base` owes (< 0) or is owed since the index was `snapshot`, the
/// index being `cumulative` now: `floor(-(base * (cumulative - snapshot)) / 1e15)`. It belongs
/// to the position as it is: an order that fills now starts at the current index, so the order
/// scenarios carry this same amount. qd-trading settles positions with this same function.
/// |base * delta| < 2^63 * 2^64, so the result is below 2^78.
pub fn funding_pnl(base: i64, snapshot: i64, cumulative: i64) -> i128 {
    let (now, then) = (cumulative, snapshot);
    if base == 0 || now == then {
        return 0;
    }
    // |now - then| < 2^64: exact in wrapping u64.
    let delta = if now > then { (now as u64).wrapping_sub(then as u64) } else { (then as u64).wrapping_sub(now as u64) };
    // Longs pay when the index rises: the account pays when base and the index move have the
    // same sign, and a payment rounds up (the floor of a negative value).
    let pays = (base > 0) == (now > then);
    let m = div_pow10::<{ BASE_DECIMALS + FUNDING_DECIMALS }>(mul_wide(base.unsigned_abs(), delta), pays) as i128;
    if pays {
        -m
    } else {
        m
    }
}

/// One valuation of a perp position (as it is, or after its bids or asks fill): everything
/// that does not depend on the price.
struct Position {
    base: i64,
    /// The quote amount plus the funding owed (below 2^79 in magnitude).
    quote: i128,
    /// `min(ceil(|base| * size_margin_factor / 1e18), 10_000)`.
    size_ratio: u16,
}

/// A position valued at a price. Bounded by construction, so computed without checks:
/// `notional <= ceil(2^63 * 2^63 / 1e9) < 2^97`, `|pnl| < 2^97 + 2^79 < 2^98`; a requirement
/// is at most the notional, an asset at most the pnl, a liability below 2^99.
struct Valuation {
    /// `floor(base * price / 1e9) + quote + funding_pnl`.
    pnl: i128,
    /// `ceil(|base| * price / 1e9)`.
    notional: u128,
}

impl Position {
    /// `base` in `p`'s market (its position, or the position after orders fill), with `quote`
    /// the quote amount plus the funding owed.
    fn new(p: &PerpInput, base: i64, quote: i128) -> Self {
        let factor = p.market.size_margin_factor;
        let size_ratio = if base == 0 || factor == 0 {
            0
        } else {
            // Divided by BASE_SCALE * SIZE_FACTOR_SCALE; beyond 10_000 times that the cap applies.
            let scaled = mul_wide(base.unsigned_abs(), factor);
            if scaled > BPS as u128 * BASE_SCALE as u128 * SIZE_FACTOR_SCALE as u128 {
                BPS as u16
            } else {
                div_pow10::<{ BASE_DECIMALS + SIZE_FACTOR_DECIMALS }>(scaled, true) as u16
            }
        };
        Position { base, quote, size_ratio }
    }

    /// The position valued at `price` (> 0).
    #[inline(always)]
    fn value(&self, price: i64) -> Valuation {
        // floor(b * p / 1e9) and ceil(|b| * p / 1e9) from one division of |b| * p (< 2^126).
        let (q, inexact) = divrem_pow10::<BASE_DECIMALS>(mul_wide(self.base.unsigned_abs(), price as u64));
        let notional = q + inexact as u128;
        let base_value = if self.base >= 0 { q as i128 } else { -(notional as i128) };
        Valuation { pnl: base_value + self.quote, notional }
    }

    /// `min(margin_bps + size_ratio, 10_000)`.
    fn ratio(&self, margin_bps: u16) -> u16 {
        margin_bps.saturating_add(self.size_ratio).min(BPS as u16)
    }
}

impl Valuation {
    /// The requirement `ceil(notional * ratio / 10_000)` and the PnL's part at one level: a
    /// profit is an asset at `floor(pnl * weight / 10_000)`, a loss a liability in full.
    #[inline(always)]
    fn parts(&self, ratio_bps: u16, upnl_weight_bps: u16) -> Parts {
        let requirement = div_pow10::<BPS_DECIMALS>(mul_bps_bounded(self.notional, ratio_bps), true) as i128;
        let pnl = self.pnl;
        if pnl > 0 {
            Parts { asset: div_pow10::<BPS_DECIMALS>(mul_bps_bounded(pnl as u128, upnl_weight_bps), false) as i128, liability: requirement }
        } else {
            Parts { asset: 0, liability: requirement - pnl }
        }
    }
}

/// The initial-level parts in `p`'s market at (base, quote): the position after its bids or
/// asks fill.
#[inline(always)]
fn init_parts(p: &PerpInput, (base, quote): (i64, i128)) -> Parts {
    let filled = Position::new(p, base, quote);
    filled.value(p.price).parts(filled.ratio(p.market.init_margin_bps), p.market.upnl_init_weight_bps)
}

fn check_collateral(c: &CollateralInput) -> Result<()> {
    if c.decimals > MAX_DECIMALS {
        return Err(HealthError::InvalidDecimals);
    }
    if c.price <= 0 {
        return Err(HealthError::NonPositiveInputPrice);
    }
    if c.init_weight_bps as u32 > BPS || c.maint_weight_bps as u32 > BPS {
        return Err(HealthError::WeightTooLarge);
    }
    if c.maint_weight_bps < c.init_weight_bps {
        return Err(HealthError::MaintWeightBelowInit);
    }
    Ok(())
}

fn check_perp(p: &PerpInput) -> Result<()> {
    let m = &p.market;
    if p.price <= 0 {
        return Err(HealthError::NonPositiveInputPrice);
    }
    if m.init_margin_bps as u32 > BPS || m.maint_margin_bps as u32 > BPS {
        return Err(HealthError::MarginRatioTooLarge);
    }
    if m.maint_margin_bps > m.init_margin_bps {
        return Err(HealthError::MaintMarginAboveInit);
    }
    if m.upnl_init_weight_bps as u32 > BPS || m.upnl_maint_weight_bps as u32 > BPS {
        return Err(HealthError::WeightTooLarge);
    }
    if (p.bids_base | p.bids_quote | p.asks_base | p.asks_quote) < 0 {
        return Err(HealthError::NegativeOrderTotal);
    }
    Ok(())
}

fn add(total: i128, x: i128) -> Result<i128> {
    total.checked_add(x).ok_or(OVERFLOW)
}

/// `x + d` for an order total `d >= 0`: past i64::MAX the wrapped sum is below `x`.
fn raise(x: i64, d: i64) -> Result<i64> {
    let sum = x.wrapping_add(d);
    if sum < x {
        Err(OVERFLOW)
    } else {
        Ok(sum)
    }
}

/// `x - d` for an order total `d >= 0`: past i64::MIN the wrapped difference is above `x`.
fn lower(x: i64, d: i64) -> Result<i64> {
    let difference = x.wrapping_sub(d);
    if difference > x {
        Err(OVERFLOW)
    } else {
        Ok(difference)
    }
}

/// `total + x` for two non-negative values (the assets, liabilities and notional sums only
/// ever grow): their u128 sum cannot wrap, so the i128 overflow is its top bit.
fn add_nonneg(total: i128, x: i128) -> Result<i128> {
    let sum = total as u128 + x as u128;
    if sum >> 127 == 0 {
        Ok(sum as i128)
    } else {
        Err(OVERFLOW)
    }
}

/// What one collateral balance or one perp position adds at every level: removing it takes
/// exactly this back (a liquidation's after-state is the health with one contribution replaced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Contribution {
    init: Parts,
    maint: Parts,
    end: Parts,
    equity: i128,
    notional: i128,
    worst_notional: i128,
}

/// The running sums of a margin account's health (quote native units). A failed `add_*` or
/// `remove_*` leaves them unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    assets_init: i128,
    liabilities_init: i128,
    assets_maint: i128,
    liabilities_maint: i128,
    assets_end: i128,
    liabilities_end: i128,
    equity: i128,
    notional: i128,
    worst_notional: i128,
    /// The liquidation-end level's buffer (bps): maintenance margin ratios raised by it,
    /// maintenance asset weights lowered by it. 0: the end level is the maintenance level.
    buffer_bps: u16,
}

impl Health {
    pub const fn new() -> Self {
        Self::with_liquidation_buffer(0)
    }

    /// Sums that also keep the liquidation-end level with `buffer_bps`.
    pub const fn with_liquidation_buffer(buffer_bps: u16) -> Self {
        Health {
            assets_init: 0,
            liabilities_init: 0,
            assets_maint: 0,
            liabilities_maint: 0,
            assets_end: 0,
            liabilities_end: 0,
            equity: 0,
            notional: 0,
            worst_notional: 0,
            buffer_bps,
        }
    }

    /// Weighted assets at the initial level.
    pub fn assets_init(&self) -> i128 {
        self.assets_init
    }

    /// Liabilities (debts, negative PnL, margin requirements) at the initial level.
    pub fn liabilities_init(&self) -> i128 {
        self.liabilities_init
    }

    /// Weighted assets at the maintenance level.
    pub fn assets_maint(&self) -> i128 {
        self.assets_maint
    }

    /// Liabilities at the maintenance level.
    pub fn liabilities_maint(&self) -> i128 {
        self.liabilities_maint
    }

    /// Weighted assets at the liquidation-end level.
    pub fn assets_end(&self) -> i128 {
        self.assets_end
    }

    /// Liabilities at the liquidation-end level.
    pub fn liabilities_end(&self) -> i128 {
        self.liabilities_end
    }

    /// The liquidation-end buffer these sums use (bps).
    pub fn buffer_bps(&self) -> u16 {
        self.buffer_bps
    }

    /// Unweighted value: collateral values plus the positions' PnL.
    pub fn equity(&self) -> i128 {
        self.equity
    }

    /// Sum of the positions' notionals (open orders excluded).
    pub fn notional(&self) -> i128 {
        self.notional
    }

    /// Sum of each position's notional if the side of its open orders that leaves it largest
    /// filled (the position itself when that is larger): the exposure leverage limits count.
    pub fn worst_notional(&self) -> i128 {
        self.worst_notional
    }

    /// The end level's weight of a holding: the maintenance weight less the buffer.
    fn end_weight(&self, maint_weight_bps: u16) -> u16 {
        maint_weight_bps.saturating_sub(self.buffer_bps)
    }

    /// The end level's margin ratio of a position: the maintenance ratio plus the buffer.
    fn end_margin(&self, maint_margin_bps: u16) -> u16 {
        maint_margin_bps.saturating_add(self.buffer_bps)
    }

    fn collateral_contribution(&self, c: &CollateralInput) -> Result<Contribution> {
        check_collateral(c)?;
        // |balance * price| < 2^126.
        let product = signed(c.balance < 0, mul_wide(c.balance.unsigned_abs(), c.price as u64)).ok_or(OVERFLOW)?;
        let value = div_floor_pow10(product, c.decimals);
        let (init, maint, end) = if value >= 0 {
            let weighted = |w: u16| mul_bps(value as u128, w).map(|v| div_pow10::<BPS_DECIMALS>(v, false) as i128).ok_or(OVERFLOW);
            let maint = weighted(c.maint_weight_bps)?;
            let end = if self.buffer_bps == 0 { maint } else { weighted(self.end_weight(c.maint_weight_bps))? };
            let asset = |asset: i128| Parts { asset, liability: 0 };
            (asset(weighted(c.init_weight_bps)?), asset(maint), asset(end))
        } else {
            // A debt counts in full at every level.
            let debt = Parts { asset: 0, liability: value.checked_neg().ok_or(OVERFLOW)? };
            (debt, debt, debt)
        };
        Ok(Contribution { init, maint, end, equity: value, notional: 0, worst_notional: 0 })
    }

    fn perp_contribution(&self, p: &PerpInput) -> Result<Contribution> {
        check_perp(p)?;
        let m = &p.market;
        // The position if all bids (asks) filled; it must fit i64. None: no orders on that side.
        let funding = funding_pnl(p.base, p.funding_snapshot, p.cumulative_funding);
        let bids_filled = if p.bids_base == 0 && p.bids_quote == 0 {
            None
        } else {
            Some((raise(p.base, p.bids_base)?, lower(p.quote, p.bids_quote)? as i128 + funding))
        };
        let asks_filled = if p.asks_base == 0 && p.asks_quote == 0 {
            None
        } else {
            Some((lower(p.base, p.asks_base)?, raise(p.quote, p.asks_quote)? as i128 + funding))
        };
        let current = Position::new(p, p.base, p.quote as i128 + funding);
        let now = current.value(p.price);
        let largest = [bids_filled, asks_filled].into_iter().flatten().fold(p.base.unsigned_abs(), |m, (b, _)| m.max(b.unsigned_abs()));
        // ceil(|b| * p / 1e9) as `Position::value` computes a notional (< 2^97).
        let (q, inexact) = divrem_pow10::<BASE_DECIMALS>(mul_wide(largest, p.price as u64));
        let worst = q + inexact as u128;
        let maint = now.parts(current.ratio(m.maint_margin_bps), m.upnl_maint_weight_bps);
        let end = if self.buffer_bps == 0 {
            maint
        } else {
            now.parts(current.ratio(self.end_margin(m.maint_margin_bps)), m.upnl_maint_weight_bps)
        };
        // A side without orders is the position as it is.
        let as_is = || now.parts(current.ratio(m.init_margin_bps), m.upnl_init_weight_bps);
        let init = match (bids_filled, asks_filled) {
            (None, None) => as_is(),
            (Some(bids), None) => worse(init_parts(p, bids), as_is()),
            (None, Some(asks)) => worse(as_is(), init_parts(p, asks)),
            (Some(bids), Some(asks)) => worse(init_parts(p, bids), init_parts(p, asks)),
        };
        Ok(Contribution { init, maint, end, equity: now.pnl, notional: now.notional as i128, worst_notional: worst as i128 })
    }

    fn plus(&self, c: &Contribution) -> Result<Health> {
        Ok(Health {
            assets_init: add_nonneg(self.assets_init, c.init.asset)?,
            liabilities_init: add_nonneg(self.liabilities_init, c.init.liability)?,
            assets_maint: add_nonneg(self.assets_maint, c.maint.asset)?,
            liabilities_maint: add_nonneg(self.liabilities_maint, c.maint.liability)?,
            assets_end: add_nonneg(self.assets_end, c.end.asset)?,
            liabilities_end: add_nonneg(self.liabilities_end, c.end.liability)?,
            equity: add(self.equity, c.equity)?,
            notional: add_nonneg(self.notional, c.notional)?,
            worst_notional: add_nonneg(self.worst_notional, c.worst_notional)?,
            buffer_bps: self.buffer_bps,
        })
    }

    fn minus(&self, c: &Contribution) -> Result<Health> {
        let sub = |a: i128, b: i128| a.checked_sub(b).ok_or(OVERFLOW);
        Ok(Health {
            assets_init: sub(self.assets_init, c.init.asset)?,
            liabilities_init: sub(self.liabilities_init, c.init.liability)?,
            assets_maint: sub(self.assets_maint, c.maint.asset)?,
            liabilities_maint: sub(self.liabilities_maint, c.maint.liability)?,
            assets_end: sub(self.assets_end, c.end.asset)?,
            liabilities_end: sub(self.liabilities_end, c.end.liability)?,
            equity: sub(self.equity, c.equity)?,
            notional: sub(self.notional, c.notional)?,
            worst_notional: sub(self.worst_notional, c.worst_notional)?,
            buffer_bps: self.buffer_bps,
        })
    }

    /// Adds a collateral balance: a holding at its weight per level, a debt in full, its value
    /// to the equity.
    pub fn add_collateral(&mut self, c: &CollateralInput) -> Result<()> {
        *self = self.plus(&self.collateral_contribution(c)?)?;
        Ok(())
    }

    /// Takes back what `add_collateral(c)` added (`c` must be a balance already added).
    pub fn remove_collateral(&mut self, c: &CollateralInput) -> Result<()> {
        *self = self.minus(&self.collateral_contribution(c)?)?;
        Ok(())
    }

    /// Adds a perp position: its maintenance and end parts as it is, its initial parts in the
    /// worse order scenario, its pnl to the equity and its notional to the notional.
    // Large: one copy in a program, however many places call it.
    #[inline(never)]
    pub fn add_perp(&mut self, p: &PerpInput) -> Result<()> {
        *self = self.plus(&self.perp_contribution(p)?)?;
        Ok(())
    }

    /// Takes back what `add_perp(p)` added (`p` must be a position already added).
    #[inline(never)]
    pub fn remove_perp(&mut self, p: &PerpInput) -> Result<()> {
        *self = self.minus(&self.perp_contribution(p)?)?;
        Ok(())
    }

    /// Initial health: what the account may still commit (open risk, withdraw) while >= 0.
    pub fn init_health(&self) -> Result<i128> {
        self.assets_init.checked_sub(self.liabilities_init).ok_or(OVERFLOW)
    }

    /// Maintenance health: the account is liquidatable when it is < 0.
    pub fn maint_health(&self) -> Result<i128> {
        self.assets_maint.checked_sub(self.liabilities_maint).ok_or(OVERFLOW)
    }

    /// Liquidation-end health: a liquidation stops once it is >= 0 (equal to the maintenance
    /// health without a buffer).
    pub fn liquidation_end_health(&self) -> Result<i128> {
        self.assets_end.checked_sub(self.liabilities_end).ok_or(OVERFLOW)
    }

    /// Whether the account may be liquidated: maintenance health below 0, or, once a
    /// liquidation has started (`being_liquidated`), liquidation-end health still below 0.
    pub fn is_liquidatable(&self, being_liquidated: bool) -> Result<bool> {
        Ok(self.maint_health()? < 0 || (being_liquidated && self.liquidation_end_health()? < 0))
    }

    /// `max(init_health, 0)`.
    pub fn free_collateral(&self) -> Result<i128> {
        Ok(self.init_health()?.max(0))
    }

    /// `floor(assets_maint * 10_000 / liabilities_maint)`, what a UI shows as "1.53" (15_300);
    /// below 10_000 exactly when the maintenance health is negative. None without liabilities.
    pub fn health_factor_bps(&self) -> Result<Option<i128>> {
        if self.liabilities_maint == 0 {
            return Ok(None);
        }
        let scaled = mul_small(self.assets_maint, BPS).ok_or(OVERFLOW)?;
        Ok(Some(div_floor_wide(scaled, self.liabilities_maint)))
    }

    /// `floor(equity * 10_000 / notional)` (may be negative); None without positions.
    pub fn margin_ratio_bps(&self) -> Result<Option<i128>> {
        if self.notional == 0 {
            return Ok(None);
        }
        let scaled = mul_small(self.equity, BPS).ok_or(OVERFLOW)?;
        Ok(Some(div_floor_wide(scaled, self.notional)))
    }

    /// The price of `p`'s market at which the maintenance health turns negative, everything
    /// else held fixed; `p` must be a position already added. None for a flat position or when
    /// no price in `1..=PRICE_SEARCH_MAX` liquidates it.
    ///
    /// The health as a function of this market's price is `H(p) = H_other + contribution(p)`
    /// (`H_other`: the totals without this position's maintenance parts). A long (base > 0)
    /// gets the largest price with `H < 0` by bisection keeping `H(lo) < 0 <= H(hi)` from
    /// `lo = 1, hi = PRICE_SEARCH_MAX` (`PRICE_SEARCH_MAX` itself when even that price is
    /// liquidatable); a short the smallest, keeping `H(lo) >= 0 > H(hi)` (1 when even price 1
    /// is liquidatable). Rounding in `H` can make it jitter by a unit near the boundary (and a
    /// zero upnl weight makes a long's `H` fall again at high prices), so the result is exact to
    /// this bisection's definition, not to a closed form. About 50 valuations of this one
    /// position.
    pub fn liquidation_price(&self, p: &PerpInput) -> Result<Option<i64>> {
        check_perp(p)?;
        if p.base == 0 {
            return Ok(None);
        }
        let m = &p.market;
        let position = Position::new(p, p.base, p.quote as i128 + funding_pnl(p.base, p.funding_snapshot, p.cumulative_funding));
        let (ratio, weight) = (position.ratio(m.maint_margin_bps), m.upnl_maint_weight_bps);
        let own = position.value(p.price).parts(ratio, weight);
        let assets_other = self.assets_maint.checked_sub(own.asset).ok_or(OVERFLOW)?;
        let liabilities_other = self.liabilities_maint.checked_sub(own.liability).ok_or(OVERFLOW)?;
        let health_other = assets_other.checked_sub(liabilities_other).ok_or(OVERFLOW)?;
        let negative_at = |price: i64| -> Result<bool> { Ok(add(health_other, position.value(price).parts(ratio, weight).net())? < 0) };

        let long = p.base > 0;
        // A long is liquidated by low prices: price 1 must be liquidatable and the top safe (a
        // short: the mirror image).
        if long {
            if !negative_at(1)? {
                return Ok(None);
            }
            if negative_at(PRICE_SEARCH_MAX)? {
                return Ok(Some(PRICE_SEARCH_MAX));
            }
        } else {
            if !negative_at(PRICE_SEARCH_MAX)? {
                return Ok(None);
            }
            if negative_at(1)? {
                return Ok(Some(1));
            }
        }
        // Invariant: H(lo) < 0 <= H(hi) for a long, H(lo) >= 0 > H(hi) for a short.
        let (mut lo, mut hi) = (1i64, PRICE_SEARCH_MAX);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if negative_at(mid)? == long {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(Some(if long { lo } else { hi }))
    }
}

#[cfg(test)]
mod tests;
