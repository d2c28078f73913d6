"""A simulated market: per symbol a geometric random walk, seeded (the same seed and steps give
the same prices), with shocks that move a price by N bps at once.

    [bots.publisher.walk]
    seed = 7
    step_secs = 1.0             # time between steps (stamps are whole seconds: one publish a second at most)
    steps = 100                 # optional: stop after this many steps (step 0 is the start price)
    [bots.publisher.walk.symbols."SOL/USD"]
    start = "150.25"            # the start price, in units of the quote currency
    vol_bps = 20                # the standard deviation of one step's log-return, in bps
    conf_bps = 5                # conf = this share of the price
    [[bots.publisher.walk.shocks]]
    symbol = "SOL/USD"
    bps = -500                  # the move, applied on top of that step's random move
    at_step = 10                # or at_time = unix seconds (the first step stamped at or after it)

`RandomWalk.shock(symbol, bps)` triggers a shock at the next step from code."""
from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.params import Table
from quantdesk.keeper.prices import Quote
from quantdesk.keeper.prices.stamps import Stamps
from quantdesk.keeper.prices.units import to_units

__all__ = ["RandomWalk", "Shock", "WalkSymbol"]

BPS = 10_000


@dataclass(frozen=True, slots=True)
class WalkSymbol:
    symbol: str
    start: int  # in the feed's units
    vol_bps: float
    conf_bps: int


@dataclass(frozen=True, slots=True)
class Shock:
    symbol: str
    bps: int
    at_step: int | None = None
    at_time: int | None = None


class RandomWalk:
    name = "walk"

    def __init__(self, symbols: list[WalkSymbol], seed: int, stamps: Stamps, step_secs: float = 1.0, steps: int | None = None,
                 shocks: Sequence[Shock] = ()) -> None:
        self.symbols = symbols
        self.seed = seed
        self.stamps = stamps
        self.step_secs = step_secs
        self.steps = steps
        self.pending = list(shocks)  # scheduled shocks not applied yet
        self.triggered: list[Shock] = []
        # One generator per symbol, seeded by (seed, symbol): adding a symbol leaves the others' paths unchanged.
        self.rngs = {s.symbol: random.Random(f"{seed}:{s.symbol}") for s in symbols}
        self.levels = {s.symbol: float(s.start) for s in symbols}

    @classmethod
    def from_params(cls, table: Table, symbols: list[str], expos: dict[str, int], stamps: Stamps) -> RandomWalk:
        table.only("seed", "step_secs", "steps", "symbols", "shocks")
        per_symbol = table.table("symbols")
        walks = []
        for symbol in symbols:
            t = per_symbol.table(symbol)
            t.only("start", "vol_bps", "conf_bps")
            start = to_units(t.decimal("start"), expos[symbol])
            if start <= 0:
                raise InvalidValue(f"{t.where}.start: rounds to 0 at the feed's exponent {expos[symbol]}")
            walks.append(WalkSymbol(symbol, start, t.number("vol_bps", 0.0), t.integer("conf_bps", 0, 0, BPS - 1)))
        shocks = []
        raw_shocks = table.raw.get("shocks", [])
        if not (isinstance(raw_shocks, list) and all(isinstance(s, dict) for s in raw_shocks)):
            raise InvalidValue(f"{table.where}.shocks: expected an array of tables, got {raw_shocks!r}")
        for i, raw in enumerate(raw_shocks):
            s = Table(raw, f"{table.where}.shocks[{i}]")
            s.only("symbol", "bps", "at_step", "at_time")
            symbol = s.string("symbol")
            if symbol not in symbols:
                raise InvalidValue(f"{s.where}.symbol: {symbol!r} is not one of the publisher's symbols")
            at_step, at_time = s.optional_integer("at_step", 1), s.optional_integer("at_time", 0)
            if (at_step is None) == (at_time is None):
                raise InvalidValue(f"{s.where}: expected exactly one of at_step, at_time")
            shocks.append(Shock(symbol, s.integer("bps", low=-BPS + 1), at_step, at_time))
        return cls(walks, table.integer("seed"), stamps, table.number("step_secs", 1.0, above=True), table.optional_integer("steps", 1), shocks)

    def shock(self, symbol: str, bps: int) -> None:
        """Moves `symbol` by `bps` at the next step (on top of that step's random move)."""
        if symbol not in self.levels or bps <= -BPS:
            raise ValueError(f"no walk for {symbol!r} or a move of {bps} bps below -100%")
        self.triggered.append(Shock(symbol, bps))

    def _due(self, step: int, symbol: str, stamp: int) -> list[Shock]:
        due = [s for s in self.pending if s.symbol == symbol and (s.at_step == step or (s.at_time is not None and s.at_time <= stamp))]
        due += [s for s in self.triggered if s.symbol == symbol]
        self.pending = [s for s in self.pending if s not in due]
        self.triggered = [s for s in self.triggered if s not in due]
        return due

    def step(self, step: int, symbol: str, stamp: int) -> Quote:
        """Step `step` of `symbol`'s walk, stamped `stamp`: the start price at step 0, then a
        log-normal move of vol_bps standard deviation, times any shock due."""
        spec = next(s for s in self.symbols if s.symbol == symbol)
        level = self.levels[symbol]
        if step > 0:
            # Drawn at every step, shocks or not, so that a shock does not shift the rest of the path.
            level *= math.exp(spec.vol_bps / BPS * self.rngs[symbol].gauss(0.0, 1.0))
        for shock in self._due(step, symbol, stamp):
            level = level * (BPS + shock.bps) / BPS
        self.levels[symbol] = level
        price = max(1, round(level))
        return Quote(symbol, price, price * spec.conf_bps // BPS, stamp)

    async def quotes(self) -> AsyncIterator[Quote]:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        step = 0
        while self.steps is None or step < self.steps:
            for spec in self.symbols:
                yield self.step(step, spec.symbol, await self.stamps.next(spec.symbol))
            step += 1
            next_at += self.step_secs
            await asyncio.sleep(max(0.0, next_at - loop.time()))
