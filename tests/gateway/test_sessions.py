"""Sessions: opaque ids, idle and absolute expiry, rotation and logout kill the old id."""
from __future__ import annotations

from quantdesk.gateway.sessions import SessionPolicy, Sessions
from quantdesk.gateway.store import MemoryStore

POLICY = SessionPolicy(idle_secs=100, absolute_secs=1000, rotate_secs=300)
ADDRESS = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _sessions() -> tuple[Sessions, Clock]:
    clock = Clock()
    return Sessions(MemoryStore(clock), POLICY, clock), clock


def test_a_session_is_found_by_its_opaque_id() -> None:
    sessions, _ = _sessions()
    session = sessions.start(ADDRESS, None)
    assert len(session.id) >= 43 and ADDRESS not in session.id
    resumed = sessions.resume(session.id)
    assert resumed is not None and resumed.address == ADDRESS and resumed.id == session.id
    assert sessions.resume("made-up") is None


def test_an_idle_session_dies_and_use_keeps_it_alive() -> None:
    sessions, clock = _sessions()
    session = sessions.start(ADDRESS, None)
    for _ in range(3):
        clock.now += 90
        assert sessions.resume(session.id) is not None
    clock.now += 100
    assert sessions.resume(session.id) is None


def test_a_session_dies_at_its_absolute_expiry_however_used() -> None:
    sessions, clock = _sessions()
    session_id = sessions.start(ADDRESS, None).id
    while clock.now + 90 < 1_000_000 + 1000:
        clock.now += 90
        session = sessions.resume(session_id)
        assert session is not None
        session_id = session.id
    clock.now = 1_000_000 + 1000
    assert sessions.resume(session_id) is None


def test_rotation_gives_a_new_id_and_kills_the_old() -> None:
    sessions, clock = _sessions()
    session = sessions.start(ADDRESS, None)
    for _ in range(4):
        clock.now += 60
        assert sessions.resume(session.id) == session
    clock.now += 70  # 310 s since sign-in, past rotate_secs
    rotated = sessions.resume(session.id)
    assert rotated is not None and rotated.id != session.id
    assert rotated.address == ADDRESS and rotated.created_at == session.created_at
    assert sessions.resume(session.id) is None
    assert sessions.resume(rotated.id) is not None


def test_sign_in_gives_a_new_id_and_kills_the_one_held_before() -> None:
    sessions, _ = _sessions()
    before = sessions.start(ADDRESS, None)
    after = sessions.start(ADDRESS, before.id)
    assert after.id != before.id
    assert sessions.resume(before.id) is None and sessions.resume(after.id) is not None


def test_logout_kills_the_id() -> None:
    sessions, _ = _sessions()
    session = sessions.start(ADDRESS, None)
    sessions.end(session.id)
    assert sessions.resume(session.id) is None
