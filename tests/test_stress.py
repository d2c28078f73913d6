"""`quantdesk stress`'s scenario math on a LiteSVM venue read the way the keeper's cache reads it:
each scenario's figures against hand-computed ones (a 10-base long and short entered at 100.4 and
99.6 on 320 USDC, a SOL-backed long), against qd-core's view_liquidation after the shocked price
is published, and against a real liquidation's outcome; the scenario format's validation by
name; the HTML report and stress.json written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from quantdesk.clients.health import BPS
from quantdesk.clients.trading import Side
from quantdesk.keeper.cache import AccountCache, venue_types
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.view import VenueView
from solana.rpc.async_api import AsyncClient

from quantdesk.stress import page, scenario
from quantdesk.stress.engine import ScenarioResult, default_scenarios, evaluate, run
from quantdesk.stress.scenario import ConfidenceSpike, LiquidationStress, Scenario
from quantdesk.stress.table import render
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PRICE, SOL, SOL_PARAMS, USDC, Trader, Venue, order

CONF = USDC
"""The feed's published confidence: 1% of the price."""


def trade(v: Venue, t: Trader, side: Side, size: int, maker: Trader) -> Trader:
    """`t` takes `size` in the auction at 100 +- 0.4, `maker` on the other side."""
    order_id = v.placed_id(t, order(side, MARKET, IOC, size=size, price=102 * USDC if side == BID else 98 * USDC))
    v.chain.advance(2, 2)
    assert v.make_at_auction(maker, t, order_id, size).ok
    return t


def view_of(v: Venue) -> VenueView:
    """The venue as the keeper's cache holds it (every account of the chain ingested)."""
    cache = AccountCache(AsyncClient("http://127.0.0.1:9"), "ws://127.0.0.1:9", venue_types(), Metrics(), Log(level="error"), reconcile_secs=60,
                         dead_after_secs=60)
    for key, account in v.chain.export().items():
        cache.ingest(key, account.owner, bytes(account.data), v.chain.clock.slot)
    return VenueView(cache)


class Book:
    def __init__(self) -> None:
        v = self.v = Venue(asset=SOL_PARAMS)
        assert v.create_insurance_fund().ok
        assert v.stake(v.staker(), 3 * USDC).ok
        v.publish(PRICE, 0, conf=CONF)
        self.maker = v.trader(1_000_000 * USDC)
        self.long = trade(v, v.trader(320 * USDC), BID, 10 * BASE, self.maker)
        self.short = trade(v, v.trader(320 * USDC), ASK, 10 * BASE, self.maker)
        self.sol = v.trader(0)
        v.fund(self.sol.owner, v.sol, 4 * SOL)
        assert v.deposit(self.sol, v.sol, 4 * SOL).ok
        trade(v, self.sol, BID, 10 * BASE, self.maker)
        v.publish(PRICE, 0, conf=CONF)
        v.publish(150 * USDC, v.sol_feed, conf=150 * USDC // 100)
        self.view = view_of(v)
        self.baseline = run(self.view, [], 0, 0).baseline

    def result(self, s: Scenario) -> ScenarioResult:
        return evaluate(self.view, s, self.baseline)


@pytest.fixture(scope="module")
def book() -> Book:
    return Book()


def q(amount: str) -> int:
    """Quote native units from a decimal string."""
    whole, _, fraction = amount.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * USDC + int(fraction.ljust(6, "0") or 0))


def test_the_book_is_as_computed_by_hand(book: Book) -> None:
    # The long paid 100.4 (quote -1,004) and a 0.1% fee (1.004): at 100 its PnL is -5.004.
    ((_, long),) = book.view.health(book.long.margin)[1]
    assert (long.base, long.quote) == (10 * BASE, q("-1005.004"))
    ((_, short),) = book.view.health(book.short.margin)[1]
    assert (short.base, short.quote) == (-10 * BASE, q("995.004"))
    assert book.view.buffer_bps == 200 and not any(a.liquidatable for a in book.baseline.values())


def test_sol_perp_down_30_percent_liquidates_the_long_by_hand(book: Book) -> None:
    r = book.result(Scenario("SOL -30%", {"SOL-PERP": -3_000}))
    assert r.prices.markets[0] == (70 * USDC, 0)
    [a] = r.liquidatable
    assert a.margin == book.long.margin and a.newly_liquidatable and not a.bankrupt
    # 320 + (700 - 1,005.004) = 14.996 of equity; maintenance: 5% of 700 = 35 required.
    assert (a.equity, a.maint_health) == (q("14.996"), q("-20.004"))
    assert a.health_factor_bps == 320 * USDC * BPS // q("340.004")
    # The end level (buffer 200: 7% margin, the quote at 98%) stays below 0 even flat: the whole
    # position goes, paying 1% + 0.5% of 700.
    assert (a.liquidation_fees, a.equity_end, a.shortfall) == (q("10.5"), q("4.496"), 0)
    assert r.shortfall == 0 and r.bankrupt == []


def test_sol_perp_up_30_percent_bankrupts_the_short_by_hand(book: Book) -> None:
    r = book.result(Scenario("SOL +30%", {"0": 3_000}))
    [a] = r.liquidatable
    assert a.margin == book.short.margin
    # 320 + (995.004 - 1,300) = 15.004; 5% of 1,300 = 65; liquidating all of it costs 1.5% of 1,300.
    assert (a.equity, a.maint_health, a.liquidation_fees, a.equity_end) == (q("15.004"), q("-49.996"), q("19.5"), q("-4.496"))
    assert r.bankrupt == [a] and r.shortfall == q("4.496")
    # The fund holds the 3 USDC staked: 1.496 uncovered.
    assert (r.fund_balance, r.uncovered) == (3 * USDC, q("1.496"))
    assert r.top(1) == [a]


def test_collateral_shocks_by_feed_and_by_mint_and_the_most_specific_target_wins(book: Book) -> None:
    margin = book.sol.margin
    by_feed = {a.margin: a for a in book.result(Scenario("SOL/USD -30%", {"SOL/USD": -3_000})).accounts}[margin]
    by_mint = {a.margin: a for a in book.result(Scenario("mint -30%", {str(book.v.sol): -3_000})).accounts}[margin]
    # 4 SOL at 105, 90% maintenance weight = 378; the long at 100.4 entered: PnL -5.004, 5% of 1,000.
    assert by_feed.maint_health == by_mint.maint_health == q("378") - q("5.004") - 50 * USDC
    assert by_feed.before.maint_health == q("540") - q("5.004") - 50 * USDC
    # "*" moves the market, SOL/USD's own 0 keeps the collateral: 540 - 305.004 - 35.
    mixed = {a.margin: a for a in book.result(Scenario("perp only", {"*": -3_000, "SOL/USD": 0})).accounts}[margin]
    assert mixed.maint_health == q("540") - q("305.004") - 35 * USDC


def test_a_confidence_spike_moves_each_price_against_its_holder(book: Book) -> None:
    # Confidence 1 x10, 3 of them: the long read at 70, the short at 130 (as the two shocks above).
    r = book.result(Scenario("conf", confidence=ConfidenceSpike(10, 3)))
    by = {a.margin: a for a in r.accounts}
    down = {a.margin: a for a in book.result(Scenario("down", {"*": -3_000})).accounts}
    up = {a.margin: a for a in book.result(Scenario("up", {"*": 3_000})).accounts}
    assert by[book.long.margin] == down[book.long.margin] and by[book.short.margin] == up[book.short.margin]
    # Collateral down too: 4 SOL at 150 - 3 x 15 = 105.
    sol = by[book.sol.margin]
    assert sol.maint_health == q("378") - q("305.004") - 35 * USDC
    # 10% confidence is the Liquidation guard's limit (1,000 bps): not yet refused; x11 is.
    assert r.prices.halted == []
    assert book.result(Scenario("wider", confidence=ConfidenceSpike(11, 0))).prices.halted == ["SOL-PERP", "SOL/USD"]


def test_illiquid_liquidations_cost_more_by_hand(book: Book) -> None:
    r = book.result(Scenario("illiquid", {"SOL-PERP": -3_000}, liquidation=LiquidationStress(500, 200, 0)))
    [a] = r.liquidatable
    # The liquidator's fee 3%: 3.5% of 700 = 24.5, more than the 14.996 left.
    assert (a.liquidation_fees, a.equity_end, r.shortfall) == (q("24.5"), q("-9.504"), q("9.504"))


def test_a_partial_liquidation_takes_only_what_brings_the_end_health_to_zero_as_the_program_does() -> None:
    v = Venue()
    v.publish(PRICE, 0, conf=CONF)
    maker = v.trader(1_000_000 * USDC)
    long = trade(v, v.trader(330 * USDC), BID, 10 * BASE, maker)
    v.publish(PRICE, 0, conf=CONF)
    view = view_of(v)
    r = evaluate(view, Scenario("-30%", {"*": -3_000}), run(view, [], 0, 0).baseline)
    [a] = r.liquidatable
    # At 70: equity 330 - 305.004 = 24.996, maintenance -10.004; the end level 323.4 (the quote at
    # 98%) - 305.004 - 7% x 700 = -30.604, and each base taken raises it by 70 x (7% - 1.5%) =
    # 3.85: 7.950 base (7.949 leaves it at -0.00035), paying 1.5% of 556.5.
    assert a.margin == long.margin and (a.equity, a.maint_health) == (q("24.996"), q("-10.004"))
    assert (a.liquidation_fees, a.equity_end) == (q("8.3475"), q("16.6485"))
    # The program's own step (10 base is within liquidation_whole_base: one step) leaves the same.
    v.publish(70 * USDC, 0, conf=CONF)
    assert v.liquidate_perp(v.trader(100_000 * USDC), long).ok
    assert v.account(long).positions[0].base == 2_050_000_000 and view_of(v).health(long.margin)[0].equity == a.equity_end


def test_the_shock_agrees_with_view_liquidation_and_a_real_liquidation() -> None:
    v = Book()  # its own chain: prices are published and the long liquidated
    down = v.result(Scenario("down", {"*": -3_000}))
    stressed = {a.margin: a for a in down.accounts}
    v.v.publish(70 * USDC, 0, conf=CONF)
    v.v.publish(105 * USDC, v.v.sol_feed, conf=USDC)
    for t in (v.long, v.short, v.sol, v.maker):
        onchain = v.v.view_liquidation(t.margin)
        assert onchain.liquidatable == stressed[t.margin].liquidatable
        assert onchain.maint_health == stressed[t.margin].maint_health
    liquidator = v.v.trader(100_000 * USDC)
    assert v.v.liquidate_perp(liquidator, v.long).ok
    assert view_of(v.v).health(v.long.margin)[0].equity == stressed[v.long.margin].equity_end


def test_the_defaults_cover_each_market_and_mint_both_ways(book: Book) -> None:
    names = [s.name for s in default_scenarios(book.view)]
    assert names == ["SOL-PERP -30%", "SOL-PERP +30%", "SOL/USD collateral -30%", "SOL/USD collateral +30%", "all -30%", "all +30%",
                     "confidence x10", "illiquid, all -30%"]
    assert default_scenarios(book.view)[2].prices == {str(book.v.sol): -3_000}


def test_the_report_is_written_and_printed(book: Book, tmp_path: Path) -> None:
    report = run(book.view, default_scenarios(book.view), 7, 8)
    path = page.write(report, tmp_path / "reports")
    text = path.read_text()
    assert text.count("data:image/png;base64,") == 4 and "SOL-PERP +30%" in text
    figures = json.loads((tmp_path / "reports" / "stress.json").read_text())
    by = {s["name"]: s for s in figures["scenarios"]}
    assert figures["accounts"] == 4 and by["SOL-PERP +30%"]["bankrupt"] == 1 and by["SOL-PERP +30%"]["shortfall"] == q("4.496")
    assert by["SOL-PERP +30%"]["top"][0]["margin"] == str(book.short.margin)
    lines = [line.split() for line in render(report).splitlines()]
    assert ["SOL-PERP", "+30%", "1", "1", "1", "4.496000", "3.000000", "1.496000", "-", "0"] in lines


@pytest.mark.parametrize(("text", "error", "match"), [
    ("", scenario.NoScenarios, "no \\[\\[scenario\\]\\]"),
    ("[[scenario]]\nname = 'a'\nprice = { '*' = -10 }", scenario.UnknownScenarioKey, "unknown key 'price'"),
    ("[[scenario]]\nname = 'a'\nprices = { '*' = -100 }", scenario.InvalidScenario, "prices.\\*"),
    ("[[scenario]]\nname = 'a'\nprices = { '*' = '-10%' }", scenario.InvalidScenario, "expected a number"),
    ("[[scenario]]\nname = ''", scenario.InvalidScenario, "name"),
    ("[[scenario]]\nname = 'a'\n[[scenario]]\nname = 'a'", scenario.DuplicateScenario, "'a'"),
    ("[[scenario]]\nname = 'a'\nconfidence = { widen = 0.5 }", scenario.InvalidScenario, "confidence.widen"),
    ("[[scenario]]\nname = 'a'\nconfidence = { sigma = 2 }", scenario.UnknownScenarioKey, "sigma"),
    ("[[scenario]]\nname = 'a'\nliquidation = { buffer_add_bps = 1.5 }", scenario.InvalidScenario, "buffer_add_bps"),
    ("[[scenario]]\nname = 'a'\nliquidation = { liquidator_fee_add_bps = true }", scenario.InvalidScenario, "liquidator_fee_add_bps"),
    ("[[scenario]]\nname = 'a'\nliquidation = { insurance_fee_add_bps = 10001 }", scenario.InvalidScenario, "insurance_fee_add_bps"),
    ("[[scenario]\nname = 'a'", scenario.ScenarioFileError, "<scenarios>"),
    ("[other]\n", scenario.UnknownScenarioKey, "other"),
])
def test_bad_scenarios_are_refused_by_name(text: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        scenario.parse(text)


def test_a_scenario_file_parses_and_an_unknown_target_is_refused_by_name(book: Book, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[scenario]]\nname = "SOL -30%"\ndescription = "d"\nprices = { "SOL-PERP" = -30, "SOL/USD" = -12.5 }\n'
                    '[[scenario]]\nname = "wide"\nconfidence = { widen = 5, k = 2 }\nliquidation = { buffer_add_bps = 300 }\n')
    [crash, wide] = scenario.load(path)
    assert crash == Scenario("SOL -30%", {"SOL-PERP": -3_000, "SOL/USD": -1_250}, description="d")
    assert wide == Scenario("wide", confidence=ConfidenceSpike(5, 2), liquidation=LiquidationStress(300, 0, 0))
    with pytest.raises(scenario.UnknownTarget, match="'BTC-PERP'"):
        run(book.view, [Scenario("x", {"BTC-PERP": -10})], 0, 0)
    with pytest.raises(scenario.ScenarioFileError, match="missing.toml"):
        scenario.load(tmp_path / "missing.toml")


def test_the_example_file_runs_on_the_book(book: Book) -> None:
    scenarios = scenario.load(Path(__file__).resolve().parents[1] / "stress.example.toml")
    assert [s.name for s in scenarios] == ["SOL -30%", "everything -20%, SOL collateral flat", "confidence x20", "illiquid crash"]
    by = {r.scenario.name: r for r in run(book.view, scenarios, 0, 0).results}
    assert [a.margin for a in by["SOL -30%"].liquidatable] == [book.long.margin]
    # 10% is the Liquidation guard's limit: 1% x 20 is refused on both feeds.
    assert by["confidence x20"].prices.halted == ["SOL-PERP", "SOL/USD"]
    assert by["illiquid crash"].scenario.liquidation == LiquidationStress(500, 200, 50)
