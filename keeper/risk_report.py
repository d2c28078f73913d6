"""The risk monitor's numbers: a pure function from the venue as the keeper's cache holds it
(keeper/view.py) and the cluster clock to a `RiskReport`, and the alerts a report raises against
thresholds. The risk bot (keeper/risk.py) and `quantdesk risk` both use it; keeper/risk_table.py
prints it.

- markets: open interest long and short summed from the accounts' positions (and the market's
  own counters beside them), the net exposure, notionals at the oracle price;
- accounts: each one's health through the health mirror (clients/health.py, the program's
  numbers), bucketed by health factor; those whose maintenance health is within
  `near_fraction_bps` of its requirement (the maintenance liabilities) are near liquidation,
  listed by that distance with each position's liquidation price;
- insurance: per quote mint, the fund's balance against the largest single account's negative
  equity and against the total negative equity;
- oracles: per feed, seconds since publish_time on the cluster clock and slots since
  publish_slot, against the feed's Trade and Liquidation guards (a guard refuses a price older
  than its max_staleness_secs or max_staleness_slots)."""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quantdesk.clients import health
from quantdesk.clients.health import BASE_SCALE, BPS
from quantdesk.clients.oracle import Action, normalized_price
from quantdesk.keeper.view import VenueView
from solders.pubkey import Pubkey

__all__ = ["ALERT_KINDS", "AccountHealth", "Alert", "BUCKETS", "BUCKET_EDGES_BPS", "Coverage", "GUARDED", "MarketRisk", "OracleRisk", "RiskReport",
           "Thresholds", "account_health", "bucket", "judge", "report"]

BUCKET_EDGES_BPS = (10_000, 11_000, 12_500, 15_000, 20_000)
BUCKETS = ("<1", "1-1.1", "1.1-1.25", "1.25-1.5", "1.5-2", ">=2", "none")
"""Health-factor buckets, lowest first; "none": no maintenance liabilities (no health factor)."""
GUARDED = (Action.TRADE, Action.LIQUIDATION)
"""The actions whose staleness limits each feed is judged against."""
ALERT_KINDS = ("near_liquidation", "stale_oracle", "insurance_shortfall")


def bucket(health_factor_bps: int | None) -> str:
    """The bucket of a health factor: [lower edge, upper edge)."""
    return BUCKETS[-1] if health_factor_bps is None else BUCKETS[bisect_right(BUCKET_EDGES_BPS, health_factor_bps)]


def _notional(base: int, price: int | None) -> int | None:
    return None if price is None else base * price // BASE_SCALE


@dataclass(frozen=True, slots=True)
class MarketRisk:
    index: int
    symbol: str
    price: int | None
    """The oracle price (6 decimals; None: its feed is not cached or has no price)."""
    long_base: int
    """The long positions' base summed (9 decimals)."""
    short_base: int
    """The short positions' |base| summed."""
    recorded_long: int
    """The market's own open_interest_long (equal to long_base when the cache is consistent)."""
    recorded_short: int
    positions: int

    @property
    def net_base(self) -> int:
        return self.long_base - self.short_base

    @property
    def long_notional(self) -> int | None:
        return _notional(self.long_base, self.price)

    @property
    def short_notional(self) -> int | None:
        return _notional(self.short_base, self.price)

    @property
    def net_notional(self) -> int | None:
        return _notional(self.net_base, self.price)


@dataclass(frozen=True, slots=True)
class AccountHealth:
    margin: Pubkey
    owner: Pubkey
    health_factor_bps: int | None
    maint_health: int
    requirement: int
    """The maintenance liabilities: debts, losses and margin requirements (quote units)."""
    equity: int
    being_liquidated: bool
    liquidation_prices: dict[int, int | None]
    """Near liquidation only (else empty): per position's market, the mirror's liquidation price (the other positions held)."""
    move_bps: int | None
    """Near liquidation only: the smallest oracle move, in bps of the price, that reaches one of those prices."""

    @property
    def bucket(self) -> str:
        return bucket(self.health_factor_bps)

    @property
    def distance_bps(self) -> int | None:
        """Maintenance health in bps of the requirement (negative: liquidatable); None without one."""
        return None if self.requirement == 0 else self.maint_health * BPS // self.requirement

    @property
    def liquidatable(self) -> bool:
        return self.maint_health < 0


@dataclass(frozen=True, slots=True)
class Coverage:
    mint: Pubkey
    fund: Pubkey | None
    """The quote's insurance fund (None: it has none)."""
    balance: int
    largest_shortfall: int
    """The largest single account's negative equity (0: none short)."""
    largest_account: Pubkey | None
    negative_equity: int
    """Every account's negative equity summed."""
    accounts_short: int

    @property
    def largest_coverage_bps(self) -> int | None:
        return None if self.largest_shortfall == 0 else self.balance * BPS // self.largest_shortfall

    @property
    def total_coverage_bps(self) -> int | None:
        return None if self.negative_equity == 0 else self.balance * BPS // self.negative_equity


@dataclass(frozen=True, slots=True)
class OracleRisk:
    feed: Pubkey
    symbol: str
    price: int
    """Normalized to 6 decimals, as read_price gives it."""
    publish_time: int
    publish_slot: int
    age_secs: int
    age_slots: int
    limits: dict[Action, tuple[int, int]]
    """Per guarded action, the feed guard's (max_staleness_secs, max_staleness_slots)."""

    def stale_for(self, action: Action) -> bool:
        """The action's guard refuses the price as too old (by seconds or by slots)."""
        secs, slots = self.limits[action]
        return self.age_secs > secs or self.age_slots > slots


@dataclass(frozen=True, slots=True)
class RiskReport:
    slot: int
    unix_timestamp: int
    near_fraction_bps: int
    markets: list[MarketRisk]
    accounts: dict[Pubkey, AccountHealth]
    unpriced: list[Pubkey]
    """Accounts not judged: an input (a market, a config, a price) is not cached."""
    coverage: list[Coverage]
    oracles: list[OracleRisk]

    @property
    def buckets(self) -> dict[str, int]:
        counts = dict.fromkeys(BUCKETS, 0)
        for a in self.accounts.values():
            counts[a.bucket] += 1
        return counts

    @property
    def near(self) -> list[AccountHealth]:
        """Accounts whose maintenance health is below near_fraction of the requirement, nearest first."""
        near = [a for a in self.accounts.values() if _near(a.maint_health, a.requirement, self.near_fraction_bps)]
        return sorted(near, key=lambda a: (a.maint_health * BPS // a.requirement, str(a.margin)))


def _near(maint_health: int, requirement: int, near_fraction_bps: int) -> bool:
    return requirement > 0 and maint_health * BPS < near_fraction_bps * requirement


def account_health(view: VenueView, margin: Pubkey, near_fraction_bps: int) -> AccountHealth | None:
    """The account's health; None when an input is not cached (or the engine refuses one)."""
    try:
        h, inputs = view.health(margin)
        # The bisections are dear: only the accounts near liquidation list their liquidation prices.
        near = _near(h.maint_health(), h.liabilities_maint, near_fraction_bps)
        prices = {market.index: h.liquidation_price(p) for market, p in inputs} if near else {}
    except (KeyError, health.HealthError):
        return None
    moves = [abs(lp - p.price) * BPS // p.price for (market, p) in inputs if (lp := prices.get(market.index)) is not None]
    account = view.margins[margin]
    return AccountHealth(margin, account.owner, h.health_factor_bps(), h.maint_health(), h.liabilities_maint, h.equity, account.being_liquidated, prices,
                         min(moves, default=None))


def report(view: VenueView, slot: int, unix_timestamp: int, near_fraction_bps: int,
           healths: Mapping[Pubkey, AccountHealth | None] | None = None) -> RiskReport:
    """The venue's risk at the cached state, `slot` and `unix_timestamp` being the cluster clock's;
    `healths`: every account's `account_health`, when the caller computed them already."""
    long: dict[int, int] = {}
    short: dict[int, int] = {}
    positions: dict[int, int] = {}
    for trading in view.trading.values():
        for p in trading.positions:
            if p.base > 0:
                long[p.market_index] = long.get(p.market_index, 0) + p.base
            elif p.base < 0:
                short[p.market_index] = short.get(p.market_index, 0) - p.base
            positions[p.market_index] = positions.get(p.market_index, 0) + (p.base != 0)
    markets = [MarketRisk(i, m.symbol_str, view.market_price(i), long.get(i, 0), short.get(i, 0), m.open_interest_long, m.open_interest_short,
                          positions.get(i, 0)) for i, m in sorted(view.markets.items())]
    accounts: dict[Pubkey, AccountHealth] = {}
    unpriced: list[Pubkey] = []
    if healths is None:
        healths = {margin: account_health(view, margin, near_fraction_bps) for margin in view.margin_accounts()}
    for margin, account in healths.items():
        if account is None:
            unpriced.append(margin)
        else:
            accounts[margin] = account
    # Equity is in quote units: each quote mint's fund answers for all of it.
    short_accounts = sorted(((-a.equity, a.margin) for a in accounts.values() if a.equity < 0), key=lambda s: (-s[0], str(s[1])))
    coverage = []
    for mint in sorted((c.mint for c in view.configs.values() if c.is_quote), key=str):
        fund = view.funds.get(mint)
        coverage.append(Coverage(mint, fund.address if fund else None, fund.balance if fund else 0, short_accounts[0][0] if short_accounts else 0,
                                 short_accounts[0][1] if short_accounts else None, sum(s for s, _ in short_accounts), len(short_accounts)))
    oracles = [OracleRisk(f.address, f.symbol, normalized_price(f), f.publish_time, f.publish_slot, unix_timestamp - f.publish_time, slot - f.publish_slot,
                          {a: (f.guards[a].max_staleness_secs, f.guards[a].max_staleness_slots) for a in GUARDED})
               for f in sorted(view.feeds.values(), key=lambda f: f.symbol)]
    return RiskReport(slot, unix_timestamp, near_fraction_bps, markets, accounts, sorted(unpriced, key=str), coverage, oracles)


@dataclass(frozen=True, slots=True)
class Thresholds:
    stale_secs: int
    """A feed older than this on the cluster clock raises stale_oracle."""
    stale_slots: int | None
    """And older than this many slots (None: not judged by slots)."""
    min_coverage_bps: int
    """The fund's balance below this share of the total negative equity raises insurance_shortfall."""


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    key: str
    active: bool
    fields: dict[str, Any]


def judge(r: RiskReport, t: Thresholds) -> list[Alert]:
    """Every alert candidate of the report, raised (`active`) or not, with the values it was judged on."""
    alerts = []
    near = {a.margin for a in r.near}
    for a in r.accounts.values():
        if a.requirement > 0:
            alerts.append(Alert("near_liquidation", str(a.margin), a.margin in near, {
                "distance_bps": a.distance_bps, "near_fraction_bps": r.near_fraction_bps, "maint_health": a.maint_health, "requirement": a.requirement,
                "health_factor_bps": a.health_factor_bps, "move_bps": a.move_bps, "liquidatable": a.liquidatable}))
    for o in r.oracles:
        stale = o.age_secs > t.stale_secs or (t.stale_slots is not None and o.age_slots > t.stale_slots)
        alerts.append(Alert("stale_oracle", o.symbol, stale, {
            "feed": str(o.feed), "age_secs": o.age_secs, "age_slots": o.age_slots, "stale_secs": t.stale_secs, "stale_slots": t.stale_slots,
            **{f"{a.name.lower()}_stale": o.stale_for(a) for a in GUARDED}}))
    for c in r.coverage:
        short = c.balance * BPS < t.min_coverage_bps * c.negative_equity
        alerts.append(Alert("insurance_shortfall", str(c.mint), short, {
            "balance": c.balance, "negative_equity": c.negative_equity, "largest_shortfall": c.largest_shortfall,
            "largest_account": str(c.largest_account) if c.largest_account else None, "min_coverage_bps": t.min_coverage_bps}))
    return alerts
