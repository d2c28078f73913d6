"""Demo part 8, the record: the indexer has followed the five programs since the demo started
(into a SQLite store, target/demo/indexer.db); once it has caught up, the demo verifies the audit
trail, writes the report of the demo's days to target/reports/ (HTML with its plots, a CSV per
table), runs trade surveillance over the store, and prints the stress table of the venue as it is
now (its HTML report beside the daily one)."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from solana.rpc.async_api import AsyncClient
from solders.pubkey import Pubkey
from sqlalchemy import Engine, func, select

from quantdesk.audit.verify import verify
from quantdesk.indexer.decode import program_ids
from quantdesk.indexer.follow import Indexer
from quantdesk.indexer.schema import events
from quantdesk.indexer.store import Store
from quantdesk.keeper.logs import Log
from quantdesk.reports.daily import build
from quantdesk.reports.data import load
from quantdesk.stress.command import stress
from quantdesk.stress.page import write as write_stress
from quantdesk.stress.table import render
from quantdesk.surveillance import scan
from quantdesk.surveillance import store as surveillance_store

STORE = Path("target/demo/indexer.db")
REPORTS = Path("target/reports")
DAY_US = 86_400_000_000


@asynccontextmanager
async def indexing(rpc_url: str, ws_url: str) -> AsyncIterator[Indexer]:
    """The indexer in the background over a fresh store for the whole demo."""
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.unlink(missing_ok=True)
    indexer = Indexer(Store(f"sqlite:///{STORE}"), rpc_url, ws_url, Log(level="error"))
    task = asyncio.create_task(indexer.run())
    try:
        await asyncio.wait_for(indexer.live.wait(), 30)
        yield indexer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        indexer.store.close()


async def _caught_up(connection: AsyncClient, indexer: Indexer, timeout: float = 30.0) -> None:
    """Until the store holds every program's newest transaction."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        newest = [(await connection.get_signatures_for_address(Pubkey.from_string(p), limit=1)).value for p in program_ids()]
        if indexer.store.known([str(s[0].signature) for s in newest if s]) == {str(s[0].signature) for s in newest if s}:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the indexer did not catch up")


async def run(connection: AsyncClient, rpc_url: str, indexer: Indexer) -> None:
    print("== the record: the indexer's store, its audit trail, the daily report, surveillance and stress ==")
    await _caught_up(connection, indexer)
    engine = indexer.store.engine
    audit = verify(engine)
    print(f"the indexer followed the demo over RPC and PubSub into {STORE}: {audit.rows:,} rows in {audit.blocks} sealed blocks; "
          f"audit verify: chain head {audit.head[:16]}.., {'clean' if audit.clean else f'{len(audit.findings)} findings'}")
    first, last = _span(engine)
    data = load(engine, first - first % DAY_US, last - last % DAY_US + DAY_US)
    days = {datetime.fromtimestamp(t / 1e6, UTC).date() for t in (first, last)}
    title = f"QuantDesk report {min(days)}" + (f" to {max(days)}" if len(days) > 1 else "")
    path = build(title, data).write(REPORTS)
    volume = sum(m.volume_quote for m in data.markets)
    print(f"  {title}: {sum(m.fills for m in data.markets)} fills, {volume / 1e6:,.2f} USDC traded in {len(data.markets)} markets by "
          f"{len(data.accounts)} accounts, {len(data.liquidations)} liquidation steps, {len(data.exceptions)} failed transactions; "
          f"wrote {path} with {len(list(REPORTS.glob('*.png')))} plots")
    alerts = scan(surveillance_store.load(engine))
    counts = Counter(a.kind.value for a in alerts)
    print(f"  surveillance over the store: {', '.join(f'{n} {k}' for k, n in sorted(counts.items())) or 'no alerts'}")
    for a in alerts[:3]:
        print(f"    {a.kind.value} in market {a.market}: {a.reason} ({len(a.evidence)} evidence rows)")
    print("\nstress, the built-in scenarios over every account as it is now:")
    report = await stress(rpc_url, None, 60)
    print(render(report, brief=True))
    print(f"wrote {write_stress(report, REPORTS, 3)}")


def _span(engine: Engine) -> tuple[int, int]:
    """The first and last block time the store holds."""
    with engine.connect() as c:
        first, last = c.execute(select(func.min(events.c.block_time_us), func.max(events.c.block_time_us))).one()
    return int(first or 0), int(last or 0)
