"""The cluster, leader, supply and inflation methods' answers, key by key and type by type,
against solana.com/docs/rpc (and agave 2.2's serialization where it says more than the docs),
as raw JSON so no client's parser hides an extra or missing key."""
from __future__ import annotations

from typing import Any

import httpx
import pytest
from solders.pubkey import Pubkey

from quantdesk.localnet import LocalnetProcess
from quantdesk.localnet.controls_client import ValidatorClock

pytestmark = pytest.mark.asyncio(loop_scope="session")

_INT_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64}
Spec = Any  # a type name ("u64", "string|null", ...), {key: spec}, [item spec] or (spec, ...)


def check(value: Any, spec: Spec, path: str = "result") -> None:
    """`value` has exactly the keys of `spec`, recursively, each of the type it names."""
    if isinstance(spec, dict):
        assert isinstance(value, dict), f"{path}: {value!r} is not an object"
        assert set(value) == set(spec), f"{path}: keys {sorted(value)} != {sorted(spec)}"
        for key, sub in spec.items():
            check(value[key], sub, f"{path}.{key}")
    elif isinstance(spec, list):
        assert isinstance(value, list), f"{path}: {value!r} is not an array"
        for i, item in enumerate(value):
            check(item, spec[0], f"{path}[{i}]")
    elif isinstance(spec, tuple):
        assert isinstance(value, list) and len(value) == len(spec), f"{path}: {value!r}"
        for i, (item, sub) in enumerate(zip(value, spec)):
            check(item, sub, f"{path}[{i}]")
    else:
        kinds = spec.split("|")
        if value is None:
            assert "null" in kinds, f"{path}: null is not a {spec}"
            return
        kind = kinds[0]
        if kind in _INT_BITS:
            assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r} is not a {kind}"
            assert 0 <= value < 1 << _INT_BITS[kind], f"{path}: {value} is out of {kind} range"
        elif kind == "f64":
            assert isinstance(value, float), f"{path}: {value!r} is not an f64"
        elif kind == "bool":
            assert isinstance(value, bool), f"{path}: {value!r} is not a bool"
        elif kind == "pubkey":
            assert isinstance(value, str) and str(Pubkey.from_string(value)) == value, f"{path}: {value!r}"
        else:
            assert kind == "string" and isinstance(value, str), f"{path}: {value!r} is not a {spec}"


def response(value: Spec) -> Spec:
    """An RpcResponse: context (slot, apiVersion) and value."""
    return {"context": {"slot": "u64", "apiVersion": "string"}, "value": value}


ADDRESS = "string|null"  # host:port, or null for a service this node does not run
CONTACT_INFO = {
    "pubkey": "pubkey", "gossip": ADDRESS, "tpu": ADDRESS, "rpc": ADDRESS, "version": "string|null",
    "featureSet": "u32|null", "shredVersion": "u16|null",
    # agave 2.2's RpcContactInfo has these too (not in the docs' list).
    "tvu": ADDRESS, "tpuQuic": ADDRESS, "tpuForwards": ADDRESS, "tpuForwardsQuic": ADDRESS,
    "tpuVote": ADDRESS, "serveRepair": ADDRESS, "pubsub": ADDRESS,
}
VOTE_ACCOUNT = {
    "votePubkey": "pubkey", "nodePubkey": "pubkey", "activatedStake": "u64", "epochVoteAccount": "bool",
    "commission": "u8", "lastVote": "u64", "epochCredits": [("u64", "u64", "u64")], "rootSlot": "u64",
}
INFLATION_REWARD = {"epoch": "u64", "effectiveSlot": "u64", "amount": "u64", "postBalance": "u64",
                    "commission": "u8|null"}
SHAPES: list[tuple[str, list[Any], Spec]] = [
    ("getClusterNodes", [], [CONTACT_INFO]),
    ("getVoteAccounts", [], {"current": [VOTE_ACCOUNT], "delinquent": [VOTE_ACCOUNT]}),
    ("getSupply", [], response({"total": "u64", "circulating": "u64", "nonCirculating": "u64",
                                "nonCirculatingAccounts": ["pubkey"]})),
    ("getRecentPerformanceSamples", [5], [{"slot": "u64", "numTransactions": "u64", "numSlots": "u64",
                                           "samplePeriodSecs": "u16", "numNonVoteTransactions": "u64"}]),
    ("getLargestAccounts", [], response([{"address": "pubkey", "lamports": "u64"}])),
    ("getInflationGovernor", [], {"initial": "f64", "terminal": "f64", "taper": "f64", "foundation": "f64",
                                  "foundationTerm": "f64"}),
    ("getInflationRate", [], {"total": "f64", "validator": "f64", "foundation": "f64", "epoch": "u64"}),
    ("getEpochSchedule", [], {"slotsPerEpoch": "u64", "leaderScheduleSlotOffset": "u64", "warmup": "bool",
                              "firstNormalEpoch": "u64", "firstNormalSlot": "u64"}),
    ("getMaxRetransmitSlot", [], "u64"),
    ("getMaxShredInsertSlot", [], "u64"),
    ("getStakeMinimumDelegation", [], response("u64")),
]


async def call(node: LocalnetProcess, method: str, params: list[Any]) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        reply: dict[str, Any] = (await http.post(node.rpc_url, json={
            "jsonrpc": "2.0", "id": 1, "method": method, "params": params})).json()
    return reply


async def test_shapes(node: LocalnetProcess) -> None:
    # A closed performance sample and a finished epoch, so neither list is empty for lack of time.
    await ValidatorClock(node.rpc_url).warp_seconds(60)
    for method, params, spec in SHAPES:
        reply = await call(node, method, params)
        assert set(reply) == {"jsonrpc", "id", "result"}, (method, reply)
        check(reply["result"], spec, method)
    samples = (await call(node, "getRecentPerformanceSamples", [5]))["result"]
    assert samples, "no performance sample"
    assert (await call(node, "getVoteAccounts", []))["result"]["current"], "no vote account"

    identity = (await call(node, "getIdentity", []))["result"]["identity"]
    schedule = (await call(node, "getLeaderSchedule", []))["result"]
    # Keys are identities, values slot indexes relative to the epoch's first slot.
    assert list(schedule) == [identity]
    check(schedule[identity], ["u64"], "getLeaderSchedule")
    slot = (await call(node, "getSlot", []))["result"]
    leaders = (await call(node, "getSlotLeaders", [slot, 3]))["result"]
    check(leaders, ["pubkey"], "getSlotLeaders")
    assert len(leaders) == 3

    rewards = (await call(node, "getInflationReward", [[identity]]))["result"]
    assert isinstance(rewards, list) and len(rewards) == 1
    for reward in rewards:  # null: no reward for that address in that epoch
        if reward is not None:
            check(reward, INFLATION_REWARD, "getInflationReward")

    # The docs' "No Snapshot" answer: this node writes none.
    snapshot = await call(node, "getHighestSnapshotSlot", [])
    assert snapshot["error"] == {"code": -32008, "message": "No snapshot"}
