"""`quantdesk stress` against the local validator (a LiteSVM venue loaded by
quantdesk.localnet.load): the command as a process, its tables and report files; the accounts
the stress says become liquidatable at -30% are exactly those qd-core's view_liquidation finds
liquidatable, over RPC, once that price is published, with the same maintenance health; a bad
scenario file and an unreachable node refused by name."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from anchorpy import Provider, Wallet
from quantdesk.clients import core
from quantdesk.clients.trading import Side

from quantdesk.bench.stress import measure
from quantdesk.localnet import free_port
from quantdesk.localnet.venue_node import WAIT, node_with
from quantdesk.stress.command import stress
from quantdesk.stress.scenario import Scenario
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PRICE, USDC, Trader, Venue, order


def trade(v: Venue, t: Trader, side: Side, size: int, maker: Trader) -> Trader:
    order_id = v.placed_id(t, order(side, MARKET, IOC, size=size, price=102 * USDC if side == BID else 98 * USDC))
    v.chain.advance(2, 2)
    assert v.make_at_auction(maker, t, order_id, size).ok
    return t


def venue() -> tuple[Venue, list[Trader]]:
    """Longs and shorts of 10 base on 250 to 400 USDC (at -30% the longs on less than ~340 are liquidatable)."""
    v = Venue()
    assert v.create_insurance_fund().ok
    assert v.stake(v.staker(), 5 * USDC).ok
    maker = v.trader(1_000_000 * USDC)
    traders = [trade(v, v.trader(deposit * USDC), side, 10 * BASE, maker) for deposit in (250, 300, 330, 360, 400) for side in (BID, ASK)]
    v.publish(PRICE)
    return v, [maker, *traders]


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "quantdesk", "stress", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_stress_over_rpc_agrees_with_view_liquidation_after_the_price_is_published(tmp_path: Path) -> None:
    v, traders = venue()
    scenarios = tmp_path / "s.toml"
    scenarios.write_text('[[scenario]]\nname = "SOL -30%"\nprices = { "SOL-PERP" = -30 }\n'
                         '[[scenario]]\nname = "SOL +30%, illiquid"\nprices = { "SOL-PERP" = 30 }\nliquidation = { liquidator_fee_add_bps = 100 }\n')
    async with node_with(v) as node:
        code, out, err = await run_cli("--rpc", node.process.rpc_url, "--scenarios", str(scenarios), "--out", str(tmp_path / "reports"))
        assert code == 0, err
        report = await stress(node.process.rpc_url, [Scenario("SOL -30%", {"SOL-PERP": -3_000})], WAIT)
        [down] = report.results
        await node.publish(70 * USDC)
        cc = core.CoreClient(Provider(node.client, Wallet(v.chain.payer)))
        views = {t.margin: await cc.fetch_liquidation_view(t.margin) for t in traders}
    stressed = {a.margin: a for a in down.accounts}
    assert set(stressed) == set(views) and len(down.liquidatable) >= 2
    for margin, view in views.items():
        assert (view.liquidatable, view.maint_health) == (stressed[margin].liquidatable, stressed[margin].maint_health)
    lines = [line.split() for line in out.splitlines()]
    assert out.startswith("QuantDesk stress at slot ") and f"{len(traders)} accounts, 0 liquidatable before, insurance fund 5.000000" in out
    figures = json.loads((tmp_path / "reports" / "stress.json").read_text())
    by = {s["name"]: s for s in figures["scenarios"]}
    assert by["SOL -30%"]["liquidatable"] == len(down.liquidatable) and by["SOL -30%"]["shortfall"] == down.shortfall
    assert ["SOL", "-30%", str(len(down.liquidatable)), str(len(down.newly_liquidatable)), str(len(down.bankrupt))] == \
        next(line[:5] for line in lines if line[:2] == ["SOL", "-30%"])
    assert by["SOL +30%, illiquid"]["bankrupt"] >= 1 and (tmp_path / "reports" / "stress.html").stat().st_size > 10_000


async def test_the_default_scenarios_run_and_bad_input_is_refused_by_name(tmp_path: Path) -> None:
    v, _ = venue()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenario]]\nname = "x"\nprices = { "BTC-PERP" = -30 }\n')
    async with node_with(v) as node:
        code, out, err = await run_cli("--rpc", node.process.rpc_url, "--out", str(tmp_path / "reports"), "--top", "2")
        assert code == 0, err
        assert "SOL-PERP -30%" in out and "illiquid, all -30%" in out and "confidence x10" in out
        code, _, err = await run_cli("--rpc", node.process.rpc_url, "--scenarios", str(bad))
        assert code == 2 and "UnknownTarget" in err and "'BTC-PERP'" in err
    code, _, err = await run_cli("--rpc", f"http://127.0.0.1:{free_port()}", "--timeout-secs", "1")
    assert code == 1 and "ClockUnavailable" in err
    code, _, err = await run_cli("--rpc", f"http://127.0.0.1:{free_port()}", "--top", "0")
    assert code == 2 and "--top 0" in err


async def test_the_benchmark_runs_on_a_small_book() -> None:
    figures = await measure(100)
    # The 100 copies, their two templates, the maker and the liquidator.
    assert figures["accounts"] == 104 and figures["scenarios"] == 6 and figures["stress_secs"] > 0
    assert figures["per_scenario"]["all -30%"]["liquidatable"] > 0 and figures["per_scenario"]["confidence x10"]["liquidatable"] == 0
