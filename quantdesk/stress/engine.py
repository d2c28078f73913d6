"""Scenarios applied to every account of a venue snapshot (keeper/view.py) through the health
mirror (clients/health.py via clients/liquidation.py), with no network of its own.

Per scenario and account: the health at the shocked prices; liquidatable when its maintenance
health is below 0 (or, already being liquidated, its liquidation-end health); then, for a
liquidatable account, its perp positions liquidated the way qd-core's `liquidate_perp` steps do
(each step the least lot multiple that brings the end health to 0, at the oracle price, the
account paying the market's liquidator and insurance fees; the per-step cap left out, the steps
summed) at the scenario's terms, until the end health is at 0 or every position is gone. Its
equity after that is what the account keeps; below 0 it is bankrupt and the insurance fund
answers for the negative equity (the shortfall). Not modelled: collateral liquidation steps
(a debt left once the positions are flat is repaid at the collateral's discount), the insurance
fees the fund itself collects from the steps (the fund is taken at its balance), and the per-step
cap (more steps, the same total).

A confidence spike also asks each feed's Liquidation guard: a feed whose widened confidence it
refuses (conf / price above max_conf_bps) is listed as halted, since no liquidation step could
read it; its accounts are still judged by their health."""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from solders.pubkey import Pubkey

from quantdesk.clients import health, liquidation
from quantdesk.clients.collateral import QUOTE_PRICE, CollateralBalances
from quantdesk.clients.health import BPS, U16_MAX
from quantdesk.clients.oracle import Action, Feed, normalized_price
from quantdesk.clients.trading_state import PerpMarket
from quantdesk.keeper.risk_report import AccountHealth, account_health
from quantdesk.keeper.view import VenueView
from quantdesk.stress.scenario import ALL, LiquidationStress, Scenario, UnknownTarget, defaults

__all__ = ["AccountStress", "Prices", "ScenarioResult", "StressReport", "default_scenarios", "evaluate", "liquidation_fees", "prices", "run"]


@dataclass(frozen=True, slots=True)
class AccountStress:
    margin: Pubkey
    before: AccountHealth
    health_factor_bps: int | None
    maint_health: int
    equity: int
    """Equity at the shocked prices."""
    liquidatable: bool
    liquidation_fees: int
    """What liquidating it at the scenario's terms costs it (0 when not liquidatable)."""
    equity_end: int
    """Equity once liquidated (the positions after the steps: equity - liquidation_fees but for
    rounding; equity when not liquidatable)."""

    @property
    def newly_liquidatable(self) -> bool:
        return self.liquidatable and not self.before.liquidatable

    @property
    def bankrupt(self) -> bool:
        return self.equity_end < 0

    @property
    def shortfall(self) -> int:
        """The negative equity the insurance fund answers for."""
        return max(-self.equity_end, 0)

    @property
    def health_drop(self) -> int:
        return self.before.maint_health - self.maint_health


@dataclass(frozen=True, slots=True)
class Prices:
    """A scenario's prices: per market index and per mint, the shocked price and the confidence
    to move it by against each account (0 without a confidence spike)."""

    markets: dict[int, tuple[int, int]]
    mints: dict[Pubkey, tuple[int, int]]
    halted: list[str]
    """Feeds whose widened confidence their Liquidation guard refuses: no liquidation reads them."""


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: Scenario
    prices: Prices
    accounts: list[AccountStress]
    unpriced: list[Pubkey]
    """Accounts not judged: an input is not in the snapshot (or the engine refuses one)."""
    fund_balance: int
    seconds: float
    """The process CPU time the scenario took."""

    @property
    def liquidatable(self) -> list[AccountStress]:
        return [a for a in self.accounts if a.liquidatable]

    @property
    def newly_liquidatable(self) -> list[AccountStress]:
        return [a for a in self.accounts if a.newly_liquidatable]

    @property
    def bankrupt(self) -> list[AccountStress]:
        return [a for a in self.accounts if a.bankrupt]

    @property
    def shortfall(self) -> int:
        return sum(a.shortfall for a in self.accounts)

    @property
    def uncovered(self) -> int:
        """The shortfall the fund's balance does not cover."""
        return max(self.shortfall - self.fund_balance, 0)

    def top(self, n: int) -> list[AccountStress]:
        """The largest contributors: by shortfall, then by the fall of maintenance health."""
        hit = [a for a in self.accounts if a.shortfall > 0 or a.health_drop > 0]
        return sorted(hit, key=lambda a: (-a.shortfall, -a.health_drop, str(a.margin)))[:n]


@dataclass(frozen=True, slots=True)
class StressReport:
    slot: int
    unix_timestamp: int
    baseline: dict[Pubkey, AccountHealth]
    fund_balance: int
    results: list[ScenarioResult]


def _feed_symbol(view: VenueView, oracle: Pubkey | None) -> str | None:
    feed = view.feeds.get(oracle) if oracle is not None else None
    return feed.symbol if feed is not None else None


def _move(scenario: Scenario, names: Iterable[str | None]) -> int:
    """The most specific target's move among `names` (most specific first), else "*"'s, else 0."""
    for name in [*names, ALL]:
        if name is not None and name in scenario.prices:
            return scenario.prices[name]
    return 0


def _conf(feed: Feed | None, widen: float) -> int:
    """The feed's confidence at 6 decimals, widened (read_price normalizes it as the price: the
    same exponent, so normalized_price of the confidence in the price's place)."""
    return 0 if feed is None else round(normalized_price(replace(feed, price=feed.conf)) * widen)


def _halts(feed: Feed | None, price: int, conf: int) -> bool:
    """The Liquidation guard refuses `conf` at `price` (qd-oracle-reader: conf / price > max_conf_bps / 10_000)."""
    return feed is not None and conf * BPS > feed.guards[Action.LIQUIDATION].max_conf_bps * price


def prices(view: VenueView, scenario: Scenario) -> Prices:
    """The scenario's prices at the snapshot (UnknownTarget: a target names nothing in the venue)."""
    known = {ALL}
    for i, m in view.markets.items():
        known |= {m.symbol_str, str(i), _feed_symbol(view, m.oracle) or ALL}
    for mint, c in view.configs.items():
        if not c.is_quote:
            known |= {str(mint), _feed_symbol(view, c.oracle) or ALL}
    unknown = sorted(set(scenario.prices) - known)
    if unknown:
        raise UnknownTarget(f"scenario {scenario.name!r}: {unknown[0]!r} is no market symbol or index, feed symbol or collateral mint of the venue")
    widen = scenario.confidence.widen if scenario.confidence is not None else 0.0
    halted: set[str] = set()

    def shocked(price: int, move: int, oracle: Pubkey | None) -> tuple[int, int]:
        feed = view.feeds.get(oracle) if oracle is not None else None
        moved = max(price * (BPS + move) // BPS, 1)
        conf = _conf(feed, widen)
        if scenario.confidence is not None and _halts(feed, moved, conf):
            halted.add(feed.symbol if feed is not None else str(oracle))
        return moved, conf

    markets = {}
    for i, price in view.market_prices().items():
        m = view.markets[i]
        markets[i] = shocked(price, _move(scenario, (m.symbol_str, str(i), _feed_symbol(view, m.oracle))), m.oracle)
    mints = {}
    for mint, price in view.collateral_prices().items():
        c = view.configs[mint]
        # The quote is priced at exactly 1 by every program: no oracle, no move.
        mints[mint] = (QUOTE_PRICE, 0) if c.is_quote else shocked(price, _move(scenario, (str(mint), _feed_symbol(view, c.oracle))), c.oracle)
    return Prices(markets, mints, sorted(halted))


def _against(price: int, conf: int, k: float, loses_on_fall: bool) -> int:
    """`price` moved k confidences against a holder that loses when it falls (or rises)."""
    shift = round(k * conf)
    return max(price - shift, 1) if loses_on_fall else price + shift


def _account_prices(view: VenueView, margin: Pubkey, p: Prices, k: float) -> tuple[dict[Pubkey, int], dict[int, int]]:
    """The prices this account's health reads: each input moved against it by k confidences."""
    balances = view.balances.get(margin)
    trading = view.trading.get(margin)
    mints = {mint: price for mint, (price, _) in p.mints.items()}
    markets = {i: price for i, (price, _) in p.markets.items()}
    if k:
        for e in balances.entries if balances is not None else []:
            if e.mint in p.mints:
                mints[e.mint] = _against(*p.mints[e.mint], k, e.balance > 0)
        for pos in trading.positions if trading is not None else []:
            if pos.market_index in p.markets:
                markets[pos.market_index] = _against(*p.markets[pos.market_index], k, pos.base > 0)
    return mints, markets


def _stressed_terms(market: PerpMarket, held: int, q: LiquidationStress) -> health.PerpTerms:
    """The market's liquidation terms with the scenario's fees, the whole position one step (the steps summed)."""
    t = liquidation.terms(market)
    return replace(t, liquidator_fee_bps=t.liquidator_fee_bps + q.liquidator_fee_add_bps, insurance_fee_bps=t.insurance_fee_bps + q.insurance_fee_add_bps,
                   whole_base=held)


def liquidation_fees(h: health.Health, inputs: list[tuple[PerpMarket, health.PerpInput]], q: LiquidationStress) -> int:
    """The fees the account pays while its positions are liquidated, in order, until the end
    health is at 0 (`h` is left as after those steps)."""
    fees = 0
    for market, p in inputs:
        if h.liquidation_end_health() >= 0:
            break
        terms = _stressed_terms(market, abs(p.base), q)
        base = health.max_liquidatable_base(h, p, terms)
        if base == 0:
            continue
        step = health.perp_transfer(base, p.price, terms)
        h.remove_perp(p)
        h.add_perp(health.position_after(p, step))
        fees += step.liquidator_fee + step.insurance_fee
    return fees


_EMPTY = CollateralBalances(Pubkey.default(), Pubkey.default(), Pubkey.default(), 0, [])


def _stress(view: VenueView, margin: Pubkey, before: AccountHealth, p: Prices, scenario: Scenario) -> AccountStress:
    q = scenario.liquidation or LiquidationStress()
    mints, markets = _account_prices(view, margin, p, scenario.confidence.k if scenario.confidence is not None else 0.0)
    buffer_bps = min(view.buffer_bps + q.buffer_add_bps, U16_MAX)
    h, inputs = liquidation.account_health(view.balances.get(margin, _EMPTY), view.configs, mints, view.trading.get(margin), view.markets, markets,
                                           buffer_bps)
    hf, maint, equity = h.health_factor_bps(), h.maint_health(), h.equity
    liquidatable = h.is_liquidatable(before.being_liquidated)
    fees = liquidation_fees(h, inputs, q) if liquidatable else 0
    return AccountStress(margin, before, hf, maint, equity, liquidatable, fees, h.equity)


def evaluate(view: VenueView, scenario: Scenario, baseline: Mapping[Pubkey, AccountHealth | None]) -> ScenarioResult:
    """One scenario over every account of the baseline."""
    started = time.process_time()
    p = prices(view, scenario)
    accounts, unpriced = [], []
    for margin, before in baseline.items():
        try:
            if before is not None:
                accounts.append(_stress(view, margin, before, p, scenario))
                continue
        except (KeyError, health.HealthError):
            pass
        unpriced.append(margin)
    fund = view.funds.get(view.quote_mint) if view.quote_mint is not None else None
    return ScenarioResult(scenario, p, accounts, sorted(unpriced, key=str), fund.balance if fund is not None else 0, time.process_time() - started)


def default_scenarios(view: VenueView) -> list[Scenario]:
    """The built-in scenarios for this venue's markets and non-quote collateral (scenario.defaults),
    a collateral's named by its feed ("SOL/USD collateral"; its mint's first 8 characters without one)."""
    mints = {str(mint): f"{_feed_symbol(view, c.oracle) or str(mint)[:8]} collateral" for mint, c in sorted(view.configs.items(), key=lambda i: str(i[0]))
             if not c.is_quote}
    return defaults([m.symbol_str for _, m in sorted(view.markets.items())], mints)


def run(view: VenueView, scenarios: list[Scenario], slot: int, unix_timestamp: int) -> StressReport:
    """Every scenario over every account; the baseline is the snapshot's own health."""
    for s in scenarios:
        prices(view, s)  # every target resolved before the long part starts
    baseline = {margin: account_health(view, margin, 0) for margin in view.margin_accounts()}
    fund = view.funds.get(view.quote_mint) if view.quote_mint is not None else None
    judged = {m: a for m, a in baseline.items() if a is not None}
    return StressReport(slot, unix_timestamp, judged, fund.balance if fund is not None else 0, [evaluate(view, s, baseline) for s in scenarios])
