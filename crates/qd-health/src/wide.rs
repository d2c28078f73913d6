//! 128-bit arithmetic built from 64-bit operations. SBF has 64-bit multiply and divide
//! instructions only: an i128 `/` becomes a shift-and-subtract loop of ~4k CU (see
//! shared/docs/sbf-toolchain.md), so nothing in this crate divides an i128 with `/`. Public:
//! qd-trading-state's fill, auction and funding math build on the same helpers.
//! - Products of two u64 take one, two or four 64-bit multiplies (`mul_wide`).
//! - Every scale is a power of ten (bps 10^4, base 10^9, funding 10^15, size factor 10^18, token
//!   decimals). A quotient by 10^K is one 64-bit division when the value fits 64 bits; since
//!   10^K = 2^K * 5^K, a shift and one division when it fits 64 + K bits; otherwise 32-bit
//!   digits, at most three 64-bit divisions per divisor below 2^32, chained with
//!   `floor(floor(x / a) / b) == floor(x / (a * b))` (likewise ceil) for positive a, b.
//! - The general 128 / 128 division (health factor, margin ratio) is Hacker's Delight's
//!   normalised long division, a handful of 64-bit divisions.

const LOW32: u64 = 0xffff_ffff;

/// `a * b`, exact (the product of two u64 is below 2^128): one 64-bit multiply when both fit 32
/// bits, two when one does, the four-multiply schoolbook otherwise.
#[inline]
pub fn mul_wide(a: u64, b: u64) -> u128 {
    let (small, big) = if a >> 32 == 0 {
        (a, b)
    } else if b >> 32 == 0 {
        (b, a)
    } else {
        return a as u128 * b as u128;
    };
    if big >> 32 == 0 {
        return (small * big) as u128;
    }
    // (big_hi * 2^32 + big_lo) * small: each partial product is below 2^64.
    let lo = (big & LOW32) * small;
    let hi = (big >> 32) * small;
    ((hi as u128) << 32) + lo as u128
}

/// `m * k`, or None past u128.
#[inline]
pub fn mul_u128_u32(m: u128, k: u32) -> Option<u128> {
    let low = mul_wide(m as u64, k as u64);
    let hi = (m >> 64) as u64;
    if hi == 0 {
        return Some(low);
    }
    let high = mul_wide(hi, k as u64);
    if high >> 64 != 0 {
        return None;
    }
    (high << 64).checked_add(low)
}

/// `x * k`, or None when it leaves the i128 range (the answer of `i128::checked_mul`).
#[inline]
pub fn mul_small(x: i128, k: u32) -> Option<i128> {
    signed(x < 0, mul_u128_u32(x.unsigned_abs(), k)?)
}

/// `v * bps`, or None when it passes i128::MAX.
#[inline]
pub fn mul_bps(v: u128, bps: u16) -> Option<u128> {
    let x = if v >> 112 == 0 { mul_bps_bounded(v, bps) } else { mul_u128_u32(v, bps as u32)? };
    (x >> 127 == 0).then_some(x)
}

/// `v * bps` for `v < 2^112` (the caller's bound), so the product is below 2^128.
#[inline]
pub fn mul_bps_bounded(v: u128, bps: u16) -> u128 {
    debug_assert!(v >> 112 == 0);
    if v >> 48 == 0 {
        return ((v as u64) * bps as u64) as u128;
    }
    // v's high half is below 2^48: its product with bps fits 64 bits.
    ((((v >> 64) as u64 * bps as u64) as u128) << 64) + mul_wide(v as u64, bps as u64)
}

/// `(m / 10^K, whether 10^K does not divide m)` for `K` in 1..=18: one 64-bit division when m
/// fits 64 bits. As 10^K = 2^K * 5^K and `floor(floor(m / 2^K) / 5^K) == floor(m / 10^K)`, a
/// magnitude below 2^(64 + K) takes a shift and one 64-bit division by 5^K; larger ones divide
/// by 32-bit digits (10^9, then 10^(K - 9)).
#[inline(always)]
pub fn divrem_pow10<const K: u32>(m: u128) -> (u128, bool) {
    let (hi, lo) = ((m >> 64) as u64, m as u64);
    if hi == 0 {
        let ten = 10u64.pow(K);
        let q = lo / ten;
        return (q as u128, lo != q * ten);
    }
    let five = 5u64.pow(K);
    if hi >> K == 0 {
        let shifted = (hi << (64 - K)) | (lo >> K);
        let q = shifted / five;
        // 10^K divides m iff 2^K divides it (the shifted-out bits are 0) and 5^K divides m >> K.
        let inexact = lo & ((1 << K) - 1) != 0 || shifted != q * five;
        return (q as u128, inexact);
    }
    if K <= 9 {
        let (q, r) = divrem_u32(m, 10u32.pow(K));
        (q, r != 0)
    } else {
        let (q1, r1) = divrem_u32(m, 1_000_000_000);
        let (q, r) = divrem_u32(q1, 10u32.pow(K.saturating_sub(9)));
        (q, r1 != 0 || r != 0)
    }
}

/// `m / 10^K` rounded down, or up when `up`.
#[inline(always)]
pub fn div_pow10<const K: u32>(m: u128, up: bool) -> u128 {
    let (q, inexact) = divrem_pow10::<K>(m);
    // q + 1 cannot overflow: q <= m / 10.
    q + (up && inexact) as u128
}

/// `-magnitude` if `negative`, else `magnitude`, when that fits i128.
#[inline(always)]
pub fn signed(negative: bool, magnitude: u128) -> Option<i128> {
    if !negative {
        i128::try_from(magnitude).ok()
    } else if magnitude <= 1 << 127 {
        // 2^127 as i128 is i128::MIN, which is its own negation.
        Some((magnitude as i128).wrapping_neg())
    } else {
        None
    }
}

/// `(m / d, m % d)` for `d > 0`, by 32-bit digits: each step divides a value below `d * 2^32`,
/// which fits 64 bits.
#[inline]
pub fn divrem_u32(m: u128, d: u32) -> (u128, u64) {
    let d = d as u64;
    let (hi, lo) = ((m >> 64) as u64, m as u64);
    if hi == 0 {
        return ((lo / d) as u128, lo % d);
    }
    let (q2, r) = (hi / d, hi % d);
    let cur = (r << 32) | (lo >> 32);
    let (q1, r) = (cur / d, cur % d);
    let cur = (r << 32) | (lo & 0xffff_ffff);
    let (q0, r) = (cur / d, cur % d);
    (((q2 as u128) << 64) | ((q1 << 32) | q0) as u128, r)
}

/// `floor(x / d)` for `d > 0` (toward negative infinity). Never overflows.
#[inline]
pub fn div_floor(x: i128, d: u32) -> i128 {
    let (q, r) = divrem_u32(x.unsigned_abs(), d);
    if x >= 0 {
        q as i128
    } else {
        // q + 1 <= 2^127 (q == 2^127 only when d == 1, and then r == 0).
        ((q + (r != 0) as u128) as i128).wrapping_neg()
    }
}

/// 10^0..=10^9: the powers of ten that fit a u32 divisor.
const POW10: [u32; 10] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// `floor(x / 10^exp)` for `exp <= 18`, in at most two 32-bit-divisor steps.
#[inline]
pub fn div_floor_pow10(x: i128, exp: u8) -> i128 {
    match exp {
        0..=9 => div_floor(x, POW10[exp as usize]),
        _ => div_floor(div_floor(x, POW10[9]), POW10[usize::from(exp - 9).min(9)]),
    }
}

/// Hacker's Delight `divlu`: `(u1 * 2^64 + u0) / v` and the remainder, for `u1 < v` (so the
/// quotient fits 64 bits), by normalised 32-bit digits: two estimated digits, each corrected at
/// most twice.
fn divlu(u1: u64, u0: u64, v: u64) -> (u64, u64) {
    const B: u64 = 1 << 32;
    let s = v.leading_zeros();
    let v = v << s;
    let (vn1, vn0) = (v >> 32, v & (B - 1));
    let un32 = if s == 0 { u1 } else { (u1 << s) | (u0 >> (64 - s)) };
    let un10 = u0 << s;
    let (un1, un0) = (un10 >> 32, un10 & (B - 1));
    // un32 < v, so q1 <= 2^32 + 2 and q1 * vn0 fits 64 bits; rhat < B inside the conditions.
    let mut q1 = un32 / vn1;
    let mut rhat = un32 - q1 * vn1;
    while q1 >= B || q1 * vn0 > B * rhat + un1 {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    // The partial remainder is below v; the wrapping steps are exact modulo 2^64.
    let un21 = un32.wrapping_mul(B).wrapping_add(un1).wrapping_sub(q1.wrapping_mul(v));
    let mut q0 = un21 / vn1;
    rhat = un21 - q0 * vn1;
    while q0 >= B || q0 * vn0 > B * rhat + un0 {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let r = un21.wrapping_mul(B).wrapping_add(un0).wrapping_sub(q0.wrapping_mul(v)) >> s;
    (q1 * B + q0, r)
}

/// `(n / d, n % d)` for `d > 0`, without a 128-bit division loop.
pub fn divrem_u128(n: u128, d: u128) -> (u128, u128) {
    let (nh, nl) = ((n >> 64) as u64, n as u64);
    let (dh, dl) = ((d >> 64) as u64, d as u64);
    if dh == 0 {
        if dl <= u32::MAX as u64 {
            let (q, r) = divrem_u32(n, dl as u32);
            return (q, r as u128);
        }
        if nh < dl {
            let (q, r) = divlu(nh, nl, dl);
            return (q as u128, r as u128);
        }
        let (qh, rh) = (nh / dl, nh % dl);
        let (ql, r) = divlu(rh, nl, dl);
        return (((qh as u128) << 64) | ql as u128, r as u128);
    }
    // d >= 2^64: the quotient fits 64 bits. Estimate it from d's top 64 bits (normalised) and
    // n / 2 (so the estimate's division cannot overflow); the estimate is q or q + 1, and after
    // stepping it down once a single correction remains.
    let s = dh.leading_zeros();
    let v1 = ((d << s) >> 64) as u64;
    let half = n >> 1;
    let (q1, _) = divlu((half >> 64) as u64, half as u64, v1);
    let mut q = q1 >> (63 - s);
    q = q.saturating_sub(1);
    let mut r = n - mul_wide(q, dl) - ((mul_wide(q, dh)) << 64);
    if r >= d {
        q += 1;
        r -= d;
    }
    (q as u128, r)
}

/// `floor(x / d)` for `d > 0`.
pub fn div_floor_wide(x: i128, d: i128) -> i128 {
    let (q, r) = divrem_u128(x.unsigned_abs(), d as u128);
    if x >= 0 {
        q as i128
    } else {
        // |x| / d <= 2^127 / 1; as in div_floor, q + 1 reaches 2^127 only as i128::MIN.
        ((q + (r != 0) as u128) as i128).wrapping_neg()
    }
}
