"""The stress benchmark (`make bench` writes target/bench/stress.json): `quantdesk stress` over
10,000 margin accounts with positions (quantdesk/bench/keeper_accounts.py: a LiteSVM venue's long
and short copied, each copy's deposit its own), loaded into a fresh local validator: the time to
read the venue over RPC (one getProgramAccounts snapshot per account type, decoded, the view
built) and to run the built-in scenarios over every account, and what they find."""
from __future__ import annotations

import time
from typing import Any

from quantdesk.bench.keeper_accounts import build
from quantdesk.keeper.risk import snapshot_view
from quantdesk.localnet.venue_node import node_with
from quantdesk.stress.engine import default_scenarios, run

__all__ = ["COUNT", "measure"]

COUNT = 10_000


async def measure(count: int = COUNT) -> dict[str, Any]:
    started = time.monotonic()
    book = build(count)
    built = time.monotonic() - started
    async with node_with(book.venue) as node:
        loaded = time.monotonic() - started - built
        at = time.monotonic()
        view, clock = await snapshot_view(node.process.rpc_url, "", 600)
        snapshot = time.monotonic() - at
    scenarios = default_scenarios(view)
    at, cpu = time.monotonic(), time.process_time()
    report = run(view, scenarios, clock.slot, clock.unix_timestamp)
    wall, cpu = time.monotonic() - at, time.process_time() - cpu
    accounts = len(report.baseline)
    per_scenario = {r.scenario.name: {"cpu_secs": round(r.seconds, 2), "liquidatable": len(r.liquidatable), "bankrupt": len(r.bankrupt),
                                      "shortfall": r.shortfall} for r in report.results}
    figures: dict[str, Any] = {"accounts": accounts, "scenarios": len(scenarios), "snapshot_secs": round(snapshot, 2), "stress_secs": round(wall, 2),
               "stress_cpu_secs": round(cpu, 2), "ms_per_account_scenario": round(cpu * 1_000 / (accounts * len(scenarios)), 4),
               "setup_secs": {"build": round(built, 1), "load": round(loaded, 1)}, "per_scenario": per_scenario}
    print(f"  {accounts} accounts, {len(scenarios)} scenarios: snapshot over RPC {figures['snapshot_secs']} s, stress {figures['stress_secs']} s "
          f"(CPU {figures['stress_cpu_secs']} s, {figures['ms_per_account_scenario']} ms per account and scenario); set-up {figures['setup_secs']}")
    for name, r in per_scenario.items():
        print(f"    {name}: {r['liquidatable']} liquidatable, {r['bankrupt']} bankrupt, shortfall {r['shortfall'] / 1e6:,.2f}, CPU {r['cpu_secs']} s")
    return figures
