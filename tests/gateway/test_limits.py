"""The gateway's rate limits (quantdesk/gateway/limits.py) with a fake clock, on both backends: the
in-process one and a real redis-server (tests/gateway/conftest.py)."""
from __future__ import annotations

import random
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from redis.asyncio import Redis

from quantdesk.gateway.limits import (
    Backend,
    Decision,
    EndpointClass,
    InProcessBackend,
    Limit,
    LimitConfigError,
    Limits,
    RateLimiter,
    RedisBackend,
    rate_limit,
)

TRADING, ADMIN, READ, CANCEL = EndpointClass.TRADING, EndpointClass.ADMIN, EndpointClass.READ, EndpointClass.CANCEL
S = 1_000_000
# Wall-clock magnitude (2027), so the Lua script's doubles are exercised as in production.
T0 = 1_800_000_000 * S


class FakeClock:
    def __init__(self) -> None:
        self.now_us = T0

    def __call__(self) -> int:
        return self.now_us

    def advance(self, seconds: float) -> None:
        self.now_us += round(seconds * S)


@pytest.fixture(params=["in-process", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "in-process":
        yield InProcessBackend()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        yield RedisBackend(client)
    finally:
        await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def spend(limiter: RateLimiter, n: int, cls: EndpointClass = TRADING, ip: str = "10.0.0.1", wallet: str | None = "walletA",
                tier: str | None = None) -> list[Decision]:
    return [await limiter.check(cls, ip=ip, wallet=wallet, tier=tier) for _ in range(n)]


async def test_thirty_a_minute_then_retry_after_then_recovery(backend: Backend, clock: FakeClock) -> None:
    limiter = RateLimiter(backend=backend, clock=clock)
    assert all(d.allowed for d in await spend(limiter, 30))
    refused = (await spend(limiter, 1))[0]
    # 30 a minute: one request every 2 s once the burst of 30 is spent.
    assert refused == Decision(False, 2 * S)
    assert refused.retry_after_header == "2" and refused.retry_after_s == 2.0
    clock.advance(2 - 1e-6)
    assert (await spend(limiter, 1))[0] == Decision(False, 1)
    clock.advance(1e-6)
    assert [d.allowed for d in await spend(limiter, 2)] == [True, False]
    # Idle for a whole minute: the full burst again, and no more.
    clock.advance(60)
    assert [d.allowed for d in await spend(limiter, 31)] == [True] * 30 + [False]


async def test_refusals_charge_nothing(backend: Backend, clock: FakeClock) -> None:
    limiter = RateLimiter(backend=backend, clock=clock)
    await spend(limiter, 30)
    assert all(d == Decision(False, 2 * S) for d in await spend(limiter, 50))
    clock.advance(2)
    assert (await spend(limiter, 1))[0].allowed


async def test_admin_is_a_hundred_a_minute(backend: Backend, clock: FakeClock) -> None:
    limiter = RateLimiter(backend=backend, clock=clock)
    assert all(d.allowed for d in await spend(limiter, 100, ADMIN))
    refused = (await spend(limiter, 1, ADMIN))[0]
    assert refused == Decision(False, 600_000) and refused.retry_after_header == "1"


async def test_wallet_and_ip_budgets_are_independent(backend: Backend, clock: FakeClock) -> None:
    limiter = RateLimiter(backend=backend, clock=clock)
    await spend(limiter, 30, ip="10.0.0.1", wallet="walletA")
    # The wallet's budget follows it to another IP; the IP's budget applies to anyone on it.
    assert not (await spend(limiter, 1, ip="10.0.0.2", wallet="walletA"))[0].allowed
    assert not (await spend(limiter, 1, ip="10.0.0.1", wallet="walletB"))[0].allowed
    assert not (await spend(limiter, 1, ip="10.0.0.1", wallet=None))[0].allowed
    # Those refusals charged nothing: 10.0.0.2 and walletB still have their whole budgets.
    assert all(d.allowed for d in await spend(limiter, 30, ip="10.0.0.2", wallet="walletB"))
    assert all(d.allowed for d in await spend(limiter, 30, ip="10.0.0.3", wallet=None))


async def test_endpoint_classes_have_their_own_budgets(backend: Backend, clock: FakeClock) -> None:
    limiter = RateLimiter(backend=backend, clock=clock)
    await spend(limiter, 30, TRADING)
    assert all(d.allowed for d in await spend(limiter, 100, ADMIN))
    assert all(d.allowed for d in await spend(limiter, 300, READ))
    assert not (await spend(limiter, 1, READ))[0].allowed


async def test_cancels_always_pass(backend: Backend, clock: FakeClock) -> None:
    limiter = RateLimiter(backend=backend, clock=clock)
    await spend(limiter, 31, TRADING)
    assert all(d.allowed for d in await spend(limiter, 500, CANCEL))
    assert not (await spend(limiter, 1, TRADING))[0].allowed


async def test_tiers_override_per_class(backend: Backend, clock: FakeClock) -> None:
    limits = Limits(trading=Limit(10), tiers={"market_maker": {TRADING: Limit(120)}, "auditor": {READ: Limit(5, period_s=1)}})
    limiter = RateLimiter(limits, backend=backend, clock=clock)
    assert [d.allowed for d in await spend(limiter, 11, wallet="w0", ip="10.0.0.1")] == [True] * 10 + [False]
    mm = await spend(limiter, 121, wallet="mm", ip="10.0.0.2", tier="market_maker")
    assert all(d.allowed for d in mm[:120]) and mm[120] == Decision(False, S // 2)
    # A tier without an override of a class has the default for it.
    assert [d.allowed for d in await spend(limiter, 101, ADMIN, wallet="mm", ip="10.0.0.2", tier="market_maker")] == [True] * 100 + [False]
    assert (await spend(limiter, 6, READ, wallet="aud", ip="10.0.0.3", tier="auditor"))[5] == Decision(False, 200_000)


def test_limits_refuse_bad_configuration() -> None:
    with pytest.raises(LimitConfigError):
        Limit(0)
    with pytest.raises(LimitConfigError):
        Limit(10, period_s=0)
    with pytest.raises(LimitConfigError):
        Limits(tiers={"x": {CANCEL: Limit(1)}})
    with pytest.raises(LimitConfigError):
        Limits().limit_for(TRADING, "no-such-tier")
    assert Limits().limit_for(CANCEL) is None


async def test_a_rate_that_does_not_divide_its_period(backend: Backend, clock: FakeClock) -> None:
    limiter = RateLimiter(Limits(trading=Limit(7)), backend=backend, clock=clock)
    await spend(limiter, 7)
    # 60 s / 7 = 8 571 428.57 µs, floored to an interval of 8 571 428 µs: never stricter than the
    # configured rate. The 8th request waits 8 intervals less the period: 68 571 424 - 60 000 000.
    assert (await spend(limiter, 1))[0] == Decision(False, 8_571_424)


async def test_backends_decide_identically(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        runs = []
        for backend in (InProcessBackend(), RedisBackend(client)):
            clock, rng = FakeClock(), random.Random(7)
            limiter = RateLimiter(Limits(trading=Limit(5, period_s=10), admin=Limit(3, period_s=2)), backend=backend, clock=clock)
            decisions = []
            for _ in range(600):
                clock.advance(rng.choice([0, 0, 0, 0.1, 0.5, 1.3, 2.0]))
                cls = rng.choice([TRADING, TRADING, ADMIN, CANCEL])
                wallet = rng.choice(["w1", "w2", None])
                decisions.append(await limiter.check(cls, ip=rng.choice(["10.0.0.1", "10.0.0.2"]), wallet=wallet))
            runs.append(decisions)
        assert runs[0] == runs[1]
        assert 20 < sum(not d.allowed for d in runs[0]) < 580
    finally:
        await client.aclose()


async def test_two_gateways_on_one_redis_share_the_budget(redis_url: str, clock: FakeClock) -> None:
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        first, second = RateLimiter(backend=RedisBackend(a), clock=clock), RateLimiter(backend=RedisBackend(b), clock=clock)
        assert all(d.allowed for d in await spend(first, 15) + await spend(second, 15))
        assert (await spend(first, 1))[0] == Decision(False, 2 * S)
        assert (await spend(second, 1))[0] == Decision(False, 2 * S)
        clock.advance(2)
        assert (await spend(second, 1))[0].allowed
        assert not (await spend(first, 1))[0].allowed
    finally:
        await a.aclose()
        await b.aclose()


async def test_in_process_backend_forgets_idle_keys(clock: FakeClock) -> None:
    backend = InProcessBackend(sweep_above=3)
    limiter = RateLimiter(backend=backend, clock=clock)
    for i in range(4):
        await spend(limiter, 1, ip=f"10.0.1.{i}", wallet=None)
    clock.advance(2)
    await spend(limiter, 1, ip="10.0.2.0", wallet=None)
    assert len(backend) == 1


async def test_dependency_answers_429_with_retry_after(clock: FakeClock) -> None:
    limiter = RateLimiter(Limits(trading=Limit(2)), clock=clock)
    app = FastAPI()

    def wallet_of(request: Request) -> str | None:
        return request.headers.get("x-wallet")

    async def tier_of(request: Request) -> str | None:
        return None

    @app.post("/orders", dependencies=[Depends(rate_limit(limiter, TRADING, wallet_of, tier_of))])
    async def place() -> dict[str, str]:
        return {"ok": "placed"}

    @app.post("/orders/cancel", dependencies=[Depends(rate_limit(limiter, CANCEL, wallet_of))])
    async def cancel() -> dict[str, str]:
        return {"ok": "cancelled"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        codes = [(await http.post("/orders", headers={"x-wallet": "walletA"})).status_code for _ in range(2)]
        refused = await http.post("/orders", headers={"x-wallet": "walletA"})
        assert codes == [200, 200] and refused.status_code == 429
        assert refused.headers["retry-after"] == "30"
        assert "trading" in refused.json()["detail"]
        assert [(await http.post("/orders/cancel", headers={"x-wallet": "walletA"})).status_code for _ in range(10)] == [200] * 10
        clock.advance(30)
        assert (await http.post("/orders", headers={"x-wallet": "walletA"})).status_code == 200
