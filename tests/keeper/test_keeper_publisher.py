"""The oracle publisher bot against the local validator: governance grants ORACLE_ADMIN, the admin
creates feeds whose publisher is the keeper's key, and each price source publishes through the
transaction sender, the feed accounts (decode_feed) being the proof: the walk (same seed, same
prices; a shock moves the aggregate by its bps), the CSV replay (rows in order; a bad file refused
by name) and Hermes (recorded responses served by a local HTTP server, exponent converted,
through an HTTP 500 and a timeout); and `quantdesk keeper publisher --config` as a process.

The Hermes fixtures (fixtures/hermes_latest_*.json) have the shape of Hermes'
/v2/updates/price/latest?parsed=true answers for Pyth's SOL/USD and BTC/USD ids; their `binary`
blobs are shortened (the publisher reads `parsed` only)."""
from __future__ import annotations

import asyncio
import base64
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from anchorpy import Provider, Wallet
from quantdesk.clients import oracle, sysvar
from quantdesk.clients.oracle import Feed, OracleClient
from quantdesk.clients.security import LOCAL_TIMELOCK_DELAY, Change, Role, SecurityClient
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.cache import AccountCache
from quantdesk.keeper.config import InvalidValue, MissingKey, SenderConfig
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.params import Table
from quantdesk.keeper.prices import Quote
from quantdesk.keeper.prices.csv_replay import BadCsvHeader, BadCsvRow, UnreadableCsv, read_rows
from quantdesk.keeper.prices.hermes import HermesHttpError, HermesSource, HermesTimeout, MalformedHermesResponse, parse_updates
from quantdesk.keeper.prices.stamps import Stamps, cluster_clock
from quantdesk.keeper.prices.units import rescale
from quantdesk.keeper.prices.walk import RandomWalk
from quantdesk.keeper.publisher import FeedMissing, NotAPublisher, PublisherBot
from quantdesk.keeper.sender import Outcome, Sender
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from websockets.asyncio.client import connect

from quantdesk.demo.common import fund
from quantdesk.localnet import LocalnetProcess, free_port, run_in_background
from quantdesk.localnet.controls_client import ValidatorClock

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
TIMEOUT = 20.0
SOL_ID = "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d"
BTC_ID = "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"
on_chain = pytest.mark.asyncio(loop_scope="module")
"""The tests that share the module's validator run on its event loop."""


@dataclass
class Chain:
    node: LocalnetProcess
    rpc: AsyncClient
    oracle: OracleClient
    oracle_admin: Keypair
    keeper: Keypair
    clock: ValidatorClock

    async def create_feed(self, symbol: str, expo: int = -6, publishers: list[Keypair] | None = None) -> None:
        keys = [p.pubkey() for p in publishers or [self.keeper]]
        await self.oracle.send([self.oracle.ix.initialize_feed(self.oracle_admin.pubkey(), symbol, expo, 30, keys)], [self.oracle_admin])

    async def feed(self, symbol: str) -> Feed:
        return await self.oracle.fetch_feed(symbol)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def chain() -> AsyncIterator[Chain]:
    """Governance on a fresh validator: qd-security initialized by a super-admin who grants
    ORACLE_ADMIN through the timelock (proposed, the clock warped past the delay, executed)."""
    async with run_in_background(root=ROOT, slot_ms=100, log_level="warning") as node, AsyncClient(node.rpc_url, commitment=Confirmed) as rpc:
        super_admin, oracle_admin, keeper = Keypair(), Keypair(), Keypair()
        await fund(rpc, super_admin, oracle_admin, keeper)
        clock = ValidatorClock(node.rpc_url)
        sec = SecurityClient(Provider(rpc, Wallet(super_admin)))
        await sec.send([sec.ix.initialize(super_admin.pubkey(), timelock_delay=LOCAL_TIMELOCK_DELAY)])
        await sec.enact(super_admin, Change.grant_role(Role.ADMIN, super_admin.pubkey()), clock.warp_seconds)
        await sec.enact(super_admin, Change.grant_role(Role.ORACLE_ADMIN, oracle_admin.pubkey()), clock.warp_seconds)
        assert (await sec.fetch_config()).has_role(Role.ORACLE_ADMIN, oracle_admin.pubkey())
        yield Chain(node, rpc, OracleClient(Provider(rpc, Wallet(oracle_admin))), oracle_admin, keeper, clock)


async def until(predicate: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- units and parsing (no chain)

def test_rescale_rounds_prices_half_even_and_confidences_up() -> None:
    assert rescale(14523456789, -8, -6) == 145234568
    assert rescale(14601000050, -8, -6) == 146010000  # exactly half: to even
    assert rescale(7812345, -8, -6, up=True) == 78124
    assert rescale(1505, 0, -3) == 1_505_000  # a finer feed exponent is exact


def test_hermes_fixture_parses_with_exponents_converted() -> None:
    body = json.loads((FIXTURES / "hermes_latest_1.json").read_text())
    quotes = parse_updates(body, {SOL_ID: "SOL/USD", BTC_ID: "BTC/USD"}, {"SOL/USD": -6, "BTC/USD": -2})
    assert [(q.symbol, q.price, q.conf, q.publish_time) for q in quotes] == [("SOL/USD", 145234568, 78124, 1717171720),
                                                                            ("BTC/USD", 6701235, 1235, 1717171720)]
    with pytest.raises(MalformedHermesResponse, match="no update for ETH/USD"):
        parse_updates(body, {"ff" * 32: "ETH/USD"}, {"ETH/USD": -6})
    with pytest.raises(MalformedHermesResponse, match="parsed"):
        parse_updates({"binary": body["binary"]}, {SOL_ID: "SOL/USD"}, {"SOL/USD": -6})
    body["parsed"][0]["price"]["price"] = 145.2
    with pytest.raises(MalformedHermesResponse, match=r"SOL/USD: price.price"):
        parse_updates(body, {SOL_ID: "SOL/USD"}, {"SOL/USD": -6})


@pytest.mark.parametrize(("text", "error", "line", "match"), [
    ("time,symbol,price,conf\n1,A/B,1,0\n", BadCsvHeader, 1, "prices.csv:1: expected the header"),
    ("timestamp,symbol,price,conf\n1,A/B,1.5,0.1\n2,A/B,abc,0.1\n", BadCsvRow, 3, "prices.csv:3: price 'abc' is not a number"),
    ("timestamp,symbol,price,conf\n5,A/B,1.5,0.1\n\n4,A/B,1.6,0.1\n", BadCsvRow, 4, "prices.csv:4: timestamp 4 is before the previous row's 5"),
    ("timestamp,symbol,price,conf\n1,C/D,1.5,0.1\n", BadCsvRow, 2, "prices.csv:2: symbol 'C/D' is not one of the publisher's symbols"),
    ("timestamp,symbol,price,conf\n1,A/B,1.5,1.5\n", BadCsvRow, 2, "prices.csv:2: conf 1.5 is not below the price 1.5"),
    ("timestamp,symbol,price,conf\n1,A/B,0.0000001,0\n", BadCsvRow, 2, "prices.csv:2: price '0.0000001' is not positive at the feed's exponent -6"),
    ("timestamp,symbol,price,conf\n1,A/B,1.5\n", BadCsvRow, 2, "prices.csv:2: expected 4 fields"),
])
def test_bad_csv_files_are_refused_by_name_with_line_and_reason(tmp_path: Path, text: str, error: type[Exception], line: int, match: str) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(text)
    with pytest.raises(error) as caught:
        read_rows(path, {"A/B": -6})
    assert match in str(caught.value)
    if isinstance(caught.value, BadCsvRow):
        assert (caught.value.path, caught.value.line) == (path, line)


def test_unreadable_csv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableCsv, match="missing.csv"):
        read_rows(tmp_path / "missing.csv", {"A/B": -6})


# ---------------------------------------------------------------- a recorded Hermes, served locally

class FakeHermes:
    """Hermes' latest-price endpoint on 127.0.0.1: answers each request with the next of `script`
    (a fixture file name, an HTTP status, or "hang" to answer too late), the last one repeated."""

    def __init__(self, script: list[str | int]) -> None:
        self.script = script
        self.requests: list[str] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> FakeHermes:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        self.requests.append(head.split(" ", 2)[1])
        action = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
        try:
            if action == "hang":
                await asyncio.sleep(1.0)  # past the source's timeout_secs (0.3 s)
                return
            if isinstance(action, int):
                status, body = action, json.dumps({"message": "internal error"}).encode()
            else:
                status, body = 200, (FIXTURES / action).read_bytes()
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                         + body)
            await writer.drain()
        finally:
            writer.close()


async def test_hermes_errors_are_named_and_polls_back_off() -> None:
    errors: list[Exception] = []
    async with FakeHermes([500, "hang", "hermes_latest_1.json"]) as hermes:
        source = HermesSource(hermes.url, {"SOL/USD": SOL_ID}, {"SOL/USD": -6}, errors.append, poll_secs=0.05, timeout_secs=0.3)
        quotes = source.quotes()
        first = await asyncio.wait_for(anext(quotes), TIMEOUT)
        await quotes.aclose()
    assert (first.symbol, first.price, first.conf, first.publish_time) == ("SOL/USD", 145234568, 78124, 1717171720)
    assert [type(e) for e in errors] == [HermesHttpError, HermesTimeout] and isinstance(errors[0], HermesHttpError) and errors[0].status == 500
    assert source.backoff.attempts == 0  # reset by the good poll
    assert hermes.requests[0] == f"/v2/updates/price/latest?ids%5B%5D={SOL_ID}&parsed=true"


# ---------------------------------------------------------------- on the chain, through the sender

class FeedWatch:
    """Every version of some feeds, in the order the validator commits them (accountSubscribe on
    one websocket)."""

    def __init__(self, node: LocalnetProcess, symbols: list[str]) -> None:
        self.node = node
        self.symbols = symbols
        self.seen: list[Feed] = []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FeedWatch:
        ready = asyncio.Event()
        self.task = asyncio.create_task(self._read(ready))
        await asyncio.wait_for(ready.wait(), TIMEOUT)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def _read(self, ready: asyncio.Event) -> None:
        async with connect(self.node.ws_url) as ws:
            addresses = {}
            for i, symbol in enumerate(self.symbols):
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "accountSubscribe",
                                          "params": [str(oracle.feed_address(symbol)), {"encoding": "base64", "commitment": "confirmed"}]}))
                answer = json.loads(await ws.recv())
                addresses[answer["result"]] = oracle.feed_address(symbol)
            ready.set()
            async for message in ws:
                params = json.loads(message)["params"]
                data = base64.b64decode(params["result"]["value"]["data"][0])
                self.seen.append(oracle.decode_feed(addresses[params["subscription"]], data))

    def prices(self, symbol: str) -> list[int]:
        return [f.price for f in self.seen if f.symbol == symbol]

    async def wait(self, predicate: Callable[[], bool], what: str) -> None:
        async def check() -> bool:
            return predicate()
        await until(check, what)


@dataclass
class Running:
    bot: PublisherBot
    task: asyncio.Task[None]
    metrics: Metrics

    def sample(self, name: str, **labels: str) -> float:
        return sample(self.metrics, name, **labels)


@asynccontextmanager
async def context(chain: Chain, params: dict[str, Any]) -> AsyncIterator[BotContext]:
    """A bot's context on the keeper's key, with a real sender (closed on exit)."""
    metrics, log = Metrics(), Log(level="debug")
    cache = AccountCache(chain.rpc, chain.node.ws_url, [], metrics, log, reconcile_secs=30.0, dead_after_secs=5.0)  # not run: the publisher reads its feeds
    sender = Sender(chain.rpc, chain.node.ws_url, chain.keeper, metrics, log, SenderConfig())
    await sender.start()
    try:
        yield BotContext(params, cache, chain.rpc, chain.keeper, metrics, log, sender)
    finally:
        await sender.close()


@asynccontextmanager
async def publisher(chain: Chain, params: dict[str, Any]) -> AsyncIterator[Running]:
    """The publisher bot running in this process."""
    async with context(chain, params) as ctx:
        bot = PublisherBot()
        running = Running(bot, asyncio.create_task(bot.run(ctx)), ctx.metrics)
        try:
            yield running
        finally:
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    key = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return metrics.summary().get(f"{name}{{{key}}}" if key else name, 0.0)


def walk_params(symbol: str, seed: int, **walk: Any) -> dict[str, Any]:
    spec = walk.pop("spec", {"start": "150.25", "vol_bps": 50, "conf_bps": 5})
    return {"source": "walk", "symbols": [symbol], "walk": {"seed": seed, "step_secs": 0.05, "symbols": {symbol: spec}, **walk}}


@on_chain
async def test_the_walk_publishes_the_same_prices_for_the_same_seed(chain: Chain) -> None:
    await chain.create_feed("WALK/A")
    offline = RandomWalk.from_params(Table(walk_params("WALK/A", 11, steps=3)["walk"], "walk"), ["WALK/A"], {"WALK/A": -6}, Stamps(cluster_clock(chain.rpc)))
    expected = [offline.step(step, "WALK/A", 0).price for step in range(3)]
    assert expected[0] == 150_250_000 and len(set(expected)) == 3
    runs = []
    async with FeedWatch(chain.node, ["WALK/A"]) as watch:
        for _ in range(2):  # the same seed twice: the same path again, stamped later
            async with publisher(chain, walk_params("WALK/A", 11, steps=3)) as run:
                await asyncio.wait_for(run.task, TIMEOUT)  # a walk of 3 steps ends
                assert run.sample("quantdesk_keeper_prices_published_total", symbol="WALK/A", source="walk") == 3
                assert run.sample("quantdesk_keeper_published_price", symbol="WALK/A") == expected[-1] / 1e6
            await watch.wait(lambda: len(watch.seen) == 3 * (len(runs) + 1), "the run's 3 publishes")
            runs.append(watch.seen[-3:])
    me = chain.keeper.pubkey()
    for seen in runs:
        assert [f.latest_of(me).price for f in seen] == [f.price for f in seen] == expected  # one publisher, quorum 1: the aggregate is its price
        assert [f.conf for f in seen] == [p * 5 // 10_000 for p in expected]
        stamps = [f.latest_of(me).publish_time for f in seen]
        assert stamps == sorted(set(stamps))  # strictly increasing, one a second at most
    assert runs[1][0].latest_of(me).publish_time > runs[0][-1].latest_of(me).publish_time
    other = RandomWalk.from_params(Table(walk_params("WALK/A", 12)["walk"], "walk"), ["WALK/A"], {"WALK/A": -6}, Stamps(cluster_clock(chain.rpc)))
    assert [other.step(step, "WALK/A", 0).price for step in range(3)] != expected  # another seed, another path


@on_chain
async def test_shocks_move_the_aggregate_by_their_bps(chain: Chain) -> None:
    await chain.create_feed("SHOCK/A")
    params = walk_params("SHOCK/A", 3, spec={"start": 100, "vol_bps": 0, "conf_bps": 10}, shocks=[{"symbol": "SHOCK/A", "bps": -500, "at_step": 1}])
    async with FeedWatch(chain.node, ["SHOCK/A"]) as watch, publisher(chain, params) as run:
        await watch.wait(lambda: 95_000_000 in watch.prices("SHOCK/A"), "the scheduled shock (step 1, -500 bps)")
        assert watch.prices("SHOCK/A") == [100_000_000, 95_000_000]
        assert isinstance(run.bot.source, RandomWalk)
        run.bot.source.shock("SHOCK/A", 250)  # by a call: at the next step
        await watch.wait(lambda: watch.prices("SHOCK/A")[-1] != 95_000_000, "the triggered shock (+250 bps)")
    prices = watch.prices("SHOCK/A")
    assert prices[:2] == [100_000_000, 95_000_000] and set(prices[2:-1]) <= {95_000_000} and prices[-1] == 97_375_000
    assert watch.seen[-1].conf == 97_375_000 * 10 // 10_000


@on_chain
async def test_the_interval_spaces_a_symbols_publishes(chain: Chain) -> None:
    await chain.create_feed("EVERY2/A")
    async with FeedWatch(chain.node, ["EVERY2/A"]) as watch, publisher(chain, {**walk_params("EVERY2/A", 4, steps=4), "interval_secs": 2}) as run:
        await asyncio.wait_for(run.task, TIMEOUT)  # 4 steps stamped a second apart: steps 0 and 2 published
        await watch.wait(lambda: len(watch.seen) == 2, "2 publishes")
        assert run.sample("quantdesk_keeper_prices_published_total", symbol="EVERY2/A", source="walk") == 2
    first, second = (f.latest_of(chain.keeper.pubkey()).publish_time for f in watch.seen)
    assert second - first == 2


@on_chain
async def test_a_publish_not_newer_than_the_keepers_latest_is_a_lost_race(chain: Chain) -> None:
    await chain.create_feed("RACE/A")
    async with context(chain, {}) as ctx:
        bot, feed = PublisherBot(), await chain.feed("RACE/A")
        now = (await sysvar.fetch_clock(chain.rpc)).unix_timestamp
        landed = await bot.publish(ctx, "walk", feed, Quote("RACE/A", 10_000_000, 1_000, now))
        again = await bot.publish(ctx, "walk", feed, Quote("RACE/A", 11_000_000, 1_000, now))  # as from a second process on the same key
        assert (landed.outcome, again.outcome, again.error) == (Outcome.LANDED, Outcome.LOST_RACE, "NonIncreasingPublishTime")
        assert sample(ctx.metrics, "quantdesk_keeper_prices_published_total", symbol="RACE/A", source="walk") == 1
        assert sample(ctx.metrics, "quantdesk_keeper_lost_races_total", bot="publisher", error="NonIncreasingPublishTime") == 1
        assert sample(ctx.metrics, "quantdesk_keeper_transaction_failures_total", bot="publisher", error="NonIncreasingPublishTime") == 0
    assert (await chain.feed("RACE/A")).price == 10_000_000


@on_chain
async def test_the_csv_replay_publishes_its_rows_in_order(chain: Chain, tmp_path: Path) -> None:
    await chain.create_feed("CSV/A")
    await chain.create_feed("CSV/B", expo=-3)
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,symbol,price,conf\n"
                    "1717000000,CSV/A,150.1234567,0.0100001\n"
                    "1717000000.25,CSV/B,67012.5,12\n"
                    "1717000000.5,CSV/A,150.5,0.01\n"
                    "1717000001,CSV/B,67001.0004,12.0001\n"
                    "1717000001,CSV/A,149.75,0.02\n")
    params = {"source": "csv", "symbols": ["CSV/A", "CSV/B"], "csv": {"path": str(path), "speed": 4.0}}
    async with FeedWatch(chain.node, ["CSV/A", "CSV/B"]) as watch, publisher(chain, params) as run:
        await asyncio.wait_for(run.task, TIMEOUT)  # the file replayed, the bot ends
        await watch.wait(lambda: len(watch.seen) == 5, "5 publishes")
        assert run.sample("quantdesk_keeper_prices_published_total", symbol="CSV/A", source="csv") == 3
    # Rounded to each feed's exponent (prices half-even, confidences up), in the file's order.
    assert [(f.symbol, f.price, f.conf) for f in watch.seen] == [("CSV/A", 150_123_457, 10_001), ("CSV/B", 67_012_500, 12_000),
                                                               ("CSV/A", 150_500_000, 10_000), ("CSV/B", 67_001_000, 12_001),
                                                               ("CSV/A", 149_750_000, 20_000)]


@on_chain
async def test_a_bad_csv_file_is_refused_by_name_and_nothing_is_published(chain: Chain, tmp_path: Path) -> None:
    await chain.create_feed("CSV/BAD")
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,symbol,price,conf\n1717000000,CSV/BAD,150,0.01\n1717000001,CSV/BAD,-3,0.01\n")
    async with publisher(chain, {"source": "csv", "symbols": ["CSV/BAD"], "csv": {"path": str(path), "fast": True}}) as run:
        with pytest.raises(BadCsvRow, match=r"prices.csv:3: price '-3' is not positive"):
            await asyncio.wait_for(run.task, TIMEOUT)
        assert run.sample("quantdesk_keeper_price_source_errors_total", source="csv") == 1
    feed = await chain.feed("CSV/BAD")
    assert feed.latest_of(chain.keeper.pubkey()).publish_time == 0 and feed.price == 0


@on_chain
async def test_refused_configurations_and_feeds(chain: Chain) -> None:
    await chain.create_feed("OTHER/A", publishers=[Keypair()])
    for params, error, match in [({"symbols": ["OTHER/A"]}, MissingKey, "bots.publisher.source"),
                                 ({"source": "oracle", "symbols": ["OTHER/A"]}, InvalidValue, "walk, csv, hermes"),
                                 ({"source": "walk", "symbols": ["OTHER/A"], "interval": 1}, InvalidValue, "unknown keys: interval"),
                                 (walk_params("OTHER/A", 1), NotAPublisher, "does not list"),
                                 (walk_params("NONE/A", 1), FeedMissing, "no qd-oracle feed")]:
        async with publisher(chain, params) as run:
            with pytest.raises(error, match=match):
                await asyncio.wait_for(run.task, TIMEOUT)


@on_chain
async def test_hermes_prices_are_published_through_an_http_500_and_a_timeout(chain: Chain) -> None:
    await chain.create_feed("PYTH/SOL", expo=-6)
    await chain.create_feed("PYTH/BTC", expo=-2)
    # The cluster clock at the recording's time, so the recorded prices are fresh for the aggregate.
    await chain.clock.call("qd_setClock", {"unixTimestamp": 1717171721})
    script: list[str | int] = [500, "hang", "hermes_latest_1.json", "hermes_latest_1.json", "hermes_latest_2.json"]
    async with FakeHermes(script) as hermes:
        params = {"source": "hermes", "symbols": ["PYTH/SOL", "PYTH/BTC"],
                  "hermes": {"url": hermes.url, "poll_secs": 0.05, "timeout_secs": 0.3, "ids": {"PYTH/SOL": SOL_ID, "PYTH/BTC": "0x" + BTC_ID}}}
        async with FeedWatch(chain.node, ["PYTH/SOL", "PYTH/BTC"]) as watch, publisher(chain, params) as run:
            await watch.wait(lambda: len(watch.seen) == 4, "both recorded updates of both feeds")
            assert run.sample("quantdesk_keeper_price_source_errors_total", source="hermes") == 2
            await watch.wait(lambda: run.sample("quantdesk_keeper_prices_published_total", symbol="PYTH/SOL", source="hermes") == 2,
                             "both SOL publishes counted")  # the repeated update skipped
            # The gauge follows the send's result, a moment after the feed's notification.
            await watch.wait(lambda: run.sample("quantdesk_keeper_published_price", symbol="PYTH/BTC") == 67125.0, "the last price's gauge")
    me = chain.keeper.pubkey()
    assert [(f.symbol, f.price, f.conf, f.latest_of(me).publish_time) for f in watch.seen] == [
        ("PYTH/SOL", 145_234_568, 78_124, 1717171720), ("PYTH/BTC", 6_701_235, 1_235, 1717171720),
        ("PYTH/SOL", 146_010_000, 90_001, 1717171723), ("PYTH/BTC", 6_712_500, 1_501, 1717171723)]
    assert all(f.num_aggregated == 1 for f in watch.seen)
    assert len(hermes.requests) >= 5 and all(r == f"/v2/updates/price/latest?ids%5B%5D={SOL_ID}&ids%5B%5D={BTC_ID}&parsed=true" for r in hermes.requests)


@on_chain
async def test_the_publisher_runs_alone_as_a_process(chain: Chain, tmp_path: Path) -> None:
    await chain.create_feed("CLI/A")
    (tmp_path / "id.json").write_text(json.dumps(list(bytes(chain.keeper))))
    (tmp_path / "keeper.toml").write_text(
        f'rpc_url = "{chain.node.rpc_url}"\nws_url = "{chain.node.ws_url}"\nkeypair = "id.json"\nslot_secs = 0.1\n'
        '[bots.risk]\ninterval_secs = 0.2\n'  # not run: `keeper publisher` runs the publisher alone
        '[bots.publisher]\nsource = "walk"\nsymbols = ["CLI/A"]\n'
        '[bots.publisher.walk]\nseed = 5\nstep_secs = 0.1\n[bots.publisher.walk.symbols."CLI/A"]\nstart = "42"\nvol_bps = 0\n')
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "quantdesk", "keeper", "publisher", "--config", str(tmp_path / "keeper.toml"),
                                                "--port", str(free_port()), stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    try:
        async def published() -> bool:
            return (await chain.feed("CLI/A")).price == 42_000_000
        await until(published, "the process's first publish")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = [json.loads(line) for line in (await proc.stderr.read()).decode().splitlines()]
    events = [line["event"] for line in lines]
    assert lines[0]["bots"] == ["publisher"] and "publisher.published" in events and "risk.report" not in events
    assert lines[-1]["metrics"]['quantdesk_keeper_prices_published_total{source="walk",symbol="CLI/A"}'] >= 1
