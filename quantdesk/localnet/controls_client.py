"""A client of the local validator's `qd_` test controls (clock pause, resume and warp), for the
demo and tests that drive time themselves."""
from __future__ import annotations

from typing import Any

import httpx


class ValidatorClock:
    """The local validator's `qd_` clock controls at `rpc_url`."""

    def __init__(self, rpc_url: str) -> None:
        self.rpc_url = rpc_url

    async def call(self, method: str, *params: Any) -> Any:
        async with httpx.AsyncClient() as http:
            reply = (await http.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def warp(self, slots: int) -> int:
        """Moves the chain `slots` slots on (time follows: slotMs each); returns the new slot."""
        now = await self.call("qd_getClock")
        return int(await self.call("qd_warpSlot", now["slot"] + slots))

    async def warp_seconds(self, seconds: int) -> int:
        slot_ms = (await self.call("qd_getClock"))["slotMs"]
        return await self.warp(-(-seconds * 1_000 // slot_ms))
