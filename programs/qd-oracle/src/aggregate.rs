//! The aggregate of a multi-publisher feed: the median of the prices of the publishers whose
//! latest publish is fresh, once at least a quorum of them are. No single publisher moves a
//! median of three or more: while honest publishers are a strict majority of the fresh ones,
//! the aggregate stays within their prices, whatever the others publish.
//!
//! Even counts take the mean of the two middle values. The price's half unit is rounded half to
//! even (no side is favoured on average); confidence components round up, so uncertainty is never
//! understated. Integer only; at most 8 values, sorted by insertion (cheaper than anything else
//! at that size on SBF).

use qd_oracle_reader::{PublisherPrice, MAX_PUBLISHERS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aggregate {
    pub price: i64,
    /// max(median of the fresh confidences, median absolute deviation of the fresh prices from
    /// `price`): publishers that agree with tight confidences give a tight aggregate; honest
    /// disagreement widens it; a minority of outliers can widen it no more than it can move it.
    pub conf: u64,
    /// Fresh publishers aggregated.
    pub count: u8,
}

/// Whether `entry` counts at cluster time `now`: it has published, and its stamp is at most
/// `max_age_secs` old (a stamp within the skew ahead of the clock is age <= 0).
pub fn is_fresh(entry: &PublisherPrice, now: i64, max_age_secs: u32) -> bool {
    entry.publish_time != 0 && now.saturating_sub(entry.publish_time) <= i64::from(max_age_secs)
}

/// The aggregate of `entries` at `now`, or None while fewer than `min_publishers` are fresh.
/// Prices are positive and confidences below them (the publish checks), so both fit u64.
pub fn aggregate(entries: &[PublisherPrice], now: i64, max_age_secs: u32, min_publishers: u8) -> Option<Aggregate> {
    let mut prices = [0u64; MAX_PUBLISHERS];
    let mut confs = [0u64; MAX_PUBLISHERS];
    let mut n = 0;
    for e in entries.iter().take(MAX_PUBLISHERS).filter(|e| is_fresh(e, now, max_age_secs)) {
        prices[n] = e.price.unsigned_abs();
        confs[n] = e.conf;
        n += 1;
    }
    // n == 0 is refused too (a quorum is at least 1 by validation; the median needs a value).
    if n == 0 || n < usize::from(min_publishers) {
        return None;
    }
    let (prices, confs) = (&mut prices[..n], &mut confs[..n]);
    sort(prices);
    sort(confs);
    let price = median(prices, false);
    // Absolute deviations from the median: a spread measure no minority of outliers can inflate.
    let mut dev = [0u64; MAX_PUBLISHERS];
    for (d, p) in dev.iter_mut().zip(prices.iter()) {
        *d = p.abs_diff(price);
    }
    let dev = &mut dev[..n];
    sort(dev);
    let conf = median(confs, true).max(median(dev, true));
    // price <= the largest fresh price, itself an i64.
    Some(Aggregate { price: price as i64, conf, count: n as u8 })
}

fn sort(v: &mut [u64]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

/// Median of a sorted, non-empty slice. Even length: the mean of the two middle values, its half
/// unit rounded up (`round_up`) or to even.
fn median(sorted: &[u64], round_up: bool) -> u64 {
    let n = sorted.len();
    let hi = sorted[n / 2];
    if n % 2 == 1 {
        return hi;
    }
    let lo = sorted[n / 2 - 1];
    let gap = hi - lo; // sorted: no underflow; lo + gap / 2 cannot overflow
    let floor = lo + gap / 2;
    let half = gap % 2 == 1;
    if half && (round_up || floor % 2 == 1) {
        floor + 1
    } else {
        floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn at(price: i64, conf: u64, publish_time: i64) -> PublisherPrice {
        PublisherPrice { price, conf, publish_time, slot: 1 }
    }

    #[test]
    fn median_rounding() {
        assert_eq!(median(&[7], false), 7);
        assert_eq!(median(&[1, 5, 9], false), 5);
        assert_eq!(median(&[100, 103], false), 102); // 101.5 -> even
        assert_eq!(median(&[100, 101], false), 100); // 100.5 -> even
        assert_eq!(median(&[100, 101], true), 101);
        assert_eq!(median(&[u64::MAX - 1, u64::MAX], false), u64::MAX - 1);
        assert_eq!(median(&[u64::MAX - 2, u64::MAX], true), u64::MAX - 1);
    }

    #[test]
    fn quorum_and_freshness() {
        let e = [at(100, 1, NOW - 10), at(110, 1, NOW - 11), at(0, 0, 0)];
        assert_eq!(aggregate(&e, NOW, 10, 2), None); // one fresh, one just too old, one never
        assert_eq!(aggregate(&e, NOW, 10, 1), Some(Aggregate { price: 100, conf: 1, count: 1 }));
        assert_eq!(aggregate(&e, NOW, 11, 2).map(|a| a.price), Some(105));
        assert_eq!(aggregate(&[], NOW, 10, 0), None);
        // A stamp within the skew ahead of the clock is fresh.
        assert!(is_fresh(&at(1, 0, NOW + 2), NOW, 1));
    }

    #[test]
    fn one_outlier_moves_neither_price_nor_conf() {
        let honest = [at(100_000_000, 50_000, NOW), at(100_020_000, 40_000, NOW), at(99_990_000, 60_000, NOW)];
        let base = aggregate(&honest, NOW, 10, 3).unwrap();
        assert_eq!(base, Aggregate { price: 100_000_000, conf: 50_000, count: 3 });
        let mut with_rogue = [PublisherPrice::default(); 4];
        with_rogue[..3].copy_from_slice(&honest);
        for rogue in [1, 99_000_000, 1_000_000_000_000, i64::MAX] {
            with_rogue[3] = at(rogue, 0, NOW);
            let a = aggregate(&with_rogue, NOW, 10, 3).unwrap();
            assert!((99_990_000..=100_020_000).contains(&a.price), "{rogue}: {a:?}");
            assert!(a.conf <= 60_000, "{rogue}: {a:?}");
        }
    }

    #[test]
    fn disagreement_widens_the_confidence() {
        let e = [at(100, 1, NOW), at(110, 1, NOW), at(130, 1, NOW)];
        // Median 110; deviations 0, 10, 20 -> 10.
        assert_eq!(aggregate(&e, NOW, 10, 1), Some(Aggregate { price: 110, conf: 10, count: 3 }));
    }
}
