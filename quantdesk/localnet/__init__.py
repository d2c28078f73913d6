"""The QuantDesk local validator: Solana JSON-RPC and PubSub backed by LiteSVM.

Run it with `quantdesk localnet` (or `python -m quantdesk localnet`, or `make localnet`):
JSON-RPC on http://127.0.0.1:8899, PubSub on ws://127.0.0.1:8900 (`--rpc-port`, `--ws-port`),
a block every 400 ms (`--slot-ms`, `--paused` to start with the clock stopped), the programs of
Anchor.toml `[programs.localnet]` deployed at their ids from target/deploy/<name>.so, and a faucet
behind requestAirdrop. As with solana-test-validator: `--ledger DIR` keeps the state on disk and a
restart resumes it (`ledger`), `--reset` deletes it first, `--account ADDRESS FILE.json` loads an
account dumped by `solana account --output json` and `--bpf-program ADDRESS FILE.so` deploys
another program (both repeatable; `genesis_flags`). Clients talk to it exactly as to a cluster, e.g. solana-py's AsyncClient.

Modules: `bank` (LiteSVM plus slots, blockhashes, history, owner index), `rpc` (HTTP methods;
`cluster` and `tokens` add more), `pubsub` (subscriptions), `parsed` (jsonParsed instructions),
`controls` (the `qd_` test methods, documented there), `clock`,
`server` (transport), `bench` (throughput benchmark).

HTTP methods: getVersion, getHealth, getSlot, getBlockHeight, getEpochInfo, getGenesisHash,
getLatestBlockhash, isBlockhashValid, getAccountInfo, getMultipleAccounts, getProgramAccounts,
getBalance, getMinimumBalanceForRentExemption, getTokenAccountBalance, sendTransaction,
simulateTransaction, getSignatureStatuses, getTransaction, getFeeForMessage, requestAirdrop,
getRecentPrioritizationFees; the history methods: getSignaturesForAddress, getTransactionCount,
getBlock, getBlockTime, getBlocks, getBlocksWithLimit, getFirstAvailableBlock,
minimumLedgerSlot (every produced slot holds a block, empty ones too; slots a qd_warpSlot jumps
over are skipped, no block, as on a cluster); the cluster methods (`cluster`): getSlotLeader,
getSlotLeaders, getLeaderSchedule, getClusterNodes, getIdentity, getEpochSchedule,
getVoteAccounts, getSupply, getLargestAccounts, getStakeMinimumDelegation,
getInflationGovernor, getInflationRate, getInflationReward, getRecentPerformanceSamples,
getHighestSnapshotSlot, getMaxRetransmitSlot, getMaxShredInsertSlot; the token methods
(`tokens`): getTokenAccountsByOwner, getTokenAccountsByDelegate, getTokenSupply,
getTokenLargestAccounts (Token and Token-2022); batches; plus the `qd_`
controls. PubSub: account, program, signature, logs, slot, root and slotsUpdates subscriptions
with their unsubscribes.

Where it knowingly differs from an agave node (single node, no forks):
- commitments: processed, confirmed and finalized all see the latest bank (the open slot), and
  a committed transaction is final at once (`confirmationStatus: "finalized"`,
  `confirmations: null`, its block visible to finalized getBlock, slot notifications with
  `root == slot`); notifications for every commitment go out on commit; methods agave refuses
  below `confirmed` (getTransaction, getBlock, history) refuse `processed` here too;
- SlotHashes (up to 512 entries, newest first, each slot with its blockhash) lists the open
  slot as well as its ancestors, since a transaction runs in the slot getSlot just reported: an
  address lookup table created with that slot as its recent slot is accepted; a deactivated
  table resolves until its deactivation slot leaves SlotHashes, which here is 512 blocks after
  it (one sooner than on a cluster), then a transaction using it is refused as agave refuses it
  (-32602 "invalid transaction: Transaction loads an address table account that doesn't
  exist");
- rent-exempt accounts carry rentEpoch u64::MAX once stored (as agave's loader stamps them);
- a signatureSubscribe for an already committed signature is answered immediately;
- sendTransaction executes the transaction before answering (a real node forwards it);
- `loadedAccountsDataSize` (simulations, preflight failures) counts agave 2.2's way: the data of
  every listed account plus each top-level program's loader account;
- jsonParsed transactions (and simulation inner instructions) parse System, SPL Token and
  Token-2022 (base and extension instructions, Batch, the token-group and token-metadata
  interfaces), Associated Token Account and Memo (`parsed`); other programs and the
  confidential-transfer instructions stay partially decoded; jsonParsed accounts are parsed for
  SPL Token mints and accounts only, with every Token-2022 extension's state decoded but
  PermissionedBurn's ("unparseableExtension"); interest-bearing and scaled-amount mints'
  uiAmounts are not scaled;
- one validator: it leads every slot, is the only cluster node (no gossip/TPU addresses) and the
  only vote account (current, lastVote = rootSlot = the current slot, no stake, no credits);
  no inflation (rates 0, rewards null), nothing non-circulating, no snapshots (-32008);
  performance samples cover 60 s of slot time each; slotsUpdates per slot: createdBank,
  optimisticConfirmation and root as it opens, frozen (with its counts) when the next opens;
- LiteSVM does not charge prioritization fees, so the bank charges them after execution;
- serde's parameter messages are reproduced for the shapes these methods take, not for every
  conceivable malformed value.

From code, `run_in_background` starts it as a subprocess for the duration of a block:

    async with run_in_background(rpc_port=18899, ws_port=18900) as node:
        client = AsyncClient(node.rpc_url)
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True, slots=True)
class LocalnetProcess:
    rpc_url: str
    ws_url: str
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_healthy(url: str, proc: asyncio.subprocess.Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    body = {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}
    async with httpx.AsyncClient(timeout=1.0) as client:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"localnet exited with code {proc.returncode} during start-up")
            try:
                response = await client.post(url, json=body)
                if response.json().get("result") == "ok":
                    return
            except (httpx.HTTPError, ValueError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"localnet at {url} not healthy after {timeout:.0f} s")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def run_in_background(
    rpc_port: int | None = None,
    ws_port: int | None = None,
    slot_ms: int = 400,
    paused: bool = False,
    root: Path | None = None,
    startup_timeout: float = 30.0,
    log_level: str = "info",
    extra_args: Sequence[str] = (),
) -> AsyncIterator[LocalnetProcess]:
    """Starts `python -m quantdesk localnet` as a subprocess, waits for getHealth, and on exit
    stops it with SIGTERM (then SIGKILL if it does not exit within 10 s). Ports default to free
    ones; `extra_args` are more `quantdesk localnet` flags (e.g. `--ledger DIR`)."""
    rpc_port = rpc_port or free_port()
    ws_port = ws_port or free_port()
    args = [
        sys.executable, "-m", "quantdesk", "localnet",
        "--rpc-port", str(rpc_port), "--ws-port", str(ws_port), "--slot-ms", str(slot_ms),
        "--log-level", log_level,
    ]
    if paused:
        args.append("--paused")
    if root is not None:
        args += ["--root", str(root)]
    args += extra_args
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    node = LocalnetProcess(
        rpc_url=f"http://127.0.0.1:{rpc_port}", ws_url=f"ws://127.0.0.1:{ws_port}", pid=proc.pid
    )
    try:
        await _wait_healthy(node.rpc_url, proc, startup_timeout)
        yield node
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
