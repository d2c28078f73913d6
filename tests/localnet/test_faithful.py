"""Details a client sees on a real cluster: SlotHashes and address lookup tables, rentEpoch,
loadedAccountsDataSize in simulations and preflight failures, and what each commitment level
answers (through solana-py's AsyncClient, so solders checks shapes, and raw JSON-RPC/PubSub)."""
from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
import websockets
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment, Confirmed, Finalized, Processed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import InvalidParamsMessage, SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.system_program import (
    CloseLookupTableParams,
    CreateLookupTableParams,
    DeactivateLookupTableParams,
    ExtendLookupTableParams,
    TransferParams,
    close_lookup_table,
    create_lookup_table,
    deactivate_lookup_table,
    extend_lookup_table,
    transfer,
)
from solders.sysvar import SLOT_HASHES
from solders.transaction import VersionedTransaction

from quantdesk.localnet import LocalnetProcess, run_in_background
from quantdesk.localnet.bank import MAX_SLOT_HASHES
from quantdesk.world import SOL, signed, transfer_tx

pytestmark = pytest.mark.asyncio(loop_scope="session")
U64_MAX = 2**64 - 1
COMMITMENTS: tuple[Commitment, ...] = (Processed, Confirmed, Finalized)


async def funded(client: AsyncClient, lamports: int = 10 * SOL) -> Keypair:
    kp = Keypair()
    await client.request_airdrop(kp.pubkey(), lamports)
    return kp


async def raw(client: AsyncClient, method: str, params: list[object]) -> dict[str, Any]:
    response = await client._provider.session.post(
        client._provider.endpoint_uri,
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
    )
    reply: dict[str, Any] = response.json()
    return reply


async def send(client: AsyncClient, tx: VersionedTransaction) -> Signature:
    return (await client.send_transaction(tx, opts=TxOpts(preflight_commitment=Processed))).value


async def next_slot_after(client: AsyncClient, slot: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while (now := (await client.get_slot(Processed)).value) <= slot:
        assert time.monotonic() < deadline, f"slot {slot} did not pass within {timeout} s"
        await asyncio.sleep(0.02)
    return now


async def test_slot_hashes_track_recent_slots(client: AsyncClient) -> None:
    slot = (await client.get_slot(Processed)).value
    await next_slot_after(client, slot)
    account = (await client.get_account_info(SLOT_HASHES, Processed)).value
    assert account is not None
    data = bytes(account.data)
    count = int.from_bytes(data[:8], "little")
    entries = [
        (int.from_bytes(data[8 + 40 * i : 16 + 40 * i], "little"), data[16 + 40 * i : 48 + 40 * i])
        for i in range(count)
    ]
    slots = [s for s, _ in entries]
    assert 2 <= count <= 512 and slots == sorted(slots, reverse=True)
    assert slots[0] > slot  # the sysvar moved on with the bank
    # Each entry carries the slot's blockhash, as getBlock reports it.
    block = (await client.get_block(slots[1])).value
    assert bytes(block.blockhash) == entries[1][1]


async def test_lookup_table_at_processed_slot_and_v0_transaction(client: AsyncClient) -> None:
    payer = await funded(client)
    recipients = [Keypair().pubkey() for _ in range(3)]
    recent_slot = (await client.get_slot(Processed)).value
    create_ix, table = create_lookup_table(
        CreateLookupTableParams(
            authority_address=payer.pubkey(), payer_address=payer.pubkey(), recent_slot=recent_slot
        )
    )
    extend_ix = extend_lookup_table(
        ExtendLookupTableParams(
            payer_address=payer.pubkey(), lookup_table_address=table,
            authority_address=payer.pubkey(), new_addresses=recipients,
        )
    )
    blockhash = (await client.get_latest_blockhash(Processed)).value.blockhash
    sig = await send(client, signed(payer, [create_ix, extend_ix], blockhash))
    await client.confirm_transaction(sig, Confirmed)
    extended_at = (await client.get_transaction(sig, commitment=Confirmed)).value
    assert extended_at is not None and extended_at.transaction.meta is not None
    assert extended_at.transaction.meta.err is None
    info = (await client.get_account_info(table, Processed)).value
    assert info is not None
    assert list(AddressLookupTable.deserialize(bytes(info.data)).addresses) == recipients
    # Addresses extended in a slot are usable from the next one.
    await next_slot_after(client, extended_at.slot)
    blockhash = (await client.get_latest_blockhash(Processed)).value.blockhash
    message = MessageV0.try_compile(
        payer.pubkey(),
        [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=r, lamports=SOL))
         for r in recipients[:2]],
        [AddressLookupTableAccount(table, recipients)],
        blockhash,
    )
    assert message.address_table_lookups
    sig = await send(client, VersionedTransaction(message, [payer]))
    await client.confirm_transaction(sig, Confirmed)
    got = await client.get_transaction(sig, commitment=Confirmed, max_supported_transaction_version=0)
    assert got.value is not None
    meta = got.value.transaction.meta
    assert meta is not None and meta.err is None
    assert meta.loaded_addresses is not None
    assert sorted(meta.loaded_addresses.writable) == sorted(recipients[:2])
    assert list(meta.loaded_addresses.readonly) == []
    assert got.value.transaction.version == 0
    for r in recipients[:2]:
        assert (await client.get_balance(r, Confirmed)).value == SOL
    # Without maxSupportedTransactionVersion the v0 transaction is refused, as agave does.
    refused = await raw(client, "getTransaction", [str(sig), {"encoding": "json"}])
    assert refused["error"]["code"] == -32015


async def test_lookup_table_with_unknown_recent_slot_fails(client: AsyncClient) -> None:
    payer = await funded(client)
    future = (await client.get_slot(Processed)).value + 1_000_000
    create_ix, _ = create_lookup_table(
        CreateLookupTableParams(
            authority_address=payer.pubkey(), payer_address=payer.pubkey(), recent_slot=future
        )
    )
    blockhash = (await client.get_latest_blockhash(Processed)).value.blockhash
    with pytest.raises(RPCException) as failure:
        await send(client, signed(payer, [create_ix], blockhash))
    data = failure.value.args[0]
    assert isinstance(data, SendTransactionPreflightFailureMessage)
    assert any(f"{future} is not a recent slot" in line for line in data.data.logs or [])


async def test_a_deactivated_lookup_table_stops_resolving_after_its_cooldown() -> None:
    """DeactivateLookupTable, then blocks one slot at a time (qd_warpSlot): the table resolves
    while its deactivation slot is in SlotHashes and is refused (sanitize, as agave's address
    loader does) once it has left; then it can be closed. A paused node of its own, so no slot
    ticks between the checks."""
    async with run_in_background(paused=True) as node, AsyncClient(node.rpc_url, commitment=Confirmed) as client:
        payer = await funded(client)
        me, recipients = payer.pubkey(), [Keypair().pubkey() for _ in range(2)]
        create_ix, table = create_lookup_table(CreateLookupTableParams(
            authority_address=me, payer_address=me, recent_slot=(await client.get_slot()).value))
        extend_ix = extend_lookup_table(ExtendLookupTableParams(
            payer_address=me, lookup_table_address=table, authority_address=me, new_addresses=recipients))
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        await send(client, signed(payer, [create_ix, extend_ix], blockhash))

        async def warp_blocks(count: int) -> int:
            """`count` blocks, one slot each (a warp that skips slots makes one block)."""
            slot = (await client.get_slot()).value
            batch = [{"jsonrpc": "2.0", "id": i, "method": "qd_warpSlot", "params": [slot + i]}
                     for i in range(1, count + 1)]
            replies = (await client._provider.session.post(client._provider.endpoint_uri, json=batch)).json()
            assert [r["result"] for r in replies] == [slot + i for i in range(1, count + 1)]
            return slot + count

        lamports = iter(range(1, 100))

        async def pay_through_table() -> Signature:
            blockhash = (await client.get_latest_blockhash()).value.blockhash
            message = MessageV0.try_compile(
                me, [transfer(TransferParams(from_pubkey=me, to_pubkey=recipients[0], lamports=next(lamports)))],
                [AddressLookupTableAccount(table, recipients)], blockhash)
            return await send(client, VersionedTransaction(message, [payer]))

        async def close() -> Any:
            blockhash = (await client.get_latest_blockhash()).value.blockhash
            return await raw(client, "sendTransaction", [base64.b64encode(bytes(signed(payer, [close_lookup_table(
                CloseLookupTableParams(lookup_table_address=table, authority_address=me, recipient_address=me),
            )], blockhash))).decode(), {"encoding": "base64"}])

        await warp_blocks(1)  # extended addresses are usable from the next slot
        await pay_through_table()
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        deactivated = await send(client, signed(payer, [deactivate_lookup_table(
            DeactivateLookupTableParams(lookup_table_address=table, authority_address=me))], blockhash))
        status = (await client.get_signature_statuses([deactivated])).value[0]
        assert status is not None and status.err is None
        deactivation_slot = status.slot
        info = (await client.get_account_info(table)).value
        assert info is not None
        assert AddressLookupTable.deserialize(bytes(info.data)).meta.deactivation_slot == deactivation_slot
        # Still resolving in the deactivation slot and through the cooldown; not closable yet.
        await pay_through_table()
        refused = await close()
        assert "Table cannot be closed until it's fully deactivated in 513 blocks" in refused["error"]["data"]["logs"]
        await warp_blocks(MAX_SLOT_HASHES - 1)
        await pay_through_table()
        # One block more: the deactivation slot has left SlotHashes (here the open slot takes one
        # of its 512 entries, so this comes one block sooner than on a cluster).
        assert await warp_blocks(1) == deactivation_slot + MAX_SLOT_HASHES
        with pytest.raises(RPCException) as gone:
            await pay_through_table()
        assert isinstance(gone.value.args[0], InvalidParamsMessage)
        assert gone.value.args[0].message == (
            "invalid transaction: Transaction loads an address table account that doesn't exist")
        closed = await close()
        assert "result" in closed, closed
        assert (await client.get_account_info(table)).value is None


async def test_rent_epoch_is_u64_max_for_rent_exempt_accounts(
    node: LocalnetProcess, client: AsyncClient
) -> None:
    payer = await funded(client)
    to = Keypair().pubkey()
    async with websockets.connect(node.ws_url) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "accountSubscribe",
                                  "params": [str(to), {"encoding": "base64"}]}))
        assert "result" in json.loads(await asyncio.wait_for(ws.recv(), 5))
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        await send(client, transfer_tx(payer, to, SOL, blockhash))
        note = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert note["params"]["result"]["value"]["rentEpoch"] == U64_MAX
    keys = [str(payer.pubkey()), str(to)]
    for encoding in ("base58", "base64", "base64+zstd", "jsonParsed"):
        one = await raw(client, "getAccountInfo", [str(to), {"encoding": encoding}])
        assert one["result"]["value"]["rentEpoch"] == U64_MAX, encoding
        many = await raw(client, "getMultipleAccounts", [keys, {"encoding": encoding}])
        assert [v["rentEpoch"] for v in many["result"]["value"]] == [U64_MAX, U64_MAX], encoding
    # solders parses it as a u64 too; program accounts (from genesis) carry it as well.
    assert (await client.get_account_info(to)).value.rent_epoch == U64_MAX  # type: ignore[union-attr]
    owned = await raw(client, "getProgramAccounts", [
        "11111111111111111111111111111111",
        {"encoding": "base64", "filters": [{"memcmp": {"offset": 0, "bytes": ""}}],
         "dataSlice": {"offset": 0, "length": 0}},
    ])
    found = {a["pubkey"]: a["account"]["rentEpoch"] for a in owned["result"]}
    assert found[str(to)] == U64_MAX and found[str(payer.pubkey())] == U64_MAX
    # An account below the rent-exempt minimum keeps the epoch it was stored with.
    poor = Keypair().pubkey()
    await raw(client, "qd_setAccount", [str(poor), {
        "lamports": 1, "data": ["", "base64"], "owner": "11111111111111111111111111111111"}])
    assert (await raw(client, "getAccountInfo", [str(poor)]))["result"]["value"]["rentEpoch"] == 0


async def test_simulation_and_preflight_report_loaded_accounts_data_size(
    client: AsyncClient,
) -> None:
    payer = await funded(client)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    to = Keypair().pubkey()
    tx = transfer_tx(payer, to, SOL, blockhash)
    sim = await raw(client, "simulateTransaction", [
        base64.b64encode(bytes(tx)).decode(),
        {"encoding": "base64", "accounts": {"addresses": [str(to)], "encoding": "base64"}}])
    value = sim["result"]["value"]
    assert value["err"] is None
    assert value["accounts"][0]["rentEpoch"] == U64_MAX  # the new account, as it would be stored
    # Payer and recipient hold no data; the system program account holds its name.
    system = (await client.get_account_info(Pubkey.from_string("11111111111111111111111111111111"))).value
    assert system is not None
    assert value["loadedAccountsDataSize"] == len(system.data) > 0
    # A failing transaction: preflight carries the same simulation result.
    broke = Keypair()
    await client.request_airdrop(broke.pubkey(), SOL // 100)
    failing = transfer_tx(broke, to, SOL, blockhash)
    reply = await raw(client, "sendTransaction", [
        base64.b64encode(bytes(failing)).decode(), {"encoding": "base64"}])
    error = reply["error"]
    assert error["code"] == -32002
    assert error["data"]["loadedAccountsDataSize"] == len(system.data)
    assert error["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert error["data"]["unitsConsumed"] > 0 and error["data"]["logs"]


async def test_every_commitment_sees_the_latest_bank(client: AsyncClient) -> None:
    await raw(client, "qd_pauseClock", [])
    try:
        payer = await funded(client)
        blockhash = (await client.get_latest_blockhash(Processed)).value.blockhash
        to = Keypair().pubkey()
        sig = await send(client, transfer_tx(payer, to, SOL, blockhash))
        slots = set()
        for commitment in COMMITMENTS:
            slots.add((await client.get_slot(commitment)).value)
            slots.add((await client.get_balance(to, commitment)).context.slot)
            assert (await client.get_balance(to, commitment)).value == SOL
            latest = (await client.get_latest_blockhash(commitment)).value
            assert latest.blockhash == blockhash
            got = await raw(client, "getBlockHeight", [{"commitment": commitment}])
            assert got["result"] == (await client.get_block_height(Processed)).value
        assert len(slots) == 1
        (slot,) = slots
        # The transaction is final at once, in the open slot, and its block is visible to
        # finalized readers already.
        status = (await client.get_signature_statuses([sig])).value[0]
        assert status is not None and status.slot == slot
        assert str(status.confirmation_status) == "TransactionConfirmationStatus.Finalized"
        assert status.confirmations is None
        assert (await client.get_transaction(sig, commitment=Finalized)).value is not None
        block = await raw(client, "getBlock", [slot, {"commitment": "finalized",
                                                      "transactionDetails": "signatures"}])
        assert str(sig) in block["result"]["signatures"]
        # Below confirmed is refused where agave refuses it.
        refused = await raw(client, "getTransaction", [str(sig), {"commitment": "processed"}])
        assert refused["error"]["message"] == "Method does not support commitment below `confirmed`"
    finally:
        await raw(client, "qd_resumeClock", [])
