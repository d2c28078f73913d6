"""The keeper benchmark (`make bench` writes target/bench/keeper.json): how fast the liquidator
reacts to a price shock with 1,000 and 10,000 margin accounts with positions.

The accounts come from quantdesk/bench/keeper_accounts.py (a LiteSVM venue whose two traders are
copied, each copy's liquidation price its own) and go into a fresh local validator through its
account controls. A keeper runs the liquidator in this process. Each shock publishes the price
at the next long's liquidation price, so exactly one more account becomes liquidatable; the
figure is the time from the feed's notification reaching the keeper's websocket to the
liquidation transaction's sendTransaction (the sender's `detect_to_send_ms`), and the process
CPU time the venue view and the health index spend on that feed change. The next shock waits
until the step has landed.

`auction_to_jit_fill_ms`: 24 takers' market orders, one after the other, each from the notification
showing it to the keeper to the JIT maker's fill landing (the bot's own samples,
quantdesk/bench/keeper_jit.py)."""
from __future__ import annotations

import io
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from quantdesk.bench.keeper_accounts import build
from quantdesk.bench.keeper_jit import auction_to_fill
from quantdesk.keeper.liquidator import LiquidatorBot
from quantdesk.keeper.logs import Log
from quantdesk.keeper.runtime import Keeper
from quantdesk.localnet.venue_node import Node, node_with, until
from quantdesk.world import BASE, PRICE, USDC, VENUE_PARAMS, Venue

__all__ = ["COUNTS", "JIT_TAKERS", "SHOCKS", "measure", "measure_jit", "measure_liquidator"]

COUNTS = (1_000, 10_000)
SHOCKS = 24
JIT_TAKERS = 24


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def _sent(log: io.StringIO, start: int) -> list[dict[str, Any]]:
    lines = log.getvalue()[start:].splitlines()
    return [r for r in map(json.loads, lines) if r.get("event") == "sender.sent" and r.get("detect_to_send_ms") is not None]


async def _one(count: int, shocks: int) -> dict[str, Any]:
    started = time.monotonic()
    book = build(count)
    built = time.monotonic() - started
    longs = sorted(book.longs, key=lambda m: book.thresholds[m], reverse=True)[:shocks]
    stream = io.StringIO()
    async with node_with(book.venue) as node:
        loaded = time.monotonic() - started - built
        with tempfile.TemporaryDirectory() as tmp:
            async with node.keeper(Path(tmp), book.liquidator.owner, {"liquidator": {"derisk": False}}, Log(stream, level="info")) as k:
                bot = k.bots["liquidator"]
                assert isinstance(bot, LiquidatorBot)
                await until(lambda: hasattr(bot, "index"), "the liquidator's first judgement", timeout=600)
                ready = time.monotonic() - started - built - loaded
                assert not bot.index.liquidatable, "no account is liquidatable before the first shock"
                cpu_before = _histogram(k)
                samples = [await _shock(node, k, bot, stream, margin, book.thresholds[margin]) for margin in longs]
                cpu_sum, cpu_count = (a - b for a, b in zip(_histogram(k), cpu_before, strict=True))
                landed = k.metrics.liquidation_steps.labels("liquidate_perp", "landed")._value.get()
    return {"accounts": count, "shocks": len(samples), "p50": round(statistics.median(samples), 2), "p99": round(_percentile(samples, 99), 2),
            "max": round(max(samples), 2), "cpu_ms_per_oracle_update": round(cpu_sum / cpu_count * 1_000, 3) if cpu_count else None,
            "feed_updates": cpu_count, "landed": landed, "setup_secs": {"build": round(built, 1), "load": round(loaded, 1), "snapshot_and_judge": round(ready, 1)}}


async def _shock(node: Node, k: Keeper, bot: LiquidatorBot, stream: io.StringIO, margin: Pubkey, price: int) -> float:
    """Publishes `price` (the account's liquidation price) and waits for its step to land: the step's detect-to-send."""
    mark = len(stream.getvalue())
    await node.publish(price)
    work = ("liquidate", margin)
    await until(lambda: bool(_sent(stream, mark)) and not k.sender.in_flight(work) and margin not in bot.index.liquidatable,
                f"the shock to {price} liquidated", timeout=60)
    return float(_sent(stream, mark)[0]["detect_to_send_ms"])


def _histogram(k: Keeper) -> tuple[float, float]:
    """(sum, count) of the feed-update CPU histogram."""
    values = {s.name: s.value for family in k.metrics.feed_update_cpu.collect() for s in family.samples}
    return values["quantdesk_keeper_feed_update_cpu_seconds_sum"], values["quantdesk_keeper_feed_update_cpu_seconds_count"]


async def measure_liquidator(counts: tuple[int, ...] = COUNTS, shocks: int = SHOCKS) -> dict[str, Any]:
    runs = {}
    for count in counts:
        runs[count] = await _one(count, shocks)
        r = runs[count]
        print(f"  {count:>6} accounts: detect-to-send p50 {r['p50']} ms, p99 {r['p99']} ms over {r['shocks']} shocks; "
              f"CPU per oracle update {r['cpu_ms_per_oracle_update']} ms; set-up {r['setup_secs']}")
    return {"detect_to_send_ms": {str(c): {"p50": r["p50"], "p99": r["p99"], "max": r["max"], "shocks": r["shocks"]} for c, r in runs.items()},
            "cpu_ms_per_oracle_update": {str(c): r["cpu_ms_per_oracle_update"] for c, r in runs.items()},
            "setup_secs": {str(c): r["setup_secs"] for c, r in runs.items()}}


async def measure_jit(takers: int = JIT_TAKERS) -> dict[str, Any]:
    """From each taker's market order (one at a time) reaching the keeper to the JIT maker's fill landing."""
    v = Venue(markets=(), seed=b"quantdesk keeper bench jit")
    v.add_market(0, "SOL-PERP", PRICE, VENUE_PARAMS)
    maker = v.trader(10_000_000 * USDC)
    traders = [v.trader(10_000 * USDC) for _ in range(takers)]
    limits = {"spread_bps": 0, "max_inventory": 1_000 * BASE, "max_fill_notional": 1_000_000 * USDC}
    samples: list[float] = []
    async with node_with(v) as node:
        with tempfile.TemporaryDirectory() as tmp:
            async with node.keeper(Path(tmp), maker.owner, {"jit": limits}) as k:
                await node.publish(PRICE)
                for taker in traders:
                    samples += (await auction_to_fill(node, k, [taker], BASE)).samples
    ms = [x * 1_000 for x in samples]
    figures = {"p50": round(statistics.median(ms), 2), "p99": round(_percentile(ms, 99), 2), "fills": len(ms)}
    print(f"  JIT maker: a taker's order notification to the fill landing p50 {figures['p50']} ms, p99 {figures['p99']} ms over {len(ms)} fills")
    return figures


async def measure() -> dict[str, Any]:
    """keeper.json: the liquidator's figures at COUNTS accounts and the JIT maker's."""
    return {**await measure_liquidator(), "auction_to_jit_fill_ms": await measure_jit()}
