"""Cluster, leader, supply and inflation RPC methods, answered as a one-validator cluster would.

This node is the only leader (every slot of every available epoch), the only node in gossip and
the only vote account; the ledger has no stake accounts and no inflation, so inflation figures
are 0, rewards are null, and no account is non-circulating. Shapes and parameter errors follow
agave's rpc/src/rpc.rs.
"""
from __future__ import annotations

from typing import Any, Final

from solders.hash import Hash

from quantdesk.localnet import params as P
from quantdesk.localnet.bank import Bank
from quantdesk.localnet.params import RpcError, invalid_params
from quantdesk.localnet.rpc import (
    API_VERSION,
    FEATURE_SET,
    MAX_MULTIPLE_ACCOUNTS,
    Handler,
    context_slot,
    respond,
)

MAX_GET_SLOT_LEADERS: Final = 5_000
MAX_RECENT_PERFORMANCE_SAMPLES: Final = 720
NUM_LARGEST_ACCOUNTS: Final = 20
_LEADER_SCHEDULE_WRAPPER: Final = "RpcLeaderScheduleConfigWrapper"


def shred_version(genesis_hash: Hash) -> int:
    """agave's compute_shred_version without hard forks: the hash folded into a u16, plus 1."""
    raw = bytes(genesis_hash)
    accum = [0, 0]
    for i, byte in enumerate(raw):
        accum[i % 2] ^= byte
    return min(((accum[0] << 8) | accum[1]) + 1, 0xFFFF)


def _at_least_confirmed(config: dict[str, Any]) -> None:
    if P.commitment(config) == "processed":
        raise invalid_params("Method does not support commitment below `confirmed`")


class ClusterMethods:
    """The handlers, over one Bank; `rpc_address`/`pubsub_address` are what getClusterNodes
    reports for this node (host:port)."""

    def __init__(self, bank: Bank, rpc_address: str | None, pubsub_address: str | None) -> None:
        self.bank = bank
        self.rpc_address = rpc_address
        self.pubsub_address = pubsub_address

    def methods(self) -> dict[str, tuple[Handler, int, int]]:
        # name: (handler, required params, total params), as RpcHandlers.methods
        return {
            "getSlotLeader": (self.get_slot_leader, 0, 1),
            "getSlotLeaders": (self.get_slot_leaders, 2, 2),
            "getLeaderSchedule": (self.get_leader_schedule, 0, 2),
            "getClusterNodes": (self.get_cluster_nodes, 0, 0),
            "getIdentity": (self.get_identity, 0, 0),
            "getEpochSchedule": (self.get_epoch_schedule, 0, 0),
            "getSupply": (self.get_supply, 0, 1),
            "getRecentPerformanceSamples": (self.get_recent_performance_samples, 0, 1),
            "getLargestAccounts": (self.get_largest_accounts, 0, 1),
            "getVoteAccounts": (self.get_vote_accounts, 0, 1),
            "getInflationGovernor": (self.get_inflation_governor, 0, 1),
            "getInflationRate": (self.get_inflation_rate, 0, 0),
            "getInflationReward": (self.get_inflation_reward, 1, 2),
            "getStakeMinimumDelegation": (self.get_stake_minimum_delegation, 0, 1),
            "getHighestSnapshotSlot": (self.get_highest_snapshot_slot, 0, 0),
            "getMaxRetransmitSlot": (self.get_max_slot, 0, 0),
            "getMaxShredInsertSlot": (self.get_max_slot, 0, 0),
        }

    # -- leaders -----------------------------------------------------------------------------

    def _schedule_available(self, epoch: int) -> bool:
        # The leader schedule is known up to the leader-schedule epoch of the current slot.
        return epoch <= self.bank.svm.get_epoch_schedule().get_leader_schedule_epoch(self.bank.slot)

    def get_slot_leader(self, p: list[Any]) -> str:
        context_slot(self.bank, P.want_struct(p[0], "RpcContextConfig"))
        return str(self.bank.identity)

    def get_slot_leaders(self, p: list[Any]) -> list[str]:
        start = P.want_uint(p[0])
        limit = P.want_uint(p[1])
        if limit > MAX_GET_SLOT_LEADERS:
            raise invalid_params(f"Invalid limit; max {MAX_GET_SLOT_LEADERS}")
        schedule = self.bank.svm.get_epoch_schedule()
        if limit:
            last_epoch = schedule.get_epoch(start + limit - 1)
            for epoch in range(schedule.get_epoch(start), last_epoch + 1):
                if not self._schedule_available(epoch):
                    raise invalid_params(
                        f"Invalid slot range: leader schedule for epoch {epoch} is unavailable"
                    )
        return [str(self.bank.identity)] * limit

    def get_leader_schedule(self, p: list[Any]) -> dict[str, list[int]] | None:
        first, second = p
        slot: int | None = None
        config: dict[str, Any] | None = None
        # agave's first parameter is an untagged enum: a slot, or the config itself.
        if isinstance(first, dict):
            config = first
        elif first is not None:
            if isinstance(first, bool) or not isinstance(first, int) or not 0 <= first < 1 << 64:
                P.serde_error(f"data did not match any variant of untagged enum {_LEADER_SCHEDULE_WRAPPER}")
            slot = first
        if config is None:
            config = P.want_struct(second, "RpcLeaderScheduleConfig")
        identity = config.get("identity")
        if identity is not None:
            P.pubkey(identity)
        P.commitment(config)
        schedule = self.bank.svm.get_epoch_schedule()
        epoch = schedule.get_epoch(self.bank.slot if slot is None else slot)
        if not self._schedule_available(epoch):
            return None
        leader = str(self.bank.identity)
        if identity is not None and identity != leader:
            return {}
        return {leader: list(range(schedule.get_slots_in_epoch(epoch)))}

    # -- nodes -------------------------------------------------------------------------------

    def get_cluster_nodes(self, _: list[Any]) -> list[dict[str, Any]]:
        # No gossip, TPU or repair service here: transactions come in over RPC only.
        return [
            {
                "pubkey": str(self.bank.identity),
                "gossip": None,
                "tvu": None,
                "tpu": None,
                "tpuQuic": None,
                "tpuForwards": None,
                "tpuForwardsQuic": None,
                "tpuVote": None,
                "serveRepair": None,
                "rpc": self.rpc_address,
                "pubsub": self.pubsub_address,
                "version": API_VERSION,
                "featureSet": FEATURE_SET,
                "shredVersion": shred_version(self.bank.genesis_hash),
            }
        ]

    def get_identity(self, _: list[Any]) -> dict[str, str]:
        return {"identity": str(self.bank.identity)}

    def get_epoch_schedule(self, _: list[Any]) -> dict[str, Any]:
        schedule = self.bank.svm.get_epoch_schedule()
        return {
            "slotsPerEpoch": schedule.slots_per_epoch,
            "leaderScheduleSlotOffset": schedule.leader_schedule_slot_offset,
            "warmup": schedule.warmup,
            "firstNormalEpoch": schedule.first_normal_epoch,
            "firstNormalSlot": schedule.first_normal_slot,
        }

    def get_vote_accounts(self, p: list[Any]) -> dict[str, list[dict[str, Any]]]:
        config = P.want_struct(p[0], "RpcGetVoteAccountsConfig")
        vote_filter = config.get("votePubkey")
        if vote_filter is not None:
            P.pubkey(vote_filter)
        P.optional_bool(config, "keepUnstakedDelinquents")
        P.optional_uint(config, "delinquentSlotDistance")
        slot = context_slot(self.bank, config)
        if vote_filter is not None and vote_filter != str(self.bank.vote_account):
            return {"current": [], "delinquent": []}
        # The node votes on (and roots) each slot as it produces it, so it is never delinquent;
        # with no vote transactions in the ledger it has no credits, and with no stake accounts
        # no activated stake.
        account = {
            "votePubkey": str(self.bank.vote_account),
            "nodePubkey": str(self.bank.identity),
            "activatedStake": 0,
            "epochVoteAccount": True,
            "commission": 0,
            "lastVote": slot,
            "epochCredits": [],
            "rootSlot": slot,
        }
        return {"current": [account], "delinquent": []}

    # -- supply ------------------------------------------------------------------------------

    def get_supply(self, p: list[Any]) -> dict[str, Any]:
        config = P.want_struct(p[0], "RpcSupplyConfig")
        P.optional_bool(config, "excludeNonCirculatingAccountsList")
        slot = context_slot(self.bank, config)
        total = sum(account.lamports for _, account in self.bank.accounts())
        # No stake accounts with lockups and no foundation accounts: nothing is non-circulating,
        # so the list is empty whether or not it was asked for.
        return respond(
            slot,
            {"total": total, "circulating": total, "nonCirculating": 0, "nonCirculatingAccounts": []},
        )

    def get_largest_accounts(self, p: list[Any]) -> dict[str, Any]:
        config = P.want_struct(p[0], "RpcLargestAccountsConfig")
        value = config.get("filter")
        wanted = None if value is None else P.want_enum(value, ("circulating", "nonCirculating"))
        slot = context_slot(self.bank, config)
        if wanted == "nonCirculating":
            return respond(slot, [])
        accounts = sorted(self.bank.accounts(), key=lambda item: item[1].lamports, reverse=True)
        return respond(
            slot,
            [
                {"address": str(key), "lamports": account.lamports}
                for key, account in accounts[:NUM_LARGEST_ACCOUNTS]
            ],
        )

    def get_stake_minimum_delegation(self, p: list[Any]) -> dict[str, Any]:
        slot = context_slot(self.bank, P.want_struct(p[0], "RpcContextConfig"))
        return respond(slot, self.bank.minimum_delegation())

    # -- inflation ---------------------------------------------------------------------------

    def get_inflation_governor(self, p: list[Any]) -> dict[str, float]:
        P.commitment(P.want_struct(p[0], "CommitmentConfig"))
        return {"initial": 0.0, "terminal": 0.0, "taper": 0.0, "foundation": 0.0, "foundationTerm": 0.0}

    def get_inflation_rate(self, _: list[Any]) -> dict[str, Any]:
        epoch = self.bank.epoch_info()["epoch"]
        return {"total": 0.0, "validator": 0.0, "foundation": 0.0, "epoch": epoch}

    def get_inflation_reward(self, p: list[Any]) -> list[None]:
        addresses = P.want_str_list(p[0])
        if len(addresses) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        for address in addresses:
            P.pubkey(address)
        config = P.want_struct(p[1], "RpcEpochConfig")
        requested = P.optional_uint(config, "epoch")
        slot = context_slot(self.bank, config)
        schedule = self.bank.svm.get_epoch_schedule()
        epoch = requested if requested is not None else max(schedule.get_epoch(slot) - 1, 0)
        # An epoch's rewards are paid in the first block of the next epoch; agave looks that
        # block up (confirmed at least) and fails when there is none yet.
        _at_least_confirmed(config)
        first_slot = schedule.get_first_slot_in_epoch(epoch + 1)
        if self.bank.slot < first_slot:
            raise RpcError(P.BLOCK_NOT_AVAILABLE, f"Block not available for slot {first_slot}")
        return [None] * len(addresses)

    # -- performance and services ------------------------------------------------------------

    def get_recent_performance_samples(self, p: list[Any]) -> list[dict[str, int]]:
        limit = MAX_RECENT_PERFORMANCE_SAMPLES if p[0] is None else P.want_uint(p[0], "usize")
        if limit > MAX_RECENT_PERFORMANCE_SAMPLES:
            raise invalid_params(f"Invalid limit; max {MAX_RECENT_PERFORMANCE_SAMPLES}")
        # No vote transactions are ever produced here, so every transaction is a non-vote one.
        return [
            {
                "slot": s.slot,
                "numTransactions": s.num_transactions,
                "numNonVoteTransactions": s.num_transactions,
                "numSlots": s.num_slots,
                "samplePeriodSecs": s.sample_period_secs,
            }
            for s in self.bank.performance_samples(limit)
        ]

    def get_highest_snapshot_slot(self, _: list[Any]) -> dict[str, int]:
        raise RpcError(P.NO_SNAPSHOT, "No snapshot")  # this node never writes snapshots

    def get_max_slot(self, _: list[Any]) -> int:
        # Blocks are made here, not received as shreds: the highest is the current slot.
        return self.bank.slot
