"""The HTTP methods through solana-py's AsyncClient (so solders validates every shape)."""
from __future__ import annotations

import base64

import pytest
from quantdesk.clients.token import (
    MINT_LEN,
    associated_address,
    create_associated_account,
    create_mint,
    mint_to_instruction,
)
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.types import DataSliceOpts, MemcmpOpts, TxOpts
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.rpc.requests import IsBlockhashValid
from solders.rpc.responses import IsBlockhashValidResp
from solders.signature import Signature
from solders.system_program import AssignParams, TransferParams, assign, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus

from quantdesk.localnet.codec import TOKEN_PROGRAM_ID, b58decode, b58encode
from quantdesk.world import SOL, memo_ix, signed, transfer_checked_ix, transfer_tx

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def funded(client: AsyncClient, lamports: int = 10 * SOL) -> Keypair:
    kp = Keypair()
    await client.request_airdrop(kp.pubkey(), lamports)
    return kp


async def raw(client: AsyncClient, method: str, params: list[object]) -> dict[str, object]:
    """A request solana-py has no method (or no option) for, straight over HTTP."""
    response = await client._provider.session.post(
        client._provider.endpoint_uri,
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
    )
    return response.json()


async def send(client: AsyncClient, tx: VersionedTransaction, **opts: object) -> Signature:
    return (await client.send_transaction(tx, opts=TxOpts(**opts))).value  # type: ignore[arg-type]


async def test_cluster_info(client: AsyncClient) -> None:
    version = (await client.get_version()).value
    assert version.solana_core and version.feature_set is not None
    slot = (await client.get_slot()).value
    assert (await client.get_block_height()).value >= 0
    epoch = (await client.get_epoch_info()).value
    assert epoch.absolute_slot >= slot and epoch.slots_in_epoch > 0
    assert (await client.get_genesis_hash()).value
    assert (await client.get_minimum_balance_for_rent_exemption(0)).value == 890_880
    blockhash = (await client.get_latest_blockhash()).value
    assert blockhash.last_valid_block_height > 0
    valid = await client._provider.make_request(IsBlockhashValid(blockhash.blockhash),
                                                IsBlockhashValidResp)
    assert valid.value is True


async def test_airdrop_transfer_and_history(client: AsyncClient) -> None:
    payer, to = await funded(client), Keypair().pubkey()
    assert (await client.get_balance(payer.pubkey())).value == 10 * SOL
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    sig = await send(client, transfer_tx(payer, to, SOL, blockhash, cu_price=500_000,
                                         cu_limit=1_000))
    status = (await client.get_signature_statuses([sig])).value[0]
    assert status is not None and status.err is None
    assert status.confirmation_status == TransactionConfirmationStatus.Finalized
    tx = (await client.get_transaction(sig, max_supported_transaction_version=0)).value
    assert tx is not None and tx.transaction.meta is not None
    meta = tx.transaction.meta
    assert meta.err is None and meta.fee == 5_000 + 500
    assert meta.pre_balances[0] - meta.post_balances[0] == SOL + meta.fee
    assert meta.post_balances[1] == SOL
    assert meta.compute_units_consumed and meta.log_messages
    assert tx.block_time and tx.slot == status.slot
    assert (await client.get_balance(to)).value == SOL
    fees = (await raw(client, "getRecentPrioritizationFees", [[str(to)]]))["result"]
    assert {"slot": status.slot, "prioritizationFee": 500_000} in fees  # type: ignore[operator]
    unknown = Signature.from_bytes(bytes(64))
    assert (await client.get_signature_statuses([unknown])).value == [None]
    assert (await client.get_transaction(unknown)).value is None


async def test_fee_for_message_matches_charged_fee(client: AsyncClient) -> None:
    payer = await funded(client)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, blockhash, cu_price=2_000_000, cu_limit=1_000)
    quoted = (await client.get_fee_for_message(tx.message)).value
    sig = await send(client, tx)
    meta = (await client.get_transaction(sig)).value.transaction.meta
    assert quoted == meta.fee == 5_000 + 2_000


async def test_base58_send_and_encodings(client: AsyncClient) -> None:
    payer = await funded(client)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, blockhash)
    sent = await raw(client, "sendTransaction", [b58encode(bytes(tx))])  # base58 is the default
    assert sent == {"jsonrpc": "2.0", "result": str(tx.signatures[0]), "id": 1}
    for encoding in ("base64", "base58"):
        got = await raw(client, "getTransaction", [str(tx.signatures[0]), {"encoding": encoding}])
        data, enc = got["result"]["transaction"]  # type: ignore[index]
        decoded = base64.b64decode(data) if enc == "base64" else b58decode(data)
        assert enc == encoding and decoded == bytes(tx)


async def test_preflight_failure_shape(client: AsyncClient) -> None:
    payer = await funded(client, SOL)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    tx = transfer_tx(payer, Keypair().pubkey(), 50 * SOL, blockhash)
    with pytest.raises(RPCException) as info:
        await send(client, tx)
    failure = info.value.args[0]
    assert isinstance(failure, SendTransactionPreflightFailureMessage)
    assert failure.message == ("Transaction simulation failed: Error processing Instruction 0: "
                               "custom program error: 0x1")
    assert failure.data.err is not None and failure.data.logs
    assert failure.data.units_consumed == 150
    # preflight failures are not committed: no fee was taken
    assert (await client.get_balance(payer.pubkey())).value == SOL
    assert (await client.get_signature_statuses([tx.signatures[0]])).value == [None]
    # with skipPreflight the same transaction lands, fails, and pays its fee
    sig = await send(client, tx, skip_preflight=True)
    status = (await client.get_signature_statuses([sig])).value[0]
    assert status is not None and status.err is not None
    assert (await client.get_balance(payer.pubkey())).value == SOL - 5_000


async def test_simulate_logs_return_data_and_accounts(client: AsyncClient) -> None:
    payer, mint = await funded(client), Keypair()
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
    await send(client, signed(payer, create_mint(payer.pubkey(), mint.pubkey(), payer.pubkey(), 6, rent),
                              blockhash, (mint,)))
    # spl-token GetAccountDataSize (21) answers through return data: 165 for a plain account
    ix = Instruction(TOKEN_PROGRAM_ID, bytes([21]), [AccountMeta(mint.pubkey(), False, False)])
    sim = (await client.simulate_transaction(signed(payer, [ix], blockhash))).value
    assert sim.err is None and sim.units_consumed and sim.logs
    assert sim.return_data is not None and sim.return_data.program_id == TOKEN_PROGRAM_ID
    assert sim.return_data.data == (165).to_bytes(8, "little")
    # accounts config, over raw HTTP (solana-py does not expose it)
    to = Keypair().pubkey()
    tx = transfer_tx(payer, to, 2 * SOL, blockhash)
    got = await raw(client, "simulateTransaction", [
        base64.b64encode(bytes(tx)).decode(),
        {"encoding": "base64", "sigVerify": True,
         "accounts": {"addresses": [str(to)], "encoding": "base64"}}])
    value = got["result"]["value"]  # type: ignore[index]
    assert value["accounts"][0]["lamports"] == 2 * SOL and value["err"] is None
    assert (await client.get_balance(to)).value == 0  # simulation changed nothing


async def test_replace_recent_blockhash(client: AsyncClient) -> None:
    payer = await funded(client)
    stale = Hash(bytes(Pubkey.new_unique()))  # not a blockhash the bank ever produced
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, stale)
    encoded = base64.b64encode(bytes(tx)).decode()
    got = await raw(client, "simulateTransaction", [encoded, {"encoding": "base64"}])
    assert got["result"]["value"]["err"] == "BlockhashNotFound"  # type: ignore[index]
    got = await raw(client, "simulateTransaction",
                    [encoded, {"encoding": "base64", "replaceRecentBlockhash": True}])
    value = got["result"]["value"]  # type: ignore[index]
    assert value["err"] is None and value["replacementBlockhash"]["blockhash"]


async def test_spl_token_mint_and_transfer(client: AsyncClient) -> None:
    payer, mint, bob = await funded(client), Keypair(), Keypair().pubkey()
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
    await send(client, signed(payer, create_mint(payer.pubkey(), mint.pubkey(), payer.pubkey(), 6, rent),
                              blockhash, (mint,)))
    src, dst = associated_address(payer.pubkey(), mint.pubkey()), associated_address(bob, mint.pubkey())
    await send(client, signed(payer, [
        create_associated_account(payer.pubkey(), payer.pubkey(), mint.pubkey()),
        create_associated_account(payer.pubkey(), bob, mint.pubkey()),
        mint_to_instruction(mint.pubkey(), src, payer.pubkey(), 10_000_000),
    ], blockhash))
    sig = await send(client, signed(payer, [
        transfer_checked_ix(src, mint.pubkey(), dst, payer.pubkey(), 2_500_000, 6)], blockhash))
    balance = (await client.get_token_account_balance(dst)).value
    assert (balance.amount, balance.decimals, balance.ui_amount_string) == ("2500000", 6, "2.5")
    meta = (await client.get_transaction(sig)).value.transaction.meta
    post = {str(b.owner): b.ui_token_amount.amount for b in meta.post_token_balances}
    assert post == {str(payer.pubkey()): "7500000", str(bob): "2500000"}
    # getProgramAccounts over the token program: dataSize + memcmp on the owner field
    accounts = (await client.get_program_accounts(
        TOKEN_PROGRAM_ID, encoding="base64",
        filters=[165, MemcmpOpts(offset=32, bytes=str(bob))])).value
    assert [a.pubkey for a in accounts] == [dst]
    by_mint = (await client.get_program_accounts(
        TOKEN_PROGRAM_ID, encoding="base64", data_slice=DataSliceOpts(offset=64, length=8),
        filters=[MemcmpOpts(offset=0, bytes=str(mint.pubkey()))])).value
    amounts = sorted(int.from_bytes(a.account.data, "little") for a in by_mint)
    assert amounts == [2_500_000, 7_500_000]
    parsed = (await client.get_account_info_json_parsed(dst)).value
    assert parsed is not None and parsed.data.parsed["info"]["tokenAmount"]["uiAmount"] == 2.5
    with pytest.raises(RPCException, match="not a Token account"):
        await client.get_token_account_balance(payer.pubkey())


async def test_program_accounts_context_and_multiple(client: AsyncClient) -> None:
    program = Pubkey.new_unique()
    owners = [await funded(client, SOL) for _ in range(3)]
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    for kp in owners:
        await send(client, signed(kp, [assign(AssignParams(pubkey=kp.pubkey(), owner=program))],
                                  blockhash))
    got = await raw(client, "getProgramAccounts", [
        str(program), {"encoding": "base64", "withContext": True, "filters": [{"dataSize": 0}]}])
    result = got["result"]  # type: ignore[index]
    assert result["context"]["slot"] >= 0
    assert sorted(a["pubkey"] for a in result["value"]) == sorted(str(k.pubkey()) for k in owners)
    missing = Keypair().pubkey()
    many = (await client.get_multiple_accounts([owners[0].pubkey(), missing])).value
    assert many[0] is not None and many[0].owner == program and many[1] is None
    info = (await client.get_account_info(owners[1].pubkey())).value
    assert info is not None and info.lamports == SOL - 5_000


async def test_memo_transactions_distinct(client: AsyncClient) -> None:
    payer = await funded(client)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    sigs = [await send(client, signed(payer, [memo_ix(f"m{i}", payer.pubkey())], blockhash))
            for i in range(3)]
    statuses = (await client.get_signature_statuses(sigs)).value
    assert all(s is not None and s.err is None for s in statuses)
    tx = (await client.get_transaction(sigs[2])).value
    assert any("Memo" in line for line in tx.transaction.meta.log_messages)


async def test_fee_message_with_expired_blockhash_is_null(client: AsyncClient) -> None:
    payer = Keypair()
    message = Message([transfer(TransferParams(from_pubkey=payer.pubkey(),
                                               to_pubkey=payer.pubkey(), lamports=1))],
                      payer.pubkey())
    assert message.recent_blockhash == Hash.default()  # never a valid blockhash
    got = await raw(client, "getFeeForMessage",
                    [base64.b64encode(to_bytes_versioned(message)).decode()])
    assert got["result"]["value"] is None  # type: ignore[index]
