"""What every bot is and what it is given: the `Bot` protocol and its `BotContext`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from quantdesk.keeper.cache import AccountCache
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.sender import Sender
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair

__all__ = ["Bot", "BotContext"]


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
