"""Rate limits per wallet and per IP (issue 19): a budget of requests per period for each endpoint
class, charged to the client IP and, when signed in, to the wallet; the request passes only when
both budgets have room, and a refusal carries the Retry-After the caller answers 429 with.

The algorithm is GCRA (the generic cell rate algorithm): a limit of N requests per period P spaces
requests an emission interval T = P / N apart and tolerates a burst of N. Each key keeps one
number, its theoretical arrival time (TAT). A request at `now` moves the TAT to max(TAT, now) + T
and passes if that is at most now + P; otherwise it is refused, charged nothing, and may retry in
(TAT + T - P) - now. So a fresh key takes N requests at once, the N+1th waits T, and an idle key
recovers one request every T. Times are integer microseconds and the clock is injectable, so both
backends compute exactly the same decisions.

Two backends behind one interface: in-process (the default; one gateway instance) and Redis (one
Lua script per request, atomic on the server, so gateway instances share the budgets). Cancels are
never limited, as on-chain: a cancel only ever reduces risk."""
from __future__ import annotations

import inspect
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from fastapi import HTTPException, Request
from redis.asyncio import Redis

__all__ = ["Backend", "Clock", "Decision", "EndpointClass", "InProcessBackend", "Limit", "LimitConfigError", "Limits", "RateLimitExceeded",
           "RateLimiter", "RedisBackend", "rate_limit", "wall_clock_us"]

US_PER_S = 1_000_000


class LimitConfigError(ValueError):
    """A limit or tier that cannot be enforced: no requests, no period, an unknown class or tier."""


class EndpointClass(StrEnum):
    TRADING = "trading"
    ADMIN = "admin"
    READ = "read"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Limit:
    """`requests` per `period_s` seconds, for each key."""
    requests: int
    period_s: float = 60.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period_us < self.requests:
            raise LimitConfigError(f"limit of {self.requests} requests per {self.period_s}s")

    @property
    def period_us(self) -> int:
        return round(self.period_s * US_PER_S)

    @property
    def interval_us(self) -> int:
        # Floor: a limit that does not divide its period evenly allows at most a microsecond per
        # request more than its rate, never less.
        return self.period_us // self.requests


@dataclass(frozen=True)
class Limits:
    """The limit of each endpoint class, with overrides by tier name (e.g. a market maker's
    `{"market_maker": {EndpointClass.TRADING: Limit(600)}}`). Cancels have no limit."""
    trading: Limit = Limit(30)
    admin: Limit = Limit(100)
    read: Limit = Limit(300)
    tiers: Mapping[str, Mapping[EndpointClass, Limit]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, overrides in self.tiers.items():
            for cls in overrides:
                if cls not in (EndpointClass.TRADING, EndpointClass.ADMIN, EndpointClass.READ):
                    raise LimitConfigError(f"tier {name!r} overrides {cls!r}, which is not a limited endpoint class")

    def limit_for(self, cls: EndpointClass, tier: str | None = None) -> Limit | None:
        if cls is EndpointClass.CANCEL:
            return None
        if tier is not None:
            if tier not in self.tiers:
                raise LimitConfigError(f"unknown rate-limit tier {tier!r}")
            override = self.tiers[tier].get(cls)
            if override is not None:
                return override
        limit: Limit = getattr(self, cls.value)
        return limit


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_us: int = 0

    @property
    def retry_after_s(self) -> float:
        return self.retry_after_us / US_PER_S

    @property
    def retry_after_header(self) -> str:
        # Retry-After is whole seconds; rounding up means a client that obeys it is let in.
        return str(max(1, math.ceil(self.retry_after_us / US_PER_S)))


ALLOWED = Decision(True)

Clock = Callable[[], int]


def wall_clock_us() -> int:
    """Wall-clock microseconds: gateway instances sharing Redis must agree on the time, which a
    monotonic clock (per process) does not; NTP-level skew only shifts a budget by the skew."""
    return time.time_ns() // 1000


class Backend(Protocol):
    async def acquire(self, keys: Sequence[str], now_us: int, limit: Limit) -> int:
        """Charge one request to every key if each has room and return 0, else charge nothing
        and return the microseconds until all of them would have room."""
        ...


class InProcessBackend:
    """The TATs in a dict. Atomic because `acquire` never awaits between reading and writing."""

    def __init__(self, sweep_above: int = 100_000) -> None:
        self._tats: dict[str, int] = {}
        self._sweep_above = sweep_above

    def __len__(self) -> int:
        return len(self._tats)

    async def acquire(self, keys: Sequence[str], now_us: int, limit: Limit) -> int:
        if len(self._tats) > self._sweep_above:
            # A TAT in the past is the same state as no entry: drop them so one-off IPs do not accumulate.
            self._tats = {k: t for k, t in self._tats.items() if t > now_us}
        new_tats = [max(self._tats.get(k, now_us), now_us) + limit.interval_us for k in keys]
        wait = max(t - limit.period_us - now_us for t in new_tats)
        if wait > 0:
            return wait
        self._tats.update(zip(keys, new_tats))
        return 0


# The same arithmetic as InProcessBackend.acquire. Lua numbers are doubles: wall-clock microseconds
# (~1.8e15) are exact in them (below 2^53), and '%.0f' writes a TAT back without tostring's 14
# significant digits. The key expires when its TAT passes, as the in-process sweep forgets it.
GCRA_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local tats = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  tats[i] = tat + interval
  if tats[i] - period - now > wait then wait = tats[i] - period - now end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
end
return 0
"""


class RedisBackend:
    """The TATs in Redis under `prefix`, so every gateway instance on the same Redis shares them.
    The script runs by EVALSHA (redis-py loads it again after a server restart)."""

    def __init__(self, client: Redis, prefix: str = "quantdesk:ratelimit:") -> None:
        self._script = client.register_script(GCRA_LUA)
        self._prefix = prefix

    async def acquire(self, keys: Sequence[str], now_us: int, limit: Limit) -> int:
        wait = await self._script(keys=[self._prefix + k for k in keys], args=[now_us, limit.interval_us, limit.period_us])
        return int(wait)


class RateLimiter:
    def __init__(self, limits: Limits | None = None, backend: Backend | None = None, clock: Clock = wall_clock_us) -> None:
        self.limits = limits if limits is not None else Limits()
        self.backend: Backend = backend if backend is not None else InProcessBackend()
        self.clock = clock

    async def check(self, cls: EndpointClass, *, ip: str, wallet: str | None = None, tier: str | None = None) -> Decision:
        limit = self.limits.limit_for(cls, tier)
        if limit is None:
            return ALLOWED
        # Budgets are per endpoint class: spending the trading budget leaves reads and admin alone.
        keys = [f"{cls.value}:ip:{ip}"]
        if wallet is not None:
            keys.append(f"{cls.value}:wallet:{wallet}")
        wait = await self.backend.acquire(keys, self.clock(), limit)
        return ALLOWED if wait == 0 else Decision(False, wait)


class RateLimitExceeded(HTTPException):
    """429 with Retry-After. A named exception so the app's handler can count refusals by class."""

    def __init__(self, cls: EndpointClass, decision: Decision) -> None:
        super().__init__(429, detail=f"rate limit exceeded on {cls.value} endpoints", headers={"Retry-After": decision.retry_after_header})
        self.endpoint_class = cls
        self.decision = decision


WalletOf = Callable[[Request], str | None | Awaitable[str | None]]


def _client_ip(request: Request) -> str:
    # No client address (some test transports): one shared budget rather than none.
    return request.client.host if request.client is not None else "unknown"


def rate_limit(limiter: RateLimiter, cls: EndpointClass, wallet_of: WalletOf, tier_of: WalletOf | None = None,
               ip_of: Callable[[Request], str] = _client_ip) -> Callable[[Request], Awaitable[Decision]]:
    """A FastAPI dependency (`Depends(rate_limit(...))`) that raises RateLimitExceeded when the
    request is over budget. `wallet_of` gives the signed-in wallet or None, and `tier_of` its tier
    or None for the defaults; either may be async. The auth module stays out of this one."""

    async def resolve(of: WalletOf | None, request: Request) -> str | None:
        if of is None:
            return None
        value = of(request)
        return await value if inspect.isawaitable(value) else value

    async def dependency(request: Request) -> Decision:
        decision = await limiter.check(cls, ip=ip_of(request), wallet=await resolve(wallet_of, request), tier=await resolve(tier_of, request))
        if not decision.allowed:
            raise RateLimitExceeded(cls, decision)
        return decision

    return dependency
