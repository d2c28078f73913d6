"""History methods through solana-py's AsyncClient (solders parses every answer): signatures for
an address (paging, order, err, memo, blockTime), blocks (every produced slot, empty ones too),
block times, ledger bounds, transaction count, getBlock, bad params, and an indexer's backfill."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.requests import GetBlocksWithLimit
from solders.rpc.responses import GetBlocksWithLimitResp
from solders.signature import Signature
from solders.transaction_status import TransactionConfirmationStatus

from quantdesk.localnet import free_port
from quantdesk.localnet.bank import Bank
from quantdesk.localnet.server import LocalValidator, ServerConfig
from quantdesk.world import SOL, memo_ix, signed, transfer_tx

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def raw(client: AsyncClient, method: str, params: list[object]) -> dict[str, object]:
    """A request solana-py has no method (or no option) for, straight over HTTP."""
    response = await client._provider.session.post(
        client._provider.endpoint_uri,
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
    )
    body: dict[str, object] = response.json()
    return body


async def error_of(client: AsyncClient, method: str, params: list[object]) -> tuple[object, object]:
    body = await raw(client, method, params)
    error = body.get("error")
    assert isinstance(error, dict), body
    return error["code"], error["message"]


async def all_signatures(client: AsyncClient, address: Pubkey, page: int) -> list[Signature]:
    """An indexer's backfill: newest to oldest, `page` at a time, each page before the last."""
    found: list[Signature] = []
    before: Signature | None = None
    while True:
        batch = (await client.get_signatures_for_address(address, before=before, limit=page)).value
        if not batch:
            return found
        assert len(batch) <= page
        found.extend(s.signature for s in batch)
        before = batch[-1].signature


async def test_signatures_for_address_pages_newest_first(client: AsyncClient) -> None:
    payer = Keypair()
    await client.request_airdrop(payer.pubkey(), 100 * SOL)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    sent: list[Signature] = []
    for i in range(300):  # distinct amounts: distinct signatures under one blockhash
        tx = transfer_tx(payer, Keypair().pubkey(), 1_000_000 + i, blockhash)
        sent.append((await client.send_transaction(tx)).value)
    # A failed transaction (more than the payer has) lands with its fee charged and its error.
    failing = transfer_tx(payer, Keypair().pubkey(), 1_000 * SOL, blockhash)
    failed = (await client.send_transaction(failing, opts=TxOpts(skip_preflight=True))).value
    memo = (await client.send_transaction(signed(payer, [memo_ix("héllo", payer.pubkey())],
                                                 blockhash))).value
    sent += [failed, memo]
    newest_first = sent[::-1]

    history = await all_signatures(client, payer.pubkey(), page=70)
    assert history[:-1] == newest_first  # the oldest entry is the airdrop that funded it
    assert len(history) == 303

    latest = (await client.get_signatures_for_address(payer.pubkey(), limit=3)).value
    assert [s.signature for s in latest] == [memo, failed, sent[299]]
    assert latest[0].memo == "[6] héllo" and latest[0].err is None  # bytes, not characters
    assert latest[1].err is not None and latest[1].memo is None
    assert latest[2].err is None and latest[2].memo is None
    for info in latest:
        assert info.confirmation_status == TransactionConfirmationStatus.Finalized
        assert info.block_time == (await client.get_block_time(info.slot)).value
    # until excludes its own signature; before and until together bound a window.
    window = (await client.get_signatures_for_address(
        payer.pubkey(), before=sent[200], until=sent[100])).value
    assert [s.signature for s in window] == sent[199:100:-1]
    until_only = (await client.get_signatures_for_address(payer.pubkey(), until=sent[297])).value
    assert [s.signature for s in until_only] == [memo, failed, sent[299], sent[298]]
    # The recipient of one transfer sees that one; an unknown `before` gives nothing (as agave).
    recipient = (await client.get_transaction(sent[5])).value
    assert recipient is not None
    to = recipient.transaction.transaction.message.account_keys[1]  # type: ignore[union-attr]
    only = (await client.get_signatures_for_address(to)).value
    assert [s.signature for s in only] == [sent[5]]
    unknown = Keypair().sign_message(b"never sent")
    assert (await client.get_signatures_for_address(payer.pubkey(), before=unknown)).value == []
    assert (await client.get_signatures_for_address(Keypair().pubkey())).value == []


async def test_blocks_for_every_produced_slot(client: AsyncClient) -> None:
    payer = Keypair()
    count_before = (await client.get_transaction_count()).value
    airdrop = (await client.request_airdrop(payer.pubkey(), SOL)).value
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    sig = (await client.send_transaction(
        transfer_tx(payer, Keypair().pubkey(), 1_000, blockhash))).value
    assert (await client.get_transaction_count()).value == count_before + 2
    status = (await client.get_signature_statuses([sig])).value[0]
    assert status is not None
    tx_slot = status.slot
    # Wait for a few more (empty) slots: the 100 ms clock produces every one of them.
    deadline = time.monotonic() + 5
    while (await client.get_slot()).value < tx_slot + 5:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    blocks = (await client.get_blocks(tx_slot - 3, tx_slot + 5)).value
    assert blocks == list(range(tx_slot - 3, tx_slot + 6))
    limited = await client._provider.make_request(
        GetBlocksWithLimit(tx_slot - 3, 4), GetBlocksWithLimitResp)
    assert limited.value == list(range(tx_slot - 3, tx_slot + 1))
    assert (await client.get_first_available_block()).value == 0
    assert (await client.get_minimum_ledger_slot()).value == 0

    block = (await client.get_block(tx_slot, max_supported_transaction_version=0)).value
    signatures = [t.transaction.signatures[0] for t in block.transactions]  # type: ignore[union-attr]
    assert sig in signatures and block.block_time is not None
    assert signatures.index(sig) > (signatures.index(airdrop) if airdrop in signatures else -1)
    parent = (await client.get_block(block.parent_slot)).value
    assert parent.blockhash == block.previous_blockhash
    assert block.block_height == parent.block_height + 1  # type: ignore[operator]
    empty = (await client.get_block(tx_slot + 4)).value
    assert empty.transactions == [] and empty.parent_slot == tx_slot + 3
    assert empty.block_time == (await client.get_block_time(tx_slot + 4)).value

    # The other transaction-detail levels and encodings, straight over HTTP.
    result = (await raw(client, "getBlock", [tx_slot, {"transactionDetails": "signatures"}]))["result"]
    assert isinstance(result, dict) and str(sig) in result["signatures"]
    assert "transactions" not in result and result["rewards"] == []
    none = (await raw(client, "getBlock", [tx_slot, {"transactionDetails": "none",
                                                     "rewards": False}]))["result"]
    assert isinstance(none, dict) and set(none) == {
        "blockhash", "previousBlockhash", "parentSlot", "blockTime", "blockHeight"}
    accounts = (await raw(client, "getBlock", [tx_slot, {"transactionDetails": "accounts"}]))["result"]
    assert isinstance(accounts, dict)
    ours = next(t for t in accounts["transactions"]
                if t["transaction"]["signatures"] == [str(sig)])
    assert ours["transaction"]["accountKeys"][0] == {
        "pubkey": str(payer.pubkey()), "writable": True, "signer": True, "source": "transaction"}
    assert ours["meta"]["fee"] == 5_000
    b64 = (await raw(client, "getBlock", [tx_slot, {"encoding": "base64"}]))["result"]
    assert isinstance(b64, dict) and all(t["transaction"][1] == "base64"
                                         for t in b64["transactions"])


async def test_bad_params_get_the_specs_errors(client: AsyncClient) -> None:
    address = str(Keypair().pubkey())
    slot = (await client.get_slot()).value
    cases: list[tuple[str, list[object], int, str]] = [
        ("getSignaturesForAddress", [address, {"limit": 1001}], -32602, "Invalid limit; max 1000"),
        ("getSignaturesForAddress", [address, {"limit": 0}], -32602, "Invalid limit; max 1000"),
        ("getSignaturesForAddress", [address, {"commitment": "processed"}], -32602,
         "Method does not support commitment below `confirmed`"),
        ("getSignaturesForAddress", ["nope"], -32602, "Invalid param: WrongSize"),
        ("getSignaturesForAddress", [address, {"before": "x0"}], -32602, "Invalid param: Invalid"),
        ("getSignaturesForAddress", [address, {"minContextSlot": slot + 1_000}], -32016,
         "Minimum context slot has not been reached"),
        ("getSignaturesForAddress", [], -32602, "`params` should have at least 1 argument(s)"),
        ("getBlocksWithLimit", [0, 500_001], -32602, "Limit too large; max 500000"),
        ("getBlocks", [0, 10, {"commitment": "processed"}], -32602,
         "Method does not support commitment below `confirmed`"),
        ("getBlocks", [-1], -32602, "Invalid params: invalid value: integer `-1`, expected u64."),
        ("getBlockTime", [slot + 1_000], -32004, f"Block not available for slot {slot + 1_000}"),
        ("getBlock", [slot + 1_000], -32004, f"Block not available for slot {slot + 1_000}"),
        ("getBlock", [0, {"transactionDetails": "some"}], -32602,
         "Invalid params: unknown variant `some`, expected one of `full`, `signatures`, `none`, "
         "`accounts`."),
        ("getFirstAvailableBlock", [1], -32602, "Invalid parameters: No parameters were expected"),
    ]
    for method, params, code, message in cases:
        assert await error_of(client, method, params) == (code, message), (method, params)
    # An end before the start is an empty range, not an error.
    assert (await client.get_blocks(10, 5)).value == []


@asynccontextmanager
async def in_process() -> AsyncIterator[LocalValidator]:
    """A validator in this process, so a test can fill its bank directly, then query it over
    real HTTP like any client."""
    config = ServerConfig(rpc_port=free_port(), ws_port=free_port(), slot_ms=100, paused=True,
                          root=Path(__file__).resolve().parents[2])
    validator = LocalValidator(config)
    stop = asyncio.Event()
    task = asyncio.create_task(validator.run(stop))
    url = f"http://127.0.0.1:{config.rpc_port}"
    try:
        async with AsyncClient(url) as client:
            deadline = time.monotonic() + 10
            while True:  # until the task listens
                try:
                    if await client.is_connected():
                        break
                except SolanaRpcException:
                    pass  # not listening yet
                assert time.monotonic() < deadline and not task.done()
                await asyncio.sleep(0.02)
        yield validator
    finally:
        stop.set()
        await task


def fill(bank: Bank, payer: Keypair, venue: Pubkey, n: int) -> list[Signature]:
    """n committed transfers that all touch `venue` (read-only), 100 a block."""
    signatures = []
    for i in range(n):
        if i % 100 == 0:
            bank.advance_slot()
        tx = transfer_tx(payer, venue, 1 + i % 100, bank.latest_blockhash)
        signatures.append(bank.process(bank.resolve(tx)).signature)
    return signatures


async def test_indexer_backfill_of_10000_transactions() -> None:
    async with in_process() as validator:
        bank = validator.bank
        payer, venue = Keypair(), Keypair().pubkey()
        bank.airdrop(payer.pubkey(), 100 * SOL)
        started = time.perf_counter()
        sent = fill(bank, payer, venue, 10_000)
        filled = time.perf_counter() - started
        async with AsyncClient(f"http://127.0.0.1:{validator.config.rpc_port}",
                               commitment=Confirmed) as client:
            started = time.perf_counter()
            history = await all_signatures(client, venue, page=1_000)
            backfill = time.perf_counter() - started
            assert history == sent[::-1]
            print(f"filled 10,000 in {filled:.2f} s; backfill over RPC in {backfill:.2f} s")

            # The range limit of getBlocks counts from the start to the (clamped) end slot; a
            # warp skips slots, which have no block.
            bank.warp_to_slot(600_000)
            assert await error_of(client, "getBlocks", [0, 600_000]) == (
                -32602, "Slot range too large; max 500000")
            assert (await client.get_blocks(599_990)).value == [600_000]
            assert await error_of(client, "getBlockTime", [599_999]) == (
                -32007, "Slot 599999 was skipped, or missing due to ledger jump to recent snapshot")


def test_oldest_blocks_go_whole_past_the_history_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from quantdesk.localnet import bank as bank_module

    monkeypatch.setattr(bank_module, "MAX_HISTORY", 1_000)
    bank = Bank(start_unix_timestamp=1_700_000_000)
    payer, venue = Keypair(), Keypair().pubkey()
    bank.airdrop(payer.pubkey(), 100 * SOL)
    sent = fill(bank, payer, venue, 1_500)  # 15 blocks of 100
    first = bank.first_available_block
    assert first > 0 and bank.block(first - 1) is None
    kept = bank.signatures_for_address(venue, None, None, 2_000)
    assert 800 <= len(kept) <= 1_000 and [r.signature for r in kept] == sent[::-1][: len(kept)]
    assert bank.record(sent[0]) is None and bank.record(sent[-1]) is not None
    assert bank.block_slots(0, bank.slot)[0] == first
