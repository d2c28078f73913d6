"""Demo part 7, advanced orders on BTC-PERP: maker E rests an iceberg that shows 0.2 of 1 BTC and
is refreshed in the fill twice; trader D buys with a bracket (take-profit 2% up, stop-loss 2%
down) and, once BTC/USD rises, the take-profit is fired for the trigger fee and fills while its
stop-loss is cancelled in the same transaction; trader G buys 1 BTC by TWAP over 5 minutes, each
slice placed by the keeper's TWAP bot at its due slot and made by its JIT maker. Everything goes
through the clients a desk uses; the TWAP part runs a keeper in the background, and the
validator's clock jumps to each slice's due slot so five minutes pass in seconds."""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from quantdesk.clients import sysvar
from quantdesk.clients.trading import (
    CancelReason,
    ExitParams,
    MakerParams,
    OrderKind,
    OrderParams,
    Side,
    TimeInForce,
    TwapParams,
    auction_price,
    base_decimal,
    parse_events,
)
from quantdesk.clients.trading_state import trading_address
from quantdesk.demo.access import BTC_PERP, Actors
from quantdesk.demo.common import usd
from quantdesk.demo.liquidation import TICK, LiquidationDemo
from quantdesk.keeper.config import KeeperConfig
from quantdesk.keeper.logs import Log
from quantdesk.keeper.runtime import Keeper, running
from quantdesk.localnet.venue_node import until
from quantdesk.world import BASE, USDC

TWAP_SIZE = BASE
TWAP_SECS, TWAP_INTERVAL_SECS = 300, 30


def _tick(price: int) -> int:
    return price // TICK * TICK


async def run(connection: AsyncClient, rpc_url: str, ws_url: str, super_admin: Keypair, actors: Actors, publishers: list[Keypair]) -> None:
    print("== advanced orders: an iceberg, a bracket with one-cancels-other exits, a TWAP cranked by the keeper ==")
    d = LiquidationDemo(connection, rpc_url, super_admin, publishers)
    usdc = actors.quote_mint
    maker = await d.account("maker E", 500_000 * USDC, usdc, super_admin)
    p0 = await d.publish()
    await _iceberg(d, maker, p0, usdc, super_admin)
    await _bracket(d, maker, p0, usdc, super_admin)
    await _twap(d, rpc_url, ws_url, usdc, super_admin)


async def _events(d: LiquidationDemo, signature: Signature) -> list[Any]:
    return parse_events(await d.client.fetch_logs(signature), d.client.program)


async def _slot(d: LiquidationDemo) -> int:
    return (await sysvar.fetch_clock(d.connection)).slot


async def _iceberg(d: LiquidationDemo, maker: tuple[Keypair, Pubkey], p0: int, usdc: Pubkey, minter: Keypair) -> None:
    price = _tick(p0 * 10_050 // 10_000)
    ice = await d.client.place_iceberg_order(*maker, OrderParams(BTC_PERP, Side.ASK, BASE, price), BASE // 5)
    book = await d.client.fetch_book(BTC_PERP)
    print(f"maker E rests an iceberg ask of {base_decimal(BASE)} BTC at {usd(price)} showing {base_decimal(BASE // 5)}: "
          f"the book shows {base_decimal(book.asks[0].size)} BTC there")
    buyer = await d.account("trader F", 100_000 * USDC, usdc, minter)
    for _ in range(2):
        bid = await d.client.place_order(*buyer, OrderParams(BTC_PERP, Side.BID, 3 * BASE // 10, price, tif=TimeInForce.IOC))
        await d.clock.warp(12)  # its auction is over: a filler matches it with the resting iceberg
        await d.publish()
        events = await _events(d, await d.client.fill_order(minter, buyer[1], bid, [(maker[1], ice)]))
        fill = next(e.data for e in events if e.name == "Fill")
        refresh = next(e.data for e in events if e.name == "IcebergRefreshed")
        shown = (await d.client.fetch_book(BTC_PERP)).asks[0].size
        print(f"  trader F's IOC bid for {base_decimal(3 * BASE // 10)} fills {base_decimal(fill.base)} at {usd(fill.price)} (the clip); "
              f"in the same transaction the iceberg shows a new clip of {base_decimal(refresh.clip)} of {base_decimal(refresh.remaining)} left "
              f"(the book: {base_decimal(shown)})")
    await d.client.cancel_orders(*maker)


async def _bracket(d: LiquidationDemo, maker: tuple[Keypair, Pubkey], p0: int, usdc: Pubkey, minter: Keypair) -> None:
    trader = await d.account("trader D", 10_000 * USDC, usdc, minter)
    size = BASE // 10
    tp, sl = _tick(p0 * 10_200 // 10_000), _tick(p0 * 9_800 // 10_000)
    entry = await d.client.place_bracket(*trader, OrderParams(BTC_PERP, Side.BID, size, _tick(p0 * 10_100 // 10_000), OrderKind.MARKET, TimeInForce.IOC),
                                         ExitParams(tp, tp, OrderKind.LIMIT), ExitParams(sl, _tick(sl * 9_900 // 10_000)))
    take_profit, stop_loss = entry + 1, entry + 2
    print(f"\ntrader D buys {base_decimal(size)} BTC with a bracket: a take-profit at {usd(tp)} and a stop-loss at {usd(sl)}, "
          "reduce-only, one-cancels-other, resting off the book until the oracle reaches them")
    order = await d.client.fetch_order(trader[1], entry)
    await d.client.place_and_make(*maker, trader[1], entry, MakerParams(auction_price(order, await _slot(d), TICK), size))
    up = await d.publish(tp)
    fired = await _events(d, await d.client.trigger_order(minter, trader[1], take_profit, trading_address(maker[1])))
    ev = next(e.data for e in fired if e.name == "OrderTriggered")
    print(f"  BTC/USD rises to {usd(up)}: anyone may fire the take-profit (trigger_order); it becomes a taker with its auction "
          f"and D pays the {usd(ev.fee)} trigger fee to the cranker's trading account")
    order = await d.client.fetch_order(trader[1], take_profit)
    made = await _events(d, await d.client.place_and_make(*maker, trader[1], take_profit, MakerParams(auction_price(order, await _slot(d), TICK), size)))
    fill = next(e.data for e in made if e.name == "Fill")
    cancelled = next(e.data for e in made if e.name == "OrderCancelled")
    assert cancelled.order_id == stop_loss and cancelled.reason == CancelReason.OCO
    left = [o.order_id for o in (await d.client.fetch_trading_account(trader[1])).orders]
    print(f"  maker E takes it at {usd(fill.price)}: one transaction holds the Fill of the take-profit and the OrderCancelled of the "
          f"stop-loss (reason {CancelReason(cancelled.reason).name}); D's open orders now: {left or 'none'}")


async def _twap(d: LiquidationDemo, rpc_url: str, ws_url: str, usdc: Pubkey, minter: Keypair) -> None:
    wallet, keeper_margin = await d.account("keeper", 200_000 * USDC, usdc, minter)
    trader = await d.account("trader G", 50_000 * USDC, usdc, minter)
    bots: dict[str, dict[str, Any]] = {
        "twap": {"fee_margin_account": str(keeper_margin)},
        "jit": {"sub_id": 0, "spread_bps": 0, "max_inventory": 10 * BASE, "max_fill_notional": 1_000_000 * USDC},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "keeper.json"
        path.write_text(json.dumps(list(bytes(wallet))))
        config = KeeperConfig(rpc_url, ws_url, path, port=0, reconcile_secs=10.0, bots=bots)
        async with running(config, Log(level="error")) as k:
            await until(lambda: k.cache.live.is_set(), "the keeper live", 60)
            await _slices(d, k, trader, keeper_margin)


async def _slices(d: LiquidationDemo, k: Keeper, trader: tuple[Keypair, Pubkey], keeper_margin: Pubkey) -> None:
    twap = await d.client.place_twap_order(*trader, TwapParams(BTC_PERP, Side.BID, TWAP_SIZE, TWAP_SECS, TWAP_INTERVAL_SECS, 100))
    parent = await d.client.fetch_order(trader[1], twap)
    print(f"\ntrader G buys {base_decimal(TWAP_SIZE)} BTC by TWAP over {TWAP_SECS} s: {parent.slices} slices of {base_decimal(parent.slice_size)}, "
          f"one every {parent.interval_slots} slots, each an IOC order at most 1% from the oracle; the keeper's TWAP bot places each at its due "
          "slot and its JIT maker makes it (the clock jumps to each due slot)")
    view = k.bots["twap"].view  # type: ignore[attr-defined]

    def cached() -> Any:
        return view.trading.get(trader[1])

    while (current := _parent(cached(), twap)) is not None:
        await until(_past(cached, twap, "slices_done", current.slices_done), f"slice {current.slices_done + 1}", 30)
        await until(_past(cached, twap, "executed", current.executed), f"slice {current.slices_done + 1} made", 30)
        after = _parent(cached(), twap)
        if after is not None:
            # To the next slice's due slot, the oracle published there.
            await d.clock.warp(max(after.next_due_slot - 3 - await _slot(d), 1))
            await d.publish()
    # The log, from the chain's history: each slice's placement and its fills.
    history = (await d.connection.get_signatures_for_address(trading_address(trader[1]), limit=100)).value
    placed: list[Any] = []
    made: dict[int, int] = {}
    for signature in reversed(history):
        for e in parse_events(await d.client.fetch_logs(signature.signature), d.client.program):
            if e.name == "TwapSlicePlaced" and e.data.parent_id == twap:
                placed.append(e.data)
            elif e.name == "Fill" and e.data.taker == trader[1]:
                made[e.data.taker_order_id] = made.get(e.data.taker_order_id, 0) + e.data.base
    late = []
    for ev in placed:
        due = parent.placed_slot + (ev.slices_done - 1) * parent.interval_slots
        late.append(ev.slot - due)
        print(f"  slice {ev.slices_done:>2}/{ev.slices}: due at slot {due}, placed at slot {ev.slot} for {base_decimal(ev.slice.base_size)} BTC "
              f"(fee {usd(ev.fee)}); the JIT maker makes {base_decimal(made.get(ev.slice.order_id, 0))}")
    position = (await d.client.fetch_trading_account(trader[1])).position(BTC_PERP)
    print(f"  the TWAP is done: G holds {base_decimal(position.base if position else 0)} BTC; every slice placed at most {max(late)} slot(s) after "
          f"it was due; the keeper earned {usd(sum(ev.fee for ev in placed))} in slice fees")


def _past(cached: Callable[[], Any], twap: int, name: str, value: int) -> Callable[[], bool]:
    """The TWAP's `name` went past `value` in the keeper's cache, or the TWAP is over."""
    def check() -> bool:
        parent = _parent(cached(), twap)
        return parent is None or getattr(parent, name) > value
    return check


def _parent(account: Any, order_id: int) -> Any:
    return next((o for o in account.orders if o.order_id == order_id), None) if account is not None else None
