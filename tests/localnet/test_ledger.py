"""`quantdesk localnet --ledger DIR` across restarts, --reset, --account and --bpf-program: the
validator runs as a subprocess, is stopped with SIGTERM and started again on the same ledger.

Needs target/deploy/qd_test_runtime.so (`make build`).
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import struct
import sys
from pathlib import Path

import httpx
from quantdesk.clients.idl import discriminator
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from quantdesk.localnet import run_in_background
from quantdesk.localnet.genesis_flags import AccountFileError, load_account_file
from quantdesk.localnet.ledger import LOG_NAME, SYNC_INTERVAL_S

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_SO = ROOT / "target/deploy/qd_test_runtime.so"
# qd-test-runtime answers only at its own id (not in Anchor.toml, so only --bpf-program deploys it).
RUNTIME_ID = Pubkey.from_string("CTTnDSiho9oNUe47aWWCzo1KCvW5sQLby3aDcPBENP1c")
SOL = 1_000_000_000
NO_PREFLIGHT = TxOpts(skip_preflight=True)


def create_state(payer: Keypair, program: Pubkey, blockhash: object) -> tuple[Transaction, Pubkey]:
    state, _ = Pubkey.find_program_address([b"state", bytes(payer.pubkey())], program)
    ix = Instruction(
        program,
        discriminator("global", "create_state") + struct.pack("<Q", 48),
        [AccountMeta(payer.pubkey(), True, True), AccountMeta(state, False, True),
         AccountMeta(SYSTEM_PROGRAM, False, False)],
    )
    return Transaction([payer], Message([ix], payer.pubkey()), blockhash), state  # type: ignore[arg-type]


async def warp(url: str, slot: int) -> None:
    async with httpx.AsyncClient() as http:
        reply = (await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "qd_warpSlot",
                                            "params": [slot]})).json()
    assert reply["result"] == slot, reply


async def history(client: AsyncClient, address: Pubkey) -> list[Signature]:
    return [s.signature for s in (await client.get_signatures_for_address(address)).value]


async def test_a_restart_resumes_accounts_history_slot_and_blockhashes(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    flags = ["--ledger", str(ledger), "--bpf-program", str(RUNTIME_ID), str(RUNTIME_SO)]
    payer, receiver = Keypair(), Keypair()
    async with run_in_background(paused=True, root=ROOT, extra_args=flags) as node, \
            AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        await client.request_airdrop(payer.pubkey(), 10 * SOL)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        pay = Transaction([payer], Message([transfer(TransferParams(
            from_pubkey=payer.pubkey(), to_pubkey=receiver.pubkey(), lamports=SOL))], payer.pubkey()), blockhash)
        paid = (await client.send_raw_transaction(bytes(pay))).value
        for _ in range(3):  # blocks between the transactions, so the history spans slots
            await warp(node.rpc_url, (await client.get_slot()).value + 7)
        made, state = create_state(payer, RUNTIME_ID, (await client.get_latest_blockhash()).value.blockhash)
        created = (await client.send_raw_transaction(bytes(made))).value
        before = {
            "slot": (await client.get_slot()).value,
            "genesis": (await client.get_genesis_hash()).value,
            "balances": [(await client.get_balance(k.pubkey())).value for k in (payer, receiver)],
            "history": await history(client, payer.pubkey()),
            "paid": (await client.get_transaction(paid)).to_json(),
            "created": (await client.get_transaction(created)).to_json(),
            "state": (await client.get_account_info(state)).value,
            "count": (await client.get_transaction_count()).value,
            "blocks": (await client.get_blocks(0)).value,
        }
        assert before["state"] is not None and before["state"].owner == RUNTIME_ID
        assert len(before["history"]) == 3 and before["slot"] == 21
    async with run_in_background(paused=True, root=ROOT, extra_args=flags) as node, \
            AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        assert (await client.get_slot()).value == before["slot"]
        assert (await client.get_genesis_hash()).value == before["genesis"]
        assert [(await client.get_balance(k.pubkey())).value for k in (payer, receiver)] == before["balances"]
        assert await history(client, payer.pubkey()) == before["history"]
        assert (await client.get_transaction(paid)).to_json() == before["paid"]
        assert (await client.get_transaction(created)).to_json() == before["created"]
        assert (await client.get_transaction_count()).value == before["count"]
        assert (await client.get_blocks(0)).value == before["blocks"]
        owned = (await client.get_program_accounts(RUNTIME_ID)).value
        assert [(a.pubkey, a.account.data) for a in owned] == [(state, before["state"].data)]
        # The blockhash window came back: the first blockhash still lands a new transaction,
        # and the status cache still knows the old one.
        again = Transaction([payer], Message([transfer(TransferParams(
            from_pubkey=payer.pubkey(), to_pubkey=receiver.pubkey(), lamports=2))], payer.pubkey()), blockhash)
        await client.send_raw_transaction(bytes(again))
        assert (await client.get_balance(receiver.pubkey())).value == SOL + 2
        status = (await client.get_signature_statuses([paid])).value[0]
        assert status is not None and status.slot == 0
        # The faucet is the ledger's: it still airdrops.
        await client.request_airdrop(receiver.pubkey(), SOL)
        assert (await client.get_balance(receiver.pubkey())).value == 2 * SOL + 2
    async with run_in_background(paused=True, root=ROOT, extra_args=[*flags, "--reset"]) as node, \
            AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        assert (await client.get_slot()).value == 0
        assert (await client.get_balance(payer.pubkey())).value == 0
        assert (await client.get_transaction(paid)).value is None
        assert (await client.get_program_accounts(RUNTIME_ID)).value == []
        assert (await client.get_transaction_count()).value == 0


async def test_a_restart_after_sigkill_keeps_all_but_the_last_batch(tmp_path: Path) -> None:
    """Killed outright (no shutdown to write anything out), the node still resumes with every
    transaction committed up to SYNC_INTERVAL_S before: the syncer wrote and fsynced them. The
    clock is paused, so no block boundary helps. A torn frame at the end of the log (the kill
    came mid-write) is dropped, and the log goes on after the whole frames."""
    ledger = tmp_path / "ledger"
    flags = ["--ledger", str(ledger)]
    payer, receivers = Keypair(), [Keypair().pubkey() for _ in range(20)]
    async with run_in_background(paused=True, extra_args=flags) as node, \
            AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        await client.request_airdrop(payer.pubkey(), 10 * SOL)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        sent = []
        for i, receiver in enumerate(receivers):
            pay = Transaction([payer], Message([transfer(TransferParams(
                from_pubkey=payer.pubkey(), to_pubkey=receiver, lamports=SOL // 100 + i))], payer.pubkey()), blockhash)
            sent.append((await client.send_raw_transaction(bytes(pay))).value)
        before = {"slot": (await client.get_slot()).value, "balance": (await client.get_balance(payer.pubkey())).value,
                  "history": await history(client, payer.pubkey())}
        await asyncio.sleep(3 * SYNC_INTERVAL_S)
        os.kill(node.pid, signal.SIGKILL)  # leaving the block waits for it to be gone
    log = ledger / LOG_NAME
    whole = log.stat().st_size
    with log.open("ab") as f:
        f.write(struct.pack("<I", 1_000) + b"torn")
    async with run_in_background(paused=True, extra_args=flags) as node, \
            AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        assert (await client.get_slot()).value == before["slot"]
        assert (await client.get_balance(payer.pubkey())).value == before["balance"]
        assert await history(client, payer.pubkey()) == before["history"]
        assert len(before["history"]) == len(sent) + 1  # the airdrop too
        for i, receiver in enumerate(receivers):
            assert (await client.get_balance(receiver)).value == SOL // 100 + i
        assert log.stat().st_size == whole  # the torn frame is gone
        await client.request_airdrop(receivers[0], SOL)
    async with run_in_background(paused=True, extra_args=flags) as node, \
            AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        assert (await client.get_balance(receivers[0])).value == SOL + SOL // 100


def account_json(pubkey: Pubkey, account: Account) -> dict[str, object]:
    """What `solana account ADDR --output json` writes."""
    return {
        "pubkey": str(pubkey),
        "account": {
            "lamports": account.lamports,
            "data": [base64.b64encode(bytes(account.data)).decode(), "base64"],
            "owner": str(account.owner),
            "executable": account.executable,
            "rentEpoch": account.rent_epoch,
            "space": len(account.data),
        },
    }


async def test_account_and_bpf_program_flags(tmp_path: Path) -> None:
    first, second, elsewhere = Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey()
    owner = Keypair().pubkey()
    one = Account(123_456, b"\x01\x02\x03", owner, False, 2**64 - 1)
    two = Account(7_000_000, bytes(range(40)), owner, False, 0)
    (tmp_path / "one.json").write_text(json.dumps(account_json(first, one)))
    (tmp_path / "two.json").write_text(json.dumps(account_json(second, two)))
    flags = [
        "--account", "-", str(tmp_path / "one.json"),  # `-`: at the file's own pubkey
        "--account", str(elsewhere), str(tmp_path / "two.json"),
        "--bpf-program", str(RUNTIME_ID), str(RUNTIME_SO),
        "--bpf-program", str(lookalike := Keypair().pubkey()), str(RUNTIME_SO),
    ]
    payer = Keypair()
    async with run_in_background(paused=True, root=ROOT, extra_args=flags) as node, \
            AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        got = (await client.get_account_info(first)).value
        assert got is not None
        assert (got.lamports, got.data, got.owner, got.rent_epoch) == (123_456, b"\x01\x02\x03", owner, 2**64 - 1)
        assert (await client.get_account_info(second)).value is None
        moved = (await client.get_account_info(elsewhere)).value
        assert moved is not None and moved.data == bytes(range(40))
        assert {a.pubkey for a in (await client.get_program_accounts(owner)).value} == {first, elsewhere}
        for program in (RUNTIME_ID, lookalike):
            assert (await client.get_account_info(program)).value.executable  # type: ignore[union-attr]
        await client.request_airdrop(payer.pubkey(), SOL)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        made, state = create_state(payer, RUNTIME_ID, blockhash)
        await client.send_raw_transaction(bytes(made))
        assert (await client.get_account_info(state)).value.owner == RUNTIME_ID  # type: ignore[union-attr]
        # The same .so at another address runs there too (and refuses: not its id).
        refused, _ = create_state(payer, lookalike, blockhash)
        sig = (await client.send_raw_transaction(bytes(refused), NO_PREFLIGHT)).value
        tx = (await client.get_transaction(sig)).value
        assert tx is not None and tx.transaction.meta is not None
        assert tx.transaction.meta.err is not None
        assert f"Program {lookalike} invoke [1]" in (tx.transaction.meta.log_messages or [])


def test_account_files_are_checked(tmp_path: Path) -> None:
    good = account_json(Keypair().pubkey(), Account(1, b"", Keypair().pubkey()))
    cases = {
        "missing.json": None,
        "not-json.json": "{",
        "no-account.json": {"pubkey": good["pubkey"]},
        "bad-data.json": {**good, "account": {**good["account"], "data": ["AAA", "base58"]}},  # type: ignore[dict-item]
        "bad-space.json": {**good, "account": {**good["account"], "space": 9}},  # type: ignore[dict-item]
        "bad-owner.json": {**good, "account": {**good["account"], "owner": "nope"}},  # type: ignore[dict-item]
        "bad-lamports.json": {**good, "account": {**good["account"], "lamports": -1}},  # type: ignore[dict-item]
    }
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_text(content if isinstance(content, str) else json.dumps(content))
        try:
            load_account_file("-", tmp_path / name)
        except AccountFileError as exc:
            assert name in str(exc)
        else:
            raise AssertionError(f"{name} was accepted")


async def test_bad_flags_stop_the_start_with_a_named_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("[]")
    for flags, expected in (
        (["--account", "-", str(tmp_path / "bad.json")], "AccountFileError"),
        (["--bpf-program", "nope", str(RUNTIME_SO)], "ProgramFlagError"),
        (["--bpf-program", str(RUNTIME_ID), str(tmp_path / "none.so")], "ProgramFlagError"),
        (["--reset"], "--reset needs --ledger"),
    ):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "quantdesk", "localnet", "--rpc-port", "0", "--ws-port", "0", *flags,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 2, stderr
        assert expected in stderr.decode()
