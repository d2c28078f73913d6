"""Token-2022 extension instructions and extension state in jsonParsed, through solana-py's
AsyncClient (solders parses every parsed and partially decoded instruction), against the JSON
agave's transaction-status and account-decoder parsers give.

The instructions run on LiteSVM's Token-2022 program, so their data and accounts are the
program's own; those it predates (ScaledUiAmount, Pausable, UnwrapLamports, PermissionedBurn,
Batch) are sent in a transaction that fails, whose instructions getTransaction still shows.
Extension state the program cannot make is written with qd_setAccount.
"""
from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

import pytest
from quantdesk.clients.token import (
    TOKEN_2022_PROGRAM_ID,
    associated_address,
    create_associated_account,
    mint_to_instruction,
)
from solana.rpc.async_api import AsyncClient
from solana.rpc.types import TxOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction
from solders.transaction_status import ParsedInstruction, UiPartiallyDecodedInstruction
from spl.token.instructions import InitializeMintParams, initialize_mint

from quantdesk.localnet.codec import b58encode, ui_token_amount
from quantdesk.world import SOL, signed
from tests.localnet.test_rpc_client import funded, raw

pytestmark = pytest.mark.asyncio(loop_scope="session")

T22 = TOKEN_2022_PROGRAM_ID
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
NO_KEY = bytes(32)
DECIMALS = 6


def w(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, False, True)


def ro(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, False, False)


def s(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, True, True)


def ix(data: bytes, *metas: AccountMeta) -> Instruction:
    return Instruction(T22, data, list(metas))


def interface(name: str, body: bytes, *metas: AccountMeta) -> Instruction:
    """A token-group or token-metadata interface instruction: sha256 discriminator, then data."""
    return ix(hashlib.sha256(name.encode()).digest()[:8] + body, *metas)


def borsh(*texts: str) -> bytes:
    return b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)


def tlv_space(*lengths: int) -> int:
    """A Token-2022 mint or account with these extension values: base, account type, TLVs."""
    return 166 + sum(4 + n for n in lengths)


async def land(client: AsyncClient, tx: VersionedTransaction, preflight: bool = True) -> Any:
    """Sends, waits, and returns the transaction as getTransaction jsonParsed shows it."""
    sig: Signature = (await client.send_transaction(tx, opts=TxOpts(skip_preflight=not preflight))).value
    await client.confirm_transaction(sig)
    got = (await client.get_transaction(sig, encoding="jsonParsed")).value
    assert got is not None and got.transaction.meta is not None
    return got.transaction


def infos(tx: Any) -> list[dict[str, Any]]:
    out = []
    for instruction in tx.transaction.message.instructions:
        if isinstance(instruction, ParsedInstruction) and instruction.program == "spl-token":
            assert str(instruction.program_id) == str(T22)
            out.append(instruction.parsed)
    return out


async def parsed_account(client: AsyncClient, key: Pubkey) -> dict[str, Any]:
    got = await raw(client, "getAccountInfo", [str(key), {"encoding": "jsonParsed"}])
    info: dict[str, Any] = got["result"]["value"]["data"]["parsed"]["info"]  # type: ignore[index]
    return info


async def test_extension_instructions_and_state(client: AsyncClient) -> None:  # noqa: C901 - one scenario
    payer, mint, member, bob = await funded(client, 100 * SOL), Keypair(), Keypair(), Keypair().pubkey()
    me, a, b = payer.pubkey(), mint.pubkey(), member.pubkey()
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    # Mint A: close authority, transfer fee, default state, permanent delegate, a hook with no
    # program, metadata and group pointers to itself. Lamports beyond rent pay for the
    # metadata that Token-2022 reallocates the mint for.
    space = tlv_space(32, 108, 1, 32, 64, 64, 64)
    made = await land(client, signed(payer, [
        create_account(CreateAccountParams(from_pubkey=me, to_pubkey=a, lamports=SOL, space=space, owner=T22)),
        ix(bytes([25, 1]) + bytes(me), w(a)),
        ix(bytes([26, 0, 1]) + bytes(me) + b"\x01" + bytes(me) + struct.pack("<HQ", 100, 10**9), w(a)),
        ix(bytes([28, 0, 1]), w(a)),
        ix(bytes([35]) + bytes(bob), w(a)),
        ix(bytes([36, 0]) + bytes(me) + NO_KEY, w(a)),
        ix(bytes([39, 0]) + bytes(me) + bytes(a), w(a)),
        ix(bytes([40, 0]) + bytes(me) + bytes(a), w(a)),
        initialize_mint(InitializeMintParams(decimals=DECIMALS, program_id=T22, mint=a, mint_authority=me,
                                             freeze_authority=me)),
    ], blockhash, (mint,)))
    assert made.meta.err is None
    assert infos(made) == [
        {"type": "initializeMintCloseAuthority", "info": {"mint": str(a), "newAuthority": str(me)}},
        {"type": "initializeTransferFeeConfig", "info": {
            "mint": str(a), "transferFeeConfigAuthority": str(me), "withdrawWithheldAuthority": str(me),
            "transferFeeBasisPoints": 100, "maximumFee": 10**9}},
        {"type": "initializeDefaultAccountState", "info": {"mint": str(a), "accountState": "initialized"}},
        {"type": "initializePermanentDelegate", "info": {"mint": str(a), "delegate": str(bob)}},
        {"type": "initializeTransferHook", "info": {"mint": str(a), "authority": str(me)}},
        {"type": "initializeMetadataPointer", "info": {"mint": str(a), "authority": str(me),
                                                       "metadataAddress": str(a)}},
        {"type": "initializeGroupPointer", "info": {"mint": str(a), "authority": str(me), "groupAddress": str(a)}},
        {"type": "initializeMint", "info": {"mint": str(a), "decimals": DECIMALS, "mintAuthority": str(me),
                                            "freezeAuthority": str(me),
                                            "rentSysvar": "SysvarRent111111111111111111111111111111111"}},
    ]
    # Mint B: a group member pointer to itself, non-transferable, interest-bearing.
    made = await land(client, signed(payer, [
        create_account(CreateAccountParams(from_pubkey=me, to_pubkey=b, lamports=SOL,
                                           space=tlv_space(64, 0, 52), owner=T22)),
        ix(bytes([41, 0]) + bytes(me) + bytes(b), w(b)),
        ix(bytes([32]), w(b)),
        ix(bytes([33, 0]) + bytes(me) + struct.pack("<h", -25), w(b)),
        initialize_mint(InitializeMintParams(decimals=0, program_id=T22, mint=b, mint_authority=me)),
    ], blockhash, (member,)))
    assert infos(made)[:3] == [
        {"type": "initializeGroupMemberPointer", "info": {"mint": str(b), "authority": str(me),
                                                          "memberAddress": str(b)}},
        {"type": "initializeNonTransferableMint", "info": {"mint": str(b)}},
        {"type": "initializeInterestBearingConfig", "info": {"mint": str(b), "rateAuthority": str(me), "rate": -25}},
    ]

    # The token-metadata interface, served by Token-2022 for its mints.
    metadata = await land(client, signed(payer, [
        interface("spl_token_metadata_interface:initialize_account", borsh("Desk", "QD", "https://qd.example"),
                  w(a), ro(me), ro(a), s(me)),
        interface("spl_token_metadata_interface:updating_field", b"\x03" + borsh("venue", "localnet"), w(a), s(me)),
        interface("spl_token_metadata_interface:updating_field", b"\x03" + borsh("drop", "me"), w(a), s(me)),
        interface("spl_token_metadata_interface:updating_field", b"\x01" + borsh("QDK"), w(a), s(me)),
        interface("spl_token_metadata_interface:remove_key_ix", b"\x00" + borsh("drop"), w(a), s(me)),
        interface("spl_token_metadata_interface:emitter", b"\x01" + struct.pack("<Q", 0) + b"\x00", ro(a)),
        interface("spl_token_metadata_interface:update_the_authority", bytes(bob), w(a), s(me)),
    ], blockhash))
    assert metadata.meta.err is None, metadata.meta.log_messages
    assert infos(metadata) == [
        {"type": "initializeTokenMetadata", "info": {
            "metadata": str(a), "updateAuthority": str(me), "mint": str(a), "mintAuthority": str(me),
            "name": "Desk", "symbol": "QD", "uri": "https://qd.example"}},
        {"type": "updateTokenMetadataField", "info": {"metadata": str(a), "updateAuthority": str(me),
                                                       "field": "venue", "value": "localnet"}},
        {"type": "updateTokenMetadataField", "info": {"metadata": str(a), "updateAuthority": str(me),
                                                       "field": "drop", "value": "me"}},
        {"type": "updateTokenMetadataField", "info": {"metadata": str(a), "updateAuthority": str(me),
                                                       "field": "symbol", "value": "QDK"}},
        {"type": "removeTokenMetadataKey", "info": {"metadata": str(a), "updateAuthority": str(me),
                                                     "key": "drop", "idempotent": False}},
        {"type": "emitTokenMetadata", "info": {"metadata": str(a), "start": 0}},
        {"type": "updateTokenMetadataAuthority", "info": {"metadata": str(a), "updateAuthority": str(me),
                                                          "newAuthority": str(bob)}},
    ]

    # Accounts: a transfer with its fee, the fee's way back to the mint and out, account extensions.
    src, dst = associated_address(me, a, T22), associated_address(bob, a, T22)
    moved = await land(client, signed(payer, [
        create_associated_account(me, me, a, T22),
        create_associated_account(me, bob, a, T22),
        mint_to_instruction(a, src, me, 10_000_000, T22),
        ix(bytes([26, 1]) + struct.pack("<QBQ", 250_000, DECIMALS, 2_500), w(src), ro(a), w(dst), s(me)),
        ix(bytes([26, 4]), w(a), w(dst)),
        ix(bytes([26, 2]), w(a), w(src), s(me)),
        ix(bytes([26, 3, 1]), ro(a), w(src), s(me), w(dst)),
        ix(bytes([26, 5]) + struct.pack("<HQ", 25, 1_000), w(a), s(me)),
        ix(bytes([29]) + struct.pack("<HH", 8, 11), w(src), s(me), ro(SYSTEM), s(me)),
        ix(bytes([30, 0]), w(src), s(me)),
        ix(bytes([34, 0]), w(src), s(me)),
        ix(bytes([30, 1]), w(src), s(me)),
        ix(bytes([28, 1, 2]), w(a), s(me)),
        ix(bytes([36, 1]) + NO_KEY, w(a), s(me)),
        ix(bytes([39, 1]) + bytes(a), w(a), s(me)),
        ix(bytes([40, 1]) + NO_KEY, w(a), s(me)),
        ix(bytes([41, 1]) + bytes(b), w(b), s(me)),
        ix(bytes([33, 1]) + struct.pack("<h", 40), w(b), s(me)),
        ix(bytes([38]), w(a), w(me), s(me)),
    ], blockhash))
    assert moved.meta.err is None, moved.meta.log_messages
    token_infos = infos(moved)
    assert [i["type"] for i in token_infos[:1]] == ["mintTo"]
    assert token_infos[1:] == [
        {"type": "transferCheckedWithFee", "info": {
            "source": str(src), "mint": str(a), "destination": str(dst), "authority": str(me),
            "tokenAmount": ui_token_amount(250_000, DECIMALS), "feeAmount": ui_token_amount(2_500, DECIMALS)}},
        {"type": "harvestWithheldTokensToMint", "info": {"mint": str(a), "sourceAccounts": [str(dst)]}},
        {"type": "withdrawWithheldTokensFromMint", "info": {"mint": str(a), "feeRecipient": str(src),
                                                            "withdrawWithheldAuthority": str(me)}},
        {"type": "withdrawWithheldTokensFromAccounts", "info": {
            "mint": str(a), "feeRecipient": str(src), "withdrawWithheldAuthority": str(me),
            "sourceAccounts": [str(dst)]}},
        {"type": "setTransferFee", "info": {"mint": str(a), "transferFeeBasisPoints": 25, "maximumFee": 1_000,
                                            "transferFeeConfigAuthority": str(me)}},
        {"type": "reallocate", "info": {"account": str(src), "payer": str(me), "systemProgram": str(SYSTEM),
                                        "extensionTypes": ["memoTransfer", "cpiGuard"], "owner": str(me)}},
        {"type": "enableRequiredMemoTransfers", "info": {"account": str(src), "owner": str(me)}},
        {"type": "enableCpiGuard", "info": {"account": str(src), "owner": str(me)}},
        {"type": "disableRequiredMemoTransfers", "info": {"account": str(src), "owner": str(me)}},
        {"type": "updateDefaultAccountState", "info": {"mint": str(a), "accountState": "frozen",
                                                       "freezeAuthority": str(me)}},
        {"type": "updateTransferHook", "info": {"mint": str(a), "authority": str(me)}},
        {"type": "updateMetadataPointer", "info": {"mint": str(a), "metadataAddress": str(a), "authority": str(me)}},
        {"type": "updateGroupPointer", "info": {"mint": str(a), "authority": str(me)}},
        {"type": "updateGroupMemberPointer", "info": {"mint": str(b), "memberAddress": str(b), "authority": str(me)}},
        {"type": "updateInterestBearingConfigRate", "info": {"mint": str(b), "newRate": 40, "rateAuthority": str(me)}},
        {"type": "withdrawExcessLamports", "info": {"source": str(a), "destination": str(me), "authority": str(me)}},
    ]
    # The ATA program's inner GetAccountDataSize asks for what the mint's extensions need.
    inner = moved.meta.inner_instructions[0].instructions
    assert inner[0].parsed == {"type": "getAccountDataSize",
                               "info": {"mint": str(a), "extensionTypes": ["immutableOwner"]}}

    # The same extensions as account state (agave's parse_token_extension).
    mint_state = await parsed_account(client, a)
    extensions = {e["extension"]: e.get("state") for e in mint_state["extensions"]}
    fee_config = extensions["transferFeeConfig"]
    older, newer = fee_config.pop("olderTransferFee"), fee_config.pop("newerTransferFee")
    assert fee_config == {"transferFeeConfigAuthority": str(me), "withdrawWithheldAuthority": str(me),
                          "withheldAmount": 0}
    assert (older["maximumFee"], older["transferFeeBasisPoints"]) == (10**9, 100)
    # SetTransferFee's fee starts two epochs after the one it was set in.
    assert (newer["maximumFee"], newer["transferFeeBasisPoints"]) == (1_000, 25)
    assert newer["epoch"] >= older["epoch"] + 2
    assert extensions["defaultAccountState"] == {"accountState": "frozen"}
    assert extensions["permanentDelegate"] == {"delegate": str(bob)}
    assert extensions["transferHook"] == {"authority": str(me), "programId": None}
    assert extensions["metadataPointer"] == {"authority": str(me), "metadataAddress": str(a)}
    assert extensions["groupPointer"] == {"authority": str(me), "groupAddress": None}
    assert extensions["tokenMetadata"] == {
        "updateAuthority": str(bob), "mint": str(a), "name": "Desk", "symbol": "QDK",
        "uri": "https://qd.example", "additionalMetadata": [["venue", "localnet"]]}
    member_state = await parsed_account(client, b)
    pointer, marker, interest = member_state["extensions"]
    assert pointer == {"extension": "groupMemberPointer", "state": {"authority": str(me), "memberAddress": str(b)}}
    assert marker == {"extension": "nonTransferable"}
    assert interest["extension"] == "interestBearingConfig"
    assert set(interest["state"]) == {"rateAuthority", "initializationTimestamp", "preUpdateAverageRate",
                                      "lastUpdateTimestamp", "currentRate"}
    assert (interest["state"]["rateAuthority"], interest["state"]["currentRate"]) == (str(me), 40)
    assert interest["state"]["lastUpdateTimestamp"] >= interest["state"]["initializationTimestamp"] > 0
    src_state = await parsed_account(client, src)
    assert {e["extension"]: e.get("state") for e in src_state["extensions"]} == {
        "immutableOwner": None,
        "transferFeeAmount": {"withheldAmount": 0},
        "transferHookAccount": {"transferring": False},
        "memoTransfer": {"requireIncomingTransferMemos": False},
        "cpiGuard": {"lockCpi": True},
    }


async def test_instructions_the_program_predates_and_confidential_ones(client: AsyncClient) -> None:
    payer = await funded(client)
    me = payer.pubkey()
    mint, account, multisig, one, two = (Keypair().pubkey() for _ in range(5))
    multiplier = struct.pack("<d", 1.5)
    confidential = bytes([27, 5]) + bytes(40)  # a Deposit: shown partially decoded
    batch = bytes([255, 3, 9]) + bytes([7]) + struct.pack("<Q", 5) + bytes([2, 2, 34, 0])
    sent = [
        ix(bytes([43, 0]) + bytes(me) + multiplier, w(mint)),
        ix(bytes([43, 1]) + struct.pack("<dq", 2.25, 1_700_000_000), w(mint), ro(multisig), ro(one), ro(two)),
        ix(bytes([44, 0]) + bytes(me), w(mint)),
        ix(bytes([44, 1]), w(mint), ro(me)),
        ix(bytes([44, 2]), w(mint), ro(me)),
        ix(bytes([45, 1]) + struct.pack("<Q", 77), w(account), w(me), ro(me)),
        ix(bytes([45, 0]), w(account), w(me), ro(multisig), ro(one)),
        ix(bytes([46, 0]) + bytes(me), w(mint)),
        ix(bytes([46, 1]) + struct.pack("<Q", 9), w(account), w(mint), ro(me), ro(one)),
        ix(bytes([46, 2]) + struct.pack("<QB", 12_345, 2), w(account), w(mint), ro(me), ro(one)),
        ix(bytes([31]), w(me), w(mint), ro(SYSTEM)),
        ix(batch, w(mint), w(account), ro(me), w(account), ro(me)),
        ix(bytes([34, 1]), w(account), ro(multisig), ro(one), ro(two)),
        ix(bytes([21]) + struct.pack("<HHH", 25, 26, 28), ro(mint)),
        interface("spl_token_group_interface:initialize_token_group", bytes(me) + struct.pack("<Q", 5),
                  w(mint), ro(mint), ro(me)),
        interface("spl_token_group_interface:update_group_max_size", struct.pack("<Q", 10), w(mint), ro(me)),
        interface("spl_token_group_interface:initialize_member", b"", w(account), ro(account), ro(me), w(mint), ro(me)),
        interface("spl_token_group_interface:update_authority", NO_KEY, w(mint), ro(me)),
        ix(confidential, w(account), w(mint), ro(me)),
        ix(bytes([30, 7]), w(account), ro(me)),  # no such memo-transfer sub-instruction
    ]
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    tx = await land(client, signed(payer, sent, blockhash), preflight=False)
    assert tx.meta.err is not None  # the first one is not an instruction this program knows
    assert infos(tx) == [
        {"type": "initializeScaledUiAmountConfig", "info": {"mint": str(mint), "authority": str(me),
                                                            "multiplier": "1.5"}},
        {"type": "updateMultiplier", "info": {"mint": str(mint), "newMultiplier": "2.25",
                                              "newMultiplierTimestamp": 1_700_000_000,
                                              "multisigAuthority": str(multisig), "signers": [str(one), str(two)]}},
        {"type": "initializePausableConfig", "info": {"mint": str(mint), "authority": str(me)}},
        {"type": "pause", "info": {"mint": str(mint), "authority": str(me)}},
        {"type": "resume", "info": {"mint": str(mint), "authority": str(me)}},
        {"type": "unwrapLamports", "info": {"source": str(account), "destination": str(me), "amount": "77",
                                            "authority": str(me)}},
        {"type": "unwrapLamports", "info": {"source": str(account), "destination": str(me),
                                            "multisigAuthority": str(multisig), "signers": [str(one)]}},
        {"type": "initializePermissionedBurnConfig", "info": {"mint": str(mint), "authority": str(me)}},
        {"type": "permissionedBurn", "info": {"account": str(account), "mint": str(mint),
                                              "permissionedBurnAuthority": str(me), "amount": "9",
                                              "authority": str(one)}},
        {"type": "permissionedBurnChecked", "info": {"account": str(account), "mint": str(mint),
                                                     "permissionedBurnAuthority": str(me),
                                                     "tokenAmount": ui_token_amount(12_345, 2), "authority": str(one)}},
        {"type": "createNativeMint", "info": {"payer": str(me), "nativeMint": str(mint), "systemProgram": str(SYSTEM)}},
        {"type": "batch", "info": {"instructions": [
            {"type": "mintTo", "info": {"mint": str(mint), "account": str(account), "amount": "5",
                                        "mintAuthority": str(me)}},
            {"type": "enableCpiGuard", "info": {"account": str(account), "owner": str(me)}}]}},
        {"type": "disableCpiGuard", "info": {"account": str(account), "multisigOwner": str(multisig),
                                             "signers": [str(one), str(two)]}},
        {"type": "getAccountDataSize", "info": {"mint": str(mint),
                                                "extensionTypes": ["scaledUiAmount", "pausable", "permissionedBurn"]}},
        # The token-group interface (this Token-2022 predates it too).
        {"type": "initializeTokenGroup", "info": {"group": str(mint), "maxSize": 5, "mint": str(mint),
                                                  "mintAuthority": str(me), "updateAuthority": str(me)}},
        {"type": "updateTokenGroupMaxSize", "info": {"group": str(mint), "maxSize": 10, "updateAuthority": str(me)}},
        {"type": "initializeTokenGroupMember", "info": {
            "member": str(account), "memberMint": str(account), "memberMintAuthority": str(me), "group": str(mint),
            "groupUpdateAuthority": str(me)}},
        {"type": "updateTokenGroupAuthority", "info": {"group": str(mint), "updateAuthority": str(me),
                                                       "newAuthority": None}},
    ]
    *_, shown, unknown = tx.transaction.message.instructions
    for partial, data in ((shown, confidential), (unknown, bytes([30, 7]))):
        assert isinstance(partial, UiPartiallyDecodedInstruction)
        assert partial.data == b58encode(data) and str(partial.program_id) == str(T22)


def mint_with(*extensions: tuple[int, bytes]) -> bytes:
    """Token-2022 mint data: an initialized base mint, padding, the mint type, then TLVs."""
    base = bytes(4 + 32) + struct.pack("<Q", 0) + bytes([2, 1]) + bytes(36)
    tlv = b"".join(struct.pack("<HH", kind, len(value)) + value for kind, value in extensions)
    return base + bytes(165 - len(base)) + b"\x01" + tlv


def account_with(mint: Pubkey, owner: Pubkey, *extensions: tuple[int, bytes]) -> bytes:
    base = bytes(mint) + bytes(owner) + struct.pack("<Q", 0) + bytes(36) + b"\x01" + bytes(12) + bytes(8) + bytes(36)
    tlv = b"".join(struct.pack("<HH", kind, len(value)) + value for kind, value in extensions)
    return base + b"\x02" + tlv


async def set_account(client: AsyncClient, key: Pubkey, data: bytes) -> None:
    reply = await raw(client, "qd_setAccount", [str(key), {
        "lamports": SOL, "data": [base64.b64encode(data).decode(), "base64"], "owner": str(T22)}])
    assert "error" not in reply, reply


async def test_extension_state_the_program_cannot_make(client: AsyncClient) -> None:
    mint, account, authority = (Keypair().pubkey() for _ in range(3))
    elgamal, ciphertext, ae = bytes(range(32)), bytes(range(64)), bytes(range(36))

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    metadata = bytes(authority) + bytes(mint) + borsh("n", "s", "u") + struct.pack("<I", 1) + borsh("k", "v")
    await set_account(client, mint, mint_with(
        (4, bytes(authority) + b"\x01" + NO_KEY),
        (16, NO_KEY + elgamal + b"\x00" + ciphertext),
        (24, ciphertext + ae + elgamal + ciphertext),
        (25, bytes(authority) + struct.pack("<dqd", 1.0, 1_800_000_000, 0.000001)),
        (26, NO_KEY + b"\x01"),
        (19, metadata + b"\x00\x00"),  # a value longer than its borsh: the rest is ignored
        (19, metadata[:-1]),  # cut short: unparseable
        (21, bytes(authority) + bytes(mint) + struct.pack("<QQ", 1, 10)),
        (23, bytes(mint) + bytes(authority) + struct.pack("<Q", 3)),
        (21, bytes(40)),  # a group of the wrong size: unparseable
        (28, NO_KEY),  # PermissionedBurn: not decoded here
    ))
    state = await parsed_account(client, mint)
    assert state["extensions"] == [
        {"extension": "confidentialTransferMint", "state": {
            "authority": str(authority), "autoApproveNewAccounts": True, "auditorElgamalPubkey": None}},
        {"extension": "confidentialTransferFeeConfig", "state": {
            "authority": None, "withdrawWithheldAuthorityElgamalPubkey": b64(elgamal),
            "harvestToMintEnabled": False, "withheldAmount": b64(ciphertext)}},
        {"extension": "confidentialMintBurn", "state": {
            "confidentialSupply": b64(ciphertext), "decryptableSupply": b64(ae),
            "supplyElgamalPubkey": b64(elgamal), "pendingBurn": b64(ciphertext)}},
        {"extension": "scaledUiAmountConfig", "state": {
            "authority": str(authority), "multiplier": "1", "newMultiplierEffectiveTimestamp": 1_800_000_000,
            "newMultiplier": "0.000001"}},
        {"extension": "pausableConfig", "state": {"authority": None, "paused": True}},
        {"extension": "tokenMetadata", "state": {
            "updateAuthority": str(authority), "mint": str(mint), "name": "n", "symbol": "s", "uri": "u",
            "additionalMetadata": [["k", "v"]]}},
        {"extension": "unparseableExtension"},
        {"extension": "tokenGroup", "state": {"updateAuthority": str(authority), "mint": str(mint), "size": 1,
                                              "maxSize": 10}},
        {"extension": "tokenGroupMember", "state": {"mint": str(mint), "group": str(authority), "memberNumber": 3}},
        {"extension": "unparseableExtension"},
        {"extension": "unparseableExtension"},
    ]
    counters = struct.pack("<QQQQ", 1, 2, 3, 4)
    await set_account(client, account, account_with(
        mint, authority,
        (5, b"\x01" + elgamal + ciphertext * 3 + ae + b"\x01\x00" + counters),
        (17, ciphertext),
        (13, b""),
        (27, b""),
        (23, bytes(mint) + bytes(authority) + struct.pack("<Q", 3)),  # a mint's extension
    ))
    got = await raw(client, "getAccountInfo", [str(account), {"encoding": "jsonParsed"}])
    parsed = got["result"]["value"]["data"]["parsed"]  # type: ignore[index]
    assert parsed["type"] == "account"
    assert parsed["info"]["extensions"] == [
        {"extension": "confidentialTransferAccount", "state": {
            "approved": True, "elgamalPubkey": b64(elgamal), "pendingBalanceLo": b64(ciphertext),
            "pendingBalanceHi": b64(ciphertext), "availableBalance": b64(ciphertext),
            "decryptableAvailableBalance": b64(ae), "allowConfidentialCredits": True,
            "allowNonConfidentialCredits": False, "pendingBalanceCreditCounter": 1,
            "maximumPendingBalanceCreditCounter": 2, "expectedPendingBalanceCreditCounter": 3,
            "actualPendingBalanceCreditCounter": 4}},
        {"extension": "confidentialTransferFeeAmount", "state": {"withheldAmount": b64(ciphertext)}},
        {"extension": "nonTransferableAccount"},
        {"extension": "pausableAccount"},
        {"extension": "unparseableExtension"},  # as agave, which reads it for mints only
    ]
