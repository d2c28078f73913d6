"""Demo part 6, the keepers: one keeper process's bots run in the background against the local
validator, through the same RPC and PubSub a cluster offers, signing with the keeper's own
wallet (sub-account 0 liquidates, sub-account 1 makes markets): trader C's market buy on
BTC-PERP is made by the JIT maker within its auction; BTC/USD drops and the liquidator takes C
through its liquidation on its own; an hour later the cranker runs BTC-PERP's funding and
settles the PnL, losers first. The part ends with the keepers' metrics. The clock runs here (the
bots act on slots), so times and some figures change from run to run."""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.clients import token
from quantdesk.clients.trading import OrderKind, OrderParams, Side, TimeInForce, base_decimal
from quantdesk.demo.access import BTC_PERP, Actors
from quantdesk.demo.common import usd
from quantdesk.demo.liquidation import SIZE, TICK, LiquidationDemo
from quantdesk.keeper.config import KeeperConfig
from quantdesk.keeper.jit_maker import JitBot
from quantdesk.keeper.liquidator import LiquidatorBot
from quantdesk.keeper.logs import Log
from quantdesk.keeper.runtime import Keeper, running
from quantdesk.localnet.venue_node import until
from quantdesk.world import BASE, USDC

SHOCK_BPS = -800
BOTS: dict[str, dict[str, Any]] = {
    "liquidator": {"sub_id": 0, "derisk": False},
    "jit": {"sub_id": 1, "spread_bps": 0, "max_inventory": 10 * BASE, "max_fill_notional": 1_000_000 * USDC},
    "cranker": {"interval_secs": 0.5, "tasks": ["expire", "funding", "settle"]},
}


async def _sub_account(d: LiquidationDemo, owner: Keypair, sub_id: int, name: str, usdc: int, mint: Pubkey, minter: Keypair) -> Pubkey:
    """`owner`'s sub-account `sub_id` holding `usdc`, with its trading account."""
    margin = await d.core.create(owner, sub_id, name)
    ata = token.associated_address(owner.pubkey(), mint)
    await d.client.send([token.mint_to_instruction(mint, ata, minter.pubkey(), usdc)])
    await d.client.collateral.open(owner, margin)
    await d.client.collateral.deposit(owner, margin, mint, usdc)
    await d.client.open_trading_account(owner, margin)
    d.names[margin] = name
    return margin


async def run(connection: AsyncClient, rpc_url: str, ws_url: str, super_admin: Keypair, actors: Actors, publishers: list[Keypair]) -> None:
    print("== keepers: the JIT maker, the liquidator and the cranker in the background ==")
    d = LiquidationDemo(connection, rpc_url, super_admin, publishers)
    usdc = actors.quote_mint
    wallet, _ = await d.account("keeper liquidator", 200_000 * USDC, usdc, super_admin)
    await _sub_account(d, wallet, 1, "keeper maker", 200_000 * USDC, usdc, super_admin)
    p0 = await d.publish()
    trader = await d.account("trader C", SIZE * p0 // BASE * 2 // 17, usdc, super_admin)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "keeper.json"
        path.write_text(json.dumps(list(bytes(wallet))))
        config = KeeperConfig(rpc_url, ws_url, path, port=0, reconcile_secs=10.0, bots=BOTS)
        async with running(config, Log(level="error")) as k:
            await until(lambda: k.cache.live.is_set() and hasattr(k.bots["liquidator"], "index"), "the keeper live", 60)
            print(f"keeper {str(wallet.pubkey())[:8]}.. runs {', '.join(sorted(BOTS))}; its cache holds "
                  f"{sum(len(s) for s in k.cache.stores.values())} accounts, kept by programSubscribe and slotSubscribe")
            await _jit(d, k, trader, p0)
            await _liquidation(d, k, trader, p0)
            await _crank(d, k)
            _summary(k)


async def _jit(d: LiquidationDemo, k: Keeper, trader: tuple[Keypair, Pubkey], price: int) -> None:
    jit = k.bots["jit"]
    assert isinstance(jit, JitBot)
    worst = price * 10_100 // 10_000 // TICK * TICK
    await d.client.place_order(*trader, OrderParams(BTC_PERP, Side.BID, SIZE, worst, OrderKind.MARKET, TimeInForce.IOC))
    await until(lambda: sum(f.size for f in jit.fills if f.taker == trader[1]) >= SIZE, "the JIT maker's fill", 30)
    fill = next(f for f in jit.fills if f.taker == trader[1])
    print(f"  trader C sends a market buy of {base_decimal(SIZE)} BTC (worst {usd(worst)}): the JIT maker makes {base_decimal(fill.size)} BTC "
          f"of it in its auction with place_and_make, the fill landing {int(fill.seconds * 1_000)} ms after the order reached the keeper")


async def _liquidation(d: LiquidationDemo, k: Keeper, trader: tuple[Keypair, Pubkey], p0: int) -> None:
    liquidator = k.bots["liquidator"]
    assert isinstance(liquidator, LiquidatorBot)
    shocked = await d.publish(p0 * (10_000 + SHOCK_BPS) // 10_000)
    started = time.monotonic()
    print(f"\nBTC/USD drops {-SHOCK_BPS / 100:g}% to {usd(shocked)}; nobody calls the liquidator:")

    def done() -> bool:
        account = liquidator.view.margins.get(trader[1])
        return account is not None and not account.being_liquidated and trader[1] not in liquidator.index.liquidatable and \
            k.metrics.liquidation_steps.labels("liquidate_perp", "landed")._value.get() > 0

    await until(done, "C liquidated", 60)
    steps = int(k.metrics.liquidation_steps.labels("liquidate_perp", "landed")._value.get())
    view = await d.core.fetch_liquidation_view(trader[1])
    print(f"  the liquidator saw C liquidatable in its health index and took {steps} liquidate_perp step(s) in "
          f"{time.monotonic() - started:.2f} s: C keeps {base_decimal(view.perps[0].base)} BTC, maintenance health {usd(view.maint_health)}, "
          f"liquidation-end health {usd(view.liquidation_end_health)}")


async def _crank(d: LiquidationDemo, k: Keeper) -> None:
    before = await d.client.fetch_market(BTC_PERP)
    settles = k.metrics.cranks.labels("settle", "landed")._value.get()
    await d.clock.warp_seconds(before.funding_period_secs)
    await d.publish()
    await until(lambda: k.metrics.cranks.labels("funding", "landed")._value.get() > 0, "funding", 60)
    await until(lambda: k.metrics.cranks.labels("settle", "landed")._value.get() > settles, "a settlement", 60)
    after = await d.client.fetch_market(BTC_PERP)
    print(f"\n{before.funding_period_secs} s later (the market's funding period) the cranker runs BTC-PERP's funding (last funding at {before.last_funding_ts} -> {after.last_funding_ts}; "
          f"longs' index {before.cumulative_funding_long} -> {after.cumulative_funding_long}) and settles "
          f"{int(k.metrics.cranks.labels('settle', 'landed')._value.get() - settles)} position(s), losers first")


def _summary(k: Keeper) -> None:
    values = k.metrics.summary()
    print("\nthe keepers' metrics (Prometheus, also at /metrics):")
    for name, value in sorted(values.items()):
        if value and any(name.startswith(f"quantdesk_keeper_{p}") for p in
                         ("transactions_sent_total", "transactions_landed_total", "lost_races_total", "liquidation_steps_total", "jit_fills_total",
                          "cranks_total", "detect_to_send_seconds_sum", "detect_to_send_seconds_count", "reconnects_total")):
            print(f"  {name} {value:g}")
