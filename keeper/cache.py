"""The account cache: every account of the configured types, decoded, by pubkey, kept current.

Per account type (a program, an 8-byte discriminator at offset 0, optional flag-byte filters):
a getProgramAccounts snapshot, then programSubscribe with the same filters, plus one
slotSubscribe for the connection. Each entry records the slot it was seen at, and an update only
replaces an entry seen at a slot no later than its own, so a snapshot answered before a
notification that overtook it cannot roll the entry back.

Three ways the websocket can mislead, and what catches each:
- it closes: the reader sees it, the cache reconnects with capped exponential backoff, and the
  snapshot taken after resubscribing catches whatever changed meanwhile;
- it stays open but goes dead (no slot notification for `dead_after_slots` slots' time): the
  watchdog treats it as closed;
- it stays open and alive but drops account notifications, or an account stops matching a flag
  filter or is closed (programSubscribe does not report either): the periodic reconcile (at most
  every 60 s) adds, updates and removes entries from a fresh getProgramAccounts.

Subscribers get a `Change(account_type, pubkey, old, new, source)` for every add (old None),
change and removal (new None): by callback (`on_change`) or through an asyncio queue (`queue`);
and, by callback (`on_slot`), the latest slot heard of on every slot notification (work due at
a slot, which no account change announces).
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from based58 import b58encode
from quantdesk.clients import collateral, core, idl, oracle, trading_state
from quantdesk.clients.rpc import rpc_request
from quantdesk.keeper.backoff import Backoff
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solders.account_decoder import UiAccountEncoding
from solders.pubkey import Pubkey
from solders.rpc.config import RpcAccountInfoConfig, RpcProgramAccountsConfig
from solders.rpc.filter import Memcmp
from solders.rpc.requests import GetProgramAccounts, GetSlot
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = ["AccountCache", "AccountType", "Cached", "Change", "DeadWebsocket", "RpcFailure", "Source", "WebsocketClosed", "margin_accounts", "trading_accounts", "venue_types"]

Source = Literal["snapshot", "notification", "reconcile"]


@dataclass(frozen=True, slots=True)
class AccountType:
    """One kind of account the cache holds: program, discriminator, extra memcmp filters, decoder."""

    name: str
    program_id: Pubkey
    discriminator: bytes
    decode: Callable[[Pubkey, bytes], Any]
    flags: tuple[tuple[int, bytes], ...] = ()

    def memcmps(self) -> list[tuple[int, bytes]]:
        return [(0, self.discriminator), *self.flags]


def margin_accounts(status: int | None = None) -> AccountType:
    """qd-core MarginAccounts; with `status`, only those whose status byte equals it."""
    flags = () if status is None else ((core.STATUS_OFFSET, bytes([status])),)
    return AccountType("margin_account", core.PROGRAM_ID, core.MARGIN_ACCOUNT_DISCRIMINATOR, lambda key, data: core.decode_margin_account(key, data), flags)


def _anchor(name: str, program_id: Pubkey, account: str, decode: Callable[[Pubkey, bytes], Any]) -> AccountType:
    return AccountType(name, program_id, idl.discriminator("account", account), decode)


def venue_types() -> list[AccountType]:
    """Every account a keeper judges the venue by: the core config and insurance funds, margin
    accounts, collateral configs and balances, trading accounts, perp markets and price feeds."""
    return [
        _anchor("global", core.PROGRAM_ID, "GlobalConfig", core.decode_global),
        _anchor("insurance_fund", core.PROGRAM_ID, "InsuranceFund", core.decode_insurance_fund),
        margin_accounts(),
        _anchor("collateral_config", collateral.PROGRAM_ID, "CollateralConfig", collateral.decode_config),
        _anchor("balances", collateral.PROGRAM_ID, "CollateralBalances", collateral.decode_balances),
        trading_accounts(),
        AccountType("market", trading_state.PROGRAM_ID, trading_state.MARKET_DISCRIMINATOR, lambda _, data: trading_state.decode_market(data)),
        _anchor("feed", oracle.PROGRAM_ID, "PriceFeed", oracle.decode_feed),
    ]


def trading_accounts(open_orders_only: bool = False) -> AccountType:
    """qd-trading TradingAccounts; with `open_orders_only`, only those with a resting order."""
    flags = ((trading_state.TRADING_HAS_OPEN_ORDER_OFFSET, b"\x01"),) if open_orders_only else ()
    return AccountType("trading_account", trading_state.PROGRAM_ID, trading_state.TRADING_DISCRIMINATOR,
                       lambda _, data: trading_state.decode_trading_account(data), flags)


@dataclass(frozen=True, slots=True)
class Cached:
    pubkey: Pubkey
    value: Any
    slot: int
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Change:
    account_type: str
    pubkey: Pubkey
    old: Cached | None
    new: Cached | None
    source: Source
    received_at: float = field(default_factory=time.monotonic)
    """time.monotonic() when the cache received it (detect-to-send starts here)."""


class DeadWebsocket(Exception):
    """No slot notification for longer than the configured threshold."""


class WebsocketClosed(Exception):
    """The node closed the websocket cleanly (an abrupt close raises websockets' ConnectionClosed)."""


class RpcFailure(Exception):
    """A JSON-RPC request answered with an error."""


class AccountCache:
    def __init__(self, rpc: AsyncClient, ws_url: str, types: Sequence[AccountType], metrics: Metrics, log: Log, *,
                 reconcile_secs: float, dead_after_secs: float, backoff: Backoff | None = None, subscribe_timeout: float = 10.0) -> None:
        self.rpc = rpc
        self.ws_url = ws_url
        self.types = {t.name: t for t in types}
        self.metrics = metrics
        self.log = log
        self.reconcile_secs = reconcile_secs
        self.dead_after_secs = dead_after_secs
        self.backoff = backoff or Backoff()
        self.subscribe_timeout = subscribe_timeout
        self.stores: dict[str, dict[Pubkey, Cached]] = {name: {} for name in self.types}
        self.slot = 0  # the latest slot heard of (slot notifications and snapshots)
        self.live = asyncio.Event()  # subscribed and snapshot taken; cleared while reconnecting
        self.reconciled = asyncio.Event()  # set after each snapshot or reconcile (tests await it)
        self.reconcile_count = 0
        self.connections = 0
        self._last_slot_at = time.monotonic()
        self._callbacks: list[Callable[[Change], None]] = []
        self._slot_callbacks: list[Callable[[int], None]] = []
        self._queues: dict[str, asyncio.Queue[Change]] = {}
        self._request_ids = 0

    # -- subscribers ---------------------------------------------------------------------------

    def on_change(self, callback: Callable[[Change], None]) -> None:
        self._callbacks.append(callback)

    def on_slot(self, callback: Callable[[int], None]) -> None:
        """`callback(slot)` on every slot notification, with the latest slot heard of."""
        self._slot_callbacks.append(callback)

    def queue(self, name: str) -> asyncio.Queue[Change]:
        """A queue that receives every change from now on (its depth is the queue_depth gauge)."""
        q: asyncio.Queue[Change] = asyncio.Queue()
        self._queues[name] = q
        return q

    def accounts(self, account_type: str) -> dict[Pubkey, Cached]:
        return self.stores[account_type]

    def _emit(self, change: Change) -> None:
        self.metrics.changes.labels(change.account_type, change.source).inc()
        for callback in self._callbacks:
            callback(change)
        for name, q in self._queues.items():
            q.put_nowait(change)
            self.metrics.queue_depth.labels(name).set(q.qsize())

    # -- applying updates ----------------------------------------------------------------------

    def _apply(self, t: AccountType, pubkey: Pubkey, data: bytes, slot: int, source: Source, received_at: float | None = None) -> bool:
        """Stores the account unless a later slot's version is held; True when it changed."""
        store = self.stores[t.name]
        old = store.get(pubkey)
        if old is not None and old.slot > slot:
            return False
        if old is not None and old.data == data:
            store[pubkey] = Cached(pubkey, old.value, slot, data)
            return False
        try:
            value = t.decode(pubkey, data)
        except Exception as exc:  # one malformed account must not stop the cache
            self.metrics.decode_errors.labels(t.name).inc()
            self.log.warning("cache.decode_error", account_type=t.name, pubkey=str(pubkey), error=repr(exc))
            return False
        new = Cached(pubkey, value, slot, data)
        store[pubkey] = new
        self._emit(Change(t.name, pubkey, old, new, source, time.monotonic() if received_at is None else received_at))
        return True

    def ingest(self, pubkey: Pubkey, owner: Pubkey, data: bytes, slot: int, source: Source = "notification") -> bool:
        """Applies an account read by other means (a chain in-process, a getMultipleAccounts) to
        whichever type it is, as a notification would; True when it changed an entry."""
        for t in self.types.values():
            if owner == t.program_id and all(data[offset:offset + len(b)] == b for offset, b in t.memcmps()):
                return self._apply(t, pubkey, data, slot, source)
        return False

    def _remove(self, t: AccountType, pubkey: Pubkey, source: Source) -> None:
        old = self.stores[t.name].pop(pubkey)
        self._emit(Change(t.name, pubkey, old, None, source))

    # -- RPC -----------------------------------------------------------------------------------

    def _next_id(self) -> int:
        self._request_ids += 1
        return self._request_ids

    async def _call(self, method: str, body: Any) -> Any:
        """One request's result, retried with capped exponential backoff while it fails."""
        backoff = Backoff(self.backoff.initial, self.backoff.cap)
        while True:
            try:
                (answer,) = await rpc_request(self.rpc, [body])
                if "error" in answer:
                    raise RpcFailure(f"{method}: {answer['error']}")
                return answer["result"]
            except (RpcFailure, SolanaRpcException, httpx.HTTPError) as exc:
                self.metrics.rpc_errors.labels(method).inc()
                delay = backoff.next()
                self.log.warning("rpc.retry", method=method, error=repr(exc), attempt=backoff.attempts, delay_secs=delay)  # repr: a timeout's str is empty
                await asyncio.sleep(delay)

    async def _program_accounts(self, t: AccountType) -> tuple[int, list[tuple[Pubkey, bytes]]]:
        config = RpcProgramAccountsConfig(RpcAccountInfoConfig(encoding=UiAccountEncoding.Base64),
                                          filters=[Memcmp(offset, b58encode(b).decode()) for offset, b in t.memcmps()], with_context=True)
        result = await self._call("getProgramAccounts", GetProgramAccounts(t.program_id, config, id=self._next_id()))
        found = [(Pubkey.from_string(a["pubkey"]), base64.b64decode(a["account"]["data"][0])) for a in result["value"]]
        return int(result["context"]["slot"]), found

    async def node_slot(self) -> int:
        return int(await self._call("getSlot", GetSlot(id=self._next_id())))

    async def lag_slots(self) -> int:
        """How many slots the node is ahead of the last slot the cache heard of (the gauge too)."""
        lag = max(0, await self.node_slot() - self.slot)
        self.metrics.cache_lag.set(lag)
        return lag

    async def reconcile(self, reason: str) -> None:
        """Brings every type's entries to a fresh getProgramAccounts: adds, changes and removals."""
        started = time.monotonic()
        source: Source = "snapshot" if reason != "periodic" else "reconcile"
        for t in self.types.values():
            slot, found = await self._program_accounts(t)
            self.slot = max(self.slot, slot)
            store = self.stores[t.name]
            initial = not store and reason == "snapshot"
            seen = set()
            for pubkey, data in found:
                seen.add(pubkey)
                kind = "changed" if pubkey in store else "added"
                if self._apply(t, pubkey, data, slot, source) and not initial:
                    self.metrics.reconcile_fixes.labels(t.name, kind).inc()
            for pubkey in [k for k, v in store.items() if k not in seen and v.slot <= slot]:
                self._remove(t, pubkey, source)
                self.metrics.reconcile_fixes.labels(t.name, "closed").inc()
            self.metrics.cache_accounts.labels(t.name).set(len(store))
        self.metrics.reconciles.labels(reason).inc()
        self.metrics.reconcile_seconds.observe(time.monotonic() - started)
        self.reconcile_count += 1
        self.log.info("cache.reconciled", reason=reason, slot=self.slot, accounts={n: len(s) for n, s in self.stores.items()},
                      secs=round(time.monotonic() - started, 4))
        self.reconciled.set()
        self.reconciled.clear()

    # -- PubSub --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Keeps the cache current until cancelled (which closes the websocket)."""
        reason = "snapshot"
        while True:
            try:
                await self._session(reason)
            except (ConnectionClosed, WebsocketClosed, OSError, DeadWebsocket, RpcFailure, TimeoutError) as exc:
                self.live.clear()
                reason = "dead" if isinstance(exc, DeadWebsocket) else "closed"
                self.metrics.reconnects.labels(reason).inc()
                delay = self.backoff.next()
                self.log.warning("cache.reconnect", reason=reason, error=repr(exc), delay_secs=delay)
                await asyncio.sleep(delay)
                reason = "resubscribe"

    async def _session(self, reason: str) -> None:
        async with connect(self.ws_url, max_size=None, open_timeout=self.subscribe_timeout) as ws:
            self.connections += 1
            subs = await self._subscribe(ws)
            self._last_slot_at = time.monotonic()
            # After subscribing, so nothing changed between the snapshot and the first notification
            # goes unseen (notifications meanwhile wait in the socket's buffer).
            await self.reconcile(reason)
            self.backoff.reset()
            self.live.set()
            self.log.info("cache.live", connection=self.connections, subscriptions=len(subs))
            tasks = [asyncio.create_task(c) for c in (self._read(ws, subs), self._watchdog(), self._periodic())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()  # re-raises what ended the session
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _subscribe(self, ws: ClientConnection) -> dict[int, AccountType | None]:
        """programSubscribe for every type and one slotSubscribe: subscription id -> type (None: slots)."""
        wanted: dict[int, AccountType | None] = {}
        for t in self.types.values():
            request_id = self._next_id()
            wanted[request_id] = t
            filters = [{"memcmp": {"offset": offset, "bytes": b58encode(b).decode()}} for offset, b in t.memcmps()]
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "programSubscribe",
                                      "params": [str(t.program_id), {"encoding": "base64", "commitment": "confirmed", "filters": filters}]}))
        request_id = self._next_id()
        wanted[request_id] = None
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "slotSubscribe"}))
        subs: dict[int, AccountType | None] = {}
        while len(subs) < len(wanted):
            message = json.loads(await asyncio.wait_for(ws.recv(), self.subscribe_timeout))
            if message.get("id") in wanted:
                if "error" in message:
                    raise RpcFailure(f"subscribe: {message['error']}")
                subs[int(message["result"])] = wanted[message["id"]]
        return subs

    async def _read(self, ws: ClientConnection, subs: dict[int, AccountType | None]) -> None:
        async for raw in ws:
            received_at = time.monotonic()
            message = json.loads(raw)
            params = message.get("params")
            if not isinstance(params, dict):
                continue
            method, result = message.get("method"), params["result"]
            if method == "slotNotification":
                self.slot = max(self.slot, int(result["slot"]))
                self._last_slot_at = time.monotonic()
                for callback in self._slot_callbacks:
                    callback(self.slot)
            elif method == "programNotification":
                t = subs.get(params["subscription"])
                if t is None:
                    continue
                self.metrics.notifications.labels(t.name).inc()
                value = result["value"]
                data = base64.b64decode(value["account"]["data"][0])
                self._apply(t, Pubkey.from_string(value["pubkey"]), data, int(result["context"]["slot"]), "notification", received_at)
                self.metrics.cache_accounts.labels(t.name).set(len(self.stores[t.name]))
        raise WebsocketClosed("the node closed the websocket")

    async def _watchdog(self) -> None:
        while True:
            remaining = self._last_slot_at + self.dead_after_secs - time.monotonic()
            if remaining <= 0:
                raise DeadWebsocket(f"no slot notification for {self.dead_after_secs:.1f} s")
            await asyncio.sleep(remaining)

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_secs)
            await self.reconcile("periodic")

    # -- health --------------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Live (subscribed, snapshot taken) and fresh (a slot notification within the dead threshold)."""
        silent_secs = time.monotonic() - self._last_slot_at
        live, fresh = self.live.is_set(), silent_secs < self.dead_after_secs
        body = {"live": live, "fresh": fresh, "slot": self.slot, "secs_since_slot": round(silent_secs, 3),
                "accounts": {name: len(store) for name, store in self.stores.items()}}
        return live and fresh, body
