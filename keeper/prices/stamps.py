"""Publish times for the sources that make their own prices (the walk, the CSV replay): the
cluster's clock, in whole seconds, strictly increasing per symbol.

qd-oracle refuses a publish_time that is not after the publisher's latest one, or more than
MAX_PUBLISH_SKEW_SECS ahead of the cluster clock, and aggregates only prices younger than the
feed's max_publisher_age_secs by the cluster clock: so stamps come from the cluster, and a symbol
that already has the current second waits for the next (at most one publish a second a symbol)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from quantdesk.clients import sysvar
from quantdesk.keeper.prices import SourceError
from solana.rpc.async_api import AsyncClient

__all__ = ["Clock", "ClockStuck", "Stamps", "cluster_clock"]

Clock = Callable[[], Awaitable[int]]
"""Unix seconds now."""


def cluster_clock(rpc: AsyncClient) -> Clock:
    """The Clock sysvar's unix_timestamp, read at each call: what the program compares stamps with."""

    async def now() -> int:
        return (await sysvar.fetch_clock(rpc)).unix_timestamp

    return now


class ClockStuck(SourceError):
    """The clock did not move past a symbol's latest stamp in time (a paused cluster, or a
    previous publish stamped ahead of the clock as it is now)."""


class Stamps:
    def __init__(self, clock: Clock, latest: dict[str, int] | None = None, poll_secs: float = 0.1, timeout_secs: float = 30.0) -> None:
        self.clock = clock
        self.latest = dict(latest or {})  # symbol -> its latest stamp (on chain at start-up)
        self.poll_secs = poll_secs
        self.timeout_secs = timeout_secs

    async def next(self, symbol: str) -> int:
        """The clock's current second if `symbol` has not had it yet, else the first later one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_secs
        now = await self.clock()
        while now <= self.latest.get(symbol, 0):
            if loop.time() > deadline:
                raise ClockStuck(f"{symbol}: the clock stayed at or before {self.latest[symbol]} for {self.timeout_secs} s")
            await asyncio.sleep(self.poll_secs)
            now = await self.clock()
        self.latest[symbol] = now
        return now
