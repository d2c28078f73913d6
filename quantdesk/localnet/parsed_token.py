"""jsonParsed SPL Token / Token-2022 instructions, as agave's transaction-status `parse_token`.

One parser serves both programs (agave reports both as "spl-token"). The first data byte is the
token instruction: the base ones (0-24) are decoded here, the Token-2022 extension ones (25 and
up) in parsed_token_extensions.py, a Batch (255) instruction by instruction. Data whose first byte
is no token instruction is tried as a token-group, then a token-metadata interface instruction
(their 8-byte discriminators never start with a token instruction's byte, so this order gives
what agave's try-unpack-in-turn gives).
"""
from __future__ import annotations

from typing import Any, Final

from quantdesk.localnet import codec
from quantdesk.localnet.parsed_support import Accounts, NotParsable, Reader, parsed, signers, utf8
from quantdesk.localnet.parsed_token_extensions import EXTENSION_PARSERS, extension_types
from quantdesk.localnet.parsed_token_interfaces import parse_interface

# agave's UiAuthorityType names, by the token program's AuthorityType tag.
_AUTHORITY_TYPES: Final = (
    "mintTokens", "freezeAccount", "accountOwner", "closeAccount", "transferFeeConfig",
    "withheldWithdraw", "closeMint", "interestRate", "permanentDelegate",
    "confidentialTransferMint", "transferHookProgramId", "confidentialTransferFeeConfig",
    "metadataPointer", "groupPointer", "groupMemberPointer", "scaledUiAmount", "pause",
    "permissionedBurn",
)
_BATCH: Final = 255


def _mint_init(info: dict[str, Any], r: Reader) -> dict[str, Any]:
    info["decimals"] = r.u8()
    info["mintAuthority"] = r.pubkey()
    freeze = r.coption_pubkey()
    if freeze is not None:
        info["freezeAuthority"] = freeze
    return info


def _base(tag: int, data: bytes, a: Accounts) -> dict[str, Any]:  # noqa: C901 - one branch per tag
    r = Reader(data, 1)
    info: dict[str, Any]
    if tag == 0:
        a.need(2)
        info = _mint_init({"mint": a[0]}, r)
        info["rentSysvar"] = a[1]
        return parsed("initializeMint", info)
    if tag == 1:
        a.need(4)
        return parsed("initializeAccount", {"account": a[0], "mint": a[1], "owner": a[2],
                                            "rentSysvar": a[3]})
    if tag in (2, 19):
        m = r.u8()
        if tag == 2:
            a.need(3)
            return parsed("initializeMultisig", {"multisig": a[0], "rentSysvar": a[1],
                                                 "signers": a.keys[2:], "m": m})
        a.need(2)
        return parsed("initializeMultisig2", {"multisig": a[0], "signers": a.keys[1:], "m": m})
    if tag in (3, 4, 7, 8):
        amount = str(r.u64())
        a.need(3)
        if tag == 3:
            info = {"source": a[0], "destination": a[1], "amount": amount}
            return parsed("transfer", signers(info, a, 2, "authority", "multisigAuthority"))
        if tag == 4:
            info = {"source": a[0], "delegate": a[1], "amount": amount}
            return parsed("approve", signers(info, a, 2, "owner", "multisigOwner"))
        if tag == 7:
            info = {"mint": a[0], "account": a[1], "amount": amount}
            return parsed("mintTo", signers(info, a, 2, "mintAuthority", "multisigMintAuthority"))
        info = {"account": a[0], "mint": a[1], "amount": amount}
        return parsed("burn", signers(info, a, 2, "authority", "multisigAuthority"))
    if tag == 5:
        a.need(2)
        return parsed("revoke", signers({"source": a[0]}, a, 1, "owner", "multisigOwner"))
    if tag == 6:
        kind = r.u8()
        if kind >= len(_AUTHORITY_TYPES):
            raise NotParsable(f"unknown authority type {kind}")
        new_authority = r.coption_pubkey()
        a.need(2)
        owned = "account" if _AUTHORITY_TYPES[kind] in ("accountOwner", "closeAccount") else "mint"
        info = {owned: a[0], "authorityType": _AUTHORITY_TYPES[kind], "newAuthority": new_authority}
        return parsed("setAuthority", signers(info, a, 1, "authority", "multisigAuthority"))
    if tag in (9, 10, 11):
        a.need(3)
        if tag == 9:
            info = {"account": a[0], "destination": a[1]}
            return parsed("closeAccount", signers(info, a, 2, "owner", "multisigOwner"))
        info = signers({"account": a[0], "mint": a[1]}, a, 2, "freezeAuthority", "multisigFreezeAuthority")
        return parsed("freezeAccount" if tag == 10 else "thawAccount", info)
    if tag in (12, 13, 14, 15):
        raw_amount, decimals = r.u64(), r.u8()
        token_amount = codec.ui_token_amount(raw_amount, decimals)
        if tag == 12:
            a.need(4)
            info = {"source": a[0], "mint": a[1], "destination": a[2], "tokenAmount": token_amount}
            return parsed("transferChecked", signers(info, a, 3, "authority", "multisigAuthority"))
        if tag == 13:
            a.need(4)
            info = {"source": a[0], "mint": a[1], "delegate": a[2], "tokenAmount": token_amount}
            return parsed("approveChecked", signers(info, a, 3, "owner", "multisigOwner"))
        a.need(3)
        if tag == 14:
            info = {"mint": a[0], "account": a[1], "tokenAmount": token_amount}
            return parsed("mintToChecked", signers(info, a, 2, "mintAuthority", "multisigMintAuthority"))
        info = {"account": a[0], "mint": a[1], "tokenAmount": token_amount}
        return parsed("burnChecked", signers(info, a, 2, "authority", "multisigAuthority"))
    if tag == 16:
        a.need(3)
        return parsed("initializeAccount2", {"account": a[0], "mint": a[1], "owner": r.pubkey(),
                                             "rentSysvar": a[2]})
    if tag == 17:
        a.need(1)
        return parsed("syncNative", {"account": a[0]})
    if tag == 18:
        a.need(2)
        return parsed("initializeAccount3", {"account": a[0], "mint": a[1], "owner": r.pubkey()})
    if tag == 20:
        a.need(1)
        return parsed("initializeMint2", _mint_init({"mint": a[0]}, r))
    if tag == 21:
        kinds = extension_types(r.rest())
        a.need(1)
        info = {"mint": a[0]}
        if kinds:  # the ATA program asks for immutableOwner here
            info["extensionTypes"] = kinds
        return parsed("getAccountDataSize", info)
    if tag == 22:
        a.need(1)
        return parsed("initializeImmutableOwner", {"account": a[0]})
    if tag == 23:
        a.need(1)
        return parsed("amountToUiAmount", {"mint": a[0], "amount": str(r.u64())})
    if tag == 24:
        ui_amount = utf8(r.rest())
        a.need(1)
        return parsed("uiAmountToAmount", {"mint": a[0], "uiAmount": ui_amount})
    raise NotParsable(f"unknown token instruction {tag}")


def _batch(data: bytes, a: Accounts) -> dict[str, Any]:
    """Batch: per inner instruction a u8 account count, a u8 data length and the data; the
    outer accounts are the inner ones', in order. One unparsable inner instruction (or a nested
    batch) makes the whole batch unparsable, as in agave."""
    r = Reader(data, 1)
    instructions = []
    used = 0
    while r.at < len(data):
        count, length = r.u8(), r.u8()
        inner = r.take(length)
        if used + count > len(a):
            raise NotParsable("batch lists more accounts than the instruction has")
        if inner[:1] == bytes([_BATCH]):
            raise NotParsable("nested batch")
        instructions.append(parse_token(inner, Accounts(a.keys[used : used + count])))
        used += count
    return parsed("batch", {"instructions": instructions})


def parse_token(data: bytes, a: Accounts) -> dict[str, Any]:
    if not data:
        raise NotParsable("no instruction data")
    tag = data[0]
    if tag < 25:
        return _base(tag, data, a)
    extension = EXTENSION_PARSERS.get(tag)
    if extension is not None:
        return extension(data, a)
    if tag == _BATCH:
        return _batch(data, a)
    return parse_interface(data, a)
