"""The oracle publisher bot: prices from a source (a seeded random walk, a CSV replay or Pyth's
Hermes, see keeper/prices) published to qd-oracle feeds that list the keeper's key as a publisher,
each through the transaction sender.

    [bots.publisher]
    source = "walk"                  # walk | csv | hermes: its parameters in the table of that name
    symbols = ["SOL/USD", "BTC/USD"] # the feeds (each must list the keeper's key as a publisher)
    interval_secs = 0                # publish a symbol at most this often by publish_time (0: every new quote)
    [bots.publisher.walk]            # see keeper/prices/walk.py, csv_replay.py, hermes.py
    ...

At start-up the feeds are read once: their exponents (the sources quote in each feed's units) and
the keeper's latest publish on each (the next one must be later). A quote whose publish_time is
not after the symbol's last publish, or sooner than `interval_secs` after it, is skipped. The
program refusing a publish as not newer (NonIncreasingPublishTime: another process with the same
key published first) is a lost race, not a failure."""
from __future__ import annotations

import time
from decimal import Decimal

from quantdesk.clients import oracle
from quantdesk.clients.oracle import Feed, OracleInstructions
from quantdesk.clients.rpc import AccountReads
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.params import Table
from quantdesk.keeper.prices import PriceSource, Quote, SourceError
from quantdesk.keeper.prices.csv_replay import CsvReplay
from quantdesk.keeper.prices.hermes import HermesError, HermesSource
from quantdesk.keeper.prices.stamps import Stamps, cluster_clock
from quantdesk.keeper.prices.walk import RandomWalk
from quantdesk.keeper.sender import Outcome, SendResult
from solana.rpc.async_api import AsyncClient
from solders.pubkey import Pubkey

__all__ = ["FeedMissing", "LOST_RACE", "NotAPublisher", "PublisherBot", "PublisherError", "SOURCES", "load_feeds"]

SOURCES = ("walk", "csv", "hermes")
LOST_RACE = ("NonIncreasingPublishTime",)
"""qd-oracle's refusal of a publish_time not after the publisher's latest."""


class PublisherError(Exception):
    """A feed the publisher cannot publish to."""


class FeedMissing(PublisherError):
    """No qd-oracle feed account at a symbol's address."""


class NotAPublisher(PublisherError):
    """The feed does not list the keeper's key among its publishers."""


async def load_feeds(rpc: AsyncClient, symbols: list[str], publisher: Pubkey) -> dict[str, Feed]:
    """The feeds of `symbols` (one getMultipleAccounts), each checked to list `publisher`."""
    reads = AccountReads(rpc)
    addresses = {symbol: oracle.feed_address(symbol) for symbol in symbols}
    await reads.load(addresses.values())
    feeds = {}
    for symbol, address in addresses.items():
        data = reads.owned_data(address, oracle.PROGRAM_ID)
        if data is None:
            raise FeedMissing(f"{symbol}: no qd-oracle feed at {address}")
        feed = oracle.decode_feed(address, data)
        if publisher not in feed.publishers:
            raise NotAPublisher(f"{symbol}: the feed at {address} does not list {publisher} among its {len(feed.publishers)} publishers")
        feeds[symbol] = feed
    return feeds


class PublisherBot:
    name = "publisher"

    def __init__(self) -> None:
        self.source: PriceSource | None = None  # once running (a walk's shocks can be triggered on it)
        self.ix = OracleInstructions()
        self.last: dict[str, int] = {}  # symbol -> publish_time of its last publish landed (or on chain)

    def _source(self, ctx: BotContext, table: Table, kind: str, symbols: list[str], feeds: dict[str, Feed]) -> PriceSource:
        expos = {symbol: feed.expo for symbol, feed in feeds.items()}
        stamps = Stamps(cluster_clock(ctx.rpc), self.last)
        params = table.table(kind, {})
        if kind == "walk":
            return RandomWalk.from_params(params, symbols, expos, stamps)
        if kind == "csv":
            return CsvReplay.from_params(params, expos, stamps)

        def on_error(exc: HermesError) -> None:
            ctx.metrics.price_source_errors.labels("hermes").inc()
            ctx.log.warning("publisher.source_error", source="hermes", error=type(exc).__name__, detail=str(exc))

        return HermesSource.from_params(params, symbols, expos, on_error)

    async def run(self, ctx: BotContext) -> None:
        table = Table(ctx.params, "bots.publisher")
        table.only("source", "symbols", "interval_secs", *SOURCES)
        kind = table.string("source")
        if kind not in SOURCES:
            raise InvalidValue(f"bots.publisher.source: expected one of {', '.join(SOURCES)}, got {kind!r}")
        symbols = table.strings("symbols")
        for symbol in symbols:
            try:
                oracle.encode_symbol(symbol)
            except ValueError as exc:
                raise InvalidValue(f"bots.publisher.symbols: {exc}") from None
        interval = table.number("interval_secs", 0.0)
        me = ctx.keypair.pubkey()
        feeds = await load_feeds(ctx.rpc, symbols, me)
        self.last = {symbol: feed.latest_of(me).publish_time for symbol, feed in feeds.items()}
        try:
            self.source = source = self._source(ctx, table, kind, symbols, feeds)
        except SourceError:
            ctx.metrics.price_source_errors.labels(kind).inc()
            raise
        ctx.log.info("publisher.started", source=kind, publisher=str(me), feeds={s: {"address": str(f.address), "expo": f.expo} for s, f in feeds.items()})
        async for quote in source.quotes():
            last = self.last.get(quote.symbol, 0)
            if quote.publish_time <= last or quote.publish_time < last + interval:
                ctx.log.debug("publisher.skipped", symbol=quote.symbol, publish_time=quote.publish_time, last=last)
                continue
            await self.publish(ctx, source.name, feeds[quote.symbol], quote, detected_at=time.monotonic())
        ctx.log.info("publisher.done", source=kind)

    async def publish(self, ctx: BotContext, source: str, feed: Feed, quote: Quote, detected_at: float | None = None) -> SendResult:
        ix = self.ix.publish(ctx.keypair.pubkey(), feed.address, quote.price, quote.conf, quote.publish_time)
        result = await ctx.sender.send(self.name, ("publish", quote.symbol), [ix], lost_race=LOST_RACE, detected_at=detected_at)
        fields = {"symbol": quote.symbol, "price": quote.price, "conf": quote.conf, "publish_time": quote.publish_time, "outcome": str(result.outcome),
                  "signature": str(result.signature) if result.signature else None}
        if result.outcome == Outcome.LANDED:
            self.last[quote.symbol] = quote.publish_time
            ctx.metrics.prices_published.labels(quote.symbol, source).inc()
            ctx.metrics.published_price.labels(quote.symbol).set(float(Decimal(quote.price).scaleb(feed.expo)))
            ctx.log.info("publisher.published", **fields)
        elif result.outcome == Outcome.LOST_RACE:
            ctx.log.info("publisher.lost_race", **fields)
        else:
            ctx.log.warning("publisher.not_published", **fields, error=result.error, code=result.code)
        return result
