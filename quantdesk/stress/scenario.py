"""Stress scenarios: what a scenario changes, read from TOML and validated by name, plus the
built-in defaults derived from the venue's own markets and collateral.

    [[scenario]]
    name = "SOL -30%"
    prices = { "SOL-PERP" = -30, "SOL/USD" = -30 }   # percent moves by target
    [[scenario]]
    name = "everything -20%, confidence x10"
    prices = { "*" = -20 }
    confidence = { widen = 10, k = 3 }               # conf x10, each price 3 conf against the account
    [[scenario]]
    name = "illiquid"
    prices = { "*" = -15 }
    liquidation = { buffer_add_bps = 500, liquidator_fee_add_bps = 200, insurance_fee_add_bps = 0 }

A price target is `"*"` (every market and every non-quote collateral), a market's symbol or
index (`"SOL-PERP"`, `"0"`), a feed's symbol (`"SOL/USD"`: every market and collateral priced by
that feed) or a collateral mint's address. The most specific target wins: a market or mint
named itself, then its feed, then `"*"`. Targets are resolved against the venue
(`UnknownTarget` when one names nothing there); the quote is priced at 1 and never moves."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quantdesk.clients.health import BPS, format_percent

__all__ = ["ALL", "ConfidenceSpike", "DEFAULT_MOVE_PCT", "DuplicateScenario", "InvalidScenario", "LiquidationStress", "NoScenarios", "Scenario",
           "ScenarioError", "ScenarioFileError", "UnknownScenarioKey", "UnknownTarget", "defaults", "load", "parse"]

ALL = "*"
DEFAULT_MOVE_PCT = 30
"""The built-in scenarios' price move, in percent."""
MIN_MOVE_BPS = -BPS + 1
"""A price may fall by at most 99.99%: the engine refuses a price that is not positive."""
MAX_MOVE_BPS = 100 * BPS
"""And rise by at most 10,000%."""


class ScenarioError(Exception):
    """A scenario file or scenario that cannot be run; the subclass names what is wrong."""


class ScenarioFileError(ScenarioError):
    """The file cannot be read or is not TOML."""


class NoScenarios(ScenarioError):
    """The file holds no `[[scenario]]`."""


class UnknownScenarioKey(ScenarioError):
    """A key the format does not have (a typo would otherwise be ignored)."""


class InvalidScenario(ScenarioError):
    """A value of the wrong type or out of its range."""


class DuplicateScenario(ScenarioError):
    """Two scenarios share a name (the report is keyed by it)."""


class UnknownTarget(ScenarioError):
    """A price target names no market, feed or collateral mint of the venue."""


@dataclass(frozen=True, slots=True)
class ConfidenceSpike:
    """The feeds' confidence multiplied by `widen`, and every price the account's health reads
    moved against it by `k` such confidences (a long's market and a held collateral down, a
    short's market and a debt up): the mirror prices at the oracle price, not at a confidence
    bound, so a wider confidence matters as prices that may be that far off."""

    widen: float
    k: float


@dataclass(frozen=True, slots=True)
class LiquidationStress:
    """Illiquid markets as liquidations that cost more: the liquidation-end level computed with the
    venue's buffer plus `buffer_add_bps` (each step must take more of the position) and each
    market's liquidator and insurance fees raised by these basis points (the discount a
    liquidator asks when the auction must be wider)."""

    buffer_add_bps: int = 0
    liquidator_fee_add_bps: int = 0
    insurance_fee_add_bps: int = 0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    prices: dict[str, int] = field(default_factory=dict)
    """Target -> price move in bps (-3_000: -30%)."""
    confidence: ConfidenceSpike | None = None
    liquidation: LiquidationStress | None = None
    description: str = ""

    def summary(self) -> str:
        """One line of what the scenario changes."""
        parts = [f"{target} {'+' if move > 0 else ''}{format_percent(move)}" for target, move in self.prices.items()]
        if self.confidence is not None:
            parts.append(f"confidence x{self.confidence.widen:g}, prices {self.confidence.k:g} conf against each account")
        if self.liquidation is not None:
            q = self.liquidation
            parts.append(f"liquidation buffer +{q.buffer_add_bps} bps, liquidator fee +{q.liquidator_fee_add_bps} bps, "
                         f"insurance fee +{q.insurance_fee_add_bps} bps")
        return "; ".join(parts) or "no change"


_SCENARIO_KEYS = ("name", "description", "prices", "confidence", "liquidation")
_CONFIDENCE_KEYS = ("widen", "k")
_LIQUIDATION_KEYS = ("buffer_add_bps", "liquidator_fee_add_bps", "insurance_fee_add_bps")


def _only(table: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise UnknownScenarioKey(f"{where}: unknown key {unknown[0]!r} (expected one of {', '.join(keys)})")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidScenario(f"{where}: expected a table, got {value!r}")
    return value


def _number(value: Any, where: str, low: float, high: float) -> float:
    # bool is an int in Python; `true` is never a number here.
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidScenario(f"{where}: expected a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _bps(value: Any, where: str) -> int:
    # At most 100%: a fee or buffer raised by more means nothing (the on-chain fields are u16).
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= BPS:
        raise InvalidScenario(f"{where}: expected an integer in [0, {BPS}] (basis points), got {value!r}")
    return value


def _scenario(raw: Any, i: int) -> Scenario:
    where = f"scenario[{i}]"
    table = _table(raw, where)
    _only(table, _SCENARIO_KEYS, where)
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidScenario(f"{where}.name: expected a non-empty string, got {name!r}")
    where = f"scenario {name!r}"
    description = table.get("description", "")
    if not isinstance(description, str):
        raise InvalidScenario(f"{where}.description: expected a string, got {description!r}")
    prices = {}
    for target, pct in _table(table.get("prices", {}), f"{where}.prices").items():
        move = round(_number(pct, f"{where}.prices.{target}", MIN_MOVE_BPS / 100, MAX_MOVE_BPS / 100) * 100)
        prices[target] = max(move, MIN_MOVE_BPS)
    confidence = None
    if "confidence" in table:
        c = _table(table["confidence"], f"{where}.confidence")
        _only(c, _CONFIDENCE_KEYS, f"{where}.confidence")
        confidence = ConfidenceSpike(_number(c.get("widen", 1), f"{where}.confidence.widen", 1, 1e6), _number(c.get("k", 1), f"{where}.confidence.k", 0, 1e6))
    liquidation = None
    if "liquidation" in table:
        q = _table(table["liquidation"], f"{where}.liquidation")
        _only(q, _LIQUIDATION_KEYS, f"{where}.liquidation")
        liquidation = LiquidationStress(*(_bps(q.get(key, 0), f"{where}.liquidation.{key}") for key in _LIQUIDATION_KEYS))
    return Scenario(name, prices, confidence, liquidation, description)


def parse(text: str, source: str = "<scenarios>") -> list[Scenario]:
    """The scenarios of a TOML document, validated (a ScenarioError subclass names the fault)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioFileError(f"{source}: {exc}") from None
    _only(document, ("scenario",), source)
    raw = document.get("scenario", [])
    if not isinstance(raw, list) or not raw:
        raise NoScenarios(f"{source}: no [[scenario]] tables")
    scenarios = [_scenario(s, i) for i, s in enumerate(raw)]
    seen: set[str] = set()
    for s in scenarios:
        if s.name in seen:
            raise DuplicateScenario(f"{source}: two scenarios are named {s.name!r}")
        seen.add(s.name)
    return scenarios


def load(path: Path) -> list[Scenario]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioFileError(f"{path}: {exc.strerror or exc}") from None
    return parse(text, str(path))


def defaults(markets: list[str], mints: dict[str, str]) -> list[Scenario]:
    """The built-in scenarios for a venue with these market symbols and non-quote collateral
    mints (address -> the label its scenarios are named by): each market and each mint
    DEFAULT_MOVE_PCT down and up (a short loses on the way up, a debt too), everything down and
    up at once, a confidence spike alone (x10, 3 confidences against each account) and an
    illiquid crash (everything down, buffer +500 bps, liquidator fee +200 bps)."""
    move = DEFAULT_MOVE_PCT * 100
    out = []
    for target, label in [*((m, m) for m in markets), *mints.items()]:
        out += [Scenario(f"{label} -{DEFAULT_MOVE_PCT}%", {target: -move}), Scenario(f"{label} +{DEFAULT_MOVE_PCT}%", {target: move})]
    out += [Scenario(f"all -{DEFAULT_MOVE_PCT}%", {ALL: -move}), Scenario(f"all +{DEFAULT_MOVE_PCT}%", {ALL: move}),
            Scenario("confidence x10", confidence=ConfidenceSpike(10, 3)),
            Scenario(f"illiquid, all -{DEFAULT_MOVE_PCT}%", {ALL: -move}, liquidation=LiquidationStress(500, 200, 0))]
    return out
