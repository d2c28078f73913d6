"""A venue built in LiteSVM (quantdesk.world) copied into a fresh local validator
(quantdesk.localnet.load), with what keeper tests, the keeper benchmark and the demo do to it
over RPC: publish prices, send transactions, run keepers in-process.

    async with node_with(venue) as node, node.keeper(tmp, keypair, {"liquidator": {}}) as k:
        await node.publish(91 * USDC)
        await until(lambda: ..., "the long liquidated")"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from quantdesk.keeper.config import KeeperConfig
from quantdesk.keeper.logs import Log
from quantdesk.keeper.runtime import Keeper, running
from quantdesk.localnet import LocalnetProcess, run_in_background
from quantdesk.localnet.load import load
from quantdesk.localnet.server import find_root
from quantdesk.world import Venue

WAIT = 20.0


__all__ = ["WAIT", "Node", "node_with", "until"]


@dataclass
class Node:
    """A local validator holding a venue, and the means to act on it over RPC."""

    process: LocalnetProcess
    venue: Venue
    client: AsyncClient
    published: dict[int, int] = field(default_factory=dict)  # the last publish_time per market

    async def call(self, method: str, *params: Any) -> Any:
        async with httpx.AsyncClient() as http:
            reply = (await http.post(self.process.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})).json()
        assert "error" not in reply, reply
        return reply["result"]

    async def now(self) -> int:
        return int((await self.call("qd_getClock"))["unixTimestamp"])

    async def send(self, instructions: list[Any], *signers: Keypair) -> None:
        """Signed by the venue's payer and `signers`, confirmed."""
        payer = self.venue.chain.payer
        blockhash = (await self.client.get_latest_blockhash()).value.blockhash
        keys = {payer.pubkey(): payer, **{s.pubkey(): s for s in signers}}
        tx = Transaction(list(keys.values()), Message(instructions, payer.pubkey()), blockhash)
        signature = (await self.client.send_transaction(tx)).value
        await self.client.confirm_transaction(signature, Confirmed)

    async def publish(self, price: int, market: int = 0) -> None:
        """The venue's publisher publishes `price` to market `market`'s feed, stamped now (the
        node's clock moved a second on first when its last publish there was this second)."""
        v = self.venue
        now = await self.now()
        last = self.published.get(market, 0)
        if now <= last:
            now = last + 1
            await self.call("qd_setClock", {"unixTimestamp": now})
        self.published[market] = now
        await self.send([v.oracle.publish(v.publisher.pubkey(), v.feeds[market], price, price // 10_000, now)], v.publisher)

    def keeper_config(self, tmp: Path, keypair: Keypair, bots: dict[str, dict[str, Any]]) -> KeeperConfig:
        path = tmp / f"{keypair.pubkey()}.json"
        path.write_text(json.dumps(list(bytes(keypair))))
        return KeeperConfig(self.process.rpc_url, self.process.ws_url, path, port=0, reconcile_secs=5.0, dead_after_slots=20, slot_secs=0.1,
                            bots=bots)

    @asynccontextmanager
    async def keeper(self, tmp: Path, keypair: Keypair, bots: dict[str, dict[str, Any]], log: Log | None = None) -> AsyncIterator[Keeper]:
        """A keeper signing with `keypair` running `bots` against the node, live (its cache's snapshot taken)."""
        async with running(self.keeper_config(tmp, keypair, bots), log or Log(level="warning")) as k:
            await asyncio.wait_for(k.cache.live.wait(), WAIT)
            yield k


@asynccontextmanager
async def node_with(venue: Venue) -> AsyncIterator[Node]:
    async with run_in_background(slot_ms=100, root=find_root(Path(__file__).resolve()), log_level="warning") as process:
        await load(process.rpc_url, venue.chain)
        async with AsyncClient(process.rpc_url, commitment=Confirmed) as client:
            yield Node(process, venue, client)


async def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
