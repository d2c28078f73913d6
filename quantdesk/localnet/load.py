"""Copies a state built in-process (quantdesk.chain.Chain, e.g. a `world.Venue`) into a running
local validator through its `qd_setAccount` and clock controls, so keeper tests, the keeper
benchmark and the demo start from a venue of any size in seconds instead of replaying its
transactions over RPC.

    venue = Venue(); ...                      # governance, feeds, markets, traders, positions
    await load(node.rpc_url, venue.chain)     # the node now holds every account, at the chain's time
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx
from solders.account import Account
from solders.pubkey import Pubkey

from quantdesk.chain import Chain

__all__ = ["BATCH", "LoadFailed", "load", "set_accounts"]

BATCH = 500
"""qd_setAccount requests per JSON-RPC batch."""


class LoadFailed(Exception):
    """The node refused a qd_ control request."""


def _set_account(key: Pubkey, account: Account, request_id: int) -> dict[str, Any]:
    fields = {"lamports": account.lamports, "data": [base64.b64encode(account.data).decode(), "base64"], "owner": str(account.owner),
              "executable": account.executable, "rentEpoch": account.rent_epoch}
    return {"jsonrpc": "2.0", "id": request_id, "method": "qd_setAccount", "params": [str(key), fields]}


async def _post(http: httpx.AsyncClient, rpc_url: str, body: Any) -> Any:
    reply = (await http.post(rpc_url, json=body)).json()
    for answer in reply if isinstance(reply, list) else [reply]:
        if "error" in answer:
            raise LoadFailed(f"{answer.get('id')}: {answer['error']}")
    return reply


async def set_accounts(rpc_url: str, accounts: Mapping[Pubkey, Account]) -> int:
    """Writes every account into the node; returns how many."""
    items = list(accounts.items())
    async with httpx.AsyncClient(timeout=60) as http:
        for start in range(0, len(items), BATCH):
            await _post(http, rpc_url, [_set_account(k, a, start + i) for i, (k, a) in enumerate(items[start:start + BATCH])])
    return len(items)


async def load(rpc_url: str, chain: Chain) -> int:
    """The chain's accounts into the node, and the node's clock at or past the chain's (its slot
    after the chain's, its unix time the chain's), so prices the chain published are as fresh on
    the node as they were in the chain. Returns the number of accounts written."""
    count = await set_accounts(rpc_url, chain.export())
    clock = chain.clock
    async with httpx.AsyncClient(timeout=60) as http:
        now = (await _post(http, rpc_url, {"jsonrpc": "2.0", "id": 1, "method": "qd_getClock", "params": []}))["result"]
        if now["slot"] <= clock.slot:
            await _post(http, rpc_url, {"jsonrpc": "2.0", "id": 2, "method": "qd_warpSlot", "params": [clock.slot + 1]})
        await _post(http, rpc_url, {"jsonrpc": "2.0", "id": 3, "method": "qd_setClock", "params": [{"unixTimestamp": clock.unix_timestamp}]})
    return count
