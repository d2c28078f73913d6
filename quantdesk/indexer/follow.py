"""Following the five programs over RPC: a backfill by getSignaturesForAddress (newest first,
paged with `before`, down to the program's cursor) and getTransaction per signature, oldest
first; then live by logsSubscribe (`mentions` of each program id, all on one websocket). After
every (re)connect the subscriptions come first and the backfill second, so a transaction landing
in between is in one or both (the store skips what it holds); live notifications wait in a queue
until the backfill is done, which keeps each cursor moving forward only."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solders.pubkey import Pubkey
from solders.signature import Signature
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from quantdesk.clients import idl
from quantdesk.indexer.decode import Decoded, decode_transaction, program_ids
from quantdesk.indexer.store import Store
from quantdesk.keeper.backoff import Backoff
from quantdesk.keeper.logs import Log

__all__ = ["Indexer"]

PAGE = 1_000  # getSignaturesForAddress's largest page
BATCH = 200  # transactions per database transaction (and audit block) during a backfill
FETCHES = 16  # getTransaction requests in flight


class RpcFailure(Exception):
    pass


def _now_us() -> int:
    return time.time_ns() // 1_000


@dataclass
class Indexer:
    store: Store
    rpc_url: str
    ws_url: str
    log: Log = field(default_factory=Log)
    programs: list[str] = field(default_factory=program_ids)
    connections: int = 0
    rows: int = 0
    live: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """Indexes until cancelled: backfill, then live, reconnecting (and backfilling the gap)
        whenever the websocket goes away."""
        backoff = Backoff()
        async with AsyncClient(self.rpc_url, commitment=Confirmed) as client:
            while True:
                try:
                    await self._session(client, backoff)
                except (ConnectionClosed, OSError, RpcFailure, RPCException, SolanaRpcException, TimeoutError) as exc:
                    self.live.clear()
                    delay = backoff.next()
                    self.log.warning("indexer.reconnect", error=repr(exc), delay_secs=delay)
                    await asyncio.sleep(delay)

    async def backfill(self, client: AsyncClient) -> None:
        """Every program's transactions newer than its cursor, oldest first."""
        for program in self.programs:
            statuses = await self._signatures(client, program)
            for start in range(0, len(statuses), BATCH):
                part = statuses[start:start + BATCH]
                known = self.store.known([s for s, _ in part])
                wanted = [s for s, _ in part if s not in known]
                received = _now_us()
                txs = await self._transactions(client, wanted)
                newest, slot = part[-1]
                self._ingest([(tx, received) for tx in txs], [(program, newest, slot)])
            if statuses:
                self.log.info("indexer.backfilled", program=program, transactions=len(statuses))

    async def _signatures(self, client: AsyncClient, program: str) -> list[tuple[str, int]]:
        cursor = self.store.cursor(program)
        until = None if cursor is None else Signature.from_string(cursor)
        found: list[tuple[str, int]] = []
        before: Signature | None = None
        while True:
            page = (await client.get_signatures_for_address(Pubkey.from_string(program), before=before, until=until, limit=PAGE)).value
            found.extend((str(s.signature), s.slot) for s in page)
            if len(page) < PAGE:
                break
            before = page[-1].signature
        found.reverse()
        return found

    async def _transactions(self, client: AsyncClient, signatures: list[str]) -> list[Decoded]:
        gate = asyncio.Semaphore(FETCHES)

        async def one(signature: str) -> Decoded:
            async with gate:
                for _ in range(50):  # a live notification may run ahead of the node's history by a moment
                    reply = await client.get_transaction(Signature.from_string(signature), encoding="json", commitment=Confirmed,
                                                         max_supported_transaction_version=0)
                    if reply.value is not None:
                        return decode_transaction(json.loads(reply.value.to_json()))
                    await asyncio.sleep(0.05)
                raise RpcFailure(f"getTransaction {signature}: not found")

        return list(await asyncio.gather(*(one(s) for s in signatures)))

    def _ingest(self, txs: list[tuple[Decoded, int]], cursors: list[tuple[str, str, int]]) -> None:
        # Synchronous on purpose: one writer, and the websocket buffers what arrives meanwhile.
        self.rows += self.store.ingest(txs, cursors)

    async def _session(self, client: AsyncClient, backoff: Backoff) -> None:
        async with connect(self.ws_url, max_size=None) as ws:
            self.connections += 1
            queue: asyncio.Queue[str] = asyncio.Queue()
            await self._subscribe(ws)
            reader = asyncio.create_task(self._read(ws, queue))
            try:
                await self.backfill(client)
                backoff.reset()
                self.live.set()
                self.log.info("indexer.live", connection=self.connections)
                while True:
                    getter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                    if reader in done:
                        getter.cancel()
                        reader.result()
                    await self._live(client, [getter.result(), *_drain(queue)])
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _subscribe(self, ws: ClientConnection) -> None:
        for request_id, program in enumerate(self.programs, 1):
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "logsSubscribe",
                                      "params": [{"mentions": [program]}, {"commitment": "confirmed"}]}))
        confirmed = 0
        while confirmed < len(self.programs):
            message = json.loads(await asyncio.wait_for(ws.recv(), 10.0))
            if "error" in message:
                raise RpcFailure(f"logsSubscribe: {message['error']}")
            confirmed += "id" in message

    @staticmethod
    async def _read(ws: ClientConnection, queue: asyncio.Queue[str]) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("method") == "logsNotification":
                result = message["params"]["result"]
                queue.put_nowait(result["value"]["signature"])
        raise ConnectionClosed(None, None)

    async def _live(self, client: AsyncClient, notified: list[str]) -> None:
        received = _now_us()
        signatures = list(dict.fromkeys(notified))  # one notification per program a transaction mentions
        known = self.store.known(signatures)
        txs = await self._transactions(client, [s for s in signatures if s not in known])
        ids = {name: str(pid) for pid, name in idl.program_names().items() if str(pid) in self.programs}
        cursors = {ids[name]: (ids[name], tx.signature, tx.slot) for tx in txs for name in tx.programs if name in ids}
        self._ingest([(tx, received) for tx in txs], list(cursors.values()))


def _drain(queue: asyncio.Queue[str]) -> list[str]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
