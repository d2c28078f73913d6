"""The risk bot: counts of the venue's accounts by state, logged while the cache is live."""
from __future__ import annotations

import asyncio
from collections import Counter

from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.cache import AccountCache

__all__ = ["RiskBot"]


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
