"""A throw-away PostgreSQL server for tests and benchmarks: Debian's postgresql package
(scripts/setup.sh installs it), `initdb` in a temp dir and `pg_ctl start` on a free local port,
run as the `postgres` user when this process is root (postgres refuses to run as root), stopped
and deleted on exit. `database()` creates a fresh database and returns its SQLAlchemy URL."""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import psycopg

from quantdesk.localnet import free_port

__all__ = ["PostgresServer", "temporary_server"]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PostgresServer:
    port: int
    _names: Iterator[int] = field(default_factory=itertools.count)

    def database(self) -> str:
        name = f"qd_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@contextmanager
def temporary_server() -> Iterator[PostgresServer]:
    bins = sorted(glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        raise RuntimeError("PostgreSQL is not installed (make setup installs Debian's postgresql)")
    bin_dir = Path(bins[-1])
    home = Path(tempfile.mkdtemp(prefix="qd-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    port = free_port()
    try:
        subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]), check=True,
                       capture_output=True)
        # fsync off: a throw-away server, its durability is not what is measured or tested.
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-o",
                                     f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]), check=True, capture_output=True)
        yield PostgresServer(port)
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
