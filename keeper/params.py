"""Reading a bot's free-form TOML table: each value checked, each error named with its dotted key
(`bots.publisher.walk.seed: expected an integer, got '7'`)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from quantdesk.keeper.config import InvalidValue, MissingKey
from solders.pubkey import Pubkey

__all__ = ["Table"]

_MISSING: Any = object()


class Table:
    def __init__(self, raw: dict[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where

    def _get(self, key: str, default: Any) -> Any:
        if key in self.raw:
            return self.raw[key]
        if default is _MISSING:
            raise MissingKey(f"missing key `{self.where}.{key}`")
        return default

    def _bad(self, key: str, what: str, value: Any) -> InvalidValue:
        return InvalidValue(f"{self.where}.{key}: expected {what}, got {value!r}")

    def table(self, key: str, default: Any = _MISSING) -> Table:
        value = self._get(key, default)
        if not isinstance(value, dict):
            raise self._bad(key, "a table", value)
        return Table(value, f"{self.where}.{key}")

    def string(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def strings(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self._get(key, default)
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            raise self._bad(key, "a non-empty list of strings", value)
        return list(value)

    def integer(self, key: str, default: Any = _MISSING, low: int | None = None, high: int | None = None) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low) or (high is not None and value > high):
            bounds = f" in [{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            raise self._bad(key, f"an integer{bounds if low is not None or high is not None else ''}", value)
        return value

    def optional_integer(self, key: str, low: int | None = None) -> int | None:
        return self.integer(key, low=low) if key in self.raw else None

    def optional_pubkey(self, key: str) -> Pubkey | None:
        """A base58 address; None when the key is absent."""
        if key not in self.raw:
            return None
        value = self.raw[key]
        if isinstance(value, str):
            try:
                return Pubkey.from_string(value)
            except ValueError:
                pass
        raise self._bad(key, "a base58 address", value)

    def number(self, key: str, default: Any = _MISSING, low: float = 0.0, above: bool = False) -> float:
        """A number >= low (> low with `above`)."""
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low or (above and value == low):
            raise self._bad(key, f"a number {'>' if above else '>='} {low:g}", value)
        return float(value)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false", value)
        return value

    def decimal(self, key: str, default: Any = _MISSING) -> Decimal:
        """A positive price, as a string ("150.25", exact) or a number."""
        value = self._get(key, default)
        try:
            amount = Decimal(value) if isinstance(value, str) else Decimal(repr(value)) if isinstance(value, int | float) and not isinstance(value, bool) \
                else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            raise self._bad(key, "a positive price (a decimal string or a number)", value)
        return amount

    def only(self, *keys: str) -> None:
        """Refuses keys not in `keys` (a typo would otherwise be silently ignored)."""
        unknown = set(self.raw) - set(keys)
        if unknown:
            raise InvalidValue(f"{self.where}: unknown keys: {', '.join(sorted(unknown))}")
