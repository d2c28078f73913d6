//! Time-weighted exponential moving averages of price and confidence, integer only.
//!
//! Each publish moves the average toward the sample by weight dt / (dt + window), where dt is
//! the time since the previous publish: frequent publishes move it a little each, and after a
//! long gap the sample dominates. The weight is kept in parts per million.

const PPM: u64 = 1_000_000;

/// Weight of a new sample, in ppm, after `dt` seconds with smoothing `window` seconds.
pub fn weight_ppm(dt: u64, window: u32) -> u64 {
    let dt = dt.min(u32::MAX as u64); // beyond ~136 years the weight is 1 anyway
    dt * PPM / (dt + window as u64).max(1)
}

/// New price EMA (rounded toward zero).
pub fn next_price(old: i64, sample: i64, weight_ppm: u64) -> i64 {
    // |delta * weight| / PPM <= |delta|, so the result lies between old and sample: no overflow.
    let delta = sample as i128 - old as i128;
    let step = match (delta as i64 as i128 == delta).then(|| (delta as i64).checked_mul(weight_ppm as i64)).flatten() {
        Some(product) => (product / PPM as i64) as i128, // 64-bit fast path
        None => delta * weight_ppm as i128 / PPM as i128,
    };
    (old as i128 + step) as i64
}

/// New confidence EMA, rounded up so uncertainty is never understated.
pub fn next_conf(old: u64, sample: u64, weight_ppm: u64) -> u64 {
    if sample >= old {
        let delta = sample - old;
        let step = match delta.checked_mul(weight_ppm) {
            Some(p) => p.div_ceil(PPM),
            None => ((delta as u128 * weight_ppm as u128).div_ceil(PPM as u128)) as u64,
        };
        old + step
    } else {
        let delta = old - sample;
        let step = match delta.checked_mul(weight_ppm) {
            Some(p) => p / PPM,
            None => (delta as u128 * weight_ppm as u128 / PPM as u128) as u64,
        };
        old - step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_grows_with_the_gap() {
        assert_eq!(weight_ppm(0, 60), 0);
        assert_eq!(weight_ppm(60, 60), 500_000);
        assert_eq!(weight_ppm(1, 59), 16_666);
        assert_eq!(weight_ppm(u64::MAX, 60), 999_999);
        assert_eq!(weight_ppm(5, 0), PPM);
    }

    #[test]
    fn price_moves_toward_the_sample_rounding_toward_zero() {
        assert_eq!(next_price(100_000_000, 110_000_000, 500_000), 105_000_000);
        assert_eq!(next_price(100, 103, 500_000), 101); // 1.5 -> 1
        assert_eq!(next_price(100, 97, 500_000), 99); // -1.5 -> -1
        assert_eq!(next_price(5, 9, PPM), 9);
        // Extremes take the 128-bit path and stay in range.
        assert_eq!(next_price(i64::MIN, i64::MAX, PPM), i64::MAX);
        assert_eq!(next_price(i64::MAX, i64::MIN, 500_000), 0);
    }

    #[test]
    fn confidence_rounds_up() {
        assert_eq!(next_conf(100, 103, 500_000), 102); // +1.5 -> +2
        assert_eq!(next_conf(100, 97, 500_000), 99); // -1.5 -> -1 (stays higher)
        assert_eq!(next_conf(0, u64::MAX, PPM), u64::MAX);
        assert_eq!(next_conf(u64::MAX, 0, 500_000), u64::MAX - u64::MAX / 2);
    }
}
