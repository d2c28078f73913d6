"""The store under test on both backends: a SQLite file, and a real PostgreSQL server
(quantdesk/indexer/pgserver.py: started once per test session on a free local port, stopped
afterwards), a fresh database for each test."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from quantdesk.indexer.pgserver import PostgresServer, temporary_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with temporary_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.database()
