"""jsonParsed transactions (getTransaction, getBlock, simulateTransaction's innerInstructions)
through solana-py's AsyncClient, so solders parses every parsed/partially decoded instruction."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from quantdesk.clients.token import (
    MINT_LEN,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    associated_address,
    create_associated_account,
    create_mint,
    mint_to_instruction,
)
from solana.rpc.async_api import AsyncClient
from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction_status import (
    ParsedAccountSource,
    ParsedInstruction,
    UiPartiallyDecodedInstruction,
)
from spl.token.instructions import (
    ApproveParams,
    approve,
    create_idempotent_associated_token_account,
)
from spl.token.instructions import (
    TransferParams as TokenTransferParams,
)
from spl.token.instructions import transfer as token_transfer

from quantdesk.localnet.codec import b58encode
from quantdesk.world import SOL, memo_ix, signed, transfer_checked_ix
from tests.localnet.test_rpc_client import funded, raw, send

pytestmark = pytest.mark.asyncio(loop_scope="session")

SYSTEM = "11111111111111111111111111111111"
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
TX = ParsedAccountSource.Transaction


async def parsed_tx(client: AsyncClient, sig: Signature) -> Any:
    tx = (await client.get_transaction(sig, encoding="jsonParsed")).value
    assert tx is not None and tx.transaction.meta is not None
    return tx.transaction


def shape(ix: Any) -> tuple[str, str, Any]:
    assert isinstance(ix, ParsedInstruction), ix
    return ix.program, str(ix.program_id), ix.parsed


async def test_system_memo_and_other_programs(client: AsyncClient) -> None:
    payer, new, to = await funded(client), Keypair(), Keypair().pubkey()
    owner = Pubkey.new_unique()
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    sig = await send(client, signed(payer, [
        set_compute_unit_limit(50_000),
        create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=new.pubkey(),
                                           lamports=SOL, space=40, owner=owner)),
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=12_345)),
        memo_ix("hello ✓", payer.pubkey()),
    ], blockhash, (new,)))
    encoded = await parsed_tx(client, sig)
    keys = encoded.transaction.message.account_keys
    assert [(str(k.pubkey), k.signer, k.writable, k.source) for k in keys[:3]] == [
        (str(payer.pubkey()), True, True, TX),
        (str(new.pubkey()), True, True, TX),
        (str(to), False, True, TX)]
    budget, create, sent, memo = encoded.transaction.message.instructions
    # The compute-budget program has no parser: partially decoded, data in base58
    assert isinstance(budget, UiPartiallyDecodedInstruction)
    assert budget.data == b58encode(bytes(set_compute_unit_limit(50_000).data))
    assert budget.accounts == [] and budget.stack_height is None
    assert shape(create) == ("system", SYSTEM, {"type": "createAccount", "info": {
        "source": str(payer.pubkey()), "newAccount": str(new.pubkey()), "lamports": SOL,
        "space": 40, "owner": str(owner)}})
    assert shape(sent) == ("system", SYSTEM, {"type": "transfer", "info": {
        "source": str(payer.pubkey()), "destination": str(to), "lamports": 12_345}})
    assert shape(memo)[0] == "spl-memo" and memo.parsed == "hello ✓"
    assert encoded.meta.inner_instructions == []
    # json (not parsed) is unchanged: compiled instructions with indexes
    plain = (await client.get_transaction(sig, encoding="json")).value
    assert plain.transaction.transaction.message.instructions[2].program_id_index == 3  # type: ignore[union-attr]


async def test_spl_token_instructions_and_ata_inner_instructions(client: AsyncClient) -> None:
    payer, mint, bob = await funded(client), Keypair(), Keypair().pubkey()
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
    made = await parsed_tx(client, await send(client, signed(
        payer, create_mint(payer.pubkey(), mint.pubkey(), payer.pubkey(), 6, rent), blockhash, (mint,))))
    assert shape(made.transaction.message.instructions[1]) == ("spl-token", str(TOKEN_PROGRAM_ID), {
        "type": "initializeMint", "info": {"mint": str(mint.pubkey()), "decimals": 6,
                                          "mintAuthority": str(payer.pubkey()),
                                          "rentSysvar": "SysvarRent111111111111111111111111111111111"}})
    src, dst = associated_address(payer.pubkey(), mint.pubkey()), associated_address(bob, mint.pubkey())
    created = await parsed_tx(client, await send(client, signed(payer, [
        create_associated_account(payer.pubkey(), payer.pubkey(), mint.pubkey()),
        create_associated_account(payer.pubkey(), bob, mint.pubkey()),
        mint_to_instruction(mint.pubkey(), src, payer.pubkey(), 10_000_000),
    ], blockhash)))
    ata, _, mint_to = created.transaction.message.instructions
    assert shape(ata) == ("spl-associated-token-account", ATA, {"type": "create", "info": {
        "source": str(payer.pubkey()), "account": str(src), "wallet": str(payer.pubkey()),
        "mint": str(mint.pubkey()), "systemProgram": SYSTEM, "tokenProgram": str(TOKEN_PROGRAM_ID)}})
    assert shape(mint_to)[2] == {"type": "mintTo", "info": {
        "mint": str(mint.pubkey()), "account": str(src), "amount": "10000000",
        "mintAuthority": str(payer.pubkey())}}
    groups = created.meta.inner_instructions
    assert [g.index for g in groups] == [0, 1]
    inner = [shape(ix) for ix in groups[1].instructions]
    assert [(program, parsed["type"]) for program, _, parsed in inner] == [
        ("spl-token", "getAccountDataSize"), ("system", "createAccount"),
        ("spl-token", "initializeImmutableOwner"), ("spl-token", "initializeAccount3")]
    assert inner[0][2]["info"] == {"mint": str(mint.pubkey()), "extensionTypes": ["immutableOwner"]}
    assert inner[1][2]["info"]["newAccount"] == str(dst) and inner[1][2]["info"]["space"] == 165
    assert inner[3][2]["info"] == {"account": str(dst), "mint": str(mint.pubkey()), "owner": str(bob)}
    assert {ix.stack_height for ix in groups[1].instructions} == {2}
    moved = await parsed_tx(client, await send(client, signed(payer, [
        transfer_checked_ix(src, mint.pubkey(), dst, payer.pubkey(), 2_500_000, 6),
        token_transfer(TokenTransferParams(program_id=TOKEN_PROGRAM_ID, source=src, dest=dst,
                                           owner=payer.pubkey(), amount=7)),
        approve(ApproveParams(program_id=TOKEN_PROGRAM_ID, source=src, delegate=bob,
                              owner=payer.pubkey(), amount=99)),
    ], blockhash)))
    checked, plain, approved = (shape(ix)[2] for ix in moved.transaction.message.instructions)
    assert checked == {"type": "transferChecked", "info": {
        "source": str(src), "mint": str(mint.pubkey()), "destination": str(dst),
        "authority": str(payer.pubkey()),
        "tokenAmount": {"amount": "2500000", "decimals": 6, "uiAmount": 2.5, "uiAmountString": "2.5"}}}
    assert plain == {"type": "transfer", "info": {
        "source": str(src), "destination": str(dst), "amount": "7", "authority": str(payer.pubkey())}}
    assert approved == {"type": "approve", "info": {
        "source": str(src), "delegate": str(bob), "amount": "99", "owner": str(payer.pubkey())}}


async def test_token_2022_block_and_simulated_inner_instructions(client: AsyncClient) -> None:
    payer, mint, bob = await funded(client), Keypair(), Keypair().pubkey()
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
    await send(client, signed(payer, create_mint(payer.pubkey(), mint.pubkey(), payer.pubkey(), 2,
                                                 rent, TOKEN_2022_PROGRAM_ID), blockhash, (mint,)))
    create = create_idempotent_associated_token_account(payer.pubkey(), bob, mint.pubkey(),
                                                        TOKEN_2022_PROGRAM_ID)
    tx = signed(payer, [create], blockhash)
    # simulateTransaction: inner instructions parsed whatever the transaction's encoding
    got = await raw(client, "simulateTransaction", [
        base64.b64encode(bytes(tx)).decode(), {"encoding": "base64", "innerInstructions": True}])
    value = got["result"]["value"]  # type: ignore[index]
    assert value["err"] is None
    simulated = value["innerInstructions"][0]["instructions"]
    assert [(ix["program"], ix["parsed"]["type"]) for ix in simulated] == [
        ("spl-token", "getAccountDataSize"), ("system", "createAccount"),
        ("spl-token", "initializeImmutableOwner"), ("spl-token", "initializeAccount3")]
    assert simulated[0]["programId"] == str(TOKEN_2022_PROGRAM_ID)
    sig = await send(client, tx)
    status = (await client.get_signature_statuses([sig])).value[0]
    assert status is not None
    block = (await client.get_block(status.slot, encoding="jsonParsed",
                                    max_supported_transaction_version=0)).value
    mine = next(t for t in block.transactions if t.transaction.signatures[0] == sig)  # type: ignore[union-attr]
    assert shape(mine.transaction.message.instructions[0])[2]["type"] == "createIdempotent"  # type: ignore[union-attr]
    assert mine.meta is not None
    block_inner = mine.meta.inner_instructions[0].instructions
    assert [shape(ix)[2]["type"] for ix in block_inner] == [ix["parsed"]["type"] for ix in simulated]
    # A second create of the same account is idempotent: no CPIs beyond the token account read
    again = await parsed_tx(client, await send(client, signed(payer, [create, memo_ix("x", payer.pubkey())],
                                                              (await client.get_latest_blockhash()).value.blockhash)))
    assert [shape(ix)[2] for ix in again.transaction.message.instructions][1] == "x"
    assert again.meta.inner_instructions == []
