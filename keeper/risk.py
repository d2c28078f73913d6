"""The risk monitor bot (registered as `risk`) and `quantdesk risk`: the venue's risk computed from
the keeper's cache (keeper/risk_report.py), as Prometheus gauges, alert log lines and tables.

    [bots.risk]
    interval_secs = 10       # a report this often, once the cache is live
    near_fraction = 0.1      # maintenance health within this fraction of its requirement: near liquidation
    stale_secs = 30          # a feed older than this on the cluster clock: stale_oracle
    stale_slots = 75         # or older than this many slots (absent: feeds are not judged by slots)
    min_coverage = 1.0       # an insurance fund below this multiple of the total negative equity: insurance_shortfall

Each report reads the Clock sysvar (one getMultipleAccounts) for the oracle ages and sets the
`quantdesk_keeper_risk_*` gauges (labels market, side, bucket, mint, feed, action); a market or
feed gone from the cache has its series removed. An alert is logged as `risk.alert` (kind
near_liquidation keyed by margin account, stale_oracle by feed symbol, insurance_shortfall by
quote mint; with the values judged and the thresholds) when it starts (state "started", warning)
and when it clears (state "cleared", info), never in between; `risk.report` (info) sums up each
report."""
from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from prometheus_client import Gauge
from quantdesk.clients import sysvar
from quantdesk.clients.health import BASE_SCALE, BPS, QUOTE_DECIMALS
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.params import Table
from quantdesk.keeper.risk_report import ALERT_KINDS, GUARDED, AccountHealth, RiskReport, Thresholds, account_health, judge, report
from quantdesk.keeper.risk_table import render
from quantdesk.keeper.view import VenueView
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solders.pubkey import Pubkey

__all__ = ["ClockUnavailable", "RiskBot", "RiskParams", "snapshot_report", "snapshot_view", "print_report"]

CLOCK_ERRORS = (SolanaRpcException, RPCException, httpx.HTTPError, LookupError)
"""What a failed Clock sysvar read raises (the report waits for the next interval)."""


HEALTH_CHUNK = 100


class ClockUnavailable(Exception):
    """`quantdesk risk` could not read the cluster's accounts or clock in time."""


@dataclass(frozen=True, slots=True)
class RiskParams:
    interval_secs: float = 10.0
    near_fraction_bps: int = 1_000
    thresholds: Thresholds = Thresholds(30, None, BPS)

    @classmethod
    def from_table(cls, raw: dict[str, Any]) -> RiskParams:
        table = Table(raw, "bots.risk")
        table.only("interval_secs", "near_fraction", "stale_secs", "stale_slots", "min_coverage")
        interval = table.number("interval_secs", 10.0, above=True)
        near = round(table.number("near_fraction", 0.1, above=True) * BPS)
        if near < 1:
            raise InvalidValue(f"bots.risk.near_fraction: below one basis point, got {raw['near_fraction']!r}")
        stale_slots = table.optional_integer("stale_slots", low=1)
        thresholds = Thresholds(table.integer("stale_secs", 30, low=1), stale_slots, round(table.number("min_coverage", 1.0) * BPS))
        return cls(interval, near, thresholds)


QUOTE_SCALE: int = 10**QUOTE_DECIMALS


def _base(amount: int) -> float:
    return amount / BASE_SCALE


def _quote(amount: int) -> float:
    return amount / QUOTE_SCALE


class _Series:
    """The gauge series one report sets; those the previous report set and this one did not
    (a market or feed gone) are removed."""

    def __init__(self) -> None:
        self._last: dict[Gauge, set[tuple[str, ...]]] = {}
        self._now: dict[Gauge, set[tuple[str, ...]]] = {}

    def set(self, gauge: Gauge, labels: tuple[str, ...], value: float) -> None:
        gauge.labels(*labels).set(value)
        self._now.setdefault(gauge, set()).add(labels)

    def prune(self) -> None:
        for gauge, labels in self._last.items():
            for gone in labels - self._now.get(gauge, set()):
                gauge.remove(*gone)
        self._last, self._now = self._now, {}


class RiskBot:
    name = "risk"

    def __init__(self) -> None:
        self.active: dict[tuple[str, str], dict[str, Any]] = {}  # raised alerts: (kind, key) -> the values it was raised with
        self.last: RiskReport | None = None
        self._series = _Series()

    async def run(self, ctx: BotContext) -> None:
        params = RiskParams.from_table(ctx.params)
        await ctx.cache.live.wait()
        view = VenueView(ctx.cache)
        t = params.thresholds
        ctx.log.info("risk.started", interval_secs=params.interval_secs, near_fraction_bps=params.near_fraction_bps, stale_secs=t.stale_secs,
                     stale_slots=t.stale_slots, min_coverage_bps=t.min_coverage_bps)
        while True:
            await ctx.cache.live.wait()
            try:
                clock = await sysvar.fetch_clock(ctx.rpc)
            except CLOCK_ERRORS as exc:
                ctx.log.warning("risk.clock_error", error=repr(exc))
            else:
                healths = await self._healths(view, params.near_fraction_bps)
                self.observe(ctx.metrics, ctx.log, report(view, clock.slot, clock.unix_timestamp, params.near_fraction_bps, healths), t)
            await asyncio.sleep(params.interval_secs)

    @staticmethod
    async def _healths(view: VenueView, near_fraction_bps: int) -> dict[Pubkey, AccountHealth | None]:
        """Every account's health, the event loop let go every HEALTH_CHUNK accounts (the other
        bots share it: the mirror takes ~0.2 ms an account)."""
        healths = {}
        for i, margin in enumerate(list(view.margin_accounts())):
            healths[margin] = account_health(view, margin, near_fraction_bps)
            if i % HEALTH_CHUNK == HEALTH_CHUNK - 1:
                await asyncio.sleep(0)
        return healths

    def observe(self, metrics: Metrics, log: Log, r: RiskReport, t: Thresholds) -> None:
        """The report's gauges, its alerts started and cleared, and its summary line."""
        self.last = r
        self._gauges(metrics, r)
        alerts = judge(r, t)
        for alert in alerts:
            key = (alert.kind, alert.key)
            if alert.active and key not in self.active:
                self.active[key] = alert.fields
                metrics.risk_alerts.labels(alert.kind).inc()
                log.warning("risk.alert", kind=alert.kind, key=alert.key, state="started", slot=r.slot, **alert.fields)
            elif not alert.active and key in self.active:
                del self.active[key]
                log.info("risk.alert", kind=alert.kind, key=alert.key, state="cleared", slot=r.slot, **alert.fields)
        judged = {(a.kind, a.key) for a in alerts}
        for gone in [k for k in self.active if k not in judged]:  # its account or feed is gone
            del self.active[gone]
            log.info("risk.alert", kind=gone[0], key=gone[1], state="cleared", slot=r.slot, gone=True)
        for kind in ALERT_KINDS:
            metrics.risk_alerts_active.labels(kind).set(sum(k == kind for k, _ in self.active))
        metrics.risk_reports.inc()
        log.info("risk.report", slot=r.slot, markets=len(r.markets), accounts=len(r.accounts), unpriced=len(r.unpriced), buckets=r.buckets,
                 near_liquidation=len(r.near), feeds=len(r.oracles), alerts=len(self.active))

    def _gauges(self, metrics: Metrics, r: RiskReport) -> None:
        s = self._series
        for m in r.markets:
            label = m.symbol or str(m.index)
            for side, base, notional in (("long", m.long_base, m.long_notional), ("short", m.short_base, m.short_notional)):
                s.set(metrics.risk_open_interest, (label, side), _base(base))
                if notional is not None:
                    s.set(metrics.risk_open_interest_notional, (label, side), _quote(notional))
            s.set(metrics.risk_net_exposure, (label,), _base(m.net_base))
            if m.net_notional is not None:
                s.set(metrics.risk_net_exposure_notional, (label,), _quote(m.net_notional))
        for b, n in r.buckets.items():
            s.set(metrics.risk_accounts, (b,), n)
        metrics.risk_unpriced.set(len(r.unpriced))
        metrics.risk_near.set(len(r.near))
        for c in r.coverage:
            mint = str(c.mint)
            s.set(metrics.risk_fund_balance, (mint,), _quote(c.balance))
            s.set(metrics.risk_largest_shortfall, (mint,), _quote(c.largest_shortfall))
            s.set(metrics.risk_negative_equity, (mint,), _quote(c.negative_equity))
        for o in r.oracles:
            s.set(metrics.risk_oracle_age, (o.symbol,), o.age_secs)
            s.set(metrics.risk_oracle_age_slots, (o.symbol,), o.age_slots)
            for action in GUARDED:
                s.set(metrics.risk_oracle_stale, (o.symbol, action.name.lower()), float(o.stale_for(action)))
        s.prune()


async def snapshot_view(rpc_url: str, ws_url: str, timeout_secs: float) -> tuple[VenueView, sysvar.ClockSysvar]:
    """The venue from one getProgramAccounts snapshot of every venue account type, and the Clock
    sysvar (no subscription: `ws_url` is not connected to); `quantdesk stress` reads it too."""
    from quantdesk.keeper.cache import AccountCache, venue_types

    async with AsyncClient(rpc_url) as rpc:
        cache = AccountCache(rpc, ws_url, venue_types(), Metrics(), Log(level="error"), reconcile_secs=60.0, dead_after_secs=60.0)
        try:
            async with asyncio.timeout(timeout_secs):
                await cache.reconcile("snapshot")
                clock = await sysvar.fetch_clock(rpc)
        except (TimeoutError, *CLOCK_ERRORS) as exc:
            raise ClockUnavailable(f"{rpc_url}: {type(exc).__name__}: {exc}" if str(exc) else f"{rpc_url}: no answer in {timeout_secs:g} s") from None
        return VenueView(cache), clock


async def snapshot_report(rpc_url: str, ws_url: str, near_fraction_bps: int, timeout_secs: float) -> RiskReport:
    """One report from `snapshot_view`."""
    view, clock = await snapshot_view(rpc_url, ws_url, timeout_secs)
    return report(view, clock.slot, clock.unix_timestamp, near_fraction_bps)


def print_report(rpc_url: str, ws_url: str, near_fraction: float, timeout_secs: float, out: TextIO | None = None) -> int:
    """`quantdesk risk`: the tables printed once; 1 when the node cannot be read."""
    try:
        r = asyncio.run(snapshot_report(rpc_url, ws_url, round(near_fraction * BPS), timeout_secs))
    except ClockUnavailable as exc:
        print(f"quantdesk risk: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(render(r), file=out or sys.stdout)
    return 0
