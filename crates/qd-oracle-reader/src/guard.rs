//! Guards: the conditions under which a price may be used, configured per action.
//!
//! `GuardConfig` and `OracleGuards` are standalone Pod types: our PriceFeed embeds one set, and
//! consumers that read Pyth accounts store their own.

use crate::error::OracleError;
use crate::read::NormalizedPrice;

/// Basis-point denominator.
const BPS: u64 = 10_000;

/// How far (seconds) a publish time may run ahead of the cluster clock and still count as fresh.
/// Pyth timestamps come from Pythnet's wall clock while `Clock::unix_timestamp` is a stake-weighted
/// estimate that can lag by seconds, so a strict "not in the future" check would refuse good
/// prices; beyond a minute the data, not the clock, is wrong. Slots need no tolerance: every
/// source records the Solana slot it was written in, so a future slot is always an error.
/// (QuantDesk feeds stamp their aggregate with the cluster clock itself; qd-oracle allows each
/// publisher's own stamp far less skew.)
pub const MAX_FUTURE_SECS: i64 = 60;

/// What the price is used for; indexes `OracleGuards`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Action {
    Trade = 0,
    Margin = 1,
    Liquidation = 2,
    Settlement = 3,
}

impl Action {
    pub const fn from_u8(code: u8) -> Option<Action> {
        Some(match code {
            0 => Action::Trade,
            1 => Action::Margin,
            2 => Action::Liquidation,
            3 => Action::Settlement,
            _ => return None,
        })
    }
}

qd_runtime::layout! {
    /// Limits for one action. 16 bytes, `#[repr(C)]`, alignment 4.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct GuardConfig[16] {
        /// Maximum age in slots (now_slot - publish_slot). Must be non-zero.
        pub max_staleness_slots: u32,
        /// Maximum age in seconds (now_ts - publish_time). Must be non-zero.
        pub max_staleness_secs: u32,
        /// Maximum conf / |price| in basis points, 1..=10_000.
        pub max_conf_bps: u16,
        /// Maximum |price - ema_price| / |ema_price| in basis points; 0 = no limit.
        pub max_ema_deviation_bps: u16,
        /// 1 = refuse a price whose source is not in trading status; 0 = accept it.
        pub require_trading: u8,
        pub _pad: [u8; 3],
    }
    validate = GuardConfig::validate
}

impl GuardConfig {
    pub const fn new(
        max_staleness_slots: u32,
        max_staleness_secs: u32,
        max_conf_bps: u16,
        max_ema_deviation_bps: u16,
        require_trading: bool,
    ) -> Self {
        GuardConfig {
            max_staleness_slots,
            max_staleness_secs,
            max_conf_bps,
            max_ema_deviation_bps,
            require_trading: require_trading as u8,
            _pad: [0; 3],
        }
    }

    /// Rejects configurations that would accept anything (zero staleness or confidence limits)
    /// or that are not meaningful (confidence over 100%, a non-boolean flag).
    pub fn validate(&self) -> Result<(), OracleError> {
        let ok = self.max_staleness_slots != 0
            && self.max_staleness_secs != 0
            && self.max_conf_bps != 0
            && u64::from(self.max_conf_bps) <= BPS
            && self.require_trading <= 1;
        if ok {
            Ok(())
        } else {
            Err(OracleError::InvalidGuardConfig)
        }
    }
}

qd_runtime::layout! {
    /// One `GuardConfig` per `Action`. 64 bytes, `#[repr(C)]`, alignment 4.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct OracleGuards[64] {
        pub by_action: [GuardConfig; 4],
    }
    validate = OracleGuards::validate
}

impl OracleGuards {
    pub fn get(&self, action: Action) -> &GuardConfig {
        // Cannot panic: Action has exactly four variants, 0..=3.
        &self.by_action[action as usize]
    }

    pub fn validate(&self) -> Result<(), OracleError> {
        self.by_action.iter().try_for_each(GuardConfig::validate)
    }
}

/// Judges a normalized price against one guard at the given cluster slot and unix time.
///
/// Checks, in order: the guard itself (`InvalidGuardConfig`, so an uninitialized guard fails
/// closed), trading status, price > 0, publish slot/time not in the future (time gets
/// `MAX_FUTURE_SECS` of slack and counts as age 0 within it), age in slots, age in seconds,
/// confidence, deviation from the EMA. Ratios compare cross-multiplied, exactly; a boundary value
/// (ratio equal to the limit) passes.
///
/// `price.verified_full` is deliberately not judged here: whether a partially verified Pyth
/// update is acceptable is the consumer's policy, not a per-action limit.
pub fn check(price: &NormalizedPrice, guard: &GuardConfig, now_slot: u64, now_ts: i64) -> Result<(), OracleError> {
    guard.validate()?;
    if guard.require_trading != 0 && !price.trading {
        return Err(OracleError::OracleNotTrading);
    }
    if price.price <= 0 {
        return Err(OracleError::NonPositivePrice);
    }

    let age_slots = now_slot.checked_sub(price.publish_slot).ok_or(OracleError::OracleFromFuture)?;
    // Saturating is exact for the comparisons below: a saturated age is beyond any u32 limit
    // (i64::MAX) or far in the future (i64::MIN).
    let age_secs = now_ts.saturating_sub(price.publish_time);
    if age_secs < -MAX_FUTURE_SECS {
        return Err(OracleError::OracleFromFuture);
    }
    if age_slots > u64::from(guard.max_staleness_slots) {
        return Err(OracleError::StaleOracleSlots);
    }
    if age_secs > i64::from(guard.max_staleness_secs) {
        return Err(OracleError::StaleOracleTime);
    }

    // conf / price > max_conf_bps / 10_000; price > 0 here.
    if product_gt(price.conf, BPS, u64::from(guard.max_conf_bps), price.price.unsigned_abs()) {
        return Err(OracleError::ConfidenceTooWide);
    }
    // |price - ema| / |ema| > max_ema_deviation_bps / 10_000 (a zero EMA fails any non-zero
    // deviation: a price cannot be judged against it).
    if guard.max_ema_deviation_bps != 0
        && product_gt(price.price.abs_diff(price.ema_price), BPS, u64::from(guard.max_ema_deviation_bps), price.ema_price.unsigned_abs())
    {
        return Err(OracleError::EmaDeviation);
    }
    Ok(())
}

/// Exactly `a * b > c * d`: 64-bit when both products fit (all realistic prices), u128
/// multiplication (never division) otherwise.
fn product_gt(a: u64, b: u64, c: u64, d: u64) -> bool {
    match (a.checked_mul(b), c.checked_mul(d)) {
        (Some(x), Some(y)) => x > y,
        _ => u128::from(a) * u128::from(b) > u128::from(c) * u128::from(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::OracleSource;
    use crate::test_rng::Rng;
    use core::mem::{align_of, offset_of, size_of};

    const NOW_SLOT: u64 = 1_000;
    const NOW_TS: i64 = 1_700_000_000;

    fn fresh(price: i64, conf: u64, ema: i64) -> NormalizedPrice {
        NormalizedPrice {
            price,
            conf,
            ema_price: ema,
            ema_conf: conf,
            publish_time: NOW_TS,
            publish_slot: NOW_SLOT,
            trading: true,
            verified_full: true,
            source: OracleSource::QuantDesk,
        }
    }

    /// 25 slots, 60 s, 1% confidence, 5% EMA deviation, trading required.
    const GUARD: GuardConfig = GuardConfig::new(25, 60, 100, 500, true);

    #[test]
    fn layout() {
        assert_eq!(size_of::<GuardConfig>(), 16);
        assert_eq!(align_of::<GuardConfig>(), 4);
        assert_eq!(offset_of!(GuardConfig, max_staleness_secs), 4);
        assert_eq!(offset_of!(GuardConfig, max_conf_bps), 8);
        assert_eq!(offset_of!(GuardConfig, max_ema_deviation_bps), 10);
        assert_eq!(offset_of!(GuardConfig, require_trading), 12);
        assert_eq!(offset_of!(GuardConfig, _pad), 13);
        assert_eq!(size_of::<OracleGuards>(), 64);
        assert_eq!(align_of::<OracleGuards>(), 4);
    }

    #[test]
    fn guards_index_by_action() {
        let mut g = OracleGuards::default();
        for (i, cfg) in g.by_action.iter_mut().enumerate() {
            *cfg = GuardConfig::new(i as u32 + 1, 1, 1, 0, false);
        }
        assert_eq!(g.get(Action::Trade).max_staleness_slots, 1);
        assert_eq!(g.get(Action::Margin).max_staleness_slots, 2);
        assert_eq!(g.get(Action::Liquidation).max_staleness_slots, 3);
        assert_eq!(g.get(Action::Settlement).max_staleness_slots, 4);
        assert_eq!(g.validate(), Ok(()));
        g.by_action[3].max_conf_bps = 0;
        assert_eq!(g.validate(), Err(OracleError::InvalidGuardConfig));
        assert_eq!(OracleGuards::default().validate(), Err(OracleError::InvalidGuardConfig));
    }

    #[test]
    fn validate_rejects_accept_anything() {
        assert_eq!(GUARD.validate(), Ok(()));
        let bad = [
            GuardConfig { max_staleness_slots: 0, ..GUARD },
            GuardConfig { max_staleness_secs: 0, ..GUARD },
            GuardConfig { max_conf_bps: 0, ..GUARD },
            GuardConfig { max_conf_bps: 10_001, ..GUARD },
            GuardConfig { require_trading: 2, ..GUARD },
        ];
        for g in bad {
            assert_eq!(g.validate(), Err(OracleError::InvalidGuardConfig), "{g:?}");
            // check() refuses to judge with it, even a perfect price.
            assert_eq!(check(&fresh(100, 0, 100), &g, NOW_SLOT, NOW_TS), Err(OracleError::InvalidGuardConfig));
        }
        // Zero deviation limit and confidence of exactly 100% are allowed.
        assert_eq!(GuardConfig { max_ema_deviation_bps: 0, max_conf_bps: 10_000, ..GUARD }.validate(), Ok(()));
    }

    #[test]
    fn accepts_fresh_tight_price() {
        assert_eq!(check(&fresh(100_000_000, 1_000_000, 100_000_000), &GUARD, NOW_SLOT, NOW_TS), Ok(()));
    }

    #[test]
    fn trading_status() {
        let halted = NormalizedPrice { trading: false, ..fresh(100, 0, 100) };
        assert_eq!(check(&halted, &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::OracleNotTrading));
        let lenient = GuardConfig { require_trading: 0, ..GUARD };
        assert_eq!(check(&halted, &lenient, NOW_SLOT, NOW_TS), Ok(()));
    }

    #[test]
    fn non_positive_price() {
        for p in [0, -1, i64::MIN] {
            assert_eq!(check(&fresh(p, 0, 100), &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::NonPositivePrice));
        }
    }

    #[test]
    fn staleness_in_slots_boundary() {
        let p = NormalizedPrice { publish_slot: NOW_SLOT - 25, ..fresh(100, 0, 100) };
        assert_eq!(check(&p, &GUARD, NOW_SLOT, NOW_TS), Ok(()));
        assert_eq!(check(&p, &GUARD, NOW_SLOT + 1, NOW_TS), Err(OracleError::StaleOracleSlots));
        let ancient = NormalizedPrice { publish_slot: 0, ..p };
        assert_eq!(check(&ancient, &GUARD, u64::MAX, NOW_TS), Err(OracleError::StaleOracleSlots));
    }

    #[test]
    fn staleness_in_seconds_boundary() {
        let p = NormalizedPrice { publish_time: NOW_TS - 60, ..fresh(100, 0, 100) };
        assert_eq!(check(&p, &GUARD, NOW_SLOT, NOW_TS), Ok(()));
        assert_eq!(check(&p, &GUARD, NOW_SLOT, NOW_TS + 1), Err(OracleError::StaleOracleTime));
        let ancient = NormalizedPrice { publish_time: i64::MIN, ..p };
        assert_eq!(check(&ancient, &GUARD, NOW_SLOT, i64::MAX), Err(OracleError::StaleOracleTime));
    }

    #[test]
    fn future_publish() {
        let next_slot = NormalizedPrice { publish_slot: NOW_SLOT + 1, ..fresh(100, 0, 100) };
        assert_eq!(check(&next_slot, &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::OracleFromFuture));
        let ahead = NormalizedPrice { publish_time: NOW_TS + MAX_FUTURE_SECS, ..fresh(100, 0, 100) };
        assert_eq!(check(&ahead, &GUARD, NOW_SLOT, NOW_TS), Ok(()));
        let too_far = NormalizedPrice { publish_time: NOW_TS + MAX_FUTURE_SECS + 1, ..ahead };
        assert_eq!(check(&too_far, &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::OracleFromFuture));
        let absurd = NormalizedPrice { publish_time: i64::MAX, ..ahead };
        assert_eq!(check(&absurd, &GUARD, NOW_SLOT, i64::MIN), Err(OracleError::OracleFromFuture));
    }

    #[test]
    fn confidence_boundary() {
        // 1% of 100.000000 is 1.000000: exactly at the limit passes, one unit more fails.
        assert_eq!(check(&fresh(100_000_000, 1_000_000, 100_000_000), &GUARD, NOW_SLOT, NOW_TS), Ok(()));
        assert_eq!(check(&fresh(100_000_000, 1_000_001, 100_000_000), &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::ConfidenceTooWide));
        // Products beyond u64 take the u128 path: conf*10_000 overflows, bps*price does not.
        assert_eq!(check(&fresh(i64::MAX, u64::MAX, i64::MAX), &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::ConfidenceTooWide));
        let max_conf_ok = (i64::MAX as u64) / 100;
        assert_eq!(check(&fresh(i64::MAX, max_conf_ok, i64::MAX), &GUARD, NOW_SLOT, NOW_TS), Ok(()));
    }

    #[test]
    fn ema_deviation_boundary_both_directions() {
        // 5% of 100.000000 is 5.000000.
        for p in [105_000_000, 95_000_000] {
            assert_eq!(check(&fresh(p, 0, 100_000_000), &GUARD, NOW_SLOT, NOW_TS), Ok(()));
        }
        for p in [105_000_001, 94_999_999] {
            assert_eq!(check(&fresh(p, 0, 100_000_000), &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::EmaDeviation));
        }
        // A zero or negative EMA cannot vouch for any price...
        assert_eq!(check(&fresh(100, 0, 0), &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::EmaDeviation));
        assert_eq!(check(&fresh(100, 0, -100), &GUARD, NOW_SLOT, NOW_TS), Err(OracleError::EmaDeviation));
        // ...unless the deviation limit is off.
        let no_limit = GuardConfig { max_ema_deviation_bps: 0, ..GUARD };
        assert_eq!(check(&fresh(100, 0, 0), &no_limit, NOW_SLOT, NOW_TS), Ok(()));
        assert_eq!(check(&fresh(i64::MAX, 0, i64::MIN), &no_limit, NOW_SLOT, NOW_TS), Ok(()));
    }

    /// The same rules in plain i128 arithmetic, for comparison on random inputs.
    fn model(p: &NormalizedPrice, g: &GuardConfig, now_slot: u64, now_ts: i64) -> Result<(), OracleError> {
        if g.max_staleness_slots == 0
            || g.max_staleness_secs == 0
            || g.max_conf_bps == 0
            || g.max_conf_bps > 10_000
            || g.require_trading > 1
        {
            return Err(OracleError::InvalidGuardConfig);
        }
        if g.require_trading == 1 && !p.trading {
            return Err(OracleError::OracleNotTrading);
        }
        if p.price <= 0 {
            return Err(OracleError::NonPositivePrice);
        }
        let age_slots = now_slot as i128 - p.publish_slot as i128;
        let age_secs = now_ts as i128 - p.publish_time as i128;
        if age_slots < 0 || age_secs < -(MAX_FUTURE_SECS as i128) {
            return Err(OracleError::OracleFromFuture);
        }
        if age_slots > g.max_staleness_slots as i128 {
            return Err(OracleError::StaleOracleSlots);
        }
        if age_secs > g.max_staleness_secs as i128 {
            return Err(OracleError::StaleOracleTime);
        }
        if p.conf as i128 * 10_000 > g.max_conf_bps as i128 * p.price as i128 {
            return Err(OracleError::ConfidenceTooWide);
        }
        let dev = (p.price as i128 - p.ema_price as i128).abs();
        if g.max_ema_deviation_bps != 0 && dev * 10_000 > g.max_ema_deviation_bps as i128 * (p.ema_price as i128).abs() {
            return Err(OracleError::EmaDeviation);
        }
        Ok(())
    }

    #[test]
    fn check_matches_wide_model_on_random_inputs() {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        // Outcome counts: index 0 = Ok, then each error by code - 6050.
        let mut outcomes = [0usize; 17];
        for _ in 0..40_000 {
            // Mostly realistic (positive, conf a small fraction of the price, EMA nearby), with
            // extremes mixed in.
            let realistic = !rng.next().is_multiple_of(4);
            let price = if realistic { (rng.next() >> (rng.next() % 40 + 1)) as i64 } else { rng.interesting_i64() };
            let magnitude = price.unsigned_abs();
            let p = NormalizedPrice {
                price,
                conf: if realistic { magnitude / (rng.next() % 200 + 1) } else { rng.interesting_u64() },
                ema_price: if realistic {
                    // A step of up to 100% of the price, down, none or up.
                    let step = (magnitude / (rng.next() % 100 + 1)) as i64;
                    price.wrapping_add(step.wrapping_mul((rng.next() % 3) as i64 - 1))
                } else {
                    rng.interesting_i64()
                },
                ema_conf: rng.next(),
                publish_time: NOW_TS - (rng.next() % 200) as i64 + 70,
                publish_slot: NOW_SLOT + 2 - (rng.next() % 60),
                trading: !rng.next().is_multiple_of(8),
                verified_full: true,
                source: OracleSource::PythReceiver,
            };
            let g = GuardConfig {
                max_staleness_slots: (rng.next() % 60) as u32,
                max_staleness_secs: (rng.next() % 150) as u32,
                max_conf_bps: (rng.next() % 10_200) as u16,
                max_ema_deviation_bps: (rng.next() % 3) as u16 * (rng.next() % 2_000) as u16,
                require_trading: (rng.next() % 3 % 2) as u8,
                _pad: [0; 3],
            };
            let got = check(&p, &g, NOW_SLOT, NOW_TS);
            assert_eq!(got, model(&p, &g, NOW_SLOT, NOW_TS), "{p:?} {g:?}");
            outcomes[got.map_or_else(|e| e as usize - 6049, |()| 0)] += 1;
        }
        // Acceptance and every rejection check() can produce are each exercised.
        for i in [0, 9, 10, 11, 12, 13, 14, 15, 16] {
            assert!(outcomes[i] > 200, "{outcomes:?}");
        }
    }

    #[test]
    fn product_gt_is_exact_beyond_u64() {
        assert!(!product_gt(u64::MAX, 0, 0, u64::MAX));
        assert!(product_gt(u64::MAX, 2, u64::MAX - 1, 2));
        // Both products overflow u64 and differ only in the low bits.
        assert!(product_gt(u64::MAX, u64::MAX, u64::MAX - 1, u64::MAX));
        assert!(!product_gt(u64::MAX - 1, u64::MAX, u64::MAX, u64::MAX));
        assert!(!product_gt(1 << 32, 1 << 32, 1 << 33, 1 << 31));
    }
}
