"""The keeper process: the account cache, the configured bots, metrics and health over HTTP, and
a clean stop on SIGINT or SIGTERM (bots and cache cancelled, the sender's transactions in flight
given their grace to confirm, websockets closed, HTTP endpoint closed, the final metrics written
as the `keeper.stopped` log line)."""
from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from quantdesk.keeper.bots import BOTS, BotContext
from quantdesk.keeper.cache import AccountCache, AccountType, margin_accounts, trading_accounts
from quantdesk.keeper.config import ConfigError, KeeperConfig, read_keypair
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics, serve_http
from quantdesk.keeper.sender import Sender
from solana.rpc.async_api import AsyncClient

__all__ = ["LAG_PROBE_SECS", "Keeper", "UnknownBot", "main"]

LAG_PROBE_SECS = 1.0
"""How often the cache-lag gauge is refreshed with getSlot."""


class UnknownBot(ConfigError):
    """A [bots.<name>] table for a bot the keeper does not have."""


class Keeper:
    def __init__(self, config: KeeperConfig, log: Log | None = None, types: Sequence[AccountType] | None = None) -> None:
        unknown = set(config.bots) - set(BOTS)
        if unknown:
            raise UnknownBot(f"unknown bots: {', '.join(sorted(unknown))} (known: {', '.join(sorted(BOTS))})")
        self.config = config
        self.log = log or Log()
        self.metrics = Metrics()
        self.keypair = read_keypair(config.keypair)
        self.rpc = AsyncClient(config.rpc_url)
        self.cache = AccountCache(self.rpc, config.ws_url, types if types is not None else [margin_accounts(), trading_accounts()], self.metrics, self.log,
                                  reconcile_secs=config.reconcile_secs, dead_after_secs=config.dead_after_secs)
        self.sender = Sender(self.rpc, config.ws_url, self.keypair, self.metrics, self.log, config.sender)

    async def _bot(self, name: str) -> None:
        bot = BOTS[name]()
        ctx = BotContext(self.config.bots[name], self.cache, self.rpc, self.keypair, self.metrics, self.log, self.sender)
        try:
            await bot.run(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failing bot is reported and stops alone; the others carry on
            self.metrics.bot_errors.labels(name).inc()
            self.log.error("bot.failed", bot=name, error=repr(exc))

    async def _probe_lag(self) -> None:
        while True:
            await self.cache.lag_slots()
            await asyncio.sleep(LAG_PROBE_SECS)

    async def run(self, stop: asyncio.Event) -> None:
        server = await serve_http("127.0.0.1", self.config.port, self.metrics, self.cache.health)
        port = server.sockets[0].getsockname()[1]
        self.log.info("keeper.started", rpc_url=self.config.rpc_url, ws_url=self.config.ws_url, port=port, bots=sorted(self.config.bots),
                      signer=str(self.keypair.pubkey()))
        await self.sender.start()
        tasks = [asyncio.create_task(self.cache.run(), name="cache"), asyncio.create_task(self._probe_lag(), name="lag"),
                 *(asyncio.create_task(self._bot(name), name=f"bot-{name}") for name in self.config.bots)]
        stopping = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopping, *tasks[:2]], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # the cache or the lag probe ending means a bug: surface it
        finally:
            for task in (stopping, *tasks):
                task.cancel()
            await asyncio.gather(stopping, *tasks, return_exceptions=True)
            await self.sender.close()  # the bots' sends in flight outlive their cancelled bots, for the grace
            server.close()
            await server.wait_closed()
            await self.rpc.close()
            self.log.info("keeper.stopped", metrics=self.metrics.summary())


async def _serve(config: KeeperConfig, log: Log) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await Keeper(config, log).run(stop)


def main(config: KeeperConfig, log_level: str = "info") -> int:
    asyncio.run(_serve(config, Log(level=log_level)))
    return 0
