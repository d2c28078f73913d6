"""The keeper's account cache against the local validator over real RPC and PubSub: snapshot,
notifications, reconnect after dropped websockets, the periodic reconcile behind a silent
websocket, and retries through failing RPC requests and requests stalled past the timeout."""
from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from quantdesk.clients import trading_state
from quantdesk.keeper.backoff import Backoff
from quantdesk.keeper.cache import AccountCache, Change, margin_accounts, trading_accounts
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from solana.rpc.async_api import AsyncClient
from solders.pubkey import Pubkey

from quantdesk.localnet import LocalnetProcess, run_in_background
from quantdesk.localnet.venue_node import until

TIMEOUT = 10.0

async def rpc(url: str, method: str, *params: Any) -> Any:
    async with httpx.AsyncClient() as http:
        reply = (await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})).json()
    assert "error" not in reply, reply
    return reply["result"]

async def set_trading(node: LocalnetProcess, key: Pubkey, seq: int, open_order: bool = False) -> bytes:
    data = trading_state.TradingAccount(seq=seq, has_open_order=int(open_order)).encode()
    await rpc(node.rpc_url, "qd_setAccount", str(key), {"lamports": 10_000_000, "data": [base64.b64encode(data).decode(), "base64"],
                                                         "owner": str(trading_state.PROGRAM_ID)})
    return data

async def close(node: LocalnetProcess, key: Pubkey) -> None:
    await rpc(node.rpc_url, "qd_setAccount", str(key), {"lamports": 0, "data": ["", "base64"], "owner": "11111111111111111111111111111111"})

@asynccontextmanager
async def running(node: LocalnetProcess, reconcile_secs: float = 60.0, open_orders_only: bool = False, rpc_timeout: float = 10.0,
                  log: Log | None = None) -> AsyncIterator[AccountCache]:
    async with AsyncClient(node.rpc_url, timeout=rpc_timeout) as client:
        cache = AccountCache(client, node.ws_url, [trading_accounts(open_orders_only), margin_accounts()], Metrics(), log or Log(level="warning"),
                             reconcile_secs=reconcile_secs, dead_after_secs=2.0, backoff=Backoff(0.05, 0.5))
        task = asyncio.create_task(cache.run())
        try:
            await asyncio.wait_for(cache.live.wait(), TIMEOUT)
            yield cache
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

def sample(cache: AccountCache, name: str, **labels: str) -> float:
    value = cache.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value

async def snapshot_keys(node: LocalnetProcess, open_orders_only: bool = False) -> dict[Pubkey, bytes]:
    async with AsyncClient(node.rpc_url) as client:
        t = trading_accounts(open_orders_only)
        found = (await client.get_program_accounts(t.program_id, encoding="base64")).value
        return {a.pubkey: bytes(a.account.data) for a in found if bytes(a.account.data).startswith(t.discriminator)
                and all(bytes(a.account.data)[o:o + len(b)] == b for o, b in t.flags)}

async def test_snapshot_equals_get_program_accounts_and_changes_reach_subscribers() -> None:
    async with run_in_background(slot_ms=100) as node:
        keys = [Pubkey.new_unique() for _ in range(5)]
        for i, key in enumerate(keys):
            await set_trading(node, key, i)
        async with running(node) as cache:
            held = {k: v.data for k, v in cache.accounts("trading_account").items()}
            assert held == await snapshot_keys(node) and set(held) == set(keys)
            assert cache.accounts("trading_account")[keys[3]].value.seq == 3
            changes: list[Change] = []
            cache.on_change(changes.append)
            queue = cache.queue("test")
            await set_trading(node, keys[0], 100)
            change = await asyncio.wait_for(queue.get(), TIMEOUT)
            assert change.source == "notification" and change.pubkey == keys[0]
            assert change.old is not None and change.old.value.seq == 0
            assert change.new is not None and change.new.value.seq == 100 and change.new.slot >= change.old.slot
            assert changes == [change]
            assert sample(cache, "quantdesk_keeper_notifications_total", account_type="trading_account") == 1
            assert await cache.lag_slots() <= 5  # slots are 100 ms: the cache is within a few of the node

async def test_dropped_websockets_reconnect_and_catch_what_changed_meanwhile() -> None:
    async with run_in_background(slot_ms=100) as node:
        kept, changed, added = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
        await set_trading(node, kept, 1)
        await set_trading(node, changed, 2)
        async with running(node) as cache:
            queue = cache.queue("test")
            # Changes no notification reports (muted, and a closure never is), then the drop: only
            # the resubscribe's reconcile can see them (the periodic one is 60 s away).
            await rpc(node.rpc_url, "qd_muteNotifications", True)
            await set_trading(node, changed, 20)
            await set_trading(node, added, 3)
            await close(node, kept)
            assert await rpc(node.rpc_url, "qd_dropWebsockets") == 1
            await rpc(node.rpc_url, "qd_muteNotifications", False)
            seen: dict[Pubkey, Change] = {}
            while len(seen) < 3:
                change = await asyncio.wait_for(queue.get(), TIMEOUT)
                seen[change.pubkey] = change
            assert cache.connections == 2
            assert sample(cache, "quantdesk_keeper_reconnects_total", reason="closed") == 1
            assert seen[kept].new is None and seen[added].old is None
            store = cache.accounts("trading_account")
            assert store[changed].value.seq == 20 and store[added].value.seq == 3 and kept not in store
            assert {k: v.data for k, v in store.items()} == await snapshot_keys(node)
            assert {c.source for c in seen.values()} == {"snapshot"}
            assert sample(cache, "quantdesk_keeper_reconciles_total", reason="resubscribe") == 1
            await set_trading(node, changed, 21)  # and the new subscription delivers
            change = await asyncio.wait_for(queue.get(), TIMEOUT)
            assert change.source == "notification" and change.new is not None and change.new.value.seq == 21

async def test_silent_websocket_is_caught_by_the_periodic_reconcile() -> None:
    async with run_in_background(slot_ms=100) as node:
        key, leaves_filter = Pubkey.new_unique(), Pubkey.new_unique()
        await set_trading(node, key, 1, open_order=True)
        await set_trading(node, leaves_filter, 1, open_order=True)
        async with running(node, reconcile_secs=0.5, open_orders_only=True) as cache:
            queue = cache.queue("test")
            await rpc(node.rpc_url, "qd_muteNotifications", True)  # subscriptions alive, slots flowing
            await set_trading(node, key, 2, open_order=True)
            await set_trading(node, leaves_filter, 2, open_order=False)  # programSubscribe never reports this
            first, second = [await asyncio.wait_for(queue.get(), TIMEOUT) for _ in range(2)]
            assert {first.source, second.source} == {"reconcile"}
            store = cache.accounts("trading_account")
            assert store[key].value.seq == 2 and leaves_filter not in store
            assert cache.connections == 1  # the slot watchdog never fired: the socket stayed alive
            assert sample(cache, "quantdesk_keeper_reconcile_fixes_total", account_type="trading_account", kind="changed") == 1
            assert sample(cache, "quantdesk_keeper_reconcile_fixes_total", account_type="trading_account", kind="closed") == 1

async def test_dead_websocket_without_slots_is_reconnected() -> None:
    async with run_in_background(slot_ms=100) as node:
        async with running(node) as cache:
            await rpc(node.rpc_url, "qd_pauseClock")  # no slot notifications: dead after 2 s
            await until(lambda: sample(cache, "quantdesk_keeper_reconnects_total", reason="dead") == 1, "the dead-websocket reconnect")
            await rpc(node.rpc_url, "qd_resumeClock")
            await until(lambda: cache.live.is_set() and cache.connections == 2, "the cache live again")

async def test_failing_requests_make_the_snapshot_retry_with_backoff() -> None:
    async with run_in_background(slot_ms=100) as node:
        key = Pubkey.new_unique()
        await set_trading(node, key, 7)
        await rpc(node.rpc_url, "qd_failRequests", 4)
        async with running(node) as cache:
            assert cache.accounts("trading_account")[key].value.seq == 7
            assert sample(cache, "quantdesk_keeper_rpc_errors_total", method="getProgramAccounts") == 4
        # the backoff doubles, capped
        backoff = Backoff(0.1, 0.5)
        assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]

async def test_snapshot_requests_stalled_past_the_timeout_are_retried_and_the_cache_goes_live() -> None:
    async with run_in_background(slot_ms=100) as node:
        key = Pubkey.new_unique()
        await set_trading(node, key, 7)
        await rpc(node.rpc_url, "qd_stallRequests", 2, 1_000)  # the snapshot's first two getProgramAccounts outlast the 0.3 s timeout
        logs = io.StringIO()
        async with running(node, rpc_timeout=0.3, log=Log(logs, level="warning")) as cache:
            assert cache.accounts("trading_account")[key].value.seq == 7
            assert sample(cache, "quantdesk_keeper_rpc_errors_total", method="getProgramAccounts") == 2
            retries = [r for r in map(json.loads, logs.getvalue().splitlines()) if r["event"] == "rpc.retry"]
            assert [r["attempt"] for r in retries] == [1, 2] and all("ReadTimeout" in r["error"] for r in retries)
            assert cache.connections == 1 and sample(cache, "quantdesk_keeper_reconnects_total", reason="closed") == 0  # the websocket was kept
            await set_trading(node, key, 8)  # and notifications flow
            await until(lambda: cache.accounts("trading_account")[key].value.seq == 8, "the notification")

_: Callable[..., Awaitable[None]] = until
