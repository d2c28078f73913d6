"""The store under test on both backends: a SQLite file, and a real PostgreSQL server (Debian's
postgresql package, scripts/setup.sh) started once per test session on a free local port in a
temp dir, as the `postgres` user when the tests run as root (postgres refuses root), and
stopped afterwards. Each test gets a fresh database."""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import psycopg
import pytest

from quantdesk.localnet import free_port

_names = itertools.count()


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_port() -> Iterator[int]:
    bins = sorted(glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        pytest.fail("PostgreSQL is not installed (make setup installs Debian's postgresql)")
    bin_dir = Path(bins[-1])
    home = Path(tempfile.mkdtemp(prefix="qd-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]), check=True,
                   capture_output=True)
    subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-o",
                                 f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"]) + ["start"], check=True,
                   capture_output=True)
    try:
        yield port
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    port: int = request.getfixturevalue("postgres_port")
    name = f"qd_test_{os.getpid()}_{next(_names)}"
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"
