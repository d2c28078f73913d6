"""Pyth prices from a Hermes server: `GET {url}/v2/updates/price/latest?ids[]=<id>&parsed=true`
every `poll_secs`, each update's `parsed[].price {price, conf, expo, publish_time}` converted from
Pyth's exponent to the feed's (conf rounded up) and published with Pyth's publish_time.

    [bots.publisher.hermes]
    url = "https://hermes.pyth.network"
    poll_secs = 1.0
    timeout_secs = 5.0          # per request
    [bots.publisher.hermes.ids]  # our symbol -> its Pyth price feed id (32 bytes hex, 0x optional)
    "SOL/USD" = "0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d"

A failed poll (an HTTP error status, a timeout, no connection, a body not in Hermes' shape) is
reported to `on_error` and retried after a capped exponential backoff; the next good poll resets
it. Hermes answers with the latest update until Pyth has a newer one: the publisher skips a quote
not newer than the last one it published."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from quantdesk.keeper.backoff import Backoff
from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.params import Table
from quantdesk.keeper.prices import Quote, SourceError
from quantdesk.keeper.prices.units import rescale

__all__ = ["HermesError", "HermesHttpError", "HermesSource", "HermesTimeout", "HermesUnreachable", "LATEST_PATH", "MalformedHermesResponse", "parse_updates",
           "pyth_id"]

LATEST_PATH = "/v2/updates/price/latest"


class HermesError(SourceError):
    """A poll of Hermes that gave no prices."""


class HermesHttpError(HermesError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


class HermesTimeout(HermesError):
    """No complete answer within timeout_secs."""


class HermesUnreachable(HermesError):
    """The connection failed (refused, reset, DNS)."""


class MalformedHermesResponse(HermesError):
    """A 200 answer whose body is not Hermes' price update shape, lacks an id asked for, or holds a
    price the feed cannot take (not positive, or conf not below it)."""


def pyth_id(text: str) -> str:
    """A Pyth price feed id as Hermes writes it in answers: 64 lowercase hex digits, no 0x."""
    hex_id = text.lower().removeprefix("0x")
    if len(hex_id) != 64 or any(c not in "0123456789abcdef" for c in hex_id):
        raise ValueError(f"not a 32-byte hex Pyth feed id: {text!r}")
    return hex_id


def _int(value: Any, what: str) -> int:
    # Hermes writes price and conf as decimal strings (they are 64-bit), expo and publish_time as numbers.
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise MalformedHermesResponse(f"{what}: expected an integer, got {value!r}")


def parse_updates(body: Any, symbols: dict[str, str], expos: dict[str, int]) -> list[Quote]:
    """The quotes in a /v2/updates/price/latest body, in the order of `symbols` (Pyth id -> our
    symbol), prices at the feeds' exponents `expos` (symbol -> expo)."""
    parsed = body.get("parsed") if isinstance(body, dict) else None
    if not isinstance(parsed, list):
        raise MalformedHermesResponse("expected an object with a `parsed` array")
    prices: dict[str, Any] = {}
    for i, update in enumerate(parsed):
        if not (isinstance(update, dict) and isinstance(update.get("id"), str) and isinstance(update.get("price"), dict)):
            raise MalformedHermesResponse(f"parsed[{i}]: expected an object with `id` and `price`")
        prices[update["id"].lower().removeprefix("0x")] = update["price"]
    missing = [f"{symbol} ({hex_id})" for hex_id, symbol in symbols.items() if hex_id not in prices]
    if missing:
        raise MalformedHermesResponse(f"no update for {', '.join(missing)}")
    quotes = []
    for hex_id, symbol in symbols.items():
        p = prices[hex_id]
        where = f"{symbol}: price"
        expo = _int(p.get("expo"), f"{where}.expo")
        price = rescale(_int(p.get("price"), f"{where}.price"), expo, expos[symbol])
        conf = rescale(_int(p.get("conf"), f"{where}.conf"), expo, expos[symbol], up=True)
        if price <= 0 or not 0 <= conf < price:
            raise MalformedHermesResponse(f"{symbol}: price {p.get('price')} conf {p.get('conf')} (expo {expo}) is not a positive price above its conf "
                                          f"at the feed's exponent {expos[symbol]}")
        quotes.append(Quote(symbol, price, conf, _int(p.get("publish_time"), f"{where}.publish_time")))
    return quotes


class HermesSource:
    name = "hermes"

    def __init__(self, url: str, ids: dict[str, str], expos: dict[str, int], on_error: Callable[[HermesError], None], poll_secs: float = 1.0,
                 timeout_secs: float = 5.0, backoff: Backoff | None = None) -> None:
        self.url = url.rstrip("/")
        self.symbols = {pyth_id(hex_id): symbol for symbol, hex_id in ids.items()}
        self.expos = expos
        self.on_error = on_error
        self.poll_secs = poll_secs
        self.timeout_secs = timeout_secs
        self.backoff = backoff or Backoff(initial=0.2, cap=10.0)

    @classmethod
    def from_params(cls, table: Table, symbols: list[str], expos: dict[str, int], on_error: Callable[[HermesError], None]) -> HermesSource:
        table.only("url", "poll_secs", "timeout_secs", "ids")
        id_table = table.table("ids")
        ids = {}
        for symbol in symbols:
            try:
                ids[symbol] = pyth_id(id_table.string(symbol))
            except ValueError as exc:
                raise InvalidValue(f"{id_table.where}.{symbol}: {exc}") from None
        extra = set(id_table.raw) - set(symbols)
        if extra:
            raise InvalidValue(f"{id_table.where}: ids for symbols the publisher does not publish: {', '.join(sorted(extra))}")
        return cls(table.string("url"), ids, expos, on_error, table.number("poll_secs", 1.0, above=True), table.number("timeout_secs", 5.0, above=True))

    async def fetch(self, http: httpx.AsyncClient) -> list[Quote]:
        """One poll: the latest update of every configured id."""
        params = {"ids[]": list(self.symbols), "parsed": "true"}
        try:
            response = await http.get(self.url + LATEST_PATH, params=params, timeout=self.timeout_secs)
        except httpx.TimeoutException as exc:
            raise HermesTimeout(f"{self.url}: no answer in {self.timeout_secs} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise HermesUnreachable(f"{self.url}: {exc!r}") from exc
        if response.status_code != 200:
            raise HermesHttpError(response.status_code, response.text)
        try:
            body = response.json()
        except ValueError as exc:
            raise MalformedHermesResponse(f"not JSON: {response.text[:200]!r}") from exc
        return parse_updates(body, self.symbols, self.expos)

    async def quotes(self) -> AsyncIterator[Quote]:
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    quotes = await self.fetch(http)
                except HermesError as exc:
                    self.on_error(exc)
                    await asyncio.sleep(self.backoff.next())
                    continue
                self.backoff.reset()
                for quote in quotes:
                    yield quote
                await asyncio.sleep(self.poll_secs)
