"""The health engine on SBF (crates/qd-health through tests/programs/qd-test-health) against its
Python mirror (clients/health.py): every output, or the same error code, on 10,000 seeded random
portfolios mixing realistic and extreme values, on hypothesis-shrunk ones, and on hand examples;
and the CU per collateral entry and per perp (quantdesk/bench/health.py)."""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quantdesk.clients import health, idl
from quantdesk.clients.health import (
    BPS,
    ERRORS,
    I64_MAX,
    I64_MIN,
    I128_MIN,
    PRICE_SEARCH_MAX,
    U64_MAX,
    CollateralInput,
    HealthError,
    HealthResult,
    PerpInput,
    PerpMarketParams,
    compute,
    format_percent,
    format_quote,
    format_ratio,
    summary,
)
from solders.instruction import Instruction

from quantdesk.bench import health as bench
from quantdesk.chain import Chain
from quantdesk.world import EVALUATE, HEALTH_PROGRAM_ID, MAX_HEALTH_ENTRIES, SOL, USDC, HealthProgram, decode_evaluation, encode_portfolio, failed

Outcome = HealthResult | HealthError
PORTFOLIOS = 10_000
STEP_BUDGET = 1_500
"""CU a collateral entry or a perp may add to an instruction (the issue's budget)."""


@pytest.fixture(scope="module")
def health_program() -> HealthProgram:
    return HealthProgram(Chain())


def python_side(collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool) -> Outcome:
    try:
        return compute(collateral, perps, liquidation_prices)
    except HealthError as e:
        return e


def both(health_program: HealthProgram, collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool = True) -> Outcome:
    """The engine's answer on SBF, after checking the mirror gives the very same."""
    chain, python = health_program.evaluate(collateral, perps, liquidation_prices), python_side(collateral, perps, liquidation_prices)
    assert chain == python, f"SBF {chain} != Python {python}\n{collateral}\n{perps}"
    return chain


def ok(outcome: Outcome) -> HealthResult:
    assert isinstance(outcome, HealthResult), outcome
    return outcome


def usdc(amount: int) -> CollateralInput:
    return CollateralInput(balance=amount, decimals=6, price=USDC, init_weight_bps=BPS, maint_weight_bps=BPS)


def market(init_margin_bps: int = 1_000, maint_margin_bps: int = 500, upnl_init: int = 5_000) -> PerpMarketParams:
    return PerpMarketParams(init_margin_bps, maint_margin_bps, 0, upnl_init, 8_000)


def perp(base: int, quote: int, price: int, m: PerpMarketParams | None = None, **orders: int) -> PerpInput:
    fields = {"funding_snapshot": 0, "cumulative_funding": 0, "bids_base": 0, "bids_quote": 0, "asks_base": 0, "asks_quote": 0} | orders
    return PerpInput(base=base, quote=quote, price=price, market=m or market(), **fields)


# ---- seeded random portfolios ----

EXTREMES = (I64_MIN, I64_MIN + 1, -1, 0, 1, I64_MAX - 1, I64_MAX)


class Gen:
    """Random portfolio parts: realistic magnitudes, random bit widths and i64 extremes; now and
    then one invalid field (each HealthError has its way in)."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def amount(self, realistic: int) -> int:
        """A signed i64: mostly around `realistic`, else any bit width, else an extreme."""
        r = self.r.random()
        if r < 0.6:
            return self.r.randint(-realistic, realistic)
        if r < 0.93:
            return self.r.choice((-1, 1)) * self.r.getrandbits(self.r.randint(0, 62))
        return self.r.choice(EXTREMES)

    def size(self, realistic: int) -> int:
        """A non-negative order total."""
        return 0 if self.chance(0.4) else min(abs(self.amount(realistic)), I64_MAX)

    def price(self) -> int:
        r = self.r.random()
        if r < 0.85:
            return self.r.randint(1, 200_000 * USDC)
        if r < 0.97:
            return self.r.getrandbits(self.r.randint(1, 62)) + 1
        return self.r.choice((1, I64_MAX))

    def bps(self) -> int:
        return self.r.choice((0, BPS, self.r.randint(0, BPS), self.r.randint(0, BPS)))

    def collateral(self) -> CollateralInput:
        init = self.bps()
        if self.chance(0.02):
            # Near the i128 limit: balance * price ~ 2^125, where "* weight" overflows first.
            huge = self.r.randint(1 << 61, I64_MAX)
            return CollateralInput(self.r.choice((huge, -huge)), self.r.choice((0, 0, 6)), self.r.randint(1 << 61, I64_MAX), init, self.r.randint(init, BPS))
        c = CollateralInput(balance=self.amount(10**13), decimals=self.r.choice((0, 6, 6, 9, 9, 18, self.r.randint(0, 18))), price=self.price(),
                            init_weight_bps=init, maint_weight_bps=self.r.randint(init, BPS))
        if self.chance(0.012):
            kind = self.r.randrange(4)
            if kind == 0:
                return CollateralInput(c.balance, self.r.randint(19, 255), c.price, c.init_weight_bps, c.maint_weight_bps)
            if kind == 1:
                return CollateralInput(c.balance, c.decimals, self.r.choice((0, -1, I64_MIN)), c.init_weight_bps, c.maint_weight_bps)
            if kind == 2:
                return CollateralInput(c.balance, c.decimals, c.price, c.init_weight_bps, self.r.randint(BPS + 1, 65_535))
            if init > 0:
                return CollateralInput(c.balance, c.decimals, c.price, init, self.r.randint(0, init - 1))
        return c

    def market(self) -> PerpMarketParams:
        init = self.bps()
        factor = 0 if self.chance(0.5) else self.r.getrandbits(self.r.randint(1, 64)) if self.chance(0.95) else U64_MAX
        m = PerpMarketParams(init, self.r.randint(0, init), factor, self.bps(), self.bps())
        if self.chance(0.01):
            kind = self.r.randrange(3)
            if kind == 0:
                return PerpMarketParams(self.r.randint(BPS + 1, 65_535), m.maint_margin_bps, factor, m.upnl_init_weight_bps, m.upnl_maint_weight_bps)
            if kind == 1 and init < BPS:
                return PerpMarketParams(init, self.r.randint(init + 1, BPS), factor, m.upnl_init_weight_bps, m.upnl_maint_weight_bps)
            if kind == 2:
                return PerpMarketParams(init, m.maint_margin_bps, factor, m.upnl_init_weight_bps, self.r.randint(BPS + 1, 65_535))
        return m

    def perp(self) -> PerpInput:
        snapshot = self.amount(10**13)
        cumulative = snapshot if self.chance(0.3) else self.amount(10**13)
        p = PerpInput(base=self.amount(10**13), quote=self.amount(10**13), funding_snapshot=snapshot, cumulative_funding=cumulative,
                      bids_base=self.size(10**12), bids_quote=self.size(10**13), asks_base=self.size(10**12), asks_quote=self.size(10**13),
                      price=self.price(), market=self.market())
        if self.chance(0.01):
            return PerpInput(p.base, p.quote, p.funding_snapshot, p.cumulative_funding, p.bids_base, p.bids_quote, -self.r.randint(1, I64_MAX),
                             p.asks_quote, p.price, p.market)
        if self.chance(0.005):
            return PerpInput(p.base, p.quote, p.funding_snapshot, p.cumulative_funding, p.bids_base, p.bids_quote, p.asks_base,
                             p.asks_quote, self.r.choice((0, -1, I64_MIN)), p.market)
        return p

    def portfolio(self) -> tuple[list[CollateralInput], list[PerpInput], bool]:
        collateral = [self.collateral() for _ in range(self.r.randint(0, MAX_HEALTH_ENTRIES))]
        perps = [self.perp() for _ in range(self.r.randint(0, MAX_HEALTH_ENTRIES))]
        return collateral, perps, self.chance(0.5)


def kind(outcome: Outcome) -> str:
    return outcome.name if isinstance(outcome, HealthError) else "ok"


def test_sbf_and_python_agree_on_ten_thousand_random_portfolios(health_program: HealthProgram) -> None:
    gen = Gen(seed=20_261_121)
    kinds: Counter[str] = Counter()
    liquidation_prices: Counter[str] = Counter()
    for i in range(PORTFOLIOS):
        collateral, perps, with_prices = gen.portfolio()
        chain = health_program.evaluate(collateral, perps, with_prices)
        python = python_side(collateral, perps, with_prices)
        assert chain == python, f"portfolio {i}: SBF {chain} != Python {python}\n{collateral}\n{perps}"
        kinds[kind(chain)] += 1
        if isinstance(chain, HealthResult):
            liquidation_prices.update("none" if p is None else "edge" if p in (1, PRICE_SEARCH_MAX) else "found" for p in chain.liquidation_prices)
    print(f"\n{PORTFOLIOS} portfolios: " + ", ".join(f"{k} {n / PORTFOLIOS:.1%}" for k, n in kinds.most_common()))
    print("liquidation prices: " + ", ".join(f"{k} {n}" for k, n in liquidation_prices.most_common()))
    # The mix must exercise every path, or the comparison proves little.
    assert kinds["ok"] >= PORTFOLIOS // 2
    assert kinds["MathOverflow"] >= PORTFOLIOS * 5 // 100
    for name in ("InvalidDecimals", "NonPositiveInputPrice", "WeightTooLarge", "MaintWeightBelowInit", "MarginRatioTooLarge", "MaintMarginAboveInit", "NegativeOrderTotal"):
        assert kinds[name] >= 20, f"only {kinds[name]} portfolios end in {name}"
    assert min(liquidation_prices[k] for k in ("none", "edge", "found")) >= 100, liquidation_prices


# ---- hypothesis: fewer examples, but shrunk to a minimal one on failure ----

i64s = st.one_of(st.integers(-10**12, 10**12), st.integers(I64_MIN, I64_MAX), st.sampled_from(EXTREMES))
sizes = st.one_of(st.just(0), st.integers(0, 10**12), st.integers(0, I64_MAX))
prices = st.one_of(st.integers(1, 10**11), st.integers(1, I64_MAX))
bps = st.one_of(st.sampled_from((0, BPS)), st.integers(0, BPS))


@st.composite
def collaterals(draw: st.DrawFn) -> CollateralInput:
    init = draw(bps)
    return CollateralInput(draw(i64s), draw(st.sampled_from((0, 6, 9, 18))), draw(prices), init, draw(st.integers(init, BPS)))


@st.composite
def perps(draw: st.DrawFn) -> PerpInput:
    init = draw(bps)
    m = PerpMarketParams(init, draw(st.integers(0, init)), draw(st.one_of(st.just(0), st.integers(0, U64_MAX))), draw(bps), draw(bps))
    return PerpInput(draw(i64s), draw(i64s), draw(i64s), draw(i64s), draw(sizes), draw(sizes), draw(sizes), draw(sizes), draw(prices), m)


@settings(max_examples=150, deadline=None)
@given(st.lists(collaterals(), max_size=8), st.lists(perps(), max_size=8), st.booleans())
def test_sbf_and_python_agree_on_hypothesis_portfolios(health_program: HealthProgram, collateral: list[CollateralInput], perps: list[PerpInput], with_prices: bool) -> None:
    chain = health_program.evaluate(collateral, perps, with_prices)
    assert chain == python_side(collateral, perps, with_prices), chain


# ---- hand examples through both sides ----

def test_cross_collateral_weights_a_sol_like_asset_and_counts_usdc_in_full(health_program: HealthProgram) -> None:
    sol = CollateralInput(balance=2_500_000_000, decimals=9, price=150_123_456, init_weight_bps=8_000, maint_weight_bps=9_000)
    r = ok(both(health_program, [sol, usdc(1_000 * USDC)], []))
    # 2.5 SOL at 150.123456 = 375.308640: 300.246912 at 80%, 337.777776 at 90%; USDC in full.
    assert (r.init_health, r.maint_health, r.free_collateral, r.equity) == (1_300_246_912, 1_337_777_776, 1_300_246_912, 1_375_308_640)
    assert (r.health_factor_bps, r.margin_ratio_bps, r.notional) == (None, None, 0)
    # Borrowing 1,200 USDC against it: the debt counts in full at both levels.
    r = ok(both(health_program, [sol, usdc(-1_200 * USDC)], []))
    assert (r.init_health, r.maint_health, r.free_collateral) == (-899_753_088, -862_222_224, 0)
    assert r.health_factor_bps == 337_777_776 * BPS // (1_200 * USDC) == 2_814
    assert format_ratio(r.health_factor_bps) == "0.28"


def maint_at(collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], i: int, price: int) -> int:
    moved = list(perps)
    p = moved[i]
    moved[i] = PerpInput(p.base, p.quote, p.funding_snapshot, p.cumulative_funding, p.bids_base, p.bids_quote, p.asks_base, p.asks_quote, price, p.market)
    return compute(collateral, moved, liquidation_prices=False).maint_health


@pytest.mark.parametrize("base, quote, expected", [
    # 200 USDC, another market worth +5 at maintenance (+10 PnL at 80%, requirement 3), and
    # 10 SOL long bought at 100: 205 + 10p - 1000 - 0.5p < 0 below 83.6842105...
    (10 * SOL, -1_000 * USDC, 83_684_210),
    # 10 SOL short sold at 100: 205 + 1000 - 10p - 0.5p < 0 above 114.7619047...
    (-10 * SOL, 1_000 * USDC, 114_761_905),
])
def test_liquidation_prices_match_a_brute_force_scan(health_program: HealthProgram, base: int, quote: int, expected: int) -> None:
    collateral = [usdc(200 * USDC)]
    other = perp(SOL, -50 * USDC, 60 * USDC)  # another market: fixed while this one moves
    perps = [perp(base, quote, 100 * USDC), other]
    r = ok(both(health_program, collateral, perps))
    found = r.liquidation_prices[0]
    window = range(expected - 300, expected + 300)
    negative = [p for p in window if maint_at(collateral, perps, 0, p) < 0]
    # Monotone here: liquidatable on one side of the found price only.
    assert negative == ([p for p in window if p <= found] if base > 0 else [p for p in window if p >= found])
    # The other market's long (1.0 bought at 50) loses at most 50 there: no price of it liquidates.
    assert r.liquidation_prices[1] is None
    assert found == expected


def test_initial_level_takes_the_worse_of_the_bids_and_the_asks_filling(health_program: HealthProgram) -> None:
    # Long 1.0 at 100; bids 1.0 @ 99; asks 2.0 @ 101; unrealized PnL counts nothing initially.
    m = market(upnl_init=0)
    p = perp(SOL, -100 * USDC, 100 * USDC, m, bids_base=SOL, bids_quote=99 * USDC, asks_base=2 * SOL, asks_quote=202 * USDC)
    # Bids fill: long 2.0, requirement 20 (its +1 counts nothing); asks fill: short 1.0, requirement 10.
    r = ok(both(health_program, [usdc(100 * USDC)], [p]))
    assert (r.init_health, r.maint_health, r.equity, r.notional) == (80 * USDC, 95 * USDC, 100 * USDC, 100 * USDC)
    assert (r.assets_init, r.liabilities_init, r.assets_maint, r.liabilities_maint) == (100 * USDC, 20 * USDC, 100 * USDC, 5 * USDC)
    # More asks: now they are the worse side (short 3.0, requirement 30).
    p = perp(SOL, -100 * USDC, 100 * USDC, m, bids_base=SOL, bids_quote=99 * USDC, asks_base=4 * SOL, asks_quote=404 * USDC)
    assert ok(both(health_program, [usdc(100 * USDC)], [p])).init_health == 70 * USDC
    # A tie (both scenarios net 30 at full upnl weight) picks the bids: flat at 100, bids 2.0 for
    # 150 (asset 50, requirement 20), asks 1.0 for 140 (asset 40, requirement 10).
    tie = perp(0, 0, 100 * USDC, market(upnl_init=BPS), bids_base=2 * SOL, bids_quote=150 * USDC, asks_base=SOL, asks_quote=140 * USDC)
    r = ok(both(health_program, [], [tie]))
    assert (r.init_health, r.assets_init, r.liabilities_init) == (30 * USDC, 50 * USDC, 20 * USDC)
    # Funding owed by the position (index +2.0 per unit) is carried into both scenarios.
    p = perp(SOL, -100 * USDC, 100 * USDC, m, bids_base=SOL, bids_quote=99 * USDC, asks_base=2 * SOL, asks_quote=202 * USDC,
             funding_snapshot=0, cumulative_funding=2 * USDC * 10**6)
    assert ok(both(health_program, [usdc(100 * USDC)], [p])).init_health == 79 * USDC


def test_overflow_and_invalid_inputs_give_the_same_codes(health_program: HealthProgram) -> None:
    biggest = CollateralInput(balance=I64_MAX, decimals=0, price=I64_MAX, init_weight_bps=3, maint_weight_bps=3)
    assert both(health_program, [biggest], []) == HealthError("MathOverflow")
    assert both(health_program, [], [perp(I64_MAX - 5, 0, 1, bids_base=10)]) == HealthError("MathOverflow")
    # Each entry fits; the health factor's "* 10_000" does not.
    big = CollateralInput(balance=I64_MAX, decimals=0, price=1 << 50, init_weight_bps=BPS, maint_weight_bps=BPS)
    assert both(health_program, [big, big, usdc(-1)], [], liquidation_prices=False) == HealthError("MathOverflow")
    assert ok(both(health_program, [big, usdc(-1)], [])).health_factor_bps == big.balance * big.price * BPS
    # Debts near the i128 limit (equity balanced by zero-weight holdings), and a short whose
    # requirement at the top of the price search no longer fits next to them: the health fits,
    # the liquidation search overflows.
    debt = CollateralInput(balance=I64_MIN, decimals=0, price=I64_MAX, init_weight_bps=0, maint_weight_bps=0)
    holding = CollateralInput(balance=I64_MAX, decimals=0, price=I64_MAX, init_weight_bps=0, maint_weight_bps=0)
    short = perp(-(1 << 62), 0, 1)
    assert ok(both(health_program, [debt, debt, holding, holding], [short], liquidation_prices=False)).maint_health < I128_MIN // 2
    assert both(health_program, [debt, debt, holding, holding], [short]) == HealthError("MathOverflow")
    assert ok(both(health_program, [debt, holding], [short])).liquidation_prices == [1]
    # Only the liabilities overflow (the equity, holdings first, stays in range).
    assert both(health_program, [holding, holding, debt, debt, debt], []) == HealthError("MathOverflow")
    assert ok(both(health_program, [holding, holding, debt, debt], [])).liabilities_maint == 2 * -(debt.balance * debt.price)
    assert both(health_program, [CollateralInput(1, 19, 1, 0, 0)], []) == HealthError("InvalidDecimals")
    assert both(health_program, [], [perp(1, 1, 1, market(500, 501))]) == HealthError("MaintMarginAboveInit")


def test_error_names_and_codes_are_the_rust_enum() -> None:
    # The health range of an IDL generated from qd-health's declaration.
    assert {name: code for name, code in idl.error_codes("qd_collateral").items() if 6250 <= code < 6300} == ERRORS


def test_the_program_refuses_more_than_eight_entries(health_program: HealthProgram) -> None:
    entry = encode_portfolio([usdc(1)], [], False)[9:-2]
    nine = EVALUATE + bytes([9]) + entry * 9 + bytes([0, 0])
    failed(health_program.chain.send([Instruction(HEALTH_PROGRAM_ID, nine, [])]), idl.error_codes("qd_security")["InvalidInstructionData"])
    assert health_program.send([usdc(1)] * 8, []).ok


def test_readable_summary() -> None:
    r = compute([usdc(200 * USDC)], [perp(10 * SOL, -1_000 * USDC, 90 * USDC)])
    assert format_ratio(15_399) == "1.53" and format_ratio(None) == "∞" and format_ratio(-250) == "-0.02"
    assert format_percent(-1_112) == "-11.12%" and format_quote(-1_234_500_000) == "-1,234.500000"
    assert summary(r).splitlines()[0] == f"health factor {format_ratio(r.health_factor_bps)}  (liquidatable below 1.00)"
    assert summary(r).splitlines()[1:] == [
        "initial health 10.000000  free collateral 10.000000",
        "maintenance health 55.000000  (assets 200.000000, liabilities 145.000000)",
        "equity 100.000000  notional 900.000000  margin ratio 11.11%",
        "perp 0: liquidation price 84.210526",
    ]


# ---- compute units ----

def curve(health_program: HealthProgram, portfolio: Callable[[int], tuple[list[CollateralInput], list[PerpInput]]]) -> list[int]:
    """CU of the health-only instruction for 0..8 entries; each must come back a HealthResult."""
    cus = []
    for n in range(MAX_HEALTH_ENTRIES + 1):
        result = health_program.send(*portfolio(n))
        ok(decode_evaluation(result.return_data))
        cus.append(result.cu)
    return cus


def test_cu_per_collateral_entry_and_per_perp(health_program: HealthProgram) -> None:
    curves = {
        "collateral": curve(health_program, lambda n: ([bench.bench_collateral(i) for i in range(n)], [])),
        "perps": curve(health_program, lambda n: ([], [bench.bench_perp(i) for i in range(n)])),
    }
    table = bench.measure()
    for name, cus in curves.items():
        steps = [b - a for a, b in zip(cus, cus[1:])]
        print(f"\n{name}: CU for 0..8 entries {cus}; per entry {steps}")
        assert cus[1:] == [table.cu[f"{name}_{n}"] for n in range(1, MAX_HEALTH_ENTRIES + 1)]
        assert max(steps) <= STEP_BUDGET, f"{name}: a step costs {max(steps)} CU"


def test_liquidation_steps_match_the_rust_unit_figures() -> None:
    # The same figures crates/qd-health/src/tests.rs pins.
    terms = health.PerpTerms(100, 50, 1_000_000, 2_500, 10_000_000_000)
    t = health.perp_transfer(1_500_000, 100_000_333, terms)
    assert (t.quote, t.liquidator_fee, t.insurance_fee) == (150_000, 1_500, 750)
    t = health.perp_transfer(1_000_001, 1_000_000, terms)
    m = health.PerpMarketParams(1_000, 500, 0, 5_000, 8_000)
    long = health.PerpInput(3_000_000, -300, 0, 1_000_000, 0, 0, 0, 0, 1_000_000, m)
    after = health.position_after(long, t)
    assert (after.base, after.quote, after.funding_snapshot) == (1_999_999, -300 - 1 + 1_000 - 15, 1_000_000)
    sol = health.CollateralInput(1, 9, 150_000_000, 8_000, 9_000)
    assert health.collateral_for(1_000_000, sol, 500) == 7_017_543
    # The end level: 1,500 * 0.88 - 500 - 1,000 * 7% = 750 with a 2% buffer; 800 at maintenance.
    h = health.Health(200)
    h.add_collateral(health.CollateralInput(10_000_000_000, 9, 150_000_000, 8_000, 9_000))
    h.add_collateral(health.CollateralInput(-500_000_000, 6, 1_000_000, 10_000, 10_000))
    position = health.PerpInput(10_000_000_000, -1_000_000_000, 0, 0, 0, 0, 0, 0, 100_000_000, m)
    h.add_perp(position)
    assert (h.maint_health(), h.liquidation_end_health()) == (800_000_000, 750_000_000)
    before = h.copy()
    h.remove_perp(position)
    h.add_perp(position)
    assert vars(h) == vars(before)
