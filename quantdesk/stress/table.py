"""A `StressReport` (quantdesk/stress/engine.py) as the tables `quantdesk stress` prints: one line
per scenario, then each scenario's largest contributors. Presentation only."""
from __future__ import annotations

from quantdesk.clients.health import format_quote, format_ratio
from quantdesk.keeper.risk_table import table
from quantdesk.stress.engine import ScenarioResult, StressReport

__all__ = ["render"]


def _contributors(r: ScenarioResult, top: int) -> list[str]:
    return table(f"{r.scenario.name}: largest contributors", ("margin account", "health factor before", "after", "maint health after", "equity after",
                                                               "liquidation fees", "equity end", "shortfall", "state"),
                 [(str(a.margin), format_ratio(a.before.health_factor_bps), format_ratio(a.health_factor_bps), format_quote(a.maint_health),
                   format_quote(a.equity), format_quote(a.liquidation_fees), format_quote(a.equity_end), format_quote(a.shortfall),
                   "bankrupt" if a.bankrupt else "newly liquidatable" if a.newly_liquidatable else "liquidatable" if a.liquidatable else "healthy")
                  for a in r.top(top)])


def render(s: StressReport, top: int = 5, brief: bool = False) -> str:
    """The header and the scenarios' table, then (unless `brief`) what each changes and its `top` contributors."""
    liquidatable_before = sum(a.liquidatable for a in s.baseline.values())
    lines = [f"QuantDesk stress at slot {s.slot}, unix time {s.unix_timestamp}: {len(s.baseline)} accounts, {liquidatable_before} liquidatable "
             f"before, insurance fund {format_quote(s.fund_balance)}", ""]
    lines += table("Scenarios", ("scenario", "liquidatable", "newly", "bankrupt", "shortfall", "fund", "uncovered", "halted feeds", "unpriced"),
                   [(r.scenario.name, str(len(r.liquidatable)), str(len(r.newly_liquidatable)), str(len(r.bankrupt)), format_quote(r.shortfall),
                     format_quote(r.fund_balance), format_quote(r.uncovered), ", ".join(r.prices.halted) or "-", str(len(r.unpriced)))
                    for r in s.results])
    if brief:
        return "\n".join(lines)
    lines += table("What each scenario changes", ("scenario", "change"), [(r.scenario.name, r.scenario.summary()) for r in s.results])
    for r in s.results:
        lines += _contributors(r, top)
    return "\n".join(lines)
