"""A throw-away redis-server for tests: Debian's redis-server package (scripts/setup.sh installs
it) on a free loopback port, its working directory a temp dir, persistence off, stopped and the
directory deleted on exit."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from quantdesk.localnet import free_port

__all__ = ["RedisServer", "RedisServerError", "temporary_server"]


class RedisServerError(RuntimeError):
    """redis-server is missing, exited early, or did not answer PING in time."""


@dataclass(frozen=True)
class RedisServer:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    try:
        while True:
            if proc.poll() is not None:
                raise RedisServerError(f"redis-server exited with {proc.returncode}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RedisServerError(f"redis-server did not answer on {url} within {timeout}s")
            time.sleep(0.02)
    finally:
        client.close()


@contextmanager
def temporary_server(timeout: float = 10.0) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisServerError("redis-server is not installed (make setup installs Debian's redis-server)")
    home = Path(tempfile.mkdtemp(prefix="qd-redis-"))
    port = free_port()
    # No RDB snapshots or AOF: a throw-away server, nothing in it outlives the tests.
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home), "--save", "", "--appendonly", "no",
            "--logfile", str(home / "log")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server = RedisServer(port)
        _wait_ready(proc, server.url, timeout)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)
