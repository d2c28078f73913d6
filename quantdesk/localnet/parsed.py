"""jsonParsed instructions, shaped like agave's transaction-status parsers.

An instruction of the System, SPL Token / Token-2022 (parsed_token.py: base and extension
instructions, the token-group and token-metadata interfaces), Associated Token Account or Memo
program becomes {program, programId, parsed, stackHeight} with parsed = {type, info} (a string for
Memo); anything else, or data these parsers reject (too short, unknown tag, too few accounts), is
shown partially decoded: {programId, accounts, data (base58), stackHeight}. Both programs of SPL
Token report as "spl-token", as agave does.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from solders.pubkey import Pubkey
from solders.transaction_metadata import InnerInstruction

from quantdesk.localnet import codec
from quantdesk.localnet.parsed_support import Accounts, NotParsable, Reader, parsed, utf8
from quantdesk.localnet.parsed_token import parse_token

ATA_PROGRAM_ID: Final = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM_IDS: Final = frozenset(
    Pubkey.from_string(k)
    for k in ("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
)


# -- System -----------------------------------------------------------------------------------


def _system(data: bytes, a: Accounts) -> dict[str, Any]:
    r = Reader(data)
    tag = r.u32()
    if tag == 0:
        a.need(2)
        info = {"source": a[0], "newAccount": a[1], "lamports": r.u64(), "space": r.u64(), "owner": r.pubkey()}
        return parsed("createAccount", info)
    if tag == 1:
        a.need(1)
        return parsed("assign", {"account": a[0], "owner": r.pubkey()})
    if tag == 2:
        a.need(2)
        return parsed("transfer", {"source": a[0], "destination": a[1], "lamports": r.u64()})
    if tag == 3:
        a.need(2)
        base, seed = r.pubkey(), r.bincode_str()
        info = {"source": a[0], "newAccount": a[1], "base": base, "seed": seed,
                "lamports": r.u64(), "space": r.u64(), "owner": r.pubkey()}
        return parsed("createAccountWithSeed", info)
    if tag == 4:
        a.need(3)
        return parsed("advanceNonce", {"nonceAccount": a[0], "recentBlockhashesSysvar": a[1],
                                        "nonceAuthority": a[2]})
    if tag == 5:
        a.need(5)
        return parsed("withdrawFromNonce", {
            "nonceAccount": a[0], "destination": a[1], "recentBlockhashesSysvar": a[2],
            "rentSysvar": a[3], "nonceAuthority": a[4], "lamports": r.u64()})
    if tag == 6:
        a.need(3)
        return parsed("initializeNonce", {"nonceAccount": a[0], "recentBlockhashesSysvar": a[1],
                                           "rentSysvar": a[2], "nonceAuthority": r.pubkey()})
    if tag == 7:
        a.need(2)
        return parsed("authorizeNonce", {"nonceAccount": a[0], "nonceAuthority": a[1],
                                          "newAuthorized": r.pubkey()})
    if tag == 8:
        a.need(1)
        return parsed("allocate", {"account": a[0], "space": r.u64()})
    if tag == 9:
        a.need(1)
        base, seed = r.pubkey(), r.bincode_str()
        return parsed("allocateWithSeed", {"account": a[0], "base": base, "seed": seed,
                                            "space": r.u64(), "owner": r.pubkey()})
    if tag == 10:
        a.need(1)
        base, seed = r.pubkey(), r.bincode_str()
        return parsed("assignWithSeed", {"account": a[0], "base": base, "seed": seed,
                                          "owner": r.pubkey()})
    if tag == 11:
        a.need(3)
        lamports, seed = r.u64(), r.bincode_str()
        return parsed("transferWithSeed", {
            "source": a[0], "sourceBase": a[1], "destination": a[2], "lamports": lamports,
            "sourceSeed": seed, "sourceOwner": r.pubkey()})
    if tag == 12:
        a.need(1)
        return parsed("upgradeNonce", {"nonceAccount": a[0]})
    raise NotParsable(f"unknown system instruction {tag}")


# -- Associated Token Account, Memo -----------------------------------------------------------


def _associated_token(data: bytes, a: Accounts) -> dict[str, Any]:
    # Borsh enum; the original Create carried no data at all. Borsh wants every byte consumed.
    tag = 0 if not data else data[0]
    if len(data) > 1 or tag > 2:
        raise NotParsable("invalid associated token account instruction")
    if tag == 2:
        a.need(7)
        return parsed("recoverNested", {
            "nestedSource": a[0], "nestedMint": a[1], "destination": a[2], "nestedOwner": a[3],
            "ownerMint": a[4], "wallet": a[5], "tokenProgram": a[6]})
    a.need(6)
    return parsed("create" if tag == 0 else "createIdempotent", {
        "source": a[0], "account": a[1], "wallet": a[2], "mint": a[3], "systemProgram": a[4],
        "tokenProgram": a[5]})


def _memo(data: bytes, a: Accounts) -> str:
    return utf8(data)


_PARSERS: Final[dict[Pubkey, tuple[str, Callable[[bytes, Accounts], Any]]]] = {
    codec.SYSTEM_PROGRAM_ID: ("system", _system),
    codec.TOKEN_PROGRAM_ID: ("spl-token", parse_token),
    codec.TOKEN_2022_PROGRAM_ID: ("spl-token", parse_token),
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
            decoded = parse(data, Accounts.of(keys, indexes))
        except NotParsable:
            pass
        else:
            return {"program": program, "programId": str(program_id), "parsed": decoded,
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
