"""Work a bot has just sent, held back until the cache has caught up with it.

A transaction's confirmation comes a moment before its account notifications, so a bot that
plans again from the cache at once would send the same work twice (and count a lost race
against itself). A hold names the accounts the work read, as the cache had them when it was
planned (slot and data): it lasts until one of them changes in the cache (the work landed, or
someone else changed them: a later slot's version, or other data in the same slot, as when the
work lands in the slot it was planned in) or its time runs out (nothing changed: a failure's
pause, or a cache that missed the change until its next reconcile)."""
from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from quantdesk.keeper.cache import AccountCache
from solders.pubkey import Pubkey

__all__ = ["Holds"]


@dataclass(frozen=True, slots=True)
class _Hold:
    accounts: tuple[tuple[str, Pubkey, tuple[int, bytes] | None], ...]  # account type, address, the version the cache had (slot, data)
    until: float  # time.monotonic()


class Holds:
    def __init__(self, cache: AccountCache) -> None:
        self.cache = cache
        self._holds: dict[Hashable, _Hold] = {}

    def _version(self, account_type: str, pubkey: Pubkey) -> tuple[int, bytes] | None:
        entry = self.cache.stores[account_type].get(pubkey)
        return (entry.slot, entry.data) if entry is not None else None

    def hold(self, key: Hashable, accounts: Iterable[tuple[str, Pubkey]], secs: float) -> None:
        """Holds `key` for `secs` or until one of `accounts` (type, address) changes from what the cache has now."""
        self._holds[key] = _Hold(tuple((t, k, self._version(t, k)) for t, k in accounts), time.monotonic() + secs)

    def release(self, key: Hashable) -> None:
        self._holds.pop(key, None)

    def held(self, key: Hashable) -> bool:
        found = self._holds.get(key)
        if found is None:
            return False
        if time.monotonic() < found.until and all(self._version(t, k) == version for t, k, version in found.accounts):
            return True
        del self._holds[key]
        return False

    def __len__(self) -> int:
        return len(self._holds)
