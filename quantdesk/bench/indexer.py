"""The indexer benchmark (`make bench` writes target/bench/indexer.json):

- events indexed per second: a venue's history on the local validator (oracle publishes,
  PUBLISHES transactions with one PricePublished event each, a `prices` row beside each
  `events` row), backfilled by the indexer into an empty store, SQLite and PostgreSQL (a
  throw-away server, quantdesk/indexer/pgserver.py); the figure is events over the backfill's
  wall time (getSignaturesForAddress, getTransaction, decoding, inserting, hashing, sealing).
- `quantdesk audit verify` over 1,000,000 rows: built directly (500,000 synthetic one-Fill
  transactions through Store.ingest, an `events` and a `fills` row each) since indexing a
  million events from the validator would take far longer than the benchmark should; the
  figure is verify's wall time, the goal under 60 s; on both backends."""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from sqlalchemy import func, select

from quantdesk.audit.verify import verify
from quantdesk.indexer.decode import Decoded, DecodedEvent
from quantdesk.indexer.follow import Indexer
from quantdesk.indexer.pgserver import temporary_server
from quantdesk.indexer.schema import events
from quantdesk.indexer.store import Store
from quantdesk.keeper.logs import Log
from quantdesk.localnet.venue_node import node_with
from quantdesk.world import USDC, Venue

__all__ = ["PUBLISHES", "VERIFY_ROWS", "VERIFY_GOAL_SECS", "measure", "synthetic_fill"]

PUBLISHES = 300
VERIFY_ROWS = 1_000_000
VERIFY_GOAL_SECS = 60.0
TAKER, MAKER = "Taker1111111111111111111111111111111111111", "Maker1111111111111111111111111111111111111"


def synthetic_fill(n: int) -> Decoded:
    """A successful transaction `sig<n>` with one Fill event (n-th fill, fields plausible)."""
    fields = {"fill_id": n, "market_index": 0, "taker": TAKER, "taker_order_id": n, "maker": MAKER, "maker_order_id": 7, "taker_side": n % 2,
              "price": 100_000_000 + n, "base": 10**9, "quote": 100 * 10**6, "taker_fee": 50, "maker_fee": -20, "slot": n, "ts": 1_700_000_000}
    return Decoded(f"sig{n}", 10 + n, 1_700_000_000_000_000 + n, TAKER, None, [], ["qd_trading"], [DecodedEvent(0, 0, "qd_trading", "Fill", fields)])


async def _history(urls: dict[str, str]) -> dict[str, Any]:
    """One venue history, backfilled into each store of `urls` (backend -> URL)."""
    figures: dict[str, Any] = {"transactions": PUBLISHES}
    async with node_with(Venue()) as node:
        for i in range(PUBLISHES):
            await node.publish((100 * USDC) + i * 1_000)
        for backend, url in urls.items():
            store = Store(url)
            try:
                async with AsyncClient(node.process.rpc_url, commitment=Confirmed) as client:
                    indexer = Indexer(store, node.process.rpc_url, node.process.ws_url, Log(level="error"))
                    start = time.perf_counter()
                    await indexer.backfill(client)
                    elapsed = time.perf_counter() - start
                with store.engine.connect() as conn:
                    stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
            finally:
                store.close()
            figures[backend] = {"events": stored, "rows": indexer.rows, "secs": round(elapsed, 2), "events_per_sec": round(stored / elapsed, 1)}
    return figures


def _verify(url: str, rows: int) -> dict[str, Any]:
    store = Store(url)
    try:
        start = time.perf_counter()
        for first in range(0, rows // 2, 10_000):
            store.ingest([(synthetic_fill(n), 0) for n in range(first, first + 10_000)])
        built = time.perf_counter() - start
        start = time.perf_counter()
        report = verify(store.engine)
        secs = time.perf_counter() - start
    finally:
        store.close()
    return {"rows": report.rows, "blocks": report.blocks, "clean": report.clean, "build_secs": round(built, 1), "verify_secs": round(secs, 1),
            "goal_secs": VERIFY_GOAL_SECS, "within_goal": secs < VERIFY_GOAL_SECS}


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, temporary_server() as postgres:
        indexing = asyncio.run(_history({"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}", "postgresql": postgres.database()}))
        print(f"indexer: backfill of {PUBLISHES} transactions from the local validator:")
        for backend in ("sqlite", "postgresql"):
            f = indexing[backend]
            print(f"  {backend:<10} {f['events']} events in {f['secs']} s: {f['events_per_sec']} events/s")
        audit = {"sqlite": _verify(f"sqlite:///{Path(tmp) / 'million.db'}", VERIFY_ROWS), "postgresql": _verify(postgres.database(), VERIFY_ROWS)}
    print("audit verify (rows built directly):")
    for backend, f in audit.items():
        print(f"  {backend:<10} {f['rows']:,} rows, {f['blocks']} blocks, {'clean' if f['clean'] else 'NOT CLEAN'}: {f['verify_secs']} s "
              f"(goal {VERIFY_GOAL_SECS:.0f} s; building them took {f['build_secs']} s)")
    return {"indexing": indexing, "audit_verify": audit}
