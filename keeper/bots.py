"""The `Bot` protocol and the built-in bots: `risk` here, `publisher` (the oracle publisher, keeper/publisher.py)."""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

from quantdesk.keeper.cache import AccountCache
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.publisher import PublisherBot
from quantdesk.keeper.sender import Sender
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair

__all__ = ["BOTS", "Bot", "BotContext", "RiskBot"]


@dataclass(frozen=True, slots=True)
class BotContext:
    params: dict[str, Any]  # the bot's [bots.<name>] table
    cache: AccountCache
    rpc: AsyncClient
    keypair: Keypair
    metrics: Metrics
    log: Log
    sender: Sender  # every transaction a bot sends goes through it


class Bot(Protocol):
    name: str

    async def run(self, ctx: BotContext) -> None: ...


class RiskBot:
    """Every `interval_secs` (default 10), once the cache is live, logs `risk.accounts`: accounts
    per type, margin accounts being liquidated, bankrupt or frozen, trading accounts with open
    orders or auctions."""

    name = "risk"

    async def run(self, ctx: BotContext) -> None:
        interval = float(ctx.params.get("interval_secs", 10))
        while True:
            await ctx.cache.live.wait()
            ctx.log.info("risk.accounts", slot=ctx.cache.slot, **self.summary(ctx.cache))
            await asyncio.sleep(interval)

    @staticmethod
    def summary(cache: AccountCache) -> dict[str, int]:
        counts: Counter[str] = Counter({name: len(store) for name, store in cache.stores.items()})
        for entry in cache.stores.get("margin_account", {}).values():
            account = entry.value
            counts["being_liquidated"] += account.being_liquidated
            counts["bankrupt"] += account.bankrupt
            counts["frozen"] += account.frozen
        for entry in cache.stores.get("trading_account", {}).values():
            counts["open_orders"] += bool(entry.value.has_open_order)
            counts["open_auctions"] += bool(entry.value.has_open_auction)
        return dict(counts)


BOTS: dict[str, type[Bot]] = {"risk": RiskBot, "publisher": PublisherBot}
