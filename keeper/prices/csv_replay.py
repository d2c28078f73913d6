"""A recorded price file replayed: at the recorded pace, faster or slower by a speed factor, or as
fast as the chain takes it.

The file is CSV with this header line, then one row per price:

    timestamp,symbol,price,conf
    1717000000,SOL/USD,150.25,0.05
    1717000001.5,BTC/USD,67012.5,12

`timestamp` is unix seconds (decimals allowed), never decreasing from one row to the next; `price`
(positive) and `conf` (>= 0, below the price) are decimals in units of the quote currency, rounded
to the feed's exponent (conf upward). Blank lines are skipped. The whole file is read and checked
before anything is published: a bad row raises `BadCsvRow` with its line number and the reason.

The recorded timestamps set the order and the pace; each row is published stamped with the
cluster clock at replay (see `stamps`), since a feed only aggregates prices fresh by that clock.

    [bots.publisher.csv]
    path = "prices.csv"         # relative to the working directory
    speed = 1.0                 # 2.0: twice the recorded pace
    fast = false                # true: no waiting between rows (one publish a second a symbol at most)
"""
from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from quantdesk.keeper.params import Table
from quantdesk.keeper.prices import Quote, SourceError
from quantdesk.keeper.prices.stamps import Stamps
from quantdesk.keeper.prices.units import to_units

__all__ = ["BadCsvHeader", "BadCsvRow", "CsvReplay", "CsvReplayError", "HEADER", "Row", "UnreadableCsv", "read_rows"]

HEADER = ("timestamp", "symbol", "price", "conf")


class CsvReplayError(SourceError):
    """A price file the replay refuses."""


class UnreadableCsv(CsvReplayError):
    """The file is missing or not UTF-8 text."""


class BadCsvHeader(CsvReplayError):
    """The first line is not `timestamp,symbol,price,conf`."""


class BadCsvRow(CsvReplayError):
    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    timestamp: Decimal
    symbol: str
    price: int  # in the feed's units
    conf: int


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


def _row(line: int, fields: list[str], expos: dict[str, int], previous: Decimal | None) -> Row:
    if len(fields) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} fields ({','.join(HEADER)}), got {len(fields)}")
    stamp_text, symbol, price_text, conf_text = fields
    timestamp = _decimal(stamp_text, "timestamp")
    if timestamp < 0:
        raise ValueError(f"timestamp {stamp_text!r} is negative")
    if previous is not None and timestamp < previous:
        raise ValueError(f"timestamp {stamp_text} is before the previous row's {previous}")
    symbol = symbol.strip()
    if symbol not in expos:
        raise ValueError(f"symbol {symbol!r} is not one of the publisher's symbols ({', '.join(expos)})")
    price = to_units(_decimal(price_text, "price"), expos[symbol])
    if price <= 0:
        raise ValueError(f"price {price_text!r} is not positive at the feed's exponent {expos[symbol]}")
    conf_value = _decimal(conf_text, "conf")
    if conf_value < 0:
        raise ValueError(f"conf {conf_text!r} is negative")
    conf = to_units(conf_value, expos[symbol], up=True)
    if conf >= price:
        raise ValueError(f"conf {conf_text} is not below the price {price_text}")
    return Row(line, timestamp, symbol, price, conf)


def read_rows(path: Path, expos: dict[str, int]) -> list[Row]:
    """Every row of the file at `path`, checked, prices at the exponents `expos` (symbol -> expo)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableCsv(f"{path}: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}") from exc
    lines = csv.reader(text.splitlines())
    header = next(lines, None)
    if header is None or tuple(h.strip() for h in header) != HEADER:
        raise BadCsvHeader(f"{path}:1: expected the header {','.join(HEADER)}, got {','.join(header or [])!r}")
    rows: list[Row] = []
    for line, fields in enumerate(lines, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        try:
            rows.append(_row(line, fields, expos, rows[-1].timestamp if rows else None))
        except ValueError as exc:
            raise BadCsvRow(path, line, str(exc)) from None
    return rows


class CsvReplay:
    name = "csv"

    def __init__(self, rows: list[Row], stamps: Stamps, speed: float = 1.0, fast: bool = False) -> None:
        self.rows = rows
        self.stamps = stamps
        self.speed = speed
        self.fast = fast

    @classmethod
    def from_params(cls, table: Table, expos: dict[str, int], stamps: Stamps) -> CsvReplay:
        table.only("path", "speed", "fast")
        rows = read_rows(Path(table.string("path")).expanduser(), expos)
        return cls(rows, stamps, table.number("speed", 1.0, above=True), table.flag("fast", False))

    async def quotes(self) -> AsyncIterator[Quote]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for row in self.rows:
            if not self.fast:
                due = started + float(row.timestamp - self.rows[0].timestamp) / self.speed
                await asyncio.sleep(max(0.0, due - loop.time()))
            yield Quote(row.symbol, row.price, row.conf, await self.stamps.next(row.symbol))
