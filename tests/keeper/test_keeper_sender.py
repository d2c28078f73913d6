"""The keeper's transaction sender against the local validator over real RPC and PubSub: the CU
limit from simulation, the priority fee percentile and its cap, program errors by name (never
retried), lost races, retries through failing requests without a double send, requests stalled past the
client's timeout (retried; a timed-out sendTransaction the node accepted is resent unchanged and
lands once), one send per work key, lost confirmations caught by the status check, an expired blockhash refreshed, close()
with a send in flight."""
from __future__ import annotations

import asyncio
import io
import json
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from anchorpy import Provider, Wallet
from based58 import b58decode
from quantdesk.clients import oracle, security
from quantdesk.clients.oracle import OracleClient
from quantdesk.keeper.config import InvalidValue, SenderConfig, load_config
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.sender import Outcome, Sender, SenderClosed, percentile
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.compute_budget import ID as COMPUTE_BUDGET
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from quantdesk.localnet import LocalnetProcess, run_in_background
from quantdesk.localnet.venue_node import until
from quantdesk.world import transfer_tx

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0
SOL = 10**9
FEED = "SEND/USD"
LOST_RACE = {"NonIncreasingPublishTime"}  # another publish at that time got there first
FAST = SenderConfig(confirm_timeout_secs=0.5, retry_initial_secs=0.02, retry_cap_secs=0.1, close_grace_secs=0.5)


async def rpc(node: LocalnetProcess, method: str, *params: Any) -> Any:
    async with httpx.AsyncClient() as http:
        reply = (await http.post(node.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})).json()
    assert "error" not in reply, reply
    return reply["result"]



@dataclass
class Setup:
    node: LocalnetProcess
    client: AsyncClient
    payer: Keypair
    sender: Sender
    metrics: Metrics
    logs: io.StringIO

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, {"bot": "test", **labels}) or 0.0

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in map(json.loads, self.logs.getvalue().splitlines()) if r["event"] == name]

    async def balance(self) -> int:
        return (await self.client.get_balance(self.payer.pubkey())).value

    async def transaction(self, signature: Signature) -> Any:
        found = (await self.client.get_transaction(signature, max_supported_transaction_version=0)).value
        assert found is not None and found.transaction.meta is not None
        return found

    async def unix_time(self) -> int:
        return int((await rpc(self.node, "qd_getClock"))["unixTimestamp"])

    async def warp(self, blocks: int = 1) -> None:
        """`blocks` new blocks, one slot each (a block height step each, as blockhash expiry counts)."""
        slot = (await rpc(self.node, "qd_getClock"))["slot"]
        async with httpx.AsyncClient() as http:
            for _ in range(blocks):
                body = {"jsonrpc": "2.0", "id": 1, "method": "qd_warpSlot", "params": [slot + 1]}
                slot = (await http.post(self.node.rpc_url, json=body)).json()["result"]


@asynccontextmanager
async def setup(config: SenderConfig = FAST, feed: bool = False, rpc_timeout: float | None = None) -> AsyncIterator[Setup]:
    """A paused local validator (slots only move when a test warps), a funded payer, a started Sender;
    with `feed`, the payer initializes qd-oracle feed FEED and is its publisher; with `rpc_timeout`,
    the Sender has its own AsyncClient with that HTTP timeout (the test's requests keep the default)."""
    async with (run_in_background(paused=True, root=ROOT, log_level="warning") as node, AsyncClient(node.rpc_url, commitment=Confirmed) as client,
                AsyncClient(node.rpc_url, commitment=Confirmed, timeout=rpc_timeout or 10.0) as sender_client):
        payer = Keypair()
        await client.request_airdrop(payer.pubkey(), 100 * SOL)
        if feed:
            feeds = OracleClient(Provider(client, Wallet(payer)))
            await feeds.send([security.SecurityInstructions().initialize(payer.pubkey())])
            await feeds.send([feeds.ix.initialize_feed(payer.pubkey(), FEED, -6, 30, [payer.pubkey()])])
        metrics, logs = Metrics(), io.StringIO()
        sender = Sender(client if rpc_timeout is None else sender_client, node.ws_url, payer, metrics, Log(logs, level="debug"), config)
        await sender.start()
        try:
            yield Setup(node, client, payer, sender, metrics, logs)
        finally:
            await sender.close()
            await rpc(node, "qd_muteNotifications", False)


def pay(s: Setup, to: Pubkey, lamports: int = 1_000) -> list[Instruction]:
    return [transfer(TransferParams(from_pubkey=s.payer.pubkey(), to_pubkey=to, lamports=lamports))]


def publish(s: Setup, price: int, publish_time: int) -> list[Instruction]:
    return [oracle.OracleInstructions().publish(s.payer.pubkey(), oracle.feed_address(FEED), price, 1_000, publish_time)]


async def priced(s: Setup, to: Pubkey, price: int) -> VersionedTransaction:
    """A transfer to `to` at `price` micro-lamports per CU, sent around the sender (to make fees)."""
    blockhash = (await s.client.get_latest_blockhash()).value.blockhash
    return transfer_tx(s.payer, to, 1_000 + price, blockhash, cu_price=price, cu_limit=10_000)


def budget(tx: Any) -> tuple[int | None, int | None]:
    """(CU limit, CU price) a landed transaction's ComputeBudget instructions set."""
    message = tx.transaction.transaction.message
    limit = price = None
    for ix in message.instructions:
        if message.account_keys[ix.program_id_index] == COMPUTE_BUDGET:
            data = b58decode(ix.data.encode())
            if data[0] == 2:
                limit = int.from_bytes(data[1:5], "little")
            elif data[0] == 3:
                price = int.from_bytes(data[1:9], "little")
    return limit, price


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 75) == 0
    assert percentile([5], 0) == 5
    assert percentile([0, 100, 200, 300, 400, 500, 600, 700, 0], 75) == 500  # rank ceil(6.75) = 7
    assert percentile(list(range(1, 11)), 70) == 7  # exact: 0.7 * 10 is rank 7, not 8
    assert percentile(list(range(1, 11)), 100) == 10


def test_sender_config_from_toml_with_named_errors(tmp_path: Path) -> None:
    (tmp_path / "id.json").write_text(json.dumps(list(bytes(Keypair()))))
    base = 'rpc_url = "http://127.0.0.1:1"\nws_url = "ws://127.0.0.1:2"\nkeypair = "id.json"\n'
    path = tmp_path / "keeper.toml"
    path.write_text(base)
    assert load_config(path).sender == SenderConfig()
    path.write_text(base + "[sender]\ncu_margin = 1.5\nfee_percentile = 90\nfee_cap_micro_lamports = 5000\nmax_attempts = 3\n")
    assert load_config(path).sender == replace(SenderConfig(), cu_margin=1.5, fee_percentile=90.0, fee_cap_micro_lamports=5000, max_attempts=3)
    for body, match in [("cu_margin = 0.9", "cu_margin"), ("max_cu = 1400001", "max_cu"), ("fee_percentile = 101", "fee_percentile"),
                        ("fee_cap_micro_lamports = -1", "fee_cap"), ("max_attempts = 0", "max_attempts"), ("confirm_timeout_secs = 0", "confirm_timeout"),
                        ("blockhash_max_age_secs = 61", "blockhash_max_age"), ("max_attempts = 2.5", "max_attempts"), ("cu_margin = true", "cu_margin"),
                        ("retry_initial_secs = 1.0\nretry_cap_secs = 0.5", "retry_cap"), ("surprise = 1", "surprise")]:
        path.write_text(base + "[sender]\n" + body + "\n")
        with pytest.raises(InvalidValue, match=match):
            load_config(path)
    path.write_text(base + "sender = 3\n")
    with pytest.raises(InvalidValue, match="sender"):
        load_config(path)


async def test_cu_limit_is_the_simulated_units_times_the_margin() -> None:
    async with setup(replace(FAST, cu_margin=1.15), feed=True) as s:
        detected = time.monotonic()
        result = await s.sender.send("test", ("publish", 1), publish(s, 100_000_000, await s.unix_time()), detected_at=detected)
        assert result.outcome == Outcome.LANDED and result.attempts == 1 and result.error is None
        assert result.signature is not None
        tx = await s.transaction(result.signature)
        consumed = tx.transaction.meta.compute_units_consumed
        assert consumed > 1_000  # the oracle's publish, not just the budget instruction
        assert budget(tx) == (math.ceil(consumed * 115 / 100), None) == (result.cu_limit, None)  # no fees landed: no price instruction
        assert result.priority_fee == 0 and result.slot == tx.slot
        assert s.sample("quantdesk_keeper_transactions_sent_total") == s.sample("quantdesk_keeper_transactions_landed_total") == 1
        assert s.sample("quantdesk_keeper_detect_to_send_seconds_count") == s.sample("quantdesk_keeper_send_to_confirm_seconds_count") == 1
        assert 0 < s.sample("quantdesk_keeper_detect_to_send_seconds_sum") < TIMEOUT
        assert s.sample("quantdesk_keeper_in_flight") == 0 and not s.sender.in_flight(("publish", 1))


async def test_priority_fee_is_the_percentile_of_recent_fees_and_capped() -> None:
    async with setup() as s:
        account = Keypair().pubkey()
        # Slots 1..7 each land a transfer to `account` at 100..700 micro-lamports per CU; slot 0
        # (the airdrop) and the current slot have no fee: fees [0, 100, ..., 700, 0].
        for price in range(100, 800, 100):
            await s.warp()
            await s.client.send_transaction(await priced(s, account, price))
        await s.warp()
        result = await s.sender.send("test", "p75", pay(s, account))
        assert result.outcome == Outcome.LANDED and result.priority_fee == 500  # nearest rank 7 of 9
        assert result.signature is not None
        tx = await s.transaction(result.signature)
        limit, price = budget(tx)
        assert price == 500 and limit == math.ceil(tx.transaction.meta.compute_units_consumed * 6 / 5) == result.cu_limit
    async with setup(replace(FAST, fee_cap_micro_lamports=300, fee_percentile=50)) as s:
        account = Keypair().pubkey()
        for price in (1_000, 2_000, 3_000):
            await s.warp()
            await s.client.send_transaction(await priced(s, account, price))
        await s.warp()
        result = await s.sender.send("test", "capped", pay(s, account))  # p50 of [0, 1000, 2000, 3000, 0] is 1000, capped
        assert result.outcome == Outcome.LANDED and result.priority_fee == 300
        assert result.signature is not None and budget(await s.transaction(result.signature))[1] == 300



async def test_program_error_by_name_is_never_retried_and_a_lost_race_is_not_a_failure() -> None:
    async with setup(feed=True) as s:
        now = await s.unix_time()
        future = await s.sender.send("test", "future", publish(s, 100_000_000, now + 60), lost_race=LOST_RACE)
        assert (future.outcome, future.error, future.code, future.program) == (Outcome.FAILED, "PublishTimeInFuture", 6102, "qd_oracle")
        assert future.attempts == 1 and future.signature is None  # refused by the simulation: nothing sent
        assert s.sample("quantdesk_keeper_transaction_failures_total", error="PublishTimeInFuture") == 1
        assert s.sample("quantdesk_keeper_transactions_sent_total") == 0
        assert (await s.sender.send("test", "first", publish(s, 100_000_000, now))).outcome == Outcome.LANDED
        lost = await s.sender.send("test", "second", publish(s, 101_000_000, now), lost_race=LOST_RACE)
        assert (lost.outcome, lost.error, lost.code, lost.program) == (Outcome.LOST_RACE, "NonIncreasingPublishTime", 6101, "qd_oracle")
        assert s.sample("quantdesk_keeper_lost_races_total", error="NonIncreasingPublishTime") == 1
        assert s.sample("quantdesk_keeper_transaction_failures_total", error="NonIncreasingPublishTime") == 0
        # Two publishers racing for the same stamp: one lands, the other's NonIncreasingPublishTime
        # comes from its simulation or from its landed, failed transaction, a lost race either way.
        racing = await asyncio.gather(*(s.sender.send("test", ("race", price), publish(s, price, now + 1), lost_race=LOST_RACE)
                                        for price in (102_000_000, 103_000_000)))
        assert sorted(r.outcome for r in racing) == [Outcome.LANDED, Outcome.LOST_RACE]
        loser = next(r for r in racing if r.outcome == Outcome.LOST_RACE)
        if loser.signature is not None:  # it landed (both simulated before either landed): failed on chain, fee paid
            assert loser.slot is not None and (await s.transaction(loser.signature)).transaction.meta.err is not None
        assert s.sample("quantdesk_keeper_lost_races_total", error="NonIncreasingPublishTime") == 2
        assert sum(s.sample("quantdesk_keeper_send_retries_total", reason=r) for r in ("rpc_error", "http", "confirm_timeout", "blockhash_expired")) == 0


async def test_failing_requests_are_retried_without_a_double_send() -> None:
    async with setup(replace(FAST, confirm_timeout_secs=1.0)) as s:
        to = Keypair().pubkey()
        before = await s.balance()
        await rpc(s.node, "qd_failRequests", 3)  # the next three requests fail with -32603
        result = await s.sender.send("test", "transfer", pay(s, to, 5_000))
        assert result.outcome == Outcome.LANDED and result.attempts == 4
        assert s.sample("quantdesk_keeper_send_retries_total", reason="rpc_error") == 3
        # Now the confirmation is lost and the status check fails too: the retry resends the very
        # same transaction (one signature), which cannot land twice.
        await rpc(s.node, "qd_muteNotifications", True)
        task = asyncio.create_task(s.sender.send("test", "again", pay(s, to, 7_000)))
        await until(lambda: s.sample("quantdesk_keeper_transactions_sent_total") == 2, "the second transaction sent")
        await rpc(s.node, "qd_failRequests", 2)  # getSignatureStatuses and getBlockHeight, one batch
        again = await task
        assert again.outcome == Outcome.LANDED and again.attempts == 2
        assert s.sample("quantdesk_keeper_send_retries_total", reason="rpc_error") == 4
        assert s.sample("quantdesk_keeper_transactions_sent_total") == s.sample("quantdesk_keeper_transactions_landed_total") == 2
        sent = [e["signature"] for e in s.events("sender.sent")]
        assert len(sent) == 3 and sent[1] == sent[2] == str(again.signature)  # resent, not re-signed
        assert (await s.client.get_balance(to)).value == 12_000
        fees = [(await s.transaction(r.signature)).transaction.meta.fee for r in (result, again) if r.signature]
        assert await s.balance() == before - 12_000 - sum(fees)


async def test_requests_stalled_past_the_timeout_are_retried_and_land_once() -> None:
    async with setup(rpc_timeout=0.3) as s:
        await until(lambda: s.sender._blockhash is not None, "the first blockhash")  # the refresher's next fetch is 5 s away
        to = Keypair().pubkey()
        before = await s.balance()
        await rpc(s.node, "qd_stallRequests", 2, 1_000)  # the sender's next two requests outlast its 0.3 s timeout
        result = await s.sender.send("test", "stalled", pay(s, to, 5_000))
        assert result.outcome == Outcome.LANDED and result.attempts == 3
        assert s.sample("quantdesk_keeper_send_retries_total", reason="http") == 2
        retries = s.events("sender.retry")
        assert len(retries) == 2 and all("ReadTimeout" in e["error"] for e in retries)
        assert s.sample("quantdesk_keeper_transactions_sent_total") == s.sample("quantdesk_keeper_transactions_landed_total") == 1
        assert result.signature is not None and (await s.client.get_balance(to)).value == 5_000
        assert await s.balance() == before - 5_000 - (await s.transaction(result.signature)).transaction.meta.fee
        assert not any(task.done() for task in s.sender._tasks)  # the blockhash refresher and the signature watcher carry on
        assert (await s.sender.send("test", "after", pay(s, to, 1_000))).attempts == 1


async def test_a_send_timed_out_after_the_node_accepted_it_is_resent_unchanged() -> None:
    async with setup(replace(FAST, confirm_timeout_secs=0.3), rpc_timeout=0.3) as s:
        to = Keypair().pubkey()
        before = await s.balance()
        # The node executes the transaction, its answer comes after the sender gave up; no
        # notification either: the resend (the same signature, a no-op) is confirmed by the status check.
        await rpc(s.node, "qd_muteNotifications", True)
        await rpc(s.node, "qd_stallRequests", 1, 1_000, "sendTransaction")
        result = await s.sender.send("test", "accepted", pay(s, to, 5_000))
        assert result.outcome == Outcome.LANDED and result.attempts == 2 and result.signature is not None
        assert s.sample("quantdesk_keeper_send_retries_total", reason="http") == 1
        assert [e["signature"] for e in s.events("sender.sent")] == [str(result.signature)]  # only the resend was answered
        assert [e["signature"] for e in s.events("sender.status_confirmed")] == [str(result.signature)]
        fee = (await s.transaction(result.signature)).transaction.meta.fee
        assert (await s.client.get_balance(to)).value == 5_000 and await s.balance() == before - 5_000 - fee  # one transfer, one fee
        # With notifications: the resend's subscription is answered at once, for the transaction that already landed.
        await rpc(s.node, "qd_muteNotifications", False)
        await rpc(s.node, "qd_stallRequests", 1, 1_000, "sendTransaction")
        again = await s.sender.send("test", "accepted", pay(s, to, 7_000))
        assert again.outcome == Outcome.LANDED and again.attempts == 2 and again.signature is not None
        assert len(s.events("sender.status_confirmed")) == 1
        assert s.sample("quantdesk_keeper_transactions_sent_total") == s.sample("quantdesk_keeper_transactions_landed_total") == 2
        assert (await s.client.get_balance(to)).value == 12_000
        assert await s.balance() == before - 12_000 - fee - (await s.transaction(again.signature)).transaction.meta.fee
    async with setup(replace(FAST, max_attempts=2), rpc_timeout=0.3) as s:
        # Out of attempts with every answer lost: the transaction did land, so it must not read as
        # failed (a caller would do the work again): expired, never seen confirmed, with its signature.
        to = Keypair().pubkey()
        await rpc(s.node, "qd_stallRequests", 2, 1_000, "sendTransaction")
        lost = await s.sender.send("test", "unanswered", pay(s, to, 5_000))
        assert lost.outcome == Outcome.EXPIRED and lost.attempts == 2 and lost.signature is not None
        assert (await s.transaction(lost.signature)).transaction.meta.err is None and (await s.client.get_balance(to)).value == 5_000
        assert s.events("sender.expired")[-1]["signature"] == str(lost.signature) and not s.events("sender.failed")


async def test_a_duplicate_key_in_flight_sends_nothing() -> None:
    async with setup() as s:
        to = Keypair().pubkey()
        key = ("liquidate_perp", to, 0)
        first, second = await asyncio.gather(s.sender.send("test", key, pay(s, to, 1_000)), s.sender.send("test", key, pay(s, to, 2_000)))
        assert first.outcome == Outcome.LANDED and second.outcome == Outcome.IN_FLIGHT and second.signature is None
        assert s.sample("quantdesk_keeper_in_flight_skips_total") == 1 and s.sample("quantdesk_keeper_transactions_sent_total") == 1
        assert (await s.client.get_balance(to)).value == 1_000
        assert s.sample("quantdesk_keeper_in_flight") == 0 and not s.sender.in_flight(key)
        assert (await s.sender.send("test", key, pay(s, to, 3_000))).outcome == Outcome.LANDED  # done: the key is free again


async def test_the_same_instructions_sent_again_are_a_new_transaction() -> None:
    async with setup() as s:
        to = Keypair().pubkey()
        first = await s.sender.send("test", "pay", pay(s, to, 1_000))
        second = await s.sender.send("test", "pay", pay(s, to, 1_000))  # most likely on the same cached blockhash
        assert first.outcome == second.outcome == Outcome.LANDED and first.signature != second.signature
        assert (await s.client.get_balance(to)).value == 2_000


async def test_a_lost_confirmation_is_caught_by_the_status_check_and_a_dropped_websocket_resubscribes() -> None:
    async with setup(replace(FAST, confirm_timeout_secs=0.3)) as s:
        await rpc(s.node, "qd_muteNotifications", True)
        result = await s.sender.send("test", "muted", pay(s, Keypair().pubkey()))
        assert result.outcome == Outcome.LANDED and result.attempts == 1 and result.slot is not None
        assert [e["signature"] for e in s.events("sender.status_confirmed")] == [str(result.signature)]
        assert s.sample("quantdesk_keeper_send_to_confirm_seconds_sum") >= 0.3
    async with setup(replace(FAST, confirm_timeout_secs=30.0)) as s:
        await rpc(s.node, "qd_muteNotifications", True)
        started = time.monotonic()
        task = asyncio.create_task(s.sender.send("test", "dropped", pay(s, Keypair().pubkey())))
        await until(lambda: s.sample("quantdesk_keeper_transactions_sent_total") == 1, "the transaction sent")
        await rpc(s.node, "qd_muteNotifications", False)
        assert await rpc(s.node, "qd_dropWebsockets") == 1  # the sender's one websocket
        result = await task
        assert result.outcome == Outcome.LANDED and time.monotonic() - started < 5  # the resubscription answered, long before the timeout
        assert s.sender.watcher.connections == 2 and not s.events("sender.status_confirmed")


async def test_an_expired_blockhash_is_refreshed() -> None:
    async with setup(replace(FAST, blockhash_max_age_secs=60.0, confirm_timeout_secs=0.3)) as s:
        await until(lambda: s.sender._blockhash is not None, "the first blockhash")
        stale = s.sender._blockhash
        await s.warp(152)  # past the cached blockhash's lastValidBlockHeight (150 blocks)
        before = await s.balance()
        result = await s.sender.send("test", "expired", pay(s, Keypair().pubkey()))
        assert result.outcome == Outcome.LANDED and result.attempts == 2
        assert s.sample("quantdesk_keeper_send_retries_total", reason="blockhash_expired") == 1
        assert s.sample("quantdesk_keeper_transactions_sent_total") == 2  # the dropped one, then one on a fresh blockhash
        assert result.signature is not None
        tx = await s.transaction(result.signature)
        assert stale is not None and tx.transaction.transaction.message.recent_blockhash != stale.hash
        assert await s.balance() == before - 1_000 - tx.transaction.meta.fee  # the expired one never landed


async def test_close_waits_for_a_send_in_flight_within_the_grace_and_resends_nothing() -> None:
    async with setup(replace(FAST, confirm_timeout_secs=30.0, close_grace_secs=0.5)) as s:
        await rpc(s.node, "qd_muteNotifications", True)
        task = asyncio.create_task(s.sender.send("test", "closing", pay(s, Keypair().pubkey())))
        await until(lambda: s.sample("quantdesk_keeper_transactions_sent_total") == 1, "the transaction sent")
        started = time.monotonic()
        await s.sender.close()
        assert 0.4 < time.monotonic() - started < 3.0  # the grace, then the status check
        result = await task
        assert result.outcome == Outcome.LANDED  # found by the status check the grace ended in
        assert s.events("sender.closed")[-1]["outcomes"] == ["landed"]
        with pytest.raises(SenderClosed):
            await s.sender.send("test", "late", pay(s, Keypair().pubkey()))
    async with setup(replace(FAST, confirm_timeout_secs=30.0, close_grace_secs=0.3, blockhash_max_age_secs=60.0)) as s:
        await until(lambda: s.sender._blockhash is not None, "the first blockhash")
        await s.warp(152)  # the cached blockhash has expired: the send is dropped and never lands
        task = asyncio.create_task(s.sender.send("test", "never", pay(s, Keypair().pubkey())))
        await until(lambda: s.sample("quantdesk_keeper_transactions_sent_total") == 1, "the transaction sent")
        await s.sender.close()
        result = await task
        assert result.outcome == Outcome.EXPIRED and result.attempts == 1
        assert s.sample("quantdesk_keeper_transactions_sent_total") == 1  # not rebuilt nor resent after close
        assert s.events("sender.closed")[-1]["outcomes"] == ["expired"]
