"""The JIT maker's reaction time, for the keeper benchmark: takers' market orders placed over RPC
against a keeper running the `jit` bot, each fill's seconds from the notification that showed
the taker's order to the fill's confirmation (the bot's own samples, keeper/jit_maker.py).

    async with node_with(venue) as node, node.keeper(tmp, maker.owner, {"jit": {...}}) as k:
        figures = await auction_to_fill(node, k, takers, BASE)"""
from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from quantdesk.clients.trading import Side
from quantdesk.keeper.jit_maker import JitBot
from quantdesk.keeper.runtime import Keeper
from quantdesk.localnet.venue_node import WAIT, Node, until
from quantdesk.world import BID, IOC, MARKET, PRICE, Trader, order

__all__ = ["AuctionToFill", "NoJitBot", "auction_to_fill"]


class NoJitBot(Exception):
    """The keeper runs no `jit` bot to measure."""


@dataclass(frozen=True, slots=True)
class AuctionToFill:
    samples: list[float]  # seconds, one a fill, in landing order
    p50: float
    p99: float


def _quantile(samples: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (statistics' inclusive method); one sample is itself."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q * 100) - 1]


async def auction_to_fill(node: Node, keeper: Keeper, takers: Sequence[Trader], size: int, side: Side = BID, worst_bps: int = 200,
                          timeout: float = WAIT) -> AuctionToFill:
    """Each of `takers` places a market order of `size` (all at once, each confirmed), no worse
    than `worst_bps` from PRICE; waits until the bot has landed a fill for each and returns those
    fills' latencies. The bot's limits must let it make them all."""
    bot = keeper.bots.get("jit")
    if not isinstance(bot, JitBot):
        raise NoJitBot(f"the keeper runs {', '.join(sorted(keeper.bots)) or 'no bots'}, not jit")
    margins = {t.margin for t in takers}

    def made(margin: object) -> int:
        return sum(f.size for f in bot.fills if f.taker == margin)

    before = {m: made(m) for m in margins}
    earlier = set(bot.fills)
    worst = PRICE * (10_000 + worst_bps) // 10_000 if side == BID else PRICE * (10_000 - worst_bps) // 10_000
    v = node.venue
    await asyncio.gather(*(node.send([v.place_ix(t, order(side, MARKET, IOC, size=size, price=worst))], t.owner) for t in takers))
    await until(lambda: all(made(m) >= before[m] + size for m in margins), f"{len(takers)} takers made", timeout)
    samples = [f.seconds for f in bot.fills if f.taker in margins and f not in earlier]
    return AuctionToFill(samples, _quantile(samples, 0.5), _quantile(samples, 0.99))
