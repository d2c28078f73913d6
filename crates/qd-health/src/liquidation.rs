//! Liquidation arithmetic on the health engine: what one perp liquidation step moves and
//! charges, how much of a position one step may take, and how much quote debt a collateral
//! liquidation repays. qd-core's liquidation instructions and its `view_liquidation` run these;
//! clients/health.py mirrors them step for step.
//!
//! A perp step moves `base` of the account's position to the liquidator at the oracle price
//! (`quote = floor(base * price / 1e9)` changes hands, as in a fill), and the account pays two
//! fees on that quote, each rounded up (against the account): the liquidator's and the
//! insurance fund's. A market's fees are below its maintenance margin (qd-trading validates it),
//! so every step raises the account's health.
//!
//! A collateral step repays `quote` of the account's debt (the negative PnL of a flat position)
//! with the liquidator's quote, and the liquidator receives `floor(quote * 10^decimals /
//! discounted_price)` of a collateral, `discounted_price = ceil(price * (10_000 - fee) /
//! 10_000)` (rounded so the account never gives more than the discount). A collateral's fee is
//! below `10_000 - maint_weight` (qd-collateral validates it), so every step raises the health.

use super::*;
use crate::wide::divrem_u128;

/// A perp market's liquidation terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerpTerms {
    /// Share of the step's quote the account pays the liquidator (bps).
    pub liquidator_fee_bps: u16,
    /// Share it pays the insurance fund (bps).
    pub insurance_fee_bps: u16,
    /// Every step moves a multiple of the lot (or the whole position).
    pub lot_size: u64,
    /// Most of a large position's |base| one step takes (bps).
    pub max_fraction_bps: u16,
    /// A position of at most this |base| may be taken whole in one step.
    pub whole_base: u64,
}

/// One perp liquidation step of `base` at the oracle price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerpTransfer {
    pub base: u64,
    /// `floor(base * price / 1e9)`: what changes hands for the base.
    pub quote: i64,
    /// `ceil(quote * liquidator_fee_bps / 10_000)`, paid by the account to the liquidator.
    pub liquidator_fee: i64,
    /// `ceil(quote * insurance_fee_bps / 10_000)`, paid by the account to the insurance fund.
    pub insurance_fee: i64,
}

/// The step moving `base` at `price` (> 0) under `terms`.
pub fn perp_transfer(base: u64, price: i64, terms: &PerpTerms) -> Result<PerpTransfer> {
    if price <= 0 {
        return Err(HealthError::NonPositiveInputPrice);
    }
    let (q, _) = divrem_pow10::<BASE_DECIMALS>(mul_wide(base, price as u64));
    let quote = i64::try_from(q).map_err(|_| OVERFLOW)?;
    // bps <= 10_000: each fee is at most the quote.
    let fee = |bps: u16| div_pow10::<BPS_DECIMALS>(mul_wide(quote as u64, bps as u64), true) as i64;
    Ok(PerpTransfer { base, quote, liquidator_fee: fee(terms.liquidator_fee_bps), insurance_fee: fee(terms.insurance_fee_bps) })
}

/// The account's position `p` after step `t`: its base `t.base` closer to zero, the quote
/// received (a long sells) or paid (a short buys back) less both fees, and the funding owed
/// until now settled into the quote (the snapshot moves to the index now), as qd-trading
/// applies the step. `t.base` must not exceed |p.base|.
pub fn position_after(p: &PerpInput, t: &PerpTransfer) -> Result<PerpInput> {
    let size = i64::try_from(t.base).map_err(|_| OVERFLOW)?;
    if size > p.base.saturating_abs() {
        return Err(OVERFLOW);
    }
    let funding = i64::try_from(funding_pnl(p.base, p.funding_snapshot, p.cumulative_funding)).map_err(|_| OVERFLOW)?;
    let (base, flow) = if p.base > 0 { (p.base - size, t.quote) } else { (p.base + size, -t.quote) };
    let fees = t.liquidator_fee.checked_add(t.insurance_fee).ok_or(OVERFLOW)?;
    let quote = p.quote.checked_add(funding).and_then(|q| q.checked_add(flow)).and_then(|q| q.checked_sub(fees)).ok_or(OVERFLOW)?;
    Ok(PerpInput { base, quote, funding_snapshot: p.cumulative_funding, ..*p })
}

/// `floor(x * bps / 10_000)` rounded down to a multiple of `lot`.
fn lots_of_share(x: u64, bps: u16, lot: u64) -> u64 {
    let share = div_pow10::<BPS_DECIMALS>(mul_wide(x, bps as u64), false) as u64;
    share - share % lot
}

/// The discounted price a collateral liquidation pays: `ceil(price * (10_000 - fee) / 10_000)`.
fn discounted_price(price: i64, fee_bps: u16) -> Result<u64> {
    if price <= 0 {
        return Err(HealthError::NonPositiveInputPrice);
    }
    if fee_bps as u32 >= BPS {
        return Err(HealthError::WeightTooLarge);
    }
    Ok(div_pow10::<BPS_DECIMALS>(mul_wide(price as u64, (BPS - fee_bps as u32) as u64), true) as u64)
}

/// The collateral (native units of `c`'s token) a liquidator receives for repaying `quote`
/// (>= 0) at a discount of `fee_bps`.
pub fn collateral_for(quote: i64, c: &CollateralInput, fee_bps: u16) -> Result<i64> {
    check_collateral(c)?;
    let price = discounted_price(c.price, fee_bps)?;
    // 10^decimals <= 10^18 fits u64; the quotient is below quote * 10^18.
    let scaled = mul_wide(quote.max(0) as u64, 10u64.pow(c.decimals as u32));
    let (q, _) = divrem_u128(scaled, price as u128);
    i64::try_from(q).map_err(|_| OVERFLOW)
}

impl Health {
    /// The end-level net of `position` in `p`'s market (few arguments: SBF passes five in registers).
    fn end_net(&self, p: &PerpInput, position: &Position) -> i128 {
        position.value(p.price).parts(position.ratio(self.end_margin(p.market.maint_margin_bps)), p.market.upnl_maint_weight_bps).net()
    }

    /// How much of `p`'s position (already added, its market's `terms`) one liquidation step
    /// may take: the least multiple of the lot (or the whole position) whose step brings the
    /// liquidation-end health to at least 0 (the whole position when none does), and no more
    /// than the per-step limit: a position above `whole_base` gives at most `max_fraction_bps`
    /// of its |base| (rounded down to a lot, never below `whole_base`). 0 when the end health
    /// is not negative or the position is flat. The health is monotone in the step up to a
    /// unit of rounding, so the least step is found by bisection over lots.
    pub fn max_liquidatable_base(&self, p: &PerpInput, terms: &PerpTerms) -> Result<u64> {
        check_perp(p)?;
        if p.base == 0 {
            return Ok(0);
        }
        let held = p.base.unsigned_abs();
        let funding = funding_pnl(p.base, p.funding_snapshot, p.cumulative_funding);
        let own = self.end_net(p, &Position::new(p, p.base, p.quote as i128 + funding));
        let end = self.liquidation_end_health()?;
        if end >= 0 {
            return Ok(0);
        }
        let other = end.checked_sub(own).ok_or(OVERFLOW)?;
        let lot = terms.lot_size.max(1);
        let size = |k: u64| (k.saturating_mul(lot)).min(held);
        let healthy_after = |k: u64| -> Result<bool> {
            let after = position_after(p, &perp_transfer(size(k), p.price, terms)?)?;
            Ok(add(other, self.end_net(p, &Position::new(p, after.base, after.quote as i128)))? >= 0)
        };
        let lots = held.div_ceil(lot);
        let needed = if !healthy_after(lots)? {
            held
        } else {
            // Invariant: the step of `lo` lots leaves the end health negative, `hi` lots does not.
            let (mut lo, mut hi) = (0u64, lots);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if healthy_after(mid)? {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            size(hi)
        };
        let cap =
            if held <= terms.whole_base { held } else { lots_of_share(held, terms.max_fraction_bps, lot).max(terms.whole_base).min(held) };
        Ok(needed.min(cap))
    }

    /// How much quote debt one collateral liquidation step may repay: the debt being `debt`'s
    /// negative quote (a flat position, already added), paid with `c`'s collateral (already
    /// added) at a discount of `fee_bps`. Repaying x raises the end health by more than
    /// `x * slope / (10_000 - fee) - 2`, `slope = 10_000 - fee - end_weight` (the collateral
    /// given is worth at most `x * 10_000 / (10_000 - fee)`, and its two floors lose less than 2
    /// units), so `ceil((deficit + 2) * (10_000 - fee) / slope)` is enough; no more than that,
    /// the debt, or what the collateral covers. 0 when the end health is not negative, nothing
    /// is owed or no collateral is held.
    pub fn max_collateral_repay(&self, c: &CollateralInput, fee_bps: u16, debt: &PerpInput) -> Result<i64> {
        check_perp(debt)?;
        let price = discounted_price(c.price, fee_bps)?;
        check_collateral(c)?;
        let owed = -(debt.quote as i128 + funding_pnl(debt.base, debt.funding_snapshot, debt.cumulative_funding));
        let end = self.liquidation_end_health()?;
        if debt.base != 0 || owed <= 0 || c.balance <= 0 || end >= 0 {
            return Ok(0);
        }
        let slope = BPS as i128 - fee_bps as i128 - self.end_weight(c.maint_weight_bps) as i128;
        if slope <= 0 {
            return Ok(0);
        }
        let deficit = end.checked_neg().and_then(|d| d.checked_add(2)).ok_or(OVERFLOW)?;
        let scaled = mul_small(deficit, BPS - fee_bps as u32).ok_or(OVERFLOW)?;
        let (q, r) = divrem_u128(scaled as u128, slope as u128);
        let needed = q as i128 + (r != 0) as i128; // q <= scaled < 2^127
                                                   // floor(balance * discounted price / 10^decimals): the most whose collateral is held.
        let covered = div_floor_pow10(mul_wide(c.balance as u64, price) as i128, c.decimals);
        i64::try_from(needed.min(owed).min(covered)).map_err(|_| OVERFLOW)
    }
}
