"""The key-value store behind nonces and sessions: small enough that Redis (SET EX / GET / DEL) fits it."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Store(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str, ttl_secs: float) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryStore:
    """One process's store; entries past their TTL read as absent and are dropped when read."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: str, ttl_secs: float) -> None:
        self._entries[key] = (value, self._clock() + ttl_secs)

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)
