"""PubSub through solana-py's websocket client (solders parses, and so validates, each message)."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from solana.rpc.async_api import AsyncClient
from solana.rpc.types import MemcmpOpts, TxOpts
from solana.rpc.websocket_api import SolanaWsClientProtocol, SubscriptionError, connect
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import (
    AccountNotification,
    LogsNotification,
    ProgramNotification,
    SignatureNotification,
    SlotNotification,
    SubscriptionResult,
)
from solders.system_program import AssignParams, assign

from quantdesk.localnet import LocalnetProcess
from quantdesk.world import SOL, signed, transfer_tx

pytestmark = pytest.mark.asyncio(loop_scope="session")
NO_CONFIRM = TxOpts(skip_confirmation=True)


async def recv_one(ws: SolanaWsClientProtocol, timeout: float = 5.0) -> Any:
    (message,) = await asyncio.wait_for(ws.recv(), timeout)
    return message


async def subscribed(ws: SolanaWsClientProtocol) -> int:
    message = await recv_one(ws)
    assert isinstance(message, SubscriptionResult)
    return message.result


async def funded(client: AsyncClient, lamports: int = 10 * SOL) -> Keypair:
    kp = Keypair()
    await client.request_airdrop(kp.pubkey(), lamports)
    return kp


async def test_account_subscription(node: LocalnetProcess, client: AsyncClient) -> None:
    payer, to = await funded(client), Keypair().pubkey()
    async with connect(node.ws_url) as ws:
        await ws.account_subscribe(to, encoding="base64")
        sub = await subscribed(ws)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        sig = (await client.send_transaction(transfer_tx(payer, to, SOL, blockhash),
                                             opts=NO_CONFIRM)).value
        note = await recv_one(ws)
        assert isinstance(note, AccountNotification) and note.subscription == sub
        assert note.result.value.lamports == SOL
        status = (await client.get_signature_statuses([sig])).value[0]
        assert status is not None and note.result.context.slot == status.slot
        await ws.account_unsubscribe(sub)
        assert (await recv_one(ws)).result is True


async def test_default_binary_encoding(node: LocalnetProcess, client: AsyncClient) -> None:
    payer = await funded(client)
    async with websockets.connect(node.ws_url) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "accountSubscribe",
                                  "params": [str(payer.pubkey())]}))
        sub = json.loads(await ws.recv())["result"]
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        await client.send_transaction(transfer_tx(payer, Keypair().pubkey(), SOL, blockhash),
                                      opts=NO_CONFIRM)
        note = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert note["method"] == "accountNotification"
        assert note["params"]["subscription"] == sub
        value = note["params"]["result"]["value"]
        assert value["data"] == "" and value["lamports"] == 9 * SOL - 5_000  # legacy binary
        assert set(note["params"]["result"]["context"]) == {"slot"}


async def test_program_subscription_with_filter(node: LocalnetProcess,
                                                client: AsyncClient) -> None:
    program = Pubkey.new_unique()
    first, second = await funded(client, SOL), await funded(client, SOL)
    async with connect(node.ws_url) as ws:
        # memcmp on empty data never matches; dataSize 0 does: only the second subscription hits
        await ws.program_subscribe(program, encoding="base64",
                                   filters=[MemcmpOpts(offset=0, bytes="2")])
        never = await subscribed(ws)
        await ws.program_subscribe(program, encoding="base64", filters=[0])
        sized = await subscribed(ws)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        for kp in (first, second):
            await client.send_transaction(
                signed(kp, [assign(AssignParams(pubkey=kp.pubkey(), owner=program))], blockhash),
                opts=NO_CONFIRM)
        notes = [await recv_one(ws), await recv_one(ws)]
        assert all(isinstance(n, ProgramNotification) and n.subscription == sized for n in notes)
        assert [n.result.value.pubkey for n in notes] == [first.pubkey(), second.pubkey()]
        assert all(n.result.value.account.owner == program for n in notes)
        assert never != sized


async def test_slot_subscription(node: LocalnetProcess) -> None:
    async with connect(node.ws_url) as ws:
        await ws.slot_subscribe()
        await subscribed(ws)
        slots = []
        for _ in range(3):
            note = await recv_one(ws)
            assert isinstance(note, SlotNotification)
            slots.append(note.result.slot)
            assert note.result.parent == note.result.slot - 1
        assert slots == sorted(slots) and len(set(slots)) == 3


async def test_signature_subscription_before_and_after(node: LocalnetProcess,
                                                       client: AsyncClient) -> None:
    payer = await funded(client)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, blockhash)
    async with connect(node.ws_url) as ws:
        await ws.signature_subscribe(tx.signatures[0])
        sub = await subscribed(ws)
        await client.send_transaction(tx, opts=NO_CONFIRM)
        note = await recv_one(ws)
        assert isinstance(note, SignatureNotification) and note.subscription == sub
        assert note.result.value.err is None
        # already landed: answered straight after the subscription id
        await ws.signature_subscribe(tx.signatures[0])
        late = await subscribed(ws)
        note = await recv_one(ws)
        assert isinstance(note, SignatureNotification) and note.subscription == late
        # one-shot: the subscription is gone
        with pytest.raises(SubscriptionError, match="Invalid subscription id"):
            await ws.signature_unsubscribe(sub)
            await recv_one(ws)


async def test_muted_signature_notification_is_lost(node: LocalnetProcess, client: AsyncClient) -> None:
    # qd_muteNotifications also withholds signature notifications (a silent websocket): the
    # subscription ends with its transaction unanswered, slots go on, getSignatureStatuses knows.
    payer = await funded(client)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, blockhash)
    async with connect(node.ws_url) as ws:
        await ws.signature_subscribe(tx.signatures[0])
        sub = await subscribed(ws)
        await ws.slot_subscribe()
        await subscribed(ws)
        await client._provider.session.post(client._provider.endpoint_uri, json={"jsonrpc": "2.0", "id": 1, "method": "qd_muteNotifications",
                                                                               "params": [True]})
        try:
            await client.send_transaction(tx, opts=NO_CONFIRM)
            assert isinstance(await recv_one(ws), SlotNotification)  # a slot, not the signature
        finally:
            await client._provider.session.post(client._provider.endpoint_uri, json={"jsonrpc": "2.0", "id": 1, "method": "qd_muteNotifications",
                                                                                   "params": [False]})
        status = (await client.get_signature_statuses([tx.signatures[0]])).value[0]
        assert status is not None and status.err is None
        with pytest.raises(SubscriptionError, match="Invalid subscription id"):
            await ws.signature_unsubscribe(sub)
            while True:
                await recv_one(ws)


async def test_received_signature_notification(node: LocalnetProcess,
                                               client: AsyncClient) -> None:
    payer = await funded(client)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, blockhash)
    async with websockets.connect(node.ws_url) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "signatureSubscribe",
                                  "params": [str(tx.signatures[0]),
                                             {"enableReceivedNotification": True}]}))
        json.loads(await ws.recv())
        await client.send_transaction(tx, opts=NO_CONFIRM)
        received = json.loads(await asyncio.wait_for(ws.recv(), 5))
        processed = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert received["params"]["result"]["value"] == "receivedSignature"
        assert processed["params"]["result"]["value"] == {"err": None}


async def test_logs_subscriptions(node: LocalnetProcess, client: AsyncClient) -> None:
    payer, other = await funded(client), await funded(client)
    async with connect(node.ws_url) as ws:
        await ws.logs_subscribe(RpcTransactionLogsFilterMentions(payer.pubkey()))
        mentions = await subscribed(ws)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        await client.send_transaction(transfer_tx(other, Keypair().pubkey(), 1, blockhash),
                                      opts=NO_CONFIRM)
        sig = (await client.send_transaction(transfer_tx(payer, Keypair().pubkey(), SOL * 50,
                                                         blockhash),
                                             opts=TxOpts(skip_confirmation=True,
                                                         skip_preflight=True))).value
        note = await recv_one(ws)
        assert isinstance(note, LogsNotification) and note.subscription == mentions
        assert note.result.value.signature == sig  # the other payer's transaction is filtered
        assert note.result.value.err is not None  # failed transactions are logged too
        assert any("insufficient lamports" in line for line in note.result.value.logs)


async def test_subscription_errors(node: LocalnetProcess) -> None:
    async with websockets.connect(node.ws_url) as ws:
        async def ask(payload: object) -> dict[str, Any]:
            await ws.send(payload if isinstance(payload, str) else json.dumps(payload))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

        assert (await ask("{oops"))["error"] == {"code": -32700, "message": "Parse error"}
        got = await ask({"jsonrpc": "2.0", "id": 1, "method": "accountSubscribe",
                         "params": ["nope"]})
        assert got["error"] == {"code": -32602, "message": "Invalid Request: Invalid pubkey provided"}
        got = await ask({"jsonrpc": "2.0", "id": 2, "method": "logsSubscribe",
                         "params": [{"mentions": [str(Pubkey.new_unique())] * 2}]})
        assert got["error"]["message"] == "Invalid Request: Only 1 address supported"
        got = await ask({"jsonrpc": "2.0", "id": 3, "method": "blockSubscribe", "params": []})
        assert got["error"] == {"code": -32601, "message": "Method not found"}
        got = await ask({"jsonrpc": "2.0", "id": 4, "method": "slotUnsubscribe",
                         "params": [123456]})
        assert got["error"] == {"code": -32602, "message": "Invalid subscription id."}
        got = await ask({"jsonrpc": "2.0", "id": 5, "method": "programSubscribe",
                         "params": [str(Pubkey.new_unique()),
                                    {"filters": [{"dataSize": 1}] * 5}]})
        assert got["error"] == {"code": -32602, "message": "Too many filters provided; max 4"}
        got = await ask([{"jsonrpc": "2.0", "id": 6, "method": "slotSubscribe"},
                         {"jsonrpc": "2.0", "id": 7, "method": "getVersion"}])
        assert [r["id"] for r in got] == [6, 7] and isinstance(got[0]["result"], int)


async def test_no_lost_notifications_under_load(node: LocalnetProcess,
                                                client: AsyncClient) -> None:
    count = 150
    payer, sink = await funded(client, 100 * SOL), Keypair().pubkey()
    async with connect(node.ws_url) as logs_ws, connect(node.ws_url) as account_ws:
        await logs_ws.logs_subscribe(RpcTransactionLogsFilterMentions(payer.pubkey()))
        await subscribed(logs_ws)
        await account_ws.account_subscribe(sink, encoding="base64")
        await subscribed(account_ws)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        txs = [transfer_tx(payer, sink, SOL // 1000 + i, blockhash) for i in range(count)]

        async def sender(chunk: list[Any]) -> list[Any]:
            async with AsyncClient(node.rpc_url) as c:
                return [(await c.send_transaction(tx, opts=NO_CONFIRM)).value for tx in chunk]

        sent = [s for part in await asyncio.gather(*(sender(txs[i::8]) for i in range(8)))
                for s in part]
        logged = {(await recv_one(logs_ws)).result.value.signature for _ in range(count)}
        balances = [(await recv_one(account_ws)).result.value.lamports for _ in range(count)]
        assert logged == set(sent) and len(logged) == count
        assert balances == sorted(balances) and balances[-1] == sum(
            SOL // 1000 + i for i in range(count))


async def test_many_concurrent_websocket_clients(node: LocalnetProcess) -> None:
    async def watch() -> list[int]:
        async with connect(node.ws_url) as ws:
            await ws.slot_subscribe()
            await subscribed(ws)
            return [(await recv_one(ws)).result.slot for _ in range(2)]

    results = await asyncio.gather(*(watch() for _ in range(20)))
    assert all(len(r) == 2 and r[1] > r[0] for r in results)
