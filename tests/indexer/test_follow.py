"""The indexer against the local validator over real RPC and PubSub, on both backends: the
venue's history backfilled, live transactions followed, a failed transaction kept as an
exception, a gap while the websocket was down backfilled after the reconnect, failing RPC
requests survived, and a restart
resuming from the cursors without a duplicate; the store verifies clean throughout."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from quantdesk.keeper.logs import Log
from solana.rpc.types import TxOpts
from solders.message import Message
from solders.transaction import Transaction
from sqlalchemy import func, select, text

from quantdesk.audit.verify import verify
from quantdesk.indexer.follow import Indexer
from quantdesk.indexer.schema import events, exceptions
from quantdesk.indexer.store import Store
from quantdesk.localnet.venue_node import Node, node_with, until
from quantdesk.world import ASK, LIMIT, USDC, Venue, order


def count(store: Store, table: str, kind: str | None = None) -> int:
    query = f"SELECT COUNT(*) FROM {table}" + (f" WHERE kind = '{kind}'" if kind else "")
    with store.engine.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


@asynccontextmanager
async def indexing(node: Node, url: str) -> AsyncIterator[tuple[Store, Indexer]]:
    store = Store(url)
    indexer = Indexer(store, node.process.rpc_url, node.process.ws_url, Log(level="error"))
    task = asyncio.create_task(indexer.run())
    try:
        await asyncio.wait_for(indexer.live.wait(), 20)
        yield store, indexer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        store.close()


async def send_failing(node: Node) -> str:
    """A publish older than the feed's last one, sent past preflight: it lands and fails."""
    v = node.venue
    ix = v.oracle.publish(v.publisher.pubkey(), v.feeds[0], 90 * USDC, 9_000, 1)
    payer = v.chain.payer
    blockhash = (await node.client.get_latest_blockhash()).value.blockhash
    tx = Transaction([payer, v.publisher], Message([ix], payer.pubkey()), blockhash)
    return str((await node.client.send_transaction(tx, opts=TxOpts(skip_preflight=True))).value)


async def test_backfill_live_failures_reconnect_gap_and_restart(store_url: str) -> None:
    v = Venue()
    maker = v.trader()
    async with node_with(v) as node:
        for price in (100, 101):  # history before the indexer starts
            await node.publish(price * USDC)
        await node.send([v.trading.place_order(maker.owner.pubkey(), maker.margin, order(ASK, LIMIT, size=10**9, price=150 * USDC), v.feeds[0],
                                               v.usdc, v.health(maker.margin, 0))], maker.owner)

        async with indexing(node, store_url) as (store, indexer):
            assert count(store, "prices") == 2 and count(store, "order_actions", "OrderPlaced") == 1
            with store.engine.connect() as conn:
                placed = conn.execute(select(events).where(events.c.kind == "OrderPlaced")).mappings().one()
            fields = json.loads(placed["fields"])
            assert fields["margin_account"] == str(maker.margin) and fields["order"]["price"] == 150 * USDC
            assert placed["signer"] == str(v.chain.payer.pubkey()) and placed["block_time_us"] % 1_000_000 == 0

            await node.publish(102 * USDC)  # live
            await until(lambda: count(store, "prices") == 3, "the live publish indexed")
            bad = await send_failing(node)
            await until(lambda: count(store, "exceptions") == 1, "the failed transaction kept")
            with store.engine.connect() as conn:
                assert conn.execute(select(exceptions.c.signature, exceptions.c.programs)).one() == (bad, "qd_oracle")

            # A gap: notifications withheld, then the websocket cut; the reconnect backfills it.
            await node.call("qd_muteNotifications", True)
            await node.publish(103 * USDC)
            await node.call("qd_dropWebsockets")
            await node.call("qd_muteNotifications", False)
            await until(lambda: count(store, "prices") == 4, "the gap backfilled")
            assert indexer.connections == 2

            # The same with the reconnect's first RPC requests failing: the session after them backfills.
            await node.call("qd_muteNotifications", True)
            await node.publish(103 * USDC + 1)
            await node.call("qd_failRequests", 2)
            await node.call("qd_dropWebsockets")
            await node.call("qd_muteNotifications", False)
            await until(lambda: count(store, "prices") == 5, "indexed despite failed requests")
            assert indexer.connections >= 4

        await node.publish(104 * USDC)  # while the indexer is stopped
        async with indexing(node, store_url) as (store, _):
            assert count(store, "prices") == 6
            with store.engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
                distinct = conn.execute(select(func.count()).select_from(select(events.c.signature, events.c.ix_index, events.c.event_index)
                                                                          .distinct().subquery())).scalar_one()
            assert stored == distinct
            assert verify(store.engine).clean
