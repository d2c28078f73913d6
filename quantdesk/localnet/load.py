"""Copies a state built in-process (quantdesk.chain.Chain, e.g. a `world.Venue`) into a running
local validator through its `qd_setAccount` and clock controls, so keeper tests, the keeper
benchmark and the demo start from a venue of any size in seconds instead of replaying its
transactions over RPC.

    venue = Venue(); ...                      # governance, feeds, markets, traders, positions
    await load(node.rpc_url, venue.chain)     # the node now holds every account, at the chain's time
"""
from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import httpx
from solders.account import Account
from solders.pubkey import Pubkey

from quantdesk.chain import Chain

__all__ = ["BATCH_BYTES", "LoadFailed", "load", "set_accounts"]

BATCH_BYTES = 45 * 1024
"""A JSON-RPC batch of qd_setAccount requests stays under this (the node, as agave, refuses bodies over 50 KiB)."""


class LoadFailed(Exception):
    """The node refused a qd_ control request."""


def _set_account(key: Pubkey, account: Account, request_id: int) -> dict[str, Any]:
    fields = {"lamports": account.lamports, "data": [base64.b64encode(account.data).decode(), "base64"], "owner": str(account.owner),
              "executable": account.executable, "rentEpoch": account.rent_epoch}
    return {"jsonrpc": "2.0", "id": request_id, "method": "qd_setAccount", "params": [str(key), fields]}


async def _post(http: httpx.AsyncClient, rpc_url: str, body: Any) -> Any:
    """One request (a dict) or a batch of encoded requests (a list of JSON strings)."""
    content = "[" + ",".join(body) + "]" if isinstance(body, list) else json.dumps(body)
    response = await http.post(rpc_url, content=content, headers={"content-type": "application/json"})
    if response.status_code != 200:
        raise LoadFailed(f"HTTP {response.status_code} from {rpc_url}")
    reply = response.json()
    for answer in reply if isinstance(reply, list) else [reply]:
        if "error" in answer:
            raise LoadFailed(f"{answer.get('id')}: {answer['error']}")
    return reply


async def set_accounts(rpc_url: str, accounts: Mapping[Pubkey, Account]) -> int:
    """Writes every account into the node; returns how many."""
    batch: list[str] = []
    size = 0
    async with httpx.AsyncClient(timeout=60) as http:
        for i, (key, account) in enumerate(accounts.items()):
            request = json.dumps(_set_account(key, account, i))
            if batch and size + len(request) + 2 > BATCH_BYTES:
                await _post(http, rpc_url, batch)
                batch, size = [], 0
            batch.append(request)
            size += len(request) + 1
        if batch:
            await _post(http, rpc_url, batch)
    return len(accounts)


async def load(rpc_url: str, chain: Chain) -> int:
    """The chain's accounts into the node, and the node's clock just past the chain's (its slot
    after the chain's, its unix time one second on), so prices the chain published are as fresh
    on the node as they were in the chain and the next publish is later. Returns the number of
    accounts written."""
    count = await set_accounts(rpc_url, chain.export())
    clock = chain.clock
    def call(request_id: int, method: str, *params: Any) -> str:
        return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})

    async with httpx.AsyncClient(timeout=60) as http:
        # Read and pause the clock in one batch (the node answers a batch at once), so no slot
        # passes between the read and the warp (a warp to a slot the node reached meanwhile fails).
        now, _ = await _post(http, rpc_url, [call(1, "qd_getClock"), call(2, "qd_pauseClock")])
        if now["result"]["slot"] <= clock.slot:
            await _post(http, rpc_url, {"jsonrpc": "2.0", "id": 3, "method": "qd_warpSlot", "params": [clock.slot + 1]})
        await _post(http, rpc_url, {"jsonrpc": "2.0", "id": 4, "method": "qd_setClock", "params": [{"unixTimestamp": clock.unix_timestamp + 1}]})
        if not now["result"]["paused"]:
            await _post(http, rpc_url, {"jsonrpc": "2.0", "id": 5, "method": "qd_resumeClock", "params": []})
    return count
