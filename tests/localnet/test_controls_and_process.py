"""qd_ test controls, and the process: start-up, CLI, clean shutdown on SIGINT/SIGTERM."""
from __future__ import annotations

import asyncio
import base64
import json
import signal
import socket
import sys
import time
from typing import Any

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.websocket_api import connect
from solders.clock import Clock
from solders.pubkey import Pubkey
from solders.rpc.responses import AccountNotification
from websockets.exceptions import ConnectionClosed

from quantdesk.localnet import free_port, run_in_background

CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")


async def rpc(http: httpx.AsyncClient, url: str, method: str, *params: Any) -> Any:
    body = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                      "params": list(params)})
    reply = body.json()
    assert "error" not in reply, reply
    return reply["result"]


async def test_clock_controls() -> None:
    async with run_in_background(slot_ms=50) as node, httpx.AsyncClient() as http, \
            AsyncClient(node.rpc_url) as client:
        assert await rpc(http, node.rpc_url, "qd_pauseClock") is True
        paused_at = (await rpc(http, node.rpc_url, "qd_getClock"))["slot"]
        await asyncio.sleep(0.3)
        state = await rpc(http, node.rpc_url, "qd_getClock")
        assert state["slot"] == paused_at and state["paused"] is True
        assert await rpc(http, node.rpc_url, "qd_warpSlot", paused_at + 1000) == paused_at + 1000
        assert (await client.get_slot()).value == paused_at + 1000
        set_to = await rpc(http, node.rpc_url, "qd_setClock", {"unixTimestamp": 2_000_000_000})
        assert set_to == {"slot": paused_at + 1000, "unixTimestamp": 2_000_000_000}
        # programs see it: the Clock sysvar as getAccountInfo returns it
        sysvar = (await client.get_account_info(CLOCK_SYSVAR)).value
        clock = Clock.from_bytes(sysvar.data)
        assert (clock.slot, clock.unix_timestamp) == (paused_at + 1000, 2_000_000_000)
        await rpc(http, node.rpc_url, "qd_warpSlot", paused_at + 1010)  # 10 slots of 50 ms
        sysvar = (await client.get_account_info(CLOCK_SYSVAR)).value
        assert Clock.from_bytes(sysvar.data).unix_timestamp == 2_000_000_000
        await rpc(http, node.rpc_url, "qd_warpSlot", paused_at + 1040)  # 40 slots: +2 s
        sysvar = (await client.get_account_info(CLOCK_SYSVAR)).value
        assert Clock.from_bytes(sysvar.data).unix_timestamp == 2_000_000_002
        bad = (await http.post(node.rpc_url, json={"jsonrpc": "2.0", "id": 1,
                                                   "method": "qd_warpSlot", "params": [1]})).json()
        assert bad["error"]["code"] == -32602
        assert await rpc(http, node.rpc_url, "qd_resumeClock") is True
        await asyncio.sleep(0.3)
        assert (await rpc(http, node.rpc_url, "qd_getClock"))["slot"] > paused_at + 1040


async def test_set_account_notifies_and_reset() -> None:
    async with run_in_background(paused=True) as node, httpx.AsyncClient() as http, \
            AsyncClient(node.rpc_url) as client:
        key, owner = Pubkey.new_unique(), Pubkey.new_unique()
        async with connect(node.ws_url) as ws:
            await ws.account_subscribe(key, encoding="base64")
            await ws.recv()
            await rpc(http, node.rpc_url, "qd_setAccount", str(key), {
                "lamports": 1_000, "data": [base64.b64encode(b"\x07\x08").decode(), "base64"],
                "owner": str(owner), "executable": False, "rentEpoch": 0})
            (note,) = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(note, AccountNotification)
            assert note.result.value.data == b"\x07\x08" and note.result.value.owner == owner
        found = (await client.get_program_accounts(owner, encoding="base64")).value
        assert [a.pubkey for a in found] == [key]
        await rpc(http, node.rpc_url, "qd_warpSlot", 77)
        assert await rpc(http, node.rpc_url, "qd_reset") is True
        assert (await client.get_account_info(key)).value is None
        assert (await client.get_slot()).value == 0


def _port_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_clean_shutdown(sig: signal.Signals) -> None:
    rpc_port, ws_port = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "quantdesk", "localnet", "--rpc-port", str(rpc_port),
        "--ws-port", str(ws_port), stderr=asyncio.subprocess.DEVNULL)
    url = f"http://127.0.0.1:{rpc_port}"
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.post(url, json={"jsonrpc": "2.0", "id": 1,
                                               "method": "getHealth"})).json()["result"] == "ok":
                    break
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
        # an open WebSocket and an idle keep-alive HTTP connection must not block shutdown
        async with connect(f"ws://127.0.0.1:{ws_port}") as ws:
            await ws.slot_subscribe()
            await ws.recv()
            proc.send_signal(sig)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert _port_closed(rpc_port) and _port_closed(ws_port)


async def test_run_in_background_reports_a_failed_start() -> None:
    rpc_port = free_port()
    with socket.socket() as blocker:  # the port is taken: the server cannot start
        blocker.bind(("127.0.0.1", rpc_port))
        blocker.listen()
        with pytest.raises(RuntimeError, match="exited"):
            async with run_in_background(rpc_port=rpc_port, startup_timeout=20):
                pass


async def test_fault_controls() -> None:
    async with run_in_background(paused=True) as node, httpx.AsyncClient() as http:
        # qd_failRequests: the next n non-qd_ requests fail, each request of a batch counting one
        assert await rpc(http, node.rpc_url, "qd_failRequests", 3) == 3
        assert await rpc(http, node.rpc_url, "qd_getClock")  # qd_ methods are not failed
        batch = [{"jsonrpc": "2.0", "id": i, "method": "getSlot"} for i in range(4)]
        answers = sorted((await http.post(node.rpc_url, json=batch)).json(), key=lambda a: a["id"])
        assert [a.get("error", {}).get("code") for a in answers] == [-32603, -32603, -32603, None]
        assert "qd_failRequests" in answers[0]["error"]["message"]
        assert await rpc(http, node.rpc_url, "getSlot") == 0
        # qd_muteNotifications: slot notifications go on, account notifications are withheld
        key, owner = Pubkey.new_unique(), Pubkey.new_unique()
        account = {"lamports": 1_000, "data": ["", "base64"], "owner": str(owner)}
        async with connect(node.ws_url) as ws:
            await ws.account_subscribe(key, encoding="base64")
            await ws.recv()
            await ws.slot_subscribe()
            await ws.recv()
            assert await rpc(http, node.rpc_url, "qd_muteNotifications", True) is True
            await rpc(http, node.rpc_url, "qd_setAccount", str(key), account)
            await rpc(http, node.rpc_url, "qd_warpSlot", 5)
            (note,) = await asyncio.wait_for(ws.recv(), 5)
            assert type(note).__name__ == "SlotNotification"  # the account write was not sent
            assert await rpc(http, node.rpc_url, "qd_muteNotifications", False) is False
            await rpc(http, node.rpc_url, "qd_setAccount", str(key), {**account, "lamports": 2_000})
            (note,) = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(note, AccountNotification) and note.result.value.lamports == 2_000
        # qd_dropWebsockets: every connection is cut
        async with connect(node.ws_url) as first, connect(node.ws_url) as second:
            await first.slot_subscribe()
            await first.recv()
            await second.slot_subscribe()
            await second.recv()
            assert await rpc(http, node.rpc_url, "qd_dropWebsockets") == 2
            for ws in (first, second):
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
        bad = (await http.post(node.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "qd_muteNotifications",
                                                   "params": [1]})).json()
        assert bad["error"]["code"] == -32602


async def _timed(http: httpx.AsyncClient, url: str, body: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = (await http.post(url, json=body)).json()
    return answer, time.monotonic() - started


async def test_stall_requests() -> None:
    async with run_in_background(paused=True) as node, httpx.AsyncClient() as http, httpx.AsyncClient() as other:
        url = node.rpc_url
        slot = {"jsonrpc": "2.0", "id": 1, "method": "getSlot"}
        # Of two requests on two connections, whichever reaches the node first waits 500 ms for its
        # answer; the other is answered meanwhile.
        assert await rpc(http, url, "qd_stallRequests", 1, 500) == 1
        assert await rpc(http, url, "qd_getClock")  # qd_ methods are never stalled
        (a, a_secs), (b, b_secs) = await asyncio.gather(_timed(http, url, slot), _timed(other, url, slot))
        assert a["result"] == b["result"] == 0
        fast, slow = sorted((a_secs, b_secs))
        assert fast < 0.25 and slow >= 0.5
        # Executed at once, answered late: the airdrop is visible before its answer arrives.
        key = Pubkey.new_unique()
        assert await rpc(http, url, "qd_stallRequests", 1, 500, "requestAirdrop") == 1
        assert (await _timed(other, url, slot))[1] < 0.25  # only requestAirdrop is stalled
        airdrop = asyncio.create_task(_timed(http, url, {"jsonrpc": "2.0", "id": 2, "method": "requestAirdrop", "params": [str(key), 1_000]}))
        async def balance() -> int:
            return int((await rpc(other, url, "getBalance", str(key)))["value"])
        while await balance() == 0:
            await asyncio.sleep(0.01)
        assert not airdrop.done()
        answer, secs = await airdrop
        assert "result" in answer and secs >= 0.5
        # A batch waits as one answer; each of its requests counts one, so a third is not stalled.
        assert await rpc(http, url, "qd_stallRequests", 2, 300) == 2
        answers, secs = await _timed(http, url, [{**slot, "id": i} for i in range(3)])
        assert [a["result"] for a in answers] == [0, 0, 0] and secs >= 0.3
        assert (await _timed(http, url, slot))[1] < 0.25  # the count is consumed
        # Pipelined on one connection: the answer behind a stalled one waits for it, in order.
        assert await rpc(http, url, "qd_stallRequests", 1, 300) == 1
        reader, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
        started = time.monotonic()
        for i in (1, 2):
            body = json.dumps({**slot, "id": i}).encode()
            writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        ids = []
        for _ in (1, 2):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = int(next(line for line in head.decode().split("\r\n") if line.lower().startswith("content-length")).split(":")[1])
            ids.append(json.loads(await reader.readexactly(length))["id"])
        assert ids == [1, 2] and time.monotonic() - started >= 0.3
        writer.close()
        await writer.wait_closed()
        for params, words in [([1], "at least 2"), (["x", 1], "u64"), ([1, -1], "u32"), ([1, 60_001], "60000 ms"),
                              ([1, 10, "qd_warpSlot"], "qd_warpSlot"), ([1, 10, "getNothing"], "getNothing"), ([1, 10, 5], "string")]:
            bad = (await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "qd_stallRequests", "params": params})).json()
            assert bad["error"]["code"] == -32602 and words in bad["error"]["message"], (params, bad)
        assert (await _timed(http, url, slot))[1] < 0.25  # refused calls stalled nothing
