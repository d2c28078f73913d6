use super::*;
use crate::wide::*;

/// xorshift64*: deterministic inputs, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Random bit width, so small and huge magnitudes both appear.
    fn u128(&mut self) -> u128 {
        let x = ((self.next() as u128) << 64) | self.next() as u128;
        x >> (self.next() % 128)
    }

    fn i128(&mut self) -> i128 {
        let m = (self.u128() >> 1) as i128;
        if self.next().is_multiple_of(2) {
            m
        } else {
            -m
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn i64_in(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64 + 1) as i64
    }
}

const USDC_PRICE: i64 = 1_000_000;

fn usdc(balance: i64) -> CollateralInput {
    CollateralInput { balance, decimals: 6, price: USDC_PRICE, init_weight_bps: 10_000, maint_weight_bps: 10_000 }
}

fn market(init_margin_bps: u16, maint_margin_bps: u16) -> PerpMarketParams {
    PerpMarketParams { init_margin_bps, maint_margin_bps, size_margin_factor: 0, upnl_init_weight_bps: 5_000, upnl_maint_weight_bps: 8_000 }
}

fn perp(base: i64, quote: i64, price: i64, market: PerpMarketParams) -> PerpInput {
    PerpInput { base, quote, price, market, ..PerpInput::default() }
}

fn health(collateral: &[CollateralInput], perps: &[PerpInput]) -> core::result::Result<Health, HealthError> {
    let mut h = Health::new();
    for c in collateral {
        h.add_collateral(c)?;
    }
    for p in perps {
        h.add_perp(p)?;
    }
    Ok(h)
}

fn sums(h: &Health) -> [i128; 6] {
    [h.assets_init(), h.liabilities_init(), h.assets_maint(), h.liabilities_maint(), h.equity(), h.notional()]
}

// ---- 128-bit helpers against native (host) i128 arithmetic ----

fn floor_ref(x: i128, d: i128) -> i128 {
    x.div_euclid(d) // d > 0: Euclidean division is floor division
}

fn ceil_ref(x: i128, d: i128) -> i128 {
    -(-x).div_euclid(d)
}

#[test]
fn divisions_match_native_arithmetic() {
    let mut rng = Rng(0x5eed_0001);
    let edges = [0, 1, -1, i128::MAX, i128::MIN, i128::MIN + 1, 999_999_999, -999_999_999, 1 << 64, -(1 << 64)];
    let divisors = [1u32, 2, 3, 10, 10_000, 999_999_999, 1_000_000_000, u32::MAX];
    for i in 0..200_000 {
        let x = if i < edges.len() * divisors.len() { edges[i % edges.len()] } else { rng.i128() };
        let d = if i < edges.len() * divisors.len() { divisors[i / edges.len()] } else { (rng.next() >> (rng.next() % 32)) as u32 | 1 };
        if x != i128::MIN {
            assert_eq!(div_floor(x, d), floor_ref(x, d as i128), "{x} / {d}");
        }
        let m = x.unsigned_abs();
        assert_eq!(divrem_u32(m, d), (m / d as u128, (m % d as u128) as u64));
        let k = (rng.next() >> (rng.next() % 64)) as u32;
        assert_eq!(mul_small(x, k), x.checked_mul(k as i128), "{x} * {k}");
        let big = rng.u128();
        assert_eq!(mul_u128_u32(big, k), big.checked_mul(k as u128), "{big} * {k}");
        let (a, b) = (rng.next() >> (rng.next() % 64), rng.next() >> (rng.next() % 64));
        assert_eq!(mul_wide(a, b), a as u128 * b as u128, "{a} * {b}");
        let (v, bps) = (rng.u128(), rng.next() as u16);
        assert_eq!(mul_bps(v, bps), v.checked_mul(bps as u128).filter(|p| *p <= i128::MAX as u128), "{v} * {bps}");
        let v = v >> 16;
        assert_eq!(mul_bps_bounded(v, bps), v * bps as u128, "{v} * {bps}");
    }
    assert_eq!(div_floor(i128::MIN, 1), i128::MIN);
    assert_eq!(div_floor(i128::MIN, 2), i128::MIN / 2);
    assert_eq!(mul_small(i128::MIN, 1), Some(i128::MIN));
    assert_eq!(mul_small(i128::MIN, 0), Some(0));
    assert_eq!(mul_small(i128::MIN / 2, 2), Some(i128::MIN));
    assert_eq!(mul_small(i128::MAX / 2 + 1, 2), None);
}

fn check_pow10<const K: u32>(m: u128) {
    let d = 10u128.pow(K);
    assert_eq!(divrem_pow10::<K>(m), (m / d, !m.is_multiple_of(d)), "{m} / 10^{K}");
    assert_eq!(div_pow10::<K>(m, true), m.div_ceil(d), "{m} / 10^{K}");
    assert_eq!(div_pow10::<K>(m, false), m / d, "{m} / 10^{K}");
}

#[test]
fn powers_of_ten_divide_by_shift_and_one_division_or_by_digits() {
    let mut rng = Rng(0x5eed_0005);
    for i in 0..100_000u32 {
        // Around the fast path's limits 2^(64 + K) too.
        let m = match i % 4 {
            0 => rng.u128(),
            1 => (1u128 << (64 + i % 19)) - 1 - (rng.next() % 3) as u128,
            2 => (1u128 << (64 + i % 19)) + (rng.next() % 3) as u128,
            _ => 10u128.pow(i % 38) * (rng.next() % 4) as u128,
        };
        check_pow10::<4>(m);
        check_pow10::<9>(m);
        check_pow10::<15>(m);
        check_pow10::<18>(m);
    }
    assert_eq!(div_pow10::<4>(u128::MAX, true), u128::MAX / 10_000 + 1);
}

#[test]
fn powers_of_ten_divide_in_two_steps() {
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..50_000 {
        let x = rng.i128();
        let exp = rng.below(19) as u8;
        assert_eq!(div_floor_pow10(x, exp), floor_ref(x, 10i128.pow(exp as u32)), "{x} / 10^{exp}");
    }
}

#[test]
fn wide_division_matches_native_arithmetic() {
    let mut rng = Rng(0x5eed_0003);
    for _ in 0..300_000 {
        let n = rng.u128();
        let d = rng.u128().max(1);
        assert_eq!(divrem_u128(n, d), (n / d, n % d), "{n} / {d}");
    }
    for (n, d) in [
        (u128::MAX, 1),
        (u128::MAX, u128::MAX),
        (u128::MAX, u128::MAX - 1),
        (u128::MAX - 1, u128::MAX),
        (1 << 64, (1 << 64) - 1),
        (u128::MAX, 1 << 64),
        (u128::MAX, (1 << 64) + 1),
        (u128::MAX, u64::MAX as u128),
        (u128::MAX >> 1, (1 << 127) - 1),
    ] {
        assert_eq!(divrem_u128(n, d), (n / d, n % d), "{n} / {d}");
    }
    for _ in 0..50_000 {
        let (x, d) = (rng.i128(), rng.i128().unsigned_abs().max(1) as i128);
        assert_eq!(div_floor_wide(x, d), floor_ref(x, d), "{x} / {d}");
    }
}

// ---- collateral ----

#[test]
fn cross_collateral_weights_a_sol_like_asset_and_counts_usdc_in_full() {
    // 2.5 SOL (9 decimals) at 150.123456, weights 80% / 90%; 1,000 USDC.
    let sol = CollateralInput { balance: 2_500_000_000, decimals: 9, price: 150_123_456, init_weight_bps: 8_000, maint_weight_bps: 9_000 };
    let h = health(&[sol, usdc(1_000_000_000)], &[]).unwrap();
    // value 375.308640 USDC; init 300.246912, maint 337.777776.
    assert_eq!(sums(&h), [1_300_246_912, 0, 1_337_777_776, 0, 1_375_308_640, 0]);
    assert_eq!(h.init_health(), Ok(1_300_246_912));
    assert_eq!(h.maint_health(), Ok(1_337_777_776));
    assert_eq!(h.free_collateral(), Ok(1_300_246_912));
    assert_eq!(h.health_factor_bps(), Ok(None), "no liabilities");
    assert_eq!(h.margin_ratio_bps(), Ok(None), "no positions");
}

#[test]
fn collateral_rounds_against_the_account() {
    // 0.999999 of a quote unit: a holding is worth 0, a debt costs 1.
    let tiny = |balance| CollateralInput { balance, decimals: 6, price: 999_999, init_weight_bps: 5_000, maint_weight_bps: 5_000 };
    assert_eq!(sums(&health(&[tiny(1)], &[]).unwrap()), [0, 0, 0, 0, 0, 0]);
    assert_eq!(sums(&health(&[tiny(-1)], &[]).unwrap()), [0, 1, 0, 1, -1, 0]);
    // value 3 at 50%: 1.5 -> 1.
    let three = CollateralInput { balance: 3, decimals: 0, price: 1, init_weight_bps: 5_000, maint_weight_bps: 5_000 };
    assert_eq!(sums(&health(&[three], &[]).unwrap()), [1, 0, 1, 0, 3, 0]);
    // 18 decimals at 1.0 (two division steps): 1.999999999999e-6 tokens -> 1 quote unit; a
    // debt of 0.999999999999e-6 -> 1.
    let wei = |balance| CollateralInput { balance, decimals: 18, price: 1_000_000, init_weight_bps: 10_000, maint_weight_bps: 10_000 };
    let equity = |balance| health(&[wei(balance)], &[]).unwrap().equity();
    assert_eq!(equity(1_999_999_999_999), 1);
    assert_eq!(equity(999_999_999_999), 0);
    assert_eq!(equity(-999_999_999_999), -1);
    assert_eq!(equity(-1_000_000_000_000), -1);
    assert_eq!(equity(-1_000_000_000_001), -2);
}

#[test]
fn debts_count_in_full_at_both_levels_and_set_the_health_factor() {
    let sol = CollateralInput { balance: 10_000_000_000, decimals: 9, price: 100_000_000, init_weight_bps: 6_000, maint_weight_bps: 8_000 };
    let h = health(&[sol, usdc(-500_000_000)], &[]).unwrap();
    // 1,000 USDC of SOL: 600 / 800 weighted; 500 USDC owed.
    assert_eq!(sums(&h), [600_000_000, 500_000_000, 800_000_000, 500_000_000, 500_000_000, 0]);
    assert_eq!(h.init_health(), Ok(100_000_000));
    assert_eq!(h.maint_health(), Ok(300_000_000));
    assert_eq!(h.health_factor_bps(), Ok(Some(16_000)));
    // Owing more than the maintenance assets: factor below 1.0, free collateral 0.
    let h = health(&[sol, usdc(-800_000_001)], &[]).unwrap();
    assert_eq!(h.maint_health(), Ok(-1));
    assert_eq!(h.health_factor_bps(), Ok(Some(9_999)));
    assert_eq!(h.init_health(), Ok(-200_000_001));
    assert_eq!(h.free_collateral(), Ok(0));
}

// ---- perps ----

#[test]
fn perp_pnl_requirement_and_margin_ratio() {
    // Long 2.0 bought at 100, marked at 90: pnl -20, notional 180; 10% / 5% margin.
    let long = perp(2_000_000_000, -200_000_000, 90_000_000, market(1_000, 500));
    let h = health(&[], &[long]).unwrap();
    assert_eq!(sums(&h), [0, 38_000_000, 0, 29_000_000, -20_000_000, 180_000_000]);
    // -20 / 180 = -11.11% -> floor -1112 bps.
    assert_eq!(h.margin_ratio_bps(), Ok(Some(-1_112)));
    assert_eq!(h.health_factor_bps(), Ok(Some(0)));
    // Marked at 110: pnl +20 counts at 50% / 80%; requirement on notional 220.
    let h = health(&[], &[PerpInput { price: 110_000_000, ..long }]).unwrap();
    assert_eq!(sums(&h), [10_000_000, 22_000_000, 16_000_000, 11_000_000, 20_000_000, 220_000_000]);
    assert_eq!(h.margin_ratio_bps(), Ok(Some(909)));
    assert_eq!(h.health_factor_bps(), Ok(Some(14_545)));
}

#[test]
fn perp_values_round_against_the_account() {
    let m = PerpMarketParams {
        init_margin_bps: 3,
        maint_margin_bps: 3,
        size_margin_factor: 0,
        upnl_init_weight_bps: 10_000,
        upnl_maint_weight_bps: 10_000,
    };
    // 1e-9 long at 1.5 quote units: value floor(1.5e-9) = 0, notional ceil = 1, requirement ceil(3 bps of 1) = 1.
    let h = health(&[], &[perp(1, 0, 1_500_000, m)]).unwrap();
    assert_eq!(sums(&h), [0, 1, 0, 1, 0, 1]);
    // The short of it: value floor(-1.5e-9 * 1e6) = -1 (a liability), notional 1.
    let h = health(&[], &[perp(-1, 0, 1_500_000, m)]).unwrap();
    assert_eq!(sums(&h), [0, 2, 0, 2, -1, 1]);
    // upnl 3 at 50%: 1.
    let m = PerpMarketParams { upnl_init_weight_bps: 5_000, upnl_maint_weight_bps: 5_000, init_margin_bps: 0, maint_margin_bps: 0, ..m };
    assert_eq!(sums(&health(&[], &[perp(0, 3, 1, m)]).unwrap()), [1, 0, 1, 0, 3, 0]);
}

#[test]
fn funding_longs_pay_when_the_index_rises_rounded_against_the_account() {
    let m = market(0, 0);
    let with_funding =
        |base, snapshot, cumulative| PerpInput { funding_snapshot: snapshot, cumulative_funding: cumulative, ..perp(base, 0, 1, m) };
    // Long 2.0, index +3.0 quote units per unit (3e6 scaled): pays 6 native units.
    let equity = |p: PerpInput| health(&[], &[p]).unwrap().equity();
    let base_value = |base: i64| floor_ref(base as i128, 1_000_000_000); // price 1 native unit
    assert_eq!(equity(with_funding(2_000_000_000, 10, 3_000_010)) - base_value(2_000_000_000), -6);
    // The short receives it.
    assert_eq!(equity(with_funding(-2_000_000_000, 10, 3_000_010)) - base_value(-2_000_000_000), 6);
    // The index falling: longs receive.
    assert_eq!(equity(with_funding(2_000_000_000, 3_000_010, 10)) - base_value(2_000_000_000), 6);
    // A fraction of a unit owed is a whole unit; a fraction received is nothing.
    assert_eq!(equity(with_funding(1, 0, 1)) - base_value(1), -1);
    assert_eq!(equity(with_funding(-1, 0, 1)) - base_value(-1), 0);
    // The extreme index move is exact in i128.
    assert_eq!(
        equity(with_funding(i64::MAX, i64::MIN, i64::MAX)) - base_value(i64::MAX),
        floor_ref(-(i64::MAX as i128) * (u64::MAX as i128), 1_000_000_000_000_000)
    );
}

#[test]
fn size_margin_grows_with_the_position_and_is_capped() {
    // 50 bps per whole unit: 10 units -> 10% + 5% = 15%; maintenance 5% + 5%.
    let m = PerpMarketParams { size_margin_factor: 50_000_000_000, ..market(1_000, 500) };
    let h = health(&[], &[perp(10_000_000_000, -1_000_000_000, 100_000_000, m)]).unwrap();
    assert_eq!((h.liabilities_init(), h.liabilities_maint()), (150_000_000, 100_000_000));
    // A partial unit's extra bps round up: 1e-9 units at factor 1 -> +1 bps.
    let m1 = PerpMarketParams { size_margin_factor: 1, ..market(0, 0) };
    assert_eq!(Position::new(&perp(0, 0, 1, m1), 1, 0).size_ratio, 1);
    let h = health(&[], &[perp(-1_000_000_000, 0, 10_000 * 1_000_000, m1)]).unwrap();
    assert_eq!(h.liabilities_maint(), 10_000_000_000 + 1_000_000, "1 bps of 10,000 on top of the short's loss");
    // Capped at 100%.
    let huge = PerpMarketParams { size_margin_factor: u64::MAX, ..market(1_000, 500) };
    let h = health(&[], &[perp(i64::MIN, 0, 1, huge)]).unwrap();
    assert_eq!(h.liabilities_maint(), h.notional() - h.equity(), "requirement = notional at the cap");
    assert_eq!(h.notional(), 9_223_372_037);
}

#[test]
fn initial_level_takes_the_worse_of_the_bids_and_the_asks_filling() {
    // Long 1.0 at 100; bids 1.0 @ 99; asks 2.0 @ 101. Unrealized PnL counts nothing initially.
    let m = PerpMarketParams { upnl_init_weight_bps: 0, ..market(1_000, 500) };
    let p = PerpInput {
        bids_base: 1_000_000_000,
        bids_quote: 99_000_000,
        asks_base: 2_000_000_000,
        asks_quote: 202_000_000,
        ..perp(1_000_000_000, -100_000_000, 100_000_000, m)
    };
    // Bids fill: long 2.0, pnl +1, requirement 20 -> -20. Asks fill: short 1.0, pnl +2, requirement 10 -> -10.
    let h = health(&[], &[p]).unwrap();
    assert_eq!(sums(&h), [0, 20_000_000, 0, 5_000_000, 0, 100_000_000], "the bids are worse; maintenance ignores orders");
    // Bigger asks make the ask side worse.
    let h = health(&[], &[PerpInput { asks_base: 4_000_000_000, asks_quote: 404_000_000, ..p }]).unwrap();
    assert_eq!((h.assets_init(), h.liabilities_init()), (0, 30_000_000));
    // A short 1.0 at 100 with bids that would halve it and no asks: the worse side is the
    // position as it is (requirement 10, not 5).
    let short = PerpInput {
        bids_base: 500_000_000,
        bids_quote: 50_000_000,
        asks_base: 0,
        asks_quote: 0,
        ..perp(-1_000_000_000, 100_000_000, 100_000_000, m)
    };
    let h = health(&[], &[short]).unwrap();
    assert_eq!((h.assets_init(), h.liabilities_init()), (0, 10_000_000));
}

#[test]
fn a_tie_between_the_scenarios_picks_the_bids() {
    // Flat at 100, 10% initial margin, full upnl weight. Bids 2.0 for 150: pnl 50, requirement
    // 20 -> net 30. Asks 1.0 for 140: pnl 40, requirement 10 -> net 30 as well.
    let m = PerpMarketParams { upnl_init_weight_bps: 10_000, ..market(1_000, 500) };
    let p = PerpInput {
        bids_base: 2_000_000_000,
        bids_quote: 150_000_000,
        asks_base: 1_000_000_000,
        asks_quote: 140_000_000,
        ..perp(0, 0, 100_000_000, m)
    };
    let h = health(&[], &[p]).unwrap();
    assert_eq!((h.assets_init(), h.liabilities_init()), (50_000_000, 20_000_000));
    // One unit less for the asks: they are worse now.
    let h = health(&[], &[PerpInput { asks_quote: 139_999_999, ..p }]).unwrap();
    assert_eq!((h.assets_init(), h.liabilities_init()), (39_999_999, 10_000_000));
}

// ---- errors ----

#[test]
fn invalid_inputs_are_named() {
    let c = usdc(1);
    let bad_c = [
        (CollateralInput { decimals: 19, ..c }, HealthError::InvalidDecimals),
        (CollateralInput { price: 0, ..c }, HealthError::NonPositiveInputPrice),
        (CollateralInput { price: -1, ..c }, HealthError::NonPositiveInputPrice),
        (CollateralInput { maint_weight_bps: 10_001, ..c }, HealthError::WeightTooLarge),
        (CollateralInput { init_weight_bps: 10_001, maint_weight_bps: 10_001, ..c }, HealthError::WeightTooLarge),
        (CollateralInput { init_weight_bps: 9_000, maint_weight_bps: 8_999, ..c }, HealthError::MaintWeightBelowInit),
    ];
    for (input, error) in bad_c {
        assert_eq!(health(&[input], &[]).err(), Some(error), "{input:?}");
    }
    let p = perp(1, 1, 1, market(1_000, 500));
    let m = p.market;
    let bad_p = [
        (PerpInput { price: 0, ..p }, HealthError::NonPositiveInputPrice),
        (PerpInput { market: PerpMarketParams { init_margin_bps: 10_001, ..m }, ..p }, HealthError::MarginRatioTooLarge),
        (
            PerpInput { market: PerpMarketParams { init_margin_bps: 500, maint_margin_bps: 501, ..m }, ..p },
            HealthError::MaintMarginAboveInit,
        ),
        (PerpInput { market: PerpMarketParams { upnl_init_weight_bps: 10_001, ..m }, ..p }, HealthError::WeightTooLarge),
        (PerpInput { market: PerpMarketParams { upnl_maint_weight_bps: u16::MAX, ..m }, ..p }, HealthError::WeightTooLarge),
        (PerpInput { bids_base: -1, ..p }, HealthError::NegativeOrderTotal),
        (PerpInput { asks_quote: i64::MIN, ..p }, HealthError::NegativeOrderTotal),
    ];
    for (input, error) in bad_p {
        assert_eq!(health(&[], &[input]).err(), Some(error), "{input:?}");
        assert_eq!(Health::new().liquidation_price(&input), Err(error));
    }
    // Edge values that are valid.
    health(&[CollateralInput { decimals: 18, init_weight_bps: 0, maint_weight_bps: 10_000, ..c }], &[]).unwrap();
    health(&[], &[PerpInput { market: PerpMarketParams { init_margin_bps: 10_000, maint_margin_bps: 10_000, ..m }, ..p }]).unwrap();
    for e in [HealthError::MathOverflow, HealthError::NegativeOrderTotal] {
        let code = e as u32;
        assert!((6250..6300).contains(&code));
        assert_eq!(qd_runtime::error::ProgramError::from(e), qd_runtime::error::ProgramError(code));
    }
}

#[test]
fn overflow_at_the_extremes_is_an_error_and_changes_nothing() {
    let max = |w| CollateralInput { balance: i64::MAX, decimals: 0, price: i64::MAX, init_weight_bps: w, maint_weight_bps: w };
    // (2^63 - 1)^2 = 2^126 - 2^64 + 1 fits i128; times 2 still does, times 3 does not.
    assert_eq!(health(&[max(10_000)], &[]).err(), Some(HealthError::MathOverflow));
    assert_eq!(health(&[max(3)], &[]).err(), Some(HealthError::MathOverflow));
    assert_eq!(health(&[max(2)], &[]).unwrap().assets_init(), ((i64::MAX as i128) * (i64::MAX as i128) * 2) / 10_000);
    let h = health(&[max(0), max(0)], &[]).unwrap();
    assert_eq!(h.equity(), (i64::MAX as i128) * (i64::MAX as i128) * 2);
    // A third overflows the equity; the failed add leaves the sums as they were.
    let mut again = h;
    assert_eq!(again.add_collateral(&max(0)), Err(HealthError::MathOverflow));
    assert_eq!(again, h);
    // Debts of (nearly) the same size: the liabilities overflow on the third.
    let min = CollateralInput { balance: i64::MIN, ..max(0) };
    let mut h = health(&[min, min], &[]).unwrap();
    assert_eq!(h.liabilities_maint(), (1i128 << 63) * (i64::MAX as i128) * 2);
    assert_eq!(h.add_collateral(&min), Err(HealthError::MathOverflow));
    // Only the liabilities overflow when zero-weight holdings keep the equity in range.
    let holding = max(0);
    let mut h = health(&[holding, holding, min, min], &[]).unwrap();
    assert_eq!(h.equity(), 2 * ((i64::MAX as i128) * (i64::MAX as i128) - (1i128 << 63) * (i64::MAX as i128)));
    assert_eq!(h.add_collateral(&min), Err(HealthError::MathOverflow));
    // 18 decimals tame the same balance.
    health(&[CollateralInput { decimals: 18, ..max(10_000) }, CollateralInput { decimals: 18, ..max(10_000) }], &[]).unwrap();
    // Each entry fits, the health factor's "* 10_000" does not.
    let big = CollateralInput { balance: i64::MAX, decimals: 0, price: 1 << 50, init_weight_bps: 10_000, maint_weight_bps: 10_000 };
    let h = health(&[big, big, big, big, big, big, big, big, usdc(-1)], &[]).unwrap();
    assert_eq!(h.health_factor_bps(), Err(HealthError::MathOverflow));
    assert_eq!(h.margin_ratio_bps(), Ok(None));
    // A position whose filled bids would not fit i64.
    let p = PerpInput { bids_base: 10, ..perp(i64::MAX - 5, 0, 1, market(0, 0)) };
    assert_eq!(health(&[], &[p]).err(), Some(HealthError::MathOverflow));
    let p = PerpInput { asks_quote: 10, ..perp(1, i64::MAX - 5, 1, market(0, 0)) };
    assert_eq!(health(&[], &[p]).err(), Some(HealthError::MathOverflow));
    // The largest position at the largest price, every parameter at its worst, fits.
    let worst = PerpInput {
        funding_snapshot: i64::MIN,
        cumulative_funding: i64::MAX,
        market: PerpMarketParams { size_margin_factor: u64::MAX, ..market(10_000, 10_000) },
        ..perp(i64::MIN, i64::MIN, i64::MAX, market(0, 0))
    };
    let h = health(&[], &[worst; 8]).unwrap();
    assert!(h.margin_ratio_bps().unwrap().unwrap() < 0);
}

// ---- a reference model on native i128, for random portfolios of moderate size ----

fn model(collateral: &[CollateralInput], perps: &[PerpInput]) -> [i128; 6] {
    let mut s = [0i128; 6];
    for c in collateral {
        let value = floor_ref(c.balance as i128 * c.price as i128, 10i128.pow(c.decimals as u32));
        if value >= 0 {
            s[0] += floor_ref(value * c.init_weight_bps as i128, 10_000);
            s[2] += floor_ref(value * c.maint_weight_bps as i128, 10_000);
        } else {
            s[1] -= value;
            s[3] -= value;
        }
        s[4] += value;
    }
    for p in perps {
        let m = p.market;
        // Funding is owed by the position as it is, in every scenario.
        let funding = floor_ref(-(p.base as i128 * (p.cumulative_funding as i128 - p.funding_snapshot as i128)), 1_000_000_000_000_000);
        let at = |b: i64, q: i64, margin: u16, w: u16| {
            let b = b as i128;
            let pnl = floor_ref(b * p.price as i128, 1_000_000_000) + q as i128 + funding;
            let notional = ceil_ref(b.abs() * p.price as i128, 1_000_000_000);
            let ratio = (margin as i128 + ceil_ref(b.abs() * m.size_margin_factor as i128, 1_000_000_000_000_000_000)).min(10_000);
            let req = ceil_ref(notional * ratio, 10_000);
            let asset = if pnl > 0 { floor_ref(pnl * w as i128, 10_000) } else { 0 };
            (asset, req + if pnl < 0 { -pnl } else { 0 }, pnl, notional)
        };
        let bid = at(p.base + p.bids_base, p.quote - p.bids_quote, m.init_margin_bps, m.upnl_init_weight_bps);
        let ask = at(p.base - p.asks_base, p.quote + p.asks_quote, m.init_margin_bps, m.upnl_init_weight_bps);
        let init = if ask.0 - ask.1 < bid.0 - bid.1 { ask } else { bid };
        let maint = at(p.base, p.quote, m.maint_margin_bps, m.upnl_maint_weight_bps);
        s[0] += init.0;
        s[1] += init.1;
        s[2] += maint.0;
        s[3] += maint.1;
        s[4] += maint.2;
        s[5] += maint.3;
    }
    s
}

fn random_collateral(rng: &mut Rng) -> CollateralInput {
    let init = rng.below(10_001) as u16;
    CollateralInput {
        balance: rng.i64_in(-(1 << 50), 1 << 50),
        decimals: [0, 6, 9, 18][rng.below(4) as usize],
        price: rng.i64_in(1, 1 << 40),
        init_weight_bps: init,
        maint_weight_bps: init + rng.below(10_001 - init as u64) as u16,
    }
}

fn random_perp(rng: &mut Rng) -> PerpInput {
    let init = rng.below(10_001) as u16;
    let size = |rng: &mut Rng| rng.i64_in(0, 1 << 45);
    PerpInput {
        base: rng.i64_in(-(1 << 45), 1 << 45),
        quote: rng.i64_in(-(1 << 50), 1 << 50),
        funding_snapshot: rng.i64_in(-(1 << 50), 1 << 50),
        cumulative_funding: rng.i64_in(-(1 << 50), 1 << 50),
        bids_base: if rng.below(2) == 0 { 0 } else { size(rng) },
        bids_quote: size(rng),
        asks_base: if rng.below(2) == 0 { 0 } else { size(rng) },
        asks_quote: size(rng),
        price: rng.i64_in(1, 1 << 40),
        market: PerpMarketParams {
            init_margin_bps: init,
            maint_margin_bps: rng.below(init as u64 + 1) as u16,
            size_margin_factor: rng.next() >> rng.below(64),
            upnl_init_weight_bps: rng.below(10_001) as u16,
            upnl_maint_weight_bps: rng.below(10_001) as u16,
        },
    }
}

#[test]
fn random_portfolios_match_the_reference_model() {
    let mut rng = Rng(0x5eed_0004);
    for _ in 0..20_000 {
        let collateral: Vec<_> = (0..rng.below(9)).map(|_| random_collateral(&mut rng)).collect();
        let perps: Vec<_> = (0..rng.below(9)).map(|_| random_perp(&mut rng)).collect();
        let h = health(&collateral, &perps).unwrap();
        let s = model(&collateral, &perps);
        assert_eq!(sums(&h), s, "{collateral:?} {perps:?}");
        assert_eq!(h.health_factor_bps().unwrap(), (s[3] != 0).then(|| floor_ref(s[2] * 10_000, s[3])));
        assert_eq!(h.margin_ratio_bps().unwrap(), (s[5] != 0).then(|| floor_ref(s[4] * 10_000, s[5])));
    }
}

// ---- liquidation prices ----

/// Maintenance health of the whole portfolio with perp `i` marked at `price`.
fn maint_at(collateral: &[CollateralInput], perps: &[PerpInput], i: usize, price: i64) -> i128 {
    let mut moved = perps.to_vec();
    moved[i].price = price;
    health(collateral, &moved).unwrap().maint_health().unwrap()
}

#[test]
fn liquidation_price_of_a_long_and_a_short_against_a_brute_force_scan() {
    // Small numbers so the scan covers every price: 1.0 base bought at 100 native units, 20
    // units of collateral, 10% maintenance margin, PnL counted at 100%.
    let m = PerpMarketParams {
        init_margin_bps: 1_000,
        maint_margin_bps: 1_000,
        size_margin_factor: 0,
        upnl_init_weight_bps: 10_000,
        upnl_maint_weight_bps: 10_000,
    };
    let collateral = [usdc(20)];
    for (base, quote) in [(1_000_000_000, -100), (-1_000_000_000, 100), (3_000_000_000, -250), (-700_000_000, 90)] {
        let perps = [perp(base, quote, 100, m), perp(1_000_000_000, -50, 60, m)];
        let h = health(&collateral, &perps).unwrap();
        let found = h.liquidation_price(&perps[0]).unwrap().unwrap();
        let negative: Vec<i64> = (1..=2_000).filter(|&p| maint_at(&collateral, &perps, 0, p) < 0).collect();
        let expected = if base > 0 { *negative.iter().max().unwrap() } else { *negative.iter().min().unwrap() };
        assert_eq!(found, expected, "base {base} quote {quote}");
        // Monotone here: liquidatable on one side of the price only.
        assert!(negative.iter().all(|&p| if base > 0 { p <= found } else { p >= found }));
    }
}

#[test]
fn liquidation_price_edge_cases() {
    let m = market(1_000, 500);
    // Flat: None. Fully collateralized long (no price liquidates it): None.
    let flat = perp(0, 0, 100_000_000, m);
    assert_eq!(health(&[], &[flat]).unwrap().liquidation_price(&flat), Ok(None));
    let covered = perp(1_000_000_000, -100_000_000, 100_000_000, m);
    let collateral = [usdc(200_000_000)];
    assert_eq!(health(&collateral, &[covered]).unwrap().liquidation_price(&covered), Ok(None));
    // A long underwater at every price up to the search maximum.
    let hopeless = perp(1, -1_000_000_000_000, 100_000_000, m);
    assert_eq!(health(&[], &[hopeless]).unwrap().liquidation_price(&hopeless), Ok(Some(PRICE_SEARCH_MAX)));
    // A short liquidatable even at price 1; and one safe up to the maximum.
    let doomed = perp(-1_000_000_000, 0, 100_000_000, m);
    assert_eq!(health(&[], &[doomed]).unwrap().liquidation_price(&doomed), Ok(Some(1)));
    let tiny_short = perp(-1, 0, 100_000_000, m);
    let rich = [usdc(1_000_000_000_000_000)];
    assert_eq!(health(&rich, &[tiny_short]).unwrap().liquidation_price(&tiny_short), Ok(None));
    // A realistic long: 10.0 at 100 with 200 of collateral and 5% maintenance.
    let long = perp(10_000_000_000, -1_000_000_000, 100_000_000, m);
    let collateral = [usdc(200_000_000)];
    let h = health(&collateral, &[long]).unwrap();
    let liq = h.liquidation_price(&long).unwrap().unwrap();
    // H(p) = 200 + 10p - 1000 - 0.5p (below entry): negative below 84.2105...
    assert_eq!(liq, 84_210_526);
    assert!(maint_at(&collateral, &[long], 0, liq) < 0 && maint_at(&collateral, &[long], 0, liq + 1) >= 0);
    // Overflow inside the search: debts near the i128 limit, and a big short whose requirement
    // at the top of the range no longer fits next to them.
    let debt = CollateralInput { balance: i64::MIN, decimals: 0, price: i64::MAX, init_weight_bps: 0, maint_weight_bps: 0 };
    let short = perp(-(1 << 62), 0, 1, m);
    let h = health(&[debt, debt], &[short]).unwrap();
    assert_eq!(h.liquidation_price(&short), Err(HealthError::MathOverflow));
    assert_eq!(health(&[debt], &[short]).unwrap().liquidation_price(&short), Ok(Some(1)));
}

// ---- the liquidation-end level, removals and liquidation steps ----

fn buffered(buffer: u16, collateral: &[CollateralInput], perps: &[PerpInput]) -> Health {
    let mut h = Health::with_liquidation_buffer(buffer);
    for c in collateral {
        h.add_collateral(c).unwrap();
    }
    for p in perps {
        h.add_perp(p).unwrap();
    }
    h
}

#[test]
fn the_end_level_raises_margins_and_lowers_weights_by_the_buffer() {
    let sol = CollateralInput { balance: 10_000_000_000, decimals: 9, price: 150_000_000, init_weight_bps: 8_000, maint_weight_bps: 9_000 };
    let long = perp(10_000_000_000, -1_000_000_000, 100_000_000, market(1_000, 500));
    let h = buffered(200, &[sol, usdc(-500_000_000)], &[long]);
    // Maintenance: 1,500 * 0.9 - 500 - 1,000 * 5% = 800; end: 1,500 * 0.88 - 500 - 1,000 * 7% = 750.
    assert_eq!(h.maint_health().unwrap(), 800_000_000);
    assert_eq!(h.liquidation_end_health().unwrap(), 750_000_000);
    // Without a buffer the end level is the maintenance level, at every input.
    let mut rng = Rng(0x5eed_0005);
    for _ in 0..2_000 {
        let collateral: Vec<_> = (0..rng.below(9)).map(|_| random_collateral(&mut rng)).collect();
        let perps: Vec<_> = (0..rng.below(9)).map(|_| random_perp(&mut rng)).collect();
        let h = health(&collateral, &perps).unwrap();
        assert_eq!(h.liquidation_end_health(), h.maint_health());
        let b = buffered(rng.below(3_000) as u16, &collateral, &perps);
        assert!(b.liquidation_end_health().unwrap() <= b.maint_health().unwrap());
        assert_eq!((b.maint_health(), b.init_health(), b.equity()), (h.maint_health(), h.init_health(), h.equity()));
    }
}

#[test]
fn removing_what_was_added_restores_every_sum() {
    let mut rng = Rng(0x5eed_0006);
    for _ in 0..5_000 {
        let collateral: Vec<_> = (0..1 + rng.below(8)).map(|_| random_collateral(&mut rng)).collect();
        let perps: Vec<_> = (0..1 + rng.below(8)).map(|_| random_perp(&mut rng)).collect();
        let buffer = rng.below(2_000) as u16;
        let full = buffered(buffer, &collateral, &perps);
        let mut h = full;
        h.remove_perp(&perps[perps.len() - 1]).unwrap();
        h.remove_collateral(&collateral[0]).unwrap();
        assert_eq!(h, buffered(buffer, &collateral[1..], &perps[..perps.len() - 1]));
        h.add_collateral(&collateral[0]).unwrap();
        h.add_perp(&perps[perps.len() - 1]).unwrap();
        assert_eq!(h, full);
    }
}

use crate::liquidation::{collateral_for, perp_transfer, position_after, PerpTerms};

const TERMS: PerpTerms =
    PerpTerms { liquidator_fee_bps: 100, insurance_fee_bps: 50, lot_size: 1_000_000, max_fraction_bps: 2_500, whole_base: 10_000_000_000 };

#[test]
fn a_perp_step_moves_base_at_the_oracle_and_charges_both_fees_rounded_up() {
    let t = perp_transfer(1_500_000, 100_000_333, &TERMS).unwrap();
    // 0.0015 at 100.000333: 150,000 (floor); fees 1% and 0.5% rounded up.
    assert_eq!((t.quote, t.liquidator_fee, t.insurance_fee), (150_000, 1_500, 750));
    let t = perp_transfer(1_000_001, 1_000_000, &TERMS).unwrap();
    assert_eq!((t.quote, t.liquidator_fee, t.insurance_fee), (1_000, 10, 5));
    // A long sells: base toward zero, the quote received less the fees, the funding settled
    // (0.003 base over an index move of 1.0: -0.000003 quote rounded down to -1 unit).
    let mut long = perp(3_000_000, -300, 1_000_000, market(1_000, 500));
    long.funding_snapshot = 0;
    long.cumulative_funding = 1_000_000;
    let after = position_after(&long, &t).unwrap();
    assert_eq!((after.base, after.quote, after.funding_snapshot), (1_999_999, -300 - 1 + 1_000 - 15, 1_000_000));
    // A short buys back: it pays the quote.
    let short = perp(-3_000_000, 300, 1_000_000, market(1_000, 500));
    assert_eq!(position_after(&short, &t).unwrap().quote, 300 - 1_000 - 15);
    assert_eq!(position_after(&short, &perp_transfer(3_000_001, 1, &TERMS).unwrap()), Err(HealthError::MathOverflow));
}

/// The least lot step (brute force) that brings the end health to 0, or the whole position.
fn least_step(h: &Health, p: &PerpInput, terms: &PerpTerms) -> u64 {
    let held = p.base.unsigned_abs();
    let mut k = 1;
    loop {
        let size = (k * terms.lot_size).min(held);
        let mut after = *h;
        after.remove_perp(p).unwrap();
        after.add_perp(&position_after(p, &perp_transfer(size, p.price, terms).unwrap()).unwrap()).unwrap();
        if after.liquidation_end_health().unwrap() >= 0 || size == held {
            return size;
        }
        k += 1;
    }
}

#[test]
fn the_largest_perp_step_brings_the_end_health_to_zero_and_respects_the_limit() {
    let m = PerpMarketParams { size_margin_factor: 200_000_000, ..market(1_000, 500) };
    let mut rng = Rng(0x5eed_0007);
    // Positions above 2.0 base give at most a quarter per step.
    let terms = PerpTerms { whole_base: 2_000_000_000, ..TERMS };
    let mut liquidatable = 0;
    for _ in 0..1_500 {
        // 0.1..5 base bought near 100, some collateral, a second position.
        let base = rng.i64_in(100, 5_000) * 1_000_000 * if rng.below(2) == 0 { 1 } else { -1 };
        let entry = rng.i64_in(90, 110) * 1_000_000;
        let p = PerpInput { quote: -(base / 1_000) * entry / 1_000_000, ..perp(base, 0, rng.i64_in(60, 140) * 1_000_000, m) };
        let other = perp(rng.i64_in(-5_000, 5_000) * 1_000_000, rng.i64_in(-500, 500) * 1_000_000, 50_000_000, m);
        let h = buffered(200, &[usdc(rng.i64_in(0, 100) * 1_000_000)], &[p, other]);
        let max = h.max_liquidatable_base(&p, &terms).unwrap();
        if h.liquidation_end_health().unwrap() >= 0 {
            assert_eq!(max, 0);
            continue;
        }
        liquidatable += 1;
        let held = base.unsigned_abs();
        let cap = if held <= terms.whole_base { held } else { ((held * 2_500 / 10_000) / 1_000_000 * 1_000_000).max(terms.whole_base) };
        let least = least_step(&h, &p, &terms);
        assert_eq!(max, least.min(cap), "{p:?} {other:?}");
        // Every step raises the end health (the fees are below the margin).
        let mut after = h;
        after.remove_perp(&p).unwrap();
        after.add_perp(&position_after(&p, &perp_transfer(max, p.price, &terms).unwrap()).unwrap()).unwrap();
        assert!(after.liquidation_end_health().unwrap() > h.liquidation_end_health().unwrap());
        assert!(after.maint_health().unwrap() > h.maint_health().unwrap());
    }
    assert!(liquidatable > 300, "{liquidatable}");
}

#[test]
fn a_collateral_step_repays_what_brings_the_end_health_to_zero() {
    let sol = |balance| CollateralInput { balance, decimals: 9, price: 150_000_000, init_weight_bps: 8_000, maint_weight_bps: 9_000 };
    // 10 SOL for 1 quote: 0.0066668... SOL at the 5% discount price 142.5.
    assert_eq!(collateral_for(1_000_000, &sol(1), 500).unwrap(), 7_017_543);
    assert_eq!(collateral_for(0, &sol(1), 500).unwrap(), 0);
    let mut rng = Rng(0x5eed_0008);
    for _ in 0..3_000 {
        let holding = sol(rng.i64_in(1, 20_000_000_000));
        let debt = perp(0, -rng.i64_in(1, 3_000_000_000), 100_000_000, market(1_000, 500));
        let h = buffered(200, &[holding], &[debt]);
        let x = h.max_collateral_repay(&holding, 500, &debt).unwrap();
        if h.liquidation_end_health().unwrap() >= 0 {
            assert_eq!(x, 0);
            continue;
        }
        let y = collateral_for(x, &holding, 500).unwrap();
        assert!(0 < y && y <= holding.balance && x <= -debt.quote);
        let mut after = h;
        after.remove_collateral(&holding).unwrap();
        after.remove_perp(&debt).unwrap();
        after.add_collateral(&CollateralInput { balance: holding.balance - y, ..holding }).unwrap();
        after.add_perp(&PerpInput { quote: debt.quote + x, ..debt }).unwrap();
        let end = after.liquidation_end_health().unwrap();
        assert!(end > h.liquidation_end_health().unwrap());
        // Either healthy at the end level, or all the debt or all the collateral is gone.
        assert!(end >= 0 || x == -debt.quote || collateral_for(x + 1, &holding, 500).unwrap() >= holding.balance, "{end} {x} {y}");
        // And not much more than needed: 100 units (0.0001 quote) less would not do (each unit
        // raises the end health by 700 / 9_500 here; the floors move it by less than 4).
        if x < -debt.quote && x > 100 && collateral_for(x + 1, &holding, 500).unwrap() < holding.balance {
            let mut less = h;
            less.remove_collateral(&holding).unwrap();
            less.remove_perp(&debt).unwrap();
            less.add_collateral(&CollateralInput { balance: holding.balance - collateral_for(x - 100, &holding, 500).unwrap(), ..holding })
                .unwrap();
            less.add_perp(&PerpInput { quote: debt.quote + x - 100, ..debt }).unwrap();
            assert!(less.liquidation_end_health().unwrap() < 0, "not the least: {x}");
        }
    }
}
