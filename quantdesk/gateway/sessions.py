"""Server-side sessions: the browser holds only an opaque id in a cookie; the store holds who it is.

A session dies when idle for `idle_secs` (the store's TTL, renewed on each use) or `absolute_secs` after
sign-in whatever its use; its id is replaced every `rotate_secs` and at each sign-in, the old id deleted, so a
leaked id stops working soon.
"""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from starlette.responses import Response

from quantdesk.gateway.store import Store

# __Host-: browsers keep it only when Secure, Path=/ and without Domain, so no sibling host can set it.
COOKIE = "__Host-qd_session"


@dataclass(frozen=True)
class Session:
    id: str
    address: str
    created_at: float  # sign-in, for the absolute expiry
    rotated_at: float  # the id's issue


@dataclass(frozen=True)
class SessionPolicy:
    idle_secs: float = 30 * 60
    absolute_secs: float = 12 * 3600
    rotate_secs: float = 15 * 60


class Sessions:
    def __init__(self, store: Store, policy: SessionPolicy, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self.policy = policy
        self._clock = clock

    def start(self, address: str, old_id: str | None) -> Session:
        """A new session for `address`; the id the browser held before (if any) is dead."""
        if old_id is not None:
            self.end(old_id)
        now = self._clock()
        session = Session(id=_new_id(), address=address, created_at=now, rotated_at=now)
        self._save(session, now)
        return session

    def resume(self, session_id: str) -> Session | None:
        """The live session the id names (under a new id when due for rotation), or None."""
        raw = self._store.get(_key(session_id))
        if raw is None:
            return None
        session = Session(id=session_id, **json.loads(raw))
        now = self._clock()
        if now - session.created_at >= self.policy.absolute_secs:
            self.end(session_id)
            return None
        if now - session.rotated_at >= self.policy.rotate_secs:
            self.end(session_id)
            session = replace(session, id=_new_id(), rotated_at=now)
        self._save(session, now)
        return session

    def end(self, session_id: str) -> None:
        self._store.delete(_key(session_id))

    def expires_at(self, session: Session) -> float:
        """When the session dies unless used again."""
        return min(self._clock() + self.policy.idle_secs, session.created_at + self.policy.absolute_secs)

    def _save(self, session: Session, now: float) -> None:
        ttl = min(self.policy.idle_secs, session.created_at + self.policy.absolute_secs - now)
        body = {"address": session.address, "created_at": session.created_at, "rotated_at": session.rotated_at}
        self._store.put(_key(session.id), json.dumps(body), ttl)


def set_cookie(response: Response, session: Session, policy: SessionPolicy) -> None:
    response.set_cookie(
        COOKIE, session.id, max_age=int(policy.absolute_secs), path="/", secure=True, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def _new_id() -> str:
    return secrets.token_urlsafe(32)


def _key(session_id: str) -> str:
    return f"session:{session_id}"
