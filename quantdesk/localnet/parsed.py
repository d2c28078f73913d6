"""jsonParsed instructions, shaped like agave's transaction-status parsers.

An instruction of the System, SPL Token / Token-2022 (base instructions, not the extension
ones), Associated Token Account or Memo program becomes {program, programId, parsed, stackHeight}
with parsed = {type, info} (a string for Memo); anything else, or data these parsers reject (too
short, unknown tag, too few accounts), is shown partially decoded: {programId, accounts, data
(base58), stackHeight}. Both programs of SPL Token report as "spl-token", as agave does.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from solders.pubkey import Pubkey
from solders.transaction_metadata import InnerInstruction

from quantdesk.localnet import codec

ATA_PROGRAM_ID: Final = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM_IDS: Final = frozenset(
    Pubkey.from_string(k)
    for k in ("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
)


class NotParsable(Exception):
    """The instruction does not decode as its program's instruction (agave
    ParseInstructionError): it is then shown partially decoded."""


class _Reader:
    """Little-endian fields of instruction data (bincode/borsh/the token program's own packing)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise NotParsable("instruction data too short")
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "little")

    def pubkey(self) -> str:
        return str(Pubkey.from_bytes(self.take(32)))

    def bincode_str(self) -> str:
        try:
            return self.take(self.u64()).decode()
        except UnicodeDecodeError as exc:
            raise NotParsable("seed is not UTF-8") from exc

    def coption_pubkey(self) -> str | None:
        """The token program's COption<Pubkey> in instruction data: a 1-byte tag, then the key."""
        tag = self.u8()
        if tag == 0:
            return None
        if tag == 1:
            return self.pubkey()
        raise NotParsable("invalid option tag")


class _Accounts:
    """The instruction's accounts as addresses, with agave's minimum-count check."""

    def __init__(self, keys: Sequence[Pubkey], indexes: bytes) -> None:
        self.keys = [str(keys[i]) for i in indexes]

    def need(self, n: int) -> None:
        if len(self.keys) < n:
            raise NotParsable("not enough accounts")

    def __getitem__(self, i: int) -> str:
        return self.keys[i]


def _parsed(type_: str, info: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "info": info}


# -- System -----------------------------------------------------------------------------------


def _system(data: bytes, a: _Accounts) -> dict[str, Any]:
    r = _Reader(data)
    tag = r.u32()
    if tag == 0:
        a.need(2)
        info = {"source": a[0], "newAccount": a[1], "lamports": r.u64(), "space": r.u64(), "owner": r.pubkey()}
        return _parsed("createAccount", info)
    if tag == 1:
        a.need(1)
        return _parsed("assign", {"account": a[0], "owner": r.pubkey()})
    if tag == 2:
        a.need(2)
        return _parsed("transfer", {"source": a[0], "destination": a[1], "lamports": r.u64()})
    if tag == 3:
        a.need(2)
        base, seed = r.pubkey(), r.bincode_str()
        info = {"source": a[0], "newAccount": a[1], "base": base, "seed": seed,
                "lamports": r.u64(), "space": r.u64(), "owner": r.pubkey()}
        return _parsed("createAccountWithSeed", info)
    if tag == 4:
        a.need(3)
        return _parsed("advanceNonce", {"nonceAccount": a[0], "recentBlockhashesSysvar": a[1],
                                        "nonceAuthority": a[2]})
    if tag == 5:
        a.need(5)
        return _parsed("withdrawFromNonce", {
            "nonceAccount": a[0], "destination": a[1], "recentBlockhashesSysvar": a[2],
            "rentSysvar": a[3], "nonceAuthority": a[4], "lamports": r.u64()})
    if tag == 6:
        a.need(3)
        return _parsed("initializeNonce", {"nonceAccount": a[0], "recentBlockhashesSysvar": a[1],
                                           "rentSysvar": a[2], "nonceAuthority": r.pubkey()})
    if tag == 7:
        a.need(2)
        return _parsed("authorizeNonce", {"nonceAccount": a[0], "nonceAuthority": a[1],
                                          "newAuthorized": r.pubkey()})
    if tag == 8:
        a.need(1)
        return _parsed("allocate", {"account": a[0], "space": r.u64()})
    if tag == 9:
        a.need(1)
        base, seed = r.pubkey(), r.bincode_str()
        return _parsed("allocateWithSeed", {"account": a[0], "base": base, "seed": seed,
                                            "space": r.u64(), "owner": r.pubkey()})
    if tag == 10:
        a.need(1)
        base, seed = r.pubkey(), r.bincode_str()
        return _parsed("assignWithSeed", {"account": a[0], "base": base, "seed": seed,
                                          "owner": r.pubkey()})
    if tag == 11:
        a.need(3)
        lamports, seed = r.u64(), r.bincode_str()
        return _parsed("transferWithSeed", {
            "source": a[0], "sourceBase": a[1], "destination": a[2], "lamports": lamports,
            "sourceSeed": seed, "sourceOwner": r.pubkey()})
    if tag == 12:
        a.need(1)
        return _parsed("upgradeNonce", {"nonceAccount": a[0]})
    raise NotParsable(f"unknown system instruction {tag}")


# -- SPL Token / Token-2022 (base instructions) ----------------------------------------------

# agave's UiAuthorityType names, by the token program's AuthorityType tag.
_AUTHORITY_TYPES: Final = (
    "mintTokens", "freezeAccount", "accountOwner", "closeAccount", "transferFeeConfig",
    "withheldWithdraw", "closeMint", "interestRate", "permanentDelegate",
    "confidentialTransferMint", "transferHookProgramId", "confidentialTransferFeeConfig",
    "metadataPointer", "groupPointer", "groupMemberPointer", "scaledUiAmount", "pause",
)

# agave's UiExtensionType names, by Token-2022's ExtensionType (u16) value.
_EXTENSION_TYPES: Final = (
    "uninitialized", "transferFeeConfig", "transferFeeAmount", "mintCloseAuthority",
    "confidentialTransferMint", "confidentialTransferAccount", "defaultAccountState",
    "immutableOwner", "memoTransfer", "nonTransferable", "interestBearingConfig", "cpiGuard",
    "permanentDelegate", "nonTransferableAccount", "transferHook", "transferHookAccount",
    "confidentialTransferFeeConfig", "confidentialTransferFeeAmount", "metadataPointer",
    "tokenMetadata", "groupPointer", "tokenGroup", "groupMemberPointer", "tokenGroupMember",
    "confidentialMintBurn", "scaledUiAmountConfig", "pausableConfig", "pausableAccount",
)


def _signers(info: dict[str, Any], a: _Accounts, index: int, single: str, multisig: str) -> None:
    """The authority at `index`: a plain signer, or a multisig followed by its signers."""
    a.need(index + 1)
    if len(a.keys) > index + 1:
        info[multisig] = a[index]
        info["signers"] = a.keys[index + 1 :]
    else:
        info[single] = a[index]


def _mint_init(info: dict[str, Any], r: _Reader) -> dict[str, Any]:
    info["decimals"] = r.u8()
    info["mintAuthority"] = r.pubkey()
    freeze = r.coption_pubkey()
    if freeze is not None:
        info["freezeAuthority"] = freeze
    return info


def _token(data: bytes, a: _Accounts) -> dict[str, Any]:  # noqa: C901 - one branch per tag
    r = _Reader(data)
    tag = r.u8()
    info: dict[str, Any]
    if tag == 0:
        a.need(2)
        info = _mint_init({"mint": a[0]}, r)
        info["rentSysvar"] = a[1]
        return _parsed("initializeMint", info)
    if tag == 1:
        a.need(4)
        return _parsed("initializeAccount", {"account": a[0], "mint": a[1], "owner": a[2],
                                             "rentSysvar": a[3]})
    if tag in (2, 19):
        m = r.u8()
        if tag == 2:
            a.need(3)
            return _parsed("initializeMultisig", {"multisig": a[0], "rentSysvar": a[1],
                                                  "signers": a.keys[2:], "m": m})
        a.need(2)
        return _parsed("initializeMultisig2", {"multisig": a[0], "signers": a.keys[1:], "m": m})
    if tag in (3, 4, 7, 8):
        amount = str(r.u64())
        a.need(3)
        if tag == 3:
            info = {"source": a[0], "destination": a[1], "amount": amount}
            _signers(info, a, 2, "authority", "multisigAuthority")
            return _parsed("transfer", info)
        if tag == 4:
            info = {"source": a[0], "delegate": a[1], "amount": amount}
            _signers(info, a, 2, "owner", "multisigOwner")
            return _parsed("approve", info)
        if tag == 7:
            info = {"mint": a[0], "account": a[1], "amount": amount}
            _signers(info, a, 2, "mintAuthority", "multisigMintAuthority")
            return _parsed("mintTo", info)
        info = {"account": a[0], "mint": a[1], "amount": amount}
        _signers(info, a, 2, "authority", "multisigAuthority")
        return _parsed("burn", info)
    if tag == 5:
        a.need(2)
        info = {"source": a[0]}
        _signers(info, a, 1, "owner", "multisigOwner")
        return _parsed("revoke", info)
    if tag == 6:
        kind = r.u8()
        if kind >= len(_AUTHORITY_TYPES):
            raise NotParsable(f"unknown authority type {kind}")
        new_authority = r.coption_pubkey()
        a.need(2)
        owned = "account" if _AUTHORITY_TYPES[kind] in ("accountOwner", "closeAccount") else "mint"
        info = {owned: a[0], "authorityType": _AUTHORITY_TYPES[kind], "newAuthority": new_authority}
        _signers(info, a, 1, "authority", "multisigAuthority")
        return _parsed("setAuthority", info)
    if tag in (9, 10, 11):
        a.need(3)
        if tag == 9:
            info = {"account": a[0], "destination": a[1]}
            _signers(info, a, 2, "owner", "multisigOwner")
            return _parsed("closeAccount", info)
        info = {"account": a[0], "mint": a[1]}
        _signers(info, a, 2, "freezeAuthority", "multisigFreezeAuthority")
        return _parsed("freezeAccount" if tag == 10 else "thawAccount", info)
    if tag in (12, 13, 14, 15):
        raw_amount, decimals = r.u64(), r.u8()
        token_amount = codec.ui_token_amount(raw_amount, decimals)
        if tag == 12:
            a.need(4)
            info = {"source": a[0], "mint": a[1], "destination": a[2], "tokenAmount": token_amount}
            _signers(info, a, 3, "authority", "multisigAuthority")
            return _parsed("transferChecked", info)
        if tag == 13:
            a.need(4)
            info = {"source": a[0], "mint": a[1], "delegate": a[2], "tokenAmount": token_amount}
            _signers(info, a, 3, "owner", "multisigOwner")
            return _parsed("approveChecked", info)
        a.need(3)
        if tag == 14:
            info = {"mint": a[0], "account": a[1], "tokenAmount": token_amount}
            _signers(info, a, 2, "mintAuthority", "multisigMintAuthority")
            return _parsed("mintToChecked", info)
        info = {"account": a[0], "mint": a[1], "tokenAmount": token_amount}
        _signers(info, a, 2, "authority", "multisigAuthority")
        return _parsed("burnChecked", info)
    if tag == 16:
        a.need(3)
        return _parsed("initializeAccount2", {"account": a[0], "mint": a[1], "owner": r.pubkey(),
                                              "rentSysvar": a[2]})
    if tag == 17:
        a.need(1)
        return _parsed("syncNative", {"account": a[0]})
    if tag == 18:
        a.need(2)
        return _parsed("initializeAccount3", {"account": a[0], "mint": a[1], "owner": r.pubkey()})
    if tag == 20:
        a.need(1)
        return _parsed("initializeMint2", _mint_init({"mint": a[0]}, r))
    if tag == 21:
        a.need(1)
        info = {"mint": a[0]}
        rest = data[1:]
        if len(rest) % 2:
            raise NotParsable("odd extension type bytes")
        kinds = [int.from_bytes(rest[i : i + 2], "little") for i in range(0, len(rest), 2)]
        if any(kind >= len(_EXTENSION_TYPES) for kind in kinds):
            raise NotParsable("unknown extension type")
        if kinds:  # the ATA program asks for immutableOwner here
            info["extensionTypes"] = [_EXTENSION_TYPES[kind] for kind in kinds]
        return _parsed("getAccountDataSize", info)
    if tag == 22:
        a.need(1)
        return _parsed("initializeImmutableOwner", {"account": a[0]})
    if tag == 23:
        a.need(1)
        return _parsed("amountToUiAmount", {"mint": a[0], "amount": str(r.u64())})
    if tag == 24:
        a.need(1)
        try:
            ui_amount = data[1:].decode()
        except UnicodeDecodeError as exc:
            raise NotParsable("uiAmount is not UTF-8") from exc
        return _parsed("uiAmountToAmount", {"mint": a[0], "uiAmount": ui_amount})
    raise NotParsable(f"token instruction {tag} is not parsed here")


# -- Associated Token Account, Memo -----------------------------------------------------------


def _associated_token(data: bytes, a: _Accounts) -> dict[str, Any]:
    # Borsh enum; the original Create carried no data at all. Borsh wants every byte consumed.
    tag = 0 if not data else data[0]
    if len(data) > 1 or tag > 2:
        raise NotParsable("invalid associated token account instruction")
    if tag == 2:
        a.need(7)
        return _parsed("recoverNested", {
            "nestedSource": a[0], "nestedMint": a[1], "destination": a[2], "nestedOwner": a[3],
            "ownerMint": a[4], "wallet": a[5], "tokenProgram": a[6]})
    a.need(6)
    return _parsed("create" if tag == 0 else "createIdempotent", {
        "source": a[0], "account": a[1], "wallet": a[2], "mint": a[3], "systemProgram": a[4],
        "tokenProgram": a[5]})


def _memo(data: bytes, a: _Accounts) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise NotParsable("memo is not UTF-8") from exc


_PARSERS: Final[dict[Pubkey, tuple[str, Callable[[bytes, _Accounts], Any]]]] = {
    codec.SYSTEM_PROGRAM_ID: ("system", _system),
    codec.TOKEN_PROGRAM_ID: ("spl-token", _token),
    codec.TOKEN_2022_PROGRAM_ID: ("spl-token", _token),
    ATA_PROGRAM_ID: ("spl-associated-token-account", _associated_token),
    **{memo: ("spl-memo", _memo) for memo in MEMO_PROGRAM_IDS},
}


def stack_height(ii: InnerInstruction) -> int:
    # solders 0.26's stub lacks InnerInstruction.stack_height; the extension module has it (a u8).
    height: int = ii.stack_height()  # type: ignore[attr-defined]
    return height


def ui_instruction(ix: Any, keys: Sequence[Pubkey], stack_height: int | None) -> dict[str, Any]:
    """One compiled instruction (indexes into `keys`, the full account list) in jsonParsed form."""
    program_id = keys[ix.program_id_index]
    indexes, data = bytes(ix.accounts), bytes(ix.data)
    parser = _PARSERS.get(program_id)
    if parser is not None:
        program, parse = parser
        try:
            parsed = parse(data, _Accounts(keys, indexes))
        except NotParsable:
            pass
        else:
            return {"program": program, "programId": str(program_id), "parsed": parsed,
                    "stackHeight": stack_height}
    return {
        "programId": str(program_id),
        "accounts": [str(keys[i]) for i in indexes],
        "data": codec.b58encode(data),
        "stackHeight": stack_height,
    }


def ui_inner_instructions(
    inner: list[list[InnerInstruction]], keys: Sequence[Pubkey]
) -> list[dict[str, Any]]:
    """innerInstructions in jsonParsed form: the groups of the instructions that made CPIs."""
    return [
        {
            "index": index,
            "instructions": [ui_instruction(ii.instruction(), keys, stack_height(ii)) for ii in group],
        }
        for index, group in enumerate(inner)
        if group
    ]
