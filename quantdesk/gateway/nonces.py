"""Sign-in nonces: issued by the server, spent once, forgotten after their TTL."""
from __future__ import annotations

import secrets
import string

from quantdesk.gateway.errors import NonceReused, NonceUnknown
from quantdesk.gateway.store import Store

ALPHABET = string.ascii_letters + string.digits
LENGTH = 16
MIN_LENGTH = 8  # EIP-4361's floor for a nonce
ISSUED, SPENT = "issued", "spent"


class NonceBook:
    def __init__(self, store: Store, ttl_secs: float) -> None:
        self._store = store
        self.ttl_secs = ttl_secs

    def issue(self) -> str:
        nonce = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        self._store.put(_key(nonce), ISSUED, self.ttl_secs)
        return nonce

    def spend(self, nonce: str) -> None:
        """Marks the nonce spent; it stays known as spent for its TTL so a replay is named as one.
        Read-then-write: atomic in one event loop; a shared store will need one atomic operation."""
        if len(nonce) < MIN_LENGTH or any(c not in ALPHABET for c in nonce):
            raise NonceUnknown(f"{nonce!r} is not {MIN_LENGTH}+ alphanumerics")
        state = self._store.get(_key(nonce))
        if state is None:
            raise NonceUnknown(nonce)
        if state == SPENT:
            raise NonceReused(nonce)
        self._store.put(_key(nonce), SPENT, self.ttl_secs)


def _key(nonce: str) -> str:
    return f"siws-nonce:{nonce}"
