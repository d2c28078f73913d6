"""The risk monitor against the local validator over real RPC and PubSub: its report's numbers
against values computed here from the accounts read over RPC and from the program's own
view_health (open interest, buckets, near liquidation, insurance coverage, oracle ages), its
gauges; alerts started once and cleared once as prices move an account into and out of the
near-liquidation band and the fund's coverage, and as the clock is warped past a feed's
staleness; `quantdesk risk` printing the tables as a process; parameters refused by name."""
from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from quantdesk.clients import collateral, core, oracle
from quantdesk.clients import trading_state as ts
from quantdesk.clients.health import BASE_SCALE, BPS
from quantdesk.clients.rpc import AccountReads
from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.logs import Log
from quantdesk.keeper.risk import RiskBot, RiskParams
from quantdesk.keeper.risk_report import BUCKETS, RiskReport, bucket
from quantdesk.keeper.risk_table import format_base
from quantdesk.keeper.runtime import Keeper, running
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.localnet import free_port
from quantdesk.localnet.venue_node import WAIT, Node, node_with, until
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, SOL, SOL_PARAMS, SOL_PRICE, USDC, Trader, Venue, order


def trade(v: Venue, t: Trader, side: Any, size: int, maker: Trader, market: int = 0) -> Trader:
    """`t` takes `size` on `side` of `market` in its auction near 100, `maker` on the other side."""
    price = 102 * USDC if side == BID else 98 * USDC
    order_id = v.placed_id(t, order(side, MARKET, IOC, size=size, price=price, market=market))
    v.advance(2)
    assert v.make_at_auction(maker, t, order_id, size).ok
    return t


def bot(k: Keeper) -> RiskBot:
    b = k.bots["risk"]
    assert isinstance(b, RiskBot)
    return b


async def report_after(k: Keeper, done: Any = lambda r: True, what: str = "a report") -> RiskReport:
    """The first report from now on that satisfies `done`."""
    b = bot(k)
    seen = b.last

    def fresh() -> bool:
        return b.last is not None and b.last is not seen and done(b.last)

    await until(fresh, what)
    assert b.last is not None
    return b.last


def gauge(k: Keeper, name: str, *labels: str) -> float:
    value: float = getattr(k.metrics, name).labels(*labels)._value.get()
    return value


async def chain_state(node: Node, margins: list[Pubkey]) -> dict[str, Any]:
    """Margin accounts' balances and trading accounts, markets, configs and feeds, read over RPC."""
    v = node.venue
    reads = AccountReads(node.client)
    markets = [ts.market_address(i) for i in v.feeds]
    feeds = [*v.feeds.values(), v.sol_feed]
    keys = [*(collateral.balances_address(m) for m in margins), *(ts.trading_address(m) for m in margins), *markets, *feeds,
            core.insurance_fund_address(v.usdc)]
    await reads.load(keys)
    return {
        "balances": {m: collateral.decode_balances(collateral.balances_address(m), reads.data(collateral.balances_address(m), collateral.PROGRAM_ID))
                     for m in margins},
        "trading": {m: ts.decode_trading_account(reads.data(ts.trading_address(m), ts.PROGRAM_ID)) for m in margins},
        "markets": {i: ts.decode_market(reads.data(ts.market_address(i), ts.PROGRAM_ID)) for i in v.feeds},
        "feeds": {f: oracle.decode_feed(f, reads.data(f, oracle.PROGRAM_ID)) for f in feeds},
        "fund": core.decode_insurance_fund(core.insurance_fund_address(v.usdc), reads.data(core.insurance_fund_address(v.usdc), core.PROGRAM_ID)),
    }


def equity(state: dict[str, Any], v: Venue, margin: Pubkey) -> int:
    """Collateral at its price plus every position's PnL at its oracle (no funding accrued here)."""
    prices = {f: feed.price for f, feed in state["feeds"].items()}  # expo -6: already 6 decimals
    total = 0
    for e in state["balances"][margin].entries:
        total += e.balance if e.mint == v.usdc else e.balance * prices[v.sol_feed] // SOL
    for p in state["trading"][margin].positions:
        market = state["markets"][p.market_index]
        assert p.funding_snapshot == ts.funding_index(market, p.base)
        total += p.base * prices[v.feeds[p.market_index]] // BASE_SCALE + p.quote_entry + p.realized_pnl
    return total


async def test_the_report_matches_the_accounts_the_program_and_the_feeds(tmp_path: Path) -> None:
    v = Venue(markets=("SOL-PERP", "ETH-PERP"), asset=SOL_PARAMS)
    assert v.create_insurance_fund().ok
    staker = v.staker()
    assert v.stake(staker, 2_000 * USDC).ok
    maker = v.trader(1_000_000 * USDC)
    underwater = trade(v, v.trader(1_300 * USDC), BID, 95 * BASE, maker)
    short = trade(v, v.trader(260 * USDC), ASK, 20 * BASE, maker, market=1)
    healthy = trade(v, v.trader(5_000 * USDC), BID, 5 * BASE, maker, market=1)
    sol_backed = v.trader(0)
    v.fund(sol_backed.owner, v.sol, 10 * SOL)
    assert v.deposit(sol_backed, v.sol, 10 * SOL).ok
    trade(v, sol_backed, BID, 8 * BASE, maker)
    idle = v.trader(500 * USDC)
    v.publish(78 * USDC, 0)  # the 95 long underwater
    v.publish(106 * USDC, 1)  # the short near its liquidation
    v.publish(SOL_PRICE, v.sol_feed)
    traders = [maker, underwater, short, healthy, sol_backed, idle]
    margins = [t.margin for t in traders]
    program = {m: v.view(m, oracle.Action.LIQUIDATION) for m in margins}  # qd-collateral's view_health (the Liquidation guards: no EMA band)
    async with node_with(v) as node, running(node.keeper_config(tmp_path, Keypair(), {"risk": {"interval_secs": 0.1}}),
                                             Log(level="error")) as k:
        await asyncio.wait_for(k.cache.live.wait(), WAIT)
        before = await node.call("qd_getClock")
        r = await report_after(k, lambda r: len(r.accounts) == len(margins))
        after = await node.call("qd_getClock")
        state = await chain_state(node, margins)

    # Open interest summed from the trading accounts, and the markets' own counters.
    for m in r.markets:
        positions = [p.base for t in state["trading"].values() for p in t.positions if p.market_index == m.index]
        assert (m.long_base, m.short_base) == (sum(b for b in positions if b > 0), -sum(b for b in positions if b < 0))
        assert (m.recorded_long, m.recorded_short) == (state["markets"][m.index].open_interest_long, state["markets"][m.index].open_interest_short)
        assert m.long_base == m.recorded_long and m.positions == sum(b != 0 for b in positions)
        price = state["feeds"][v.feeds[m.index]].price
        assert (m.price, m.long_notional, m.net_notional) == (price, m.long_base * price // BASE_SCALE, m.net_base * price // BASE_SCALE)
    assert [(m.symbol, m.long_base) for m in r.markets] == [("SOL-PERP", 103 * BASE), ("ETH-PERP", 20 * BASE)]
    # Health factors and maintenance health as the program computes them; the buckets they make.
    for m in margins:
        a = r.accounts[m]
        assert (a.health_factor_bps, a.maint_health) == (program[m].health_factor_bps, program[m].maint_health), m
        assert a.bucket == bucket(program[m].health_factor_bps)
    assert r.accounts.keys() == set(margins) and not r.unpriced
    expected = {b: sum(bucket(program[m].health_factor_bps) == b for m in margins) for b in BUCKETS}
    assert r.buckets == expected
    assert expected["<1"] == 1 and expected["none"] == 1 and expected[">=2"] >= 2
    # Near liquidation: maintenance health below 10% of the requirement, i.e. a health factor below 1.1.
    near = {m for m in margins if program[m].health_factor_bps is not None and program[m].health_factor_bps < 11_000}
    assert {a.margin for a in r.near} == near == {underwater.margin, short.margin}
    assert [a.margin for a in r.near] == [underwater.margin, short.margin]  # nearest first: the underwater one is past it
    assert r.near[0].liquidatable and not r.near[1].liquidatable and 0 <= r.near[1].distance_bps < 1_000  # type: ignore[operator]
    assert r.near[1].liquidation_prices.keys() == {1} and r.near[1].move_bps is not None and r.near[1].move_bps < 200
    # Insurance: the fund against the one account's negative equity.
    equities = {m: equity(state, v, m) for m in margins}
    assert [m for m, e in equities.items() if e < 0] == [underwater.margin]
    [c] = r.coverage
    assert (c.mint, c.fund, c.balance) == (v.usdc, state["fund"].address, state["fund"].balance) and c.balance == 2_000 * USDC
    assert (c.largest_shortfall, c.largest_account, c.negative_equity, c.accounts_short) == (-equities[underwater.margin], underwater.margin,
                                                                                            -equities[underwater.margin], 1)
    assert c.total_coverage_bps == c.balance * BPS // c.negative_equity
    # Oracles: ages on the cluster clock against the feeds' guards.
    assert before["unixTimestamp"] <= r.unix_timestamp <= after["unixTimestamp"] and before["slot"] <= r.slot <= after["slot"]
    assert [o.symbol for o in r.oracles] == ["ETH-PERP", "SOL-PERP", "SOL/USD"]
    for o in r.oracles:
        feed = state["feeds"][o.feed]
        assert (o.publish_time, o.publish_slot, o.price) == (feed.publish_time, feed.publish_slot, feed.price)
        assert (o.age_secs, o.age_slots) == (r.unix_timestamp - feed.publish_time, r.slot - feed.publish_slot)
        assert o.limits[oracle.Action.LIQUIDATION] == (feed.guards[oracle.Action.LIQUIDATION].max_staleness_secs,
                                                      feed.guards[oracle.Action.LIQUIDATION].max_staleness_slots) == (60, 150)
    # The gauges of that report (whole base units, quote units).
    assert gauge(k, "risk_open_interest", "SOL-PERP", "long") == 103 and gauge(k, "risk_open_interest", "ETH-PERP", "short") == 20
    assert gauge(k, "risk_accounts", "<1") == 1 and gauge(k, "risk_fund_balance", str(v.usdc)) == 2_000
    assert k.metrics.risk_near._value.get() == 2


def alerts(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, buffer.getvalue().splitlines()) if line["event"] == "risk.alert"]


def started_cleared(buffer: io.StringIO, kind: str, key: str) -> tuple[int, int]:
    mine = [a for a in alerts(buffer) if a["kind"] == kind and a["key"] == key]
    return sum(a["state"] == "started" for a in mine), sum(a["state"] == "cleared" for a in mine)


async def publish(node: Node, price: int, last: list[int]) -> None:
    """`price` on market 0's feed, stamped after the previous publish (the clock moves a second every 10 slots)."""
    async def later() -> None:
        while await node.now() <= last[0]:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(later(), WAIT)
    await node.publish(price)
    last[0] = await node.now()


async def test_alerts_start_and_clear_once_as_prices_move_and_a_feed_goes_stale(tmp_path: Path) -> None:
    v = Venue()
    assert v.create_insurance_fund().ok
    staker = v.staker()
    assert v.stake(staker, 5_000 * USDC).ok
    maker = v.trader(1_000_000 * USDC)
    long = trade(v, v.trader(1_300 * USDC), BID, 95 * BASE, maker)
    buffer = io.StringIO()
    params = {"interval_secs": 0.1, "near_fraction": 0.1, "stale_secs": 30, "min_coverage": 10}
    async with node_with(v) as node, running(node.keeper_config(tmp_path, Keypair(), {"risk": params}), Log(buffer, level="info")) as k:
        await asyncio.wait_for(k.cache.live.wait(), WAIT)
        last = [await node.now()]
        r = await report_after(k)
        assert not alerts(buffer) and not r.near and r.accounts[long.margin].bucket == ">=2"
        key = str(long.margin)
        await publish(node, 91_500_000, last)  # health factor about 1.05
        await until(lambda: started_cleared(buffer, "near_liquidation", key) == (1, 0), "near_liquidation started")
        await report_after(k, lambda r: long.margin in {a.margin for a in r.near})
        await report_after(k)  # another interval: not logged again
        assert started_cleared(buffer, "near_liquidation", key) == (1, 0)
        [line] = [a for a in alerts(buffer) if a["state"] == "started"]
        assert line["level"] == "warning" and line["near_fraction_bps"] == 1_000 and 0 <= line["distance_bps"] < 1_000 and not line["liquidatable"]
        await publish(node, 100 * USDC, last)
        await until(lambda: started_cleared(buffer, "near_liquidation", key) == (1, 1), "near_liquidation cleared")
        assert [a for a in alerts(buffer) if a["state"] == "cleared"][0]["distance_bps"] >= 1_000
        # Underwater: near again, and the fund (5,000) is below 10x the negative equity (~790).
        await publish(node, 78 * USDC, last)
        mint = str(v.usdc)
        await until(lambda: started_cleared(buffer, "insurance_shortfall", mint) == (1, 0) and started_cleared(buffer, "near_liquidation", key) == (2, 1),
                    "insurance_shortfall and near_liquidation started")
        [short] = [a for a in alerts(buffer) if a["kind"] == "insurance_shortfall"]
        assert short["balance"] == 5_000 * USDC and 10 * short["negative_equity"] > 5_000 * USDC and short["largest_account"] == key
        assert k.metrics.risk_alerts_active.labels("insurance_shortfall")._value.get() == 1
        await publish(node, 100 * USDC, last)
        await until(lambda: started_cleared(buffer, "insurance_shortfall", mint) == (1, 1) and started_cleared(buffer, "near_liquidation", key) == (2, 2),
                    "both cleared")
        # The clock warped two minutes on: the feed is 120 s old (stale_secs 30), past its Liquidation guard's 60 s.
        symbol = "SOL-PERP"
        assert started_cleared(buffer, "stale_oracle", symbol) == (0, 0)
        await node.call("qd_setClock", {"unixTimestamp": await node.now() + 120})
        await until(lambda: started_cleared(buffer, "stale_oracle", symbol) == (1, 0), "stale_oracle started")
        [stale] = [a for a in alerts(buffer) if a["kind"] == "stale_oracle"]
        assert stale["age_secs"] > 30 and stale["stale_secs"] == 30 and stale["liquidation_stale"] and stale["trade_stale"]
        assert k.metrics.risk_oracle_stale.labels(symbol, "liquidation")._value.get() == 1
        last[0] = await node.now()
        await node.publish(100 * USDC)
        await until(lambda: started_cleared(buffer, "stale_oracle", symbol) == (1, 1), "stale_oracle cleared")
        await report_after(k)
        assert k.metrics.risk_alerts.labels("near_liquidation")._value.get() == 2 and k.metrics.risk_alerts.labels("stale_oracle")._value.get() == 1
        assert all(k.metrics.risk_alerts_active.labels(kind)._value.get() == 0 for kind in ("near_liquidation", "stale_oracle", "insurance_shortfall"))


async def test_quantdesk_risk_prints_the_tables(tmp_path: Path) -> None:
    v = Venue()
    assert v.create_insurance_fund().ok
    staker = v.staker()
    assert v.stake(staker, 3_000 * USDC).ok
    maker = v.trader(1_000_000 * USDC)
    near = trade(v, v.trader(1_300 * USDC), BID, 95 * BASE, maker)
    v.trader(700 * USDC)
    v.publish(91_500_000)
    async with node_with(v) as node:
        await node.call("qd_pauseClock")  # the feeds' ages as the table prints them stay put
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "quantdesk", "risk", "--rpc-url", node.process.rpc_url, "--ws-url",
                                                    node.process.ws_url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    lines = [line.split() for line in text.splitlines()]
    assert text.startswith("QuantDesk risk at slot ")
    assert ["0", "SOL-PERP", "91.500000", "95", "95", "0", "8,692.500000", "8,692.500000", "0.000000", "2"] in lines
    assert ["<1", "0"] in lines and ["none", "1"] in lines and [">=2", "1"] in lines and ["1-1.1", "1"] in lines
    [row] = [line for line in lines if line and line[0] == str(near.margin)]
    assert row[1].startswith("1.0") and row[-2].endswith("%") and row[-1] == "near"
    assert [str(v.usdc), "3,000.000000", "0.000000", "∞", "0.000000", "∞", "0"] in lines
    [feed] = [line for line in lines if line and line[0] == "SOL-PERP" and len(line) == 7]
    assert feed[1] == "91.500000" and feed[4:] == ["20/50", "60/150", "fresh"]
    for title in ("Markets", "Health factor buckets (3 accounts, 0 unpriced)", "Insurance fund coverage", "Oracles"):
        assert title in text


async def test_quantdesk_risk_without_a_node_fails_by_name() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "quantdesk", "risk", "--rpc-url", url, "--timeout-secs", "1",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode == 1 and b"ClockUnavailable" in err


@pytest.mark.parametrize(("params", "match"), [
    ({"near_fraction": 0}, "bots.risk.near_fraction"),
    ({"near_fraction": 0.00001}, "below one basis point"),
    ({"interval_secs": "1"}, "bots.risk.interval_secs"),
    ({"stale_secs": 0}, "bots.risk.stale_secs"),
    ({"stale_slots": 1.5}, "bots.risk.stale_slots"),
    ({"min_coverage": -1}, "bots.risk.min_coverage"),
    ({"near": 0.1}, "unknown keys: near"),
])
def test_parameters_are_refused_by_name(params: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidValue, match=match):
        RiskParams.from_table(params)


def test_parameters_and_their_defaults() -> None:
    p = RiskParams.from_table({"interval_secs": 2, "near_fraction": 0.25, "stale_secs": 45, "stale_slots": 120, "min_coverage": 1.5})
    assert (p.interval_secs, p.near_fraction_bps, p.thresholds.stale_secs, p.thresholds.stale_slots, p.thresholds.min_coverage_bps) == (2.0, 2_500, 45, 120, 15_000)
    assert RiskParams.from_table({}) == RiskParams()
    assert format_base(95_500_000_000) == "95.5" and format_base(-20 * BASE) == "-20"


async def test_a_failed_clock_read_skips_one_report_and_the_next_comes(tmp_path: Path) -> None:
    v = Venue()
    trade(v, v.trader(1_300 * USDC), BID, 10 * BASE, v.trader(100_000 * USDC))
    buffer = io.StringIO()
    async with node_with(v) as node, running(node.keeper_config(tmp_path, Keypair(), {"risk": {"interval_secs": 0.1}}), Log(buffer, level="info")) as k:
        await asyncio.wait_for(k.cache.live.wait(), WAIT)
        await report_after(k)
        reports = k.metrics.risk_reports._value.get()
        await node.call("qd_failRequests", 5)  # the bot's Clock reads, every 0.1 s, meet most of them
        await until(lambda: '"risk.clock_error"' in buffer.getvalue(), "a clock read failed")
        r = await report_after(k)
        assert k.metrics.risk_reports._value.get() > reports and len(r.accounts) == 2 and k.metrics.bot_errors.labels("risk")._value.get() == 0
