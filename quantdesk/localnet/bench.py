"""Throughput benchmark of the local validator.

- in-process: transactions per second through `Bank` (admission checks, LiteSVM execution,
  history and index upkeep), with transactions signed beforehand;
- over RPC: many concurrent solana-py AsyncClient senders against a background server
  (default preflight on, as clients send), counting only transactions whose status is then
  confirmed; and the latency from each send to its signatureSubscribe notification, p50/p99;
- the same with `--ledger` (a fresh one), whose log is written out and fsynced as the node runs.

Every transaction is a SOL transfer with a distinct amount, hence a distinct signature.
`run()` prints the figures and returns them; `python -m quantdesk.localnet.bench` runs it.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import websockets
from solana.rpc.async_api import AsyncClient
from solana.rpc.types import TxOpts
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from quantdesk.localnet import run_in_background
from quantdesk.localnet.bank import Bank

IN_PROCESS_TXS = 5_000
RPC_TXS = 4_000
RPC_SENDERS = 16
_LAMPORTS = 1_000_000_000_000


def _transfers(payer: Keypair, count: int, blockhash: Hash, start: int = 0) -> list[VersionedTransaction]:
    sink = Pubkey.new_unique()
    return [
        VersionedTransaction.from_legacy(
            Transaction(
                [payer],
                Message(
                    [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=sink,
                                             lamports=1_000_000 + start + i))],
                    payer.pubkey(),
                ),
                blockhash,
            )
        )
        for i in range(count)
    ]


def bench_in_process(count: int = IN_PROCESS_TXS) -> dict[str, float]:
    bank = Bank()
    payer = Keypair()
    bank.airdrop(payer.pubkey(), _LAMPORTS)
    txs = _transfers(payer, count, bank.latest_blockhash)
    started = time.perf_counter()
    for tx in txs:
        resolved = bank.resolve(tx)
        if not bank.signatures_valid(tx):
            raise RuntimeError("benchmark transaction failed signature verification")
        bank.process(resolved)
    elapsed = time.perf_counter() - started
    return {"transactions": count, "seconds": elapsed, "tps": count / elapsed}


async def _watch_signatures(
    ws_url: str, txs: list[VersionedTransaction], arrivals: dict[str, float]
) -> tuple[Any, asyncio.Task[None]]:
    """Subscribes to every signature on one connection; records notification arrival times."""
    ws = await websockets.connect(ws_url, max_size=None)
    by_sub: dict[int, str] = {}
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "signatureSubscribe", "params": [str(tx.signatures[0])]}
        for i, tx in enumerate(txs)
    ]
    await ws.send(json.dumps(batch))
    for response in json.loads(await ws.recv()):
        by_sub[response["result"]] = str(txs[response["id"]].signatures[0])

    async def read() -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("method") == "signatureNotification":
                arrivals[by_sub[message["params"]["subscription"]]] = time.perf_counter()

    return ws, asyncio.create_task(read())


async def bench_rpc(
    count: int = RPC_TXS, senders: int = RPC_SENDERS, extra_args: Sequence[str] = ()
) -> dict[str, float]:
    async with run_in_background(log_level="warning", extra_args=extra_args) as node:
        payers = [Keypair() for _ in range(senders)]
        async with AsyncClient(node.rpc_url) as client:
            for payer in payers:
                await client.request_airdrop(payer.pubkey(), _LAMPORTS)
            blockhash = (await client.get_latest_blockhash()).value.blockhash
        per_sender = count // senders
        batches = [_transfers(p, per_sender, blockhash, i * per_sender) for i, p in enumerate(payers)]
        sent_at: dict[str, float] = {}
        arrivals: dict[str, float] = {}
        watchers = [await _watch_signatures(node.ws_url, batch, arrivals) for batch in batches]

        async def send_all(batch: list[VersionedTransaction]) -> None:
            async with AsyncClient(node.rpc_url) as sender:
                for tx in batch:
                    sent_at[str(tx.signatures[0])] = time.perf_counter()
                    await sender.send_transaction(tx, opts=TxOpts(skip_confirmation=True))

        started = time.perf_counter()
        await asyncio.gather(*(send_all(batch) for batch in batches))
        elapsed = time.perf_counter() - started
        async with AsyncClient(node.rpc_url) as client:
            confirmed = 0
            for batch in batches:
                for i in range(0, len(batch), 256):
                    chunk = [tx.signatures[0] for tx in batch[i : i + 256]]
                    statuses = (await client.get_signature_statuses(chunk)).value
                    confirmed += sum(1 for s in statuses if s is not None and s.err is None)
        deadline = time.perf_counter() + 10
        while len(arrivals) < len(sent_at) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        for ws, reader in watchers:
            reader.cancel()
            await ws.close()
        latencies_ms = sorted((arrivals[s] - sent_at[s]) * 1000 for s in arrivals)
        quantiles = statistics.quantiles(latencies_ms, n=100)
        return {
            "transactions": per_sender * senders,
            "confirmed": confirmed,
            "senders": senders,
            "seconds": elapsed,
            "tps": confirmed / elapsed,
            "notifications": len(latencies_ms),
            "latency_p50_ms": quantiles[49],
            "latency_p99_ms": quantiles[98],
        }


def _rpc_line(label: str, figures: dict[str, float]) -> str:
    return (
        f"{label}{figures['tps']:,.0f} confirmed tx/s "
        f"({figures['confirmed']}/{figures['transactions']} with {figures['senders']} "
        f"concurrent AsyncClient senders in {figures['seconds']:.2f} s); send -> "
        f"signatureNotification p50 {figures['latency_p50_ms']:.1f} ms, "
        f"p99 {figures['latency_p99_ms']:.1f} ms"
    )


async def run() -> dict[str, Any]:
    in_process = bench_in_process()
    over_rpc = await bench_rpc()
    with tempfile.TemporaryDirectory() as directory:
        with_ledger = await bench_rpc(extra_args=["--ledger", str(Path(directory) / "ledger")])
    print(
        f"localnet in-process: {in_process['tps']:,.0f} tx/s "
        f"({in_process['transactions']} transfers in {in_process['seconds']:.2f} s)"
    )
    print(_rpc_line("localnet over RPC:   ", over_rpc))
    print(_rpc_line("  with --ledger:     ", with_ledger))
    return {"in_process": in_process, "rpc": over_rpc, "rpc_ledger": with_ledger}


if __name__ == "__main__":
    asyncio.run(run())
