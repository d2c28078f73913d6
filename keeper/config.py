"""The keeper's configuration: one TOML file, any key overridable by a command-line flag.

    rpc_url = "http://127.0.0.1:8899"
    ws_url = "ws://127.0.0.1:8900"
    keypair = "~/.config/solana/id.json"   # Solana CLI format: a JSON array of 64 bytes
    port = 9464                            # Prometheus /metrics and /healthz
    reconcile_secs = 30.0                  # getProgramAccounts reconcile, at most 60 s
    dead_after_slots = 20                  # no slot notification for this long: reconnect
    slot_secs = 0.4                        # the cluster's slot time, to turn slots into seconds
    [bots.risk]                            # a table per bot that runs; free-form parameters
    interval_secs = 10
    [sender]                               # optional: the transaction sender (SenderConfig's defaults)
    cu_margin = 1.2                        # compute-unit limit = ceil(simulated units * margin)
    fee_percentile = 75                    # of getRecentPrioritizationFees over the writable accounts
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from solders.keypair import Keypair

__all__ = ["ConfigError", "InvalidValue", "KeeperConfig", "MAX_COMPUTE_UNITS", "MAX_RECONCILE_SECS", "MissingKey", "SenderConfig", "UnreadableConfig",
           "UnreadableKeypair", "load_config", "read_keypair"]

MAX_RECONCILE_SECS: Final = 60.0
MAX_COMPUTE_UNITS: Final = 1_400_000
"""A transaction's compute-unit limit can be at most this (the runtime's MAX_COMPUTE_UNIT_LIMIT)."""


class ConfigError(Exception):
    """A configuration the keeper refuses to start with."""


class UnreadableConfig(ConfigError):
    """The TOML file is missing or not TOML."""


class MissingKey(ConfigError):
    """A required key is absent."""


class InvalidValue(ConfigError):
    """A key has the wrong type or is out of range."""


class UnreadableKeypair(ConfigError):
    """The keypair file is missing or not a Solana CLI keypair (a JSON array of 64 bytes)."""


@dataclass(frozen=True, slots=True)
class SenderConfig:
    """The transaction sender's parameters, the optional `[sender]` table."""

    cu_margin: float = 1.2  # compute-unit limit = ceil(simulated units * cu_margin), at most max_cu
    max_cu: int = MAX_COMPUTE_UNITS
    fee_percentile: float = 75.0  # of the recent prioritization fees over the writable accounts
    fee_cap_micro_lamports: int = 1_000_000  # per compute unit
    confirm_timeout_secs: float = 15.0  # signatureSubscribe wait before the getSignatureStatuses check
    max_attempts: int = 5
    blockhash_max_age_secs: float = 10.0  # a cached blockhash older than this is fetched again
    close_grace_secs: float = 5.0  # how long close() lets in-flight sends confirm
    retry_initial_secs: float = 0.1  # capped exponential backoff between attempts
    retry_cap_secs: float = 2.0


@dataclass(frozen=True, slots=True)
class KeeperConfig:
    rpc_url: str
    ws_url: str
    keypair: Path
    port: int = 9464
    reconcile_secs: float = 30.0
    dead_after_slots: int = 20
    slot_secs: float = 0.4
    bots: dict[str, dict[str, Any]] = field(default_factory=dict)
    sender: SenderConfig = field(default_factory=SenderConfig)

    @property
    def dead_after_secs(self) -> float:
        return self.dead_after_slots * self.slot_secs


_REQUIRED: Final = ("rpc_url", "ws_url", "keypair")


def _want(table: dict[str, Any], key: str, kinds: tuple[type, ...], what: str) -> Any:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InvalidValue(f"{key}: expected {what}, got {value!r}")
    return value


def _validate(raw: dict[str, Any], base: Path) -> KeeperConfig:
    for key in _REQUIRED:
        if key not in raw:
            raise MissingKey(f"missing key `{key}`")
    unknown = set(raw) - {f for f in KeeperConfig.__dataclass_fields__}
    if unknown:
        raise InvalidValue(f"unknown keys: {', '.join(sorted(unknown))}")
    rpc_url = _want(raw, "rpc_url", (str,), "a string")
    ws_url = _want(raw, "ws_url", (str,), "a string")
    keypair = Path(_want(raw, "keypair", (str,), "a path")).expanduser()
    config = KeeperConfig(rpc_url, ws_url, keypair if keypair.is_absolute() else base / keypair)
    if "port" in raw:
        port = _want(raw, "port", (int,), "an integer")
        if not 0 <= port <= 65535:
            raise InvalidValue(f"port: {port} is not a TCP port")
        config = replace(config, port=port)
    if "reconcile_secs" in raw:
        secs = float(_want(raw, "reconcile_secs", (int, float), "a number of seconds"))
        if not 0 < secs <= MAX_RECONCILE_SECS:
            raise InvalidValue(f"reconcile_secs: {secs} is not in (0, {MAX_RECONCILE_SECS:.0f}]")
        config = replace(config, reconcile_secs=secs)
    if "dead_after_slots" in raw:
        slots = _want(raw, "dead_after_slots", (int,), "an integer")
        if slots < 1:
            raise InvalidValue(f"dead_after_slots: {slots} is not positive")
        config = replace(config, dead_after_slots=slots)
    if "slot_secs" in raw:
        slot_secs = float(_want(raw, "slot_secs", (int, float), "a number of seconds"))
        if slot_secs <= 0:
            raise InvalidValue(f"slot_secs: {slot_secs} is not positive")
        config = replace(config, slot_secs=slot_secs)
    if "bots" in raw:
        bots = _want(raw, "bots", (dict,), "a table of bot tables")
        for name, params in bots.items():
            if not isinstance(params, dict):
                raise InvalidValue(f"bots.{name}: expected a table, got {params!r}")
        config = replace(config, bots=dict(bots))
    if "sender" in raw:
        config = replace(config, sender=_sender(_want(raw, "sender", (dict,), "a table")))
    return config


def _number(table: dict[str, Any], key: str, low: float, high: float, *, integer: bool = False, low_open: bool = False) -> Any:
    """`table[key]` as a number in [low, high] ((low, high] with `low_open`), an int when `integer`."""
    value = _want(table, key, (int,) if integer else (int, float), "an integer" if integer else "a number")
    if not (low < value if low_open else low <= value) or value > high:
        raise InvalidValue(f"sender.{key}: {value} is not in {'(' if low_open else '['}{low:g}, {high:g}]")
    return value if integer else float(value)


def _sender(table: dict[str, Any]) -> SenderConfig:
    unknown = set(table) - set(SenderConfig.__dataclass_fields__)
    if unknown:
        raise InvalidValue(f"sender: unknown keys: {', '.join(sorted(unknown))}")
    inf = float("inf")
    bounds: dict[str, tuple[float, float, bool, bool]] = {  # key: (low, high, integer, low open)
        "cu_margin": (1.0, 10.0, False, False),
        "max_cu": (1, MAX_COMPUTE_UNITS, True, False),
        "fee_percentile": (0.0, 100.0, False, False),
        "fee_cap_micro_lamports": (0, 2**64 - 1, True, False),
        "confirm_timeout_secs": (0.0, 300.0, False, True),
        "max_attempts": (1, 100, True, False),
        "blockhash_max_age_secs": (0.0, 60.0, False, True),  # a blockhash lives ~60 s (150 blocks)
        "close_grace_secs": (0.0, 300.0, False, False),
        "retry_initial_secs": (0.0, 60.0, False, True),
        "retry_cap_secs": (0.0, inf, False, True),
    }
    values = {key: _number(table, key, low, high, integer=integer, low_open=low_open)
              for key, (low, high, integer, low_open) in bounds.items() if key in table}
    config = SenderConfig(**values)
    if config.retry_cap_secs < config.retry_initial_secs:
        raise InvalidValue(f"sender.retry_cap_secs: {config.retry_cap_secs} is below retry_initial_secs {config.retry_initial_secs}")
    return config


def load_config(path: Path, overrides: dict[str, Any] | None = None) -> KeeperConfig:
    """The configuration in `path`, with `overrides` (flags; None values are ignored) on top."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as exc:
        raise UnreadableConfig(f"{path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UnreadableConfig(f"{path}: {exc}") from exc
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    config = _validate(raw, path.parent)
    read_keypair(config.keypair)  # refuse at start-up, not at the first send
    return config


def read_keypair(path: Path) -> Keypair:
    try:
        values = json.loads(path.read_text())
    except OSError as exc:
        raise UnreadableKeypair(f"{path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UnreadableKeypair(f"{path}: not JSON") from exc
    if not (isinstance(values, list) and len(values) == 64 and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 256 for v in values)):
        raise UnreadableKeypair(f"{path}: not a JSON array of 64 bytes")
    try:
        return Keypair.from_bytes(bytes(values))
    except ValueError as exc:
        raise UnreadableKeypair(f"{path}: not a valid ed25519 keypair") from exc
