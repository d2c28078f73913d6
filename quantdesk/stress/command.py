"""`quantdesk stress`: one getProgramAccounts snapshot of the venue (keeper/risk.py
`snapshot_view`), the scenarios (a TOML file, or the built-in defaults for the venue's markets
and collateral) run over every account, the tables printed and the HTML report written."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from quantdesk.keeper.risk import ClockUnavailable, snapshot_view
from quantdesk.stress import page, scenario
from quantdesk.stress.engine import StressReport, default_scenarios, run
from quantdesk.stress.table import render

__all__ = ["main", "stress"]


async def stress(rpc_url: str, scenarios: list[scenario.Scenario] | None, timeout_secs: float) -> StressReport:
    """The scenarios (None: the defaults) over the venue at `rpc_url`."""
    view, clock = await snapshot_view(rpc_url, "", timeout_secs)
    return run(view, scenarios if scenarios is not None else default_scenarios(view), clock.slot, clock.unix_timestamp)


def main(rpc_url: str, scenario_file: Path | None, directory: Path, top: int, timeout_secs: float, out: TextIO | None = None) -> int:
    """The tables printed, the report written; 2 for a bad scenario, 1 when the node cannot be read."""
    if top < 1:
        print(f"quantdesk stress: --top {top}: at least 1", file=sys.stderr)
        return 2
    try:
        scenarios = scenario.load(scenario_file) if scenario_file is not None else None
        report = asyncio.run(stress(rpc_url, scenarios, timeout_secs))
    except scenario.ScenarioError as exc:
        print(f"quantdesk stress: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except ClockUnavailable as exc:
        print(f"quantdesk stress: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    stream = out or sys.stdout
    print(render(report, top), file=stream)
    print(f"\nwrote {page.write(report, directory, top)}", file=stream)
    return 0
