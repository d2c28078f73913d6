"""The token methods (getTokenAccountsByOwner/ByDelegate, getTokenSupply,
getTokenLargestAccounts) over Token and Token-2022 mints made by spl.token instructions, through
solana-py's AsyncClient (solders parses each answer) and raw JSON for the error texts."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import zstandard
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
from solana.rpc.types import DataSliceOpts, TokenAccountOpts, TxOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import ApproveParams, InitializeMintParams, approve, initialize_mint

from quantdesk.localnet import LocalnetProcess
from quantdesk.world import SOL, signed

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def call(node: LocalnetProcess, method: str, params: list[Any]) -> Any:
    async with httpx.AsyncClient() as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return (await http.post(node.rpc_url, json=body)).json()


async def error(node: LocalnetProcess, method: str, params: list[Any]) -> tuple[int, str]:
    reply = await call(node, method, params)
    return reply["error"]["code"], reply["error"]["message"]


@dataclass
class Tokens:
    payer: Keypair
    alice: Pubkey
    bob: Pubkey
    carol: Pubkey  # alice's delegate on her Token account
    mint: Pubkey  # Token program, 6 decimals
    mint22: Pubkey  # Token-2022, 2 decimals, with a MintCloseAuthority extension
    alice_ata: Pubkey
    bob_ata: Pubkey
    alice_ata22: Pubkey


def mint_close_authority_mint(payer: Pubkey, mint: Pubkey, authority: Pubkey, rent: int) -> list[Instruction]:
    """A Token-2022 mint with a MintCloseAuthority extension (202 bytes: 166 + 4 + 32)."""
    # InitializeMintCloseAuthority (25) with Some(authority); it precedes InitializeMint.
    init_extension = Instruction(
        TOKEN_2022_PROGRAM_ID, bytes([25, 1]) + bytes(authority), [AccountMeta(mint, False, True)]
    )
    return [
        create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=mint, lamports=rent, space=202,
                                           owner=TOKEN_2022_PROGRAM_ID)),
        init_extension,
        initialize_mint(InitializeMintParams(decimals=2, program_id=TOKEN_2022_PROGRAM_ID, mint=mint,
                                             mint_authority=authority)),
    ]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def tokens(node: LocalnetProcess) -> Tokens:
    async with AsyncClient(node.rpc_url) as client:
        payer, mint, mint22 = Keypair(), Keypair(), Keypair()
        alice, bob, carol = Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey()
        await client.request_airdrop(payer.pubkey(), 10 * SOL)
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
        rent22 = (await client.get_minimum_balance_for_rent_exemption(202)).value
        me = payer.pubkey()
        opts = TxOpts(skip_confirmation=True)
        await client.send_transaction(signed(payer, [
            *create_mint(me, mint.pubkey(), me, 6, rent),
            *mint_close_authority_mint(me, mint22.pubkey(), me, rent22),
        ], blockhash, (mint, mint22)), opts=opts)
        alice_ata, bob_ata = associated_address(alice, mint.pubkey()), associated_address(bob, mint.pubkey())
        alice_ata22 = associated_address(alice, mint22.pubkey(), TOKEN_2022_PROGRAM_ID)
        await client.send_transaction(signed(payer, [
            create_associated_account(me, alice, mint.pubkey()),
            create_associated_account(me, bob, mint.pubkey()),
            create_associated_account(me, alice, mint22.pubkey(), TOKEN_2022_PROGRAM_ID),
            mint_to_instruction(mint.pubkey(), alice_ata, me, 7_250_000),
            mint_to_instruction(mint.pubkey(), bob_ata, me, 3_000_000),
            mint_to_instruction(mint22.pubkey(), alice_ata22, me, 12_345, TOKEN_2022_PROGRAM_ID),
        ], blockhash), opts=opts)
        return Tokens(payer, alice, bob, carol, mint.pubkey(), mint22.pubkey(), alice_ata, bob_ata, alice_ata22)


async def test_by_owner_json_parsed_token_and_2022(client: AsyncClient, tokens: Tokens) -> None:
    (keyed,) = (await client.get_token_accounts_by_owner_json_parsed(
        tokens.alice, TokenAccountOpts(mint=tokens.mint))).value
    assert keyed.pubkey == tokens.alice_ata
    assert keyed.account.owner == TOKEN_PROGRAM_ID
    parsed = keyed.account.data
    assert parsed.program == "spl-token" and parsed.space == 165
    assert parsed.parsed == {"type": "account", "info": {
        "isNative": False, "mint": str(tokens.mint), "owner": str(tokens.alice), "state": "initialized",
        "tokenAmount": {"amount": "7250000", "decimals": 6, "uiAmount": 7.25, "uiAmountString": "7.25"},
    }}
    (keyed22,) = (await client.get_token_accounts_by_owner_json_parsed(
        tokens.alice, TokenAccountOpts(program_id=TOKEN_2022_PROGRAM_ID))).value
    assert keyed22.pubkey == tokens.alice_ata22
    parsed22 = keyed22.account.data
    assert parsed22.program == "spl-token-2022" and parsed22.space == 170  # + ImmutableOwner
    info = parsed22.parsed["info"]
    assert info["tokenAmount"] == {"amount": "12345", "decimals": 2, "uiAmount": 123.45,
                                   "uiAmountString": "123.45"}
    assert info["extensions"] == [{"extension": "immutableOwner"}]
    # both programs, by program id: each answers its own accounts only
    by_program = (await client.get_token_accounts_by_owner_json_parsed(
        tokens.alice, TokenAccountOpts(program_id=TOKEN_PROGRAM_ID))).value
    assert [k.pubkey for k in by_program] == [tokens.alice_ata]
    assert (await client.get_token_accounts_by_owner(tokens.carol, TokenAccountOpts(mint=tokens.mint))).value == []
    # the Token-2022 mint's own extension, through getAccountInfo jsonParsed
    mint22 = (await client.get_account_info_json_parsed(tokens.mint22)).value
    assert mint22 is not None and mint22.data.parsed["type"] == "mint"
    assert mint22.data.parsed["info"]["extensions"] == [
        {"extension": "mintCloseAuthority", "state": {"closeAuthority": str(tokens.payer.pubkey())}}]


async def test_by_owner_binary_encodings(node: LocalnetProcess, client: AsyncClient, tokens: Tokens) -> None:
    raw64 = (await client.get_token_accounts_by_owner(
        tokens.bob, TokenAccountOpts(mint=tokens.mint, encoding="base64"))).value
    (account,) = raw64
    data = bytes(account.account.data)
    assert len(data) == 165 and data[0:32] == bytes(tokens.mint) and data[32:64] == bytes(tokens.bob)
    assert int.from_bytes(data[64:72], "little") == 3_000_000
    zstd = (await call(node, "getTokenAccountsByOwner",
                       [str(tokens.bob), {"mint": str(tokens.mint)}, {"encoding": "base64+zstd"}]))["result"]
    (entry,) = zstd["value"]
    assert entry["account"]["data"][1] == "base64+zstd"
    assert zstandard.ZstdDecompressor().decompress(base64.b64decode(entry["account"]["data"][0])) == data
    # base58 only fits a slice of 128 bytes or less; the default (binary) is base58 too
    sliced = (await client.get_token_accounts_by_owner(tokens.bob, TokenAccountOpts(
        mint=tokens.mint, encoding="base58", data_slice=DataSliceOpts(offset=64, length=8)))).value
    assert bytes(sliced[0].account.data) == (3_000_000).to_bytes(8, "little")
    for encoding in ({"encoding": "base58"}, None):
        params: list[Any] = [str(tokens.bob), {"mint": str(tokens.mint)}]
        assert await error(node, "getTokenAccountsByOwner", params + ([encoding] if encoding else [])) == (
            -32600, "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.")
    # jsonParsed ignores dataSlice
    parsed = (await call(node, "getTokenAccountsByOwner", [
        str(tokens.bob), {"mint": str(tokens.mint)},
        {"encoding": "jsonParsed", "dataSlice": {"offset": 0, "length": 4}}]))["result"]["value"]
    assert parsed[0]["account"]["data"]["parsed"]["info"]["owner"] == str(tokens.bob)


async def test_by_delegate(client: AsyncClient, tokens: Tokens) -> None:
    owner, delegate = Keypair(), Keypair().pubkey()
    me = tokens.payer.pubkey()
    await client.request_airdrop(owner.pubkey(), SOL)
    ata = associated_address(owner.pubkey(), tokens.mint)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    await client.send_transaction(signed(tokens.payer, [
        create_associated_account(me, owner.pubkey(), tokens.mint),
        mint_to_instruction(tokens.mint, ata, me, 5_000_000),
        approve(ApproveParams(program_id=TOKEN_PROGRAM_ID, source=ata, delegate=delegate,
                              owner=owner.pubkey(), amount=1_500_000)),
    ], blockhash, (owner,)))
    (keyed,) = (await client.get_token_accounts_by_delegate_json_parsed(
        delegate, TokenAccountOpts(program_id=TOKEN_PROGRAM_ID))).value
    assert keyed.pubkey == ata
    info = keyed.account.data.parsed["info"]
    assert info["delegate"] == str(delegate) and info["owner"] == str(owner.pubkey())
    assert info["delegatedAmount"] == {"amount": "1500000", "decimals": 6, "uiAmount": 1.5,
                                       "uiAmountString": "1.5"}
    raw = (await client.get_token_accounts_by_delegate(delegate, TokenAccountOpts(
        mint=tokens.mint, encoding="base64"))).value
    assert [k.pubkey for k in raw] == [ata]
    # the owner is no delegate, and a Token-2022 filter finds nothing
    assert (await client.get_token_accounts_by_delegate(owner.pubkey(), TokenAccountOpts(mint=tokens.mint))).value == []
    assert (await client.get_token_accounts_by_delegate(
        delegate, TokenAccountOpts(program_id=TOKEN_2022_PROGRAM_ID))).value == []


async def test_supply_and_largest_accounts(node: LocalnetProcess, client: AsyncClient, tokens: Tokens) -> None:
    supply22 = (await client.get_token_supply(tokens.mint22)).value
    assert (supply22.amount, supply22.decimals, supply22.ui_amount_string) == ("12345", 2, "123.45")
    # 22 more holders of a fresh mint, written as accounts: the top 20 by amount come back
    mint, holders = Keypair().pubkey(), [Keypair().pubkey() for _ in range(22)]
    mint_data = bytearray(MINT_LEN)
    mint_data[36:44] = sum(range(1, 23)).to_bytes(8, "little")
    mint_data[44], mint_data[45] = 3, 1
    accounts = [(mint, bytes(mint_data))]
    for amount, holder in enumerate(holders, start=1):
        data = bytearray(165)
        data[0:32], data[32:64] = bytes(mint), bytes(Keypair().pubkey())
        data[64:72], data[108] = amount.to_bytes(8, "little"), 1
        accounts.append((holder, bytes(data)))
    batch = [{"jsonrpc": "2.0", "id": i, "method": "qd_setAccount", "params": [
        str(key), {"lamports": SOL, "data": [base64.b64encode(data).decode(), "base64"],
                   "owner": str(TOKEN_PROGRAM_ID)}]} for i, (key, data) in enumerate(accounts)]
    async with httpx.AsyncClient() as http:
        assert all("result" in r for r in (await http.post(node.rpc_url, json=batch)).json())
    supply = (await client.get_token_supply(mint)).value
    assert (supply.amount, supply.ui_amount, supply.ui_amount_string) == ("253", 0.253, "0.253")
    largest = (await client.get_token_largest_accounts(mint)).value
    assert [b.address for b in largest] == holders[::-1][:20]
    assert [b.amount.amount for b in largest] == [str(a) for a in range(22, 2, -1)]
    assert largest[0].amount.ui_amount_string == "0.022" and largest[0].amount.decimals == 3
    holders_of_mint = [(b.address, int(b.amount.amount)) for b in (await client.get_token_largest_accounts(tokens.mint)).value]
    assert {(tokens.alice_ata, 7_250_000), (tokens.bob_ata, 3_000_000)} <= set(holders_of_mint)
    assert [a for _, a in holders_of_mint] == sorted((a for _, a in holders_of_mint), reverse=True)


async def test_errors(node: LocalnetProcess, tokens: Tokens) -> None:
    alice, nowhere, system = str(tokens.alice), str(Keypair().pubkey()), str(tokens.payer.pubkey())
    by_owner = "getTokenAccountsByOwner"
    assert await error(node, by_owner, [alice, {"mint": nowhere}]) == (-32602, "Invalid param: could not find mint")
    assert await error(node, by_owner, [alice, {"mint": system}]) == (
        -32602, "Invalid param: Token mint could not be unpacked")
    assert await error(node, "getTokenAccountsByDelegate", [alice, {"programId": system}]) == (
        -32602, "Invalid param: unrecognized Token program id")
    assert await error(node, by_owner, [alice, {}]) == (
        -32602, "Invalid params: invalid value: map, expected map with a single key.")
    assert await error(node, by_owner, [alice, {"owner": alice}]) == (
        -32602, "Invalid params: unknown variant `owner`, expected `mint` or `programId`.")
    assert await error(node, by_owner, ["bad", {"mint": str(tokens.mint)}]) == (-32602, "Invalid param: WrongSize")
    assert await error(node, by_owner, [alice]) == (-32602, "`params` should have at least 2 argument(s)")
    assert await error(node, "getTokenSupply", [nowhere]) == (-32602, "Invalid param: could not find account")
    assert await error(node, "getTokenSupply", [system]) == (-32602, "Invalid param: not a Token mint")
    assert await error(node, "getTokenSupply", [str(tokens.alice_ata)]) == (
        -32602, "Invalid param: mint could not be unpacked")
    assert await error(node, "getTokenLargestAccounts", [nowhere]) == (-32602, "Invalid param: could not find mint")
    # the native mint needs no account (agave knows its owner and decimals): no holders here
    native = await call(node, "getTokenAccountsByOwner", [alice, {"mint": "So11111111111111111111111111111111111111112"}])
    assert native["result"]["value"] == []
