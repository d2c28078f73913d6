"""Cluster, leader, supply and inflation methods and the root/slotsUpdates subscriptions, through
solana-py's AsyncClient (solders parses each answer, so a wrong shape fails) or solders' request
types, raw JSON for the error texts."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Processed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solana.rpc.websocket_api import SolanaWsClientProtocol, connect
from solders.keypair import Keypair
from solders.rpc.requests import (
    GetHighestSnapshotSlot,
    GetMaxRetransmitSlot,
    GetMaxShredInsertSlot,
    GetSlotLeaders,
)
from solders.rpc.responses import (
    GetMaxRetransmitSlotResp,
    GetMaxShredInsertSlotResp,
    GetSlotLeadersResp,
    RootNotification,
    SlotUpdateFrozen,
    SlotUpdateNotification,
    UnsubscribeResult,
)

from quantdesk.localnet import LocalnetProcess
from quantdesk.localnet.controls_client import ValidatorClock
from quantdesk.world import SOL, transfer_tx

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def call(node: LocalnetProcess, method: str, params: list[Any] | None = None) -> Any:
    async with httpx.AsyncClient() as http:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            body["params"] = params
        return (await http.post(node.rpc_url, json=body)).json()


async def test_leaders_identity_and_nodes(node: LocalnetProcess, client: AsyncClient) -> None:
    identity = (await client.get_identity()).value.identity
    assert (await client.get_slot_leader()).value == identity
    slot = (await client.get_slot()).value
    leaders = await client._provider.make_request(GetSlotLeaders(slot, 10), GetSlotLeadersResp)
    assert leaders.value == [identity] * 10
    schedule = (await client.get_leader_schedule()).value
    epoch = (await client.get_epoch_info()).value
    assert schedule == {identity: list(range(epoch.slots_in_epoch))}
    assert (await client.get_leader_schedule(slot)).value == schedule
    assert (await call(node, "getLeaderSchedule", [{"identity": str(Keypair().pubkey())}]))[
        "result"
    ] == {}
    far = 10**12  # an epoch whose schedule is not known yet
    assert (await call(node, "getLeaderSchedule", [far]))["result"] is None

    (parsed,) = (await client.get_cluster_nodes()).value
    contact = json.loads(parsed.to_json())  # solders' RpcContactInfo has no getters
    assert contact["pubkey"] == str(identity) and contact["gossip"] is None
    assert contact["tpu"] is None  # transactions come in over RPC only
    assert f"http://{contact['rpc']}" == node.rpc_url
    assert f"ws://{contact['pubsub']}" == node.ws_url
    assert contact["shredVersion"] and contact["version"]

    schedule_info = (await client.get_epoch_schedule()).value
    assert schedule_info.slots_per_epoch == 432_000 and schedule_info.warmup
    assert schedule_info.first_normal_epoch == 14 and schedule_info.first_normal_slot == 524_256

    votes = (await client.get_vote_accounts()).value
    assert not votes.delinquent
    (vote,) = votes.current
    assert vote.node_pubkey == identity and vote.last_vote >= slot and vote.epoch_vote_account
    filtered = await call(node, "getVoteAccounts", [{"votePubkey": str(Keypair().pubkey())}])
    assert filtered["result"] == {"current": [], "delinquent": []}

    max_retransmit = await client._provider.make_request(GetMaxRetransmitSlot(),
                                                        GetMaxRetransmitSlotResp)
    max_shred = await client._provider.make_request(GetMaxShredInsertSlot(),
                                                   GetMaxShredInsertSlotResp)
    assert max_retransmit.value >= slot and max_shred.value >= slot
    snapshot = await call(node, "getHighestSnapshotSlot")
    assert snapshot["error"] == {"code": -32008, "message": "No snapshot"}
    with pytest.raises(RPCException):  # solana-py refuses the error answer just the same
        await client._provider.make_request(GetHighestSnapshotSlot(), GetMaxRetransmitSlotResp)


async def test_supply_largest_accounts_inflation(node: LocalnetProcess,
                                                 client: AsyncClient) -> None:
    rich = Keypair().pubkey()
    await client.request_airdrop(rich, 1_000_000 * SOL)
    supply = (await client.get_supply()).value
    assert supply.total == supply.circulating > 500_000_000 * SOL  # the faucet's at least
    assert supply.non_circulating == 0 and supply.non_circulating_accounts == []
    largest = (await client.get_largest_accounts()).value
    assert len(largest) == 20
    lamports = [a.lamports for a in largest]
    assert lamports == sorted(lamports, reverse=True) and rich in [a.address for a in largest]
    assert sum(lamports) <= supply.total
    # solders sends a filter as a second positional parameter, which agave (one config object,
    # `filter` in it) refuses as this node does; the spec's form, raw:
    with pytest.raises(RPCException, match="Expected from 0 to 1 parameters"):
        await client.get_largest_accounts(filter_opt="nonCirculating")
    non_circulating = await call(node, "getLargestAccounts", [{"filter": "nonCirculating"}])
    assert non_circulating["result"]["value"] == []
    circulating = await call(node, "getLargestAccounts", [{"filter": "circulating"}])
    assert [a["lamports"] for a in circulating["result"]["value"]] == lamports
    stake_min = (await call(node, "getStakeMinimumDelegation"))["result"]  # not in solders
    assert stake_min["value"] == SOL  # the stake program's answer with every feature active
    assert set(stake_min["context"]) == {"apiVersion", "slot"}

    governor = (await client.get_inflation_governor()).value
    assert (governor.initial, governor.terminal, governor.taper) == (0.0, 0.0, 0.0)
    rate = (await client.get_inflation_rate()).value
    assert rate.total == 0.0 and rate.epoch == (await client.get_epoch_info()).value.epoch
    # An epoch's rewards are in the next epoch's first block: in epoch 0 there is none yet.
    await ValidatorClock(node.rpc_url).warp(64)  # past epoch 0's 32 slots (warmup epochs)
    rewards = (await client.get_inflation_reward([rich, Keypair().pubkey()])).value
    assert rewards == [None, None]
    epoch = (await client.get_epoch_info()).value.epoch
    pending = await call(node, "getInflationReward", [[str(rich)], {"epoch": epoch}])
    first_next = (await client.get_epoch_schedule()).value.get_first_slot_in_epoch(epoch + 1)
    assert pending["error"] == {"code": -32004,
                                "message": f"Block not available for slot {first_next}"}
    with pytest.raises(RPCException):
        await client.get_inflation_reward([rich], commitment=Processed)


async def test_performance_samples(node: LocalnetProcess, client: AsyncClient) -> None:
    clock = ValidatorClock(node.rpc_url)
    payer = Keypair()
    await client.request_airdrop(payer.pubkey(), 10 * SOL)
    start = await clock.warp_seconds(60)  # closes the sample period running now
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    for lamports in (1, 2):
        await client.send_transaction(transfer_tx(payer, Keypair().pubkey(), lamports * SOL,
                                                  blockhash), opts=TxOpts(skip_confirmation=True))
    end = await clock.warp_seconds(60)
    newest, previous = (await client.get_recent_performance_samples(2)).value
    assert (previous.slot, newest.slot) == (start, end)
    assert newest.num_slots == end - start and newest.num_transactions == 2
    assert json.loads(newest.to_json())["numNonVoteTransactions"] == 2  # no getter in solders
    assert newest.sample_period_secs == (end - start) * 100 // 1000  # 100 ms slots
    assert len((await client.get_recent_performance_samples()).value) >= 2


async def recv_one(ws: SolanaWsClientProtocol, timeout: float = 5.0) -> Any:
    (message,) = await asyncio.wait_for(ws.recv(), timeout)
    return message


async def test_root_and_slots_updates_subscriptions(node: LocalnetProcess,
                                                   client: AsyncClient) -> None:
    payer = Keypair()
    airdrop = (await client.request_airdrop(payer.pubkey(), 10 * SOL)).value
    async with connect(node.ws_url) as ws:
        await ws.root_subscribe()
        root_sub = (await recv_one(ws)).result
        slot = (await client.get_slot()).value
        root = await recv_one(ws)
        assert isinstance(root, RootNotification) and root.subscription == root_sub
        assert root.result >= slot  # every slot is rooted as it is made here
        await ws.root_unsubscribe(root_sub)
        # Notifications already queued may come before the unsubscribe's answer.
        while not isinstance(message := await recv_one(ws), UnsubscribeResult):
            assert isinstance(message, RootNotification)
        assert message.result is True

        await ws.slots_updates_subscribe()
        updates_sub = (await recv_one(ws)).result
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        sent_slot = (await client.get_slot()).value
        transfer = (await client.send_transaction(
            transfer_tx(payer, Keypair().pubkey(), SOL, blockhash),
            opts=TxOpts(skip_confirmation=True))).value
        frozen: dict[int, Any] = {}
        kinds: dict[int, list[str]] = {}
        # The transfer lands in sent_slot or, if a slot ticked meanwhile, the next one.
        while not {sent_slot, sent_slot + 1} <= set(frozen):
            note = await recv_one(ws)
            assert isinstance(note, SlotUpdateNotification) and note.subscription == updates_sub
            update = note.result
            kinds.setdefault(update.slot, []).append(type(update).__name__)
            if isinstance(update, SlotUpdateFrozen):
                frozen[update.slot] = update
        statuses = (await client.get_signature_statuses([airdrop, transfer])).value
        landed = [st.slot for st in statuses if st is not None]
        for slot in (sent_slot, sent_slot + 1):  # nothing else sends meanwhile
            stats = frozen[slot].stats
            assert stats.num_successful_transactions == landed.count(slot)
            assert stats.num_transaction_entries == landed.count(slot)
            assert stats.num_failed_transactions == 0
        assert landed[1] in (sent_slot, sent_slot + 1)
        # Each slot: created, confirmed and rooted as it opens, frozen when the next one opens.
        assert kinds[sent_slot + 1] == ["SlotUpdateCreatedBank", "SlotUpdateOptimisticConfirmation",
                                        "SlotUpdateRoot", "SlotUpdateFrozen"]
        await ws.slots_updates_unsubscribe(updates_sub)


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("getSlotLeaders", [0, 5_001], "Invalid limit; max 5000"),
        ("getSlotLeaders", [10**12, 1],
         "Invalid slot range: leader schedule for epoch 2314827 is unavailable"),
        ("getSlotLeaders", [0], "`params` should have at least 2 argument(s)"),
        ("getSlotLeaders", [-1, 1], "Invalid params: invalid value: integer `-1`, expected u64."),
        ("getRecentPerformanceSamples", [721], "Invalid limit; max 720"),
        ("getLeaderSchedule", ["x"],
         "Invalid params: data did not match any variant of untagged enum "
         "RpcLeaderScheduleConfigWrapper."),
        ("getLeaderSchedule", [None, {"identity": "x"}], "Invalid param: WrongSize"),
        ("getVoteAccounts", [{"votePubkey": "0OIl"}], "Invalid param: Invalid"),
        ("getLargestAccounts", [{"filter": "all"}],
         "Invalid params: unknown variant `all`, expected one of `circulating`, "
         "`nonCirculating`."),
        ("getSupply", [{"excludeNonCirculatingAccountsList": 1}],
         "Invalid params: invalid type: integer `1`, expected a boolean."),
        ("getInflationReward", [["x"]], "Invalid param: WrongSize"),
        ("getInflationReward", [[str(Keypair().pubkey())] * 101],
         "Too many inputs provided; max 100"),
        ("getInflationReward", [[], {"commitment": "processed"}],
         "Method does not support commitment below `confirmed`"),
        ("getIdentity", [1], "Invalid parameters: No parameters were expected"),
    ],
)
async def test_bad_params(node: LocalnetProcess, method: str, params: list[Any],
                          message: str) -> None:
    reply = await call(node, method, params)
    assert reply["error"]["code"] == -32602 and reply["error"]["message"] == message, reply
