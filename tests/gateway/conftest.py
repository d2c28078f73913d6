"""A real redis-server for the gateway's tests (quantdesk/gateway/redis_server.py): started once per
test session on a free loopback port, stopped afterwards, flushed before each test that uses it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from quantdesk.gateway.redis_server import RedisServer, temporary_server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with temporary_server() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server.url
