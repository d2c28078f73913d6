"""jsonParsed Token-2022 extension instructions (tags 25 and up), as agave's
transaction-status `parse_token/extension/*`.

Types and field names are agave's (camelCase types such as "transferCheckedWithFee",
"enableRequiredMemoTransfers"); an authority that may be a multisig is reported as agave's
parse_signers does (`authority`, or `multisigAuthority` plus `signers`). Sub-instruction data
laid out as a Pod struct must have exactly its size, as spl-token-2022's
decode_instruction_data demands.

Not decoded here: the confidential-transfer families (ConfidentialTransferExtension 27,
ConfidentialTransferFeeExtension 37, ConfidentialMintBurnExtension 42 and the confidential
burn of PermissionedBurnExtension 46). Their data is ElGamal ciphertexts and zero-knowledge
proof locations; agave renders them as base64 blobs and proof-offset bookkeeping, which this
node shows instead the way agave shows any instruction it does not parse: partially decoded
(programId, accounts, base58 data).
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

from quantdesk.localnet import codec
from quantdesk.localnet.parsed_support import Accounts, NotParsable, Reader, parsed, signers
from quantdesk.localnet.token_extensions import display_f64

# agave's UiExtensionType names, by Token-2022's ExtensionType (u16) value.
_EXTENSION_TYPES: Final = (
    "uninitialized", "transferFeeConfig", "transferFeeAmount", "mintCloseAuthority",
    "confidentialTransferMint", "confidentialTransferAccount", "defaultAccountState",
    "immutableOwner", "memoTransfer", "nonTransferable", "interestBearingConfig", "cpiGuard",
    "permanentDelegate", "nonTransferableAccount", "transferHook", "transferHookAccount",
    "confidentialTransferFeeConfig", "confidentialTransferFeeAmount", "metadataPointer",
    "tokenMetadata", "groupPointer", "tokenGroup", "groupMemberPointer", "tokenGroupMember",
    "confidentialMintBurn", "scaledUiAmount", "pausable", "pausableAccount", "permissionedBurn",
)
_ACCOUNT_STATES: Final = ("uninitialized", "initialized", "frozen")

Parser = Callable[[bytes, Accounts], dict[str, Any]]


def extension_types(raw: bytes) -> list[str]:
    """A list of u16 ExtensionTypes (GetAccountDataSize, Reallocate); any unknown one, or an odd
    byte, fails the whole instruction."""
    if len(raw) % 2:
        raise NotParsable("odd extension type bytes")
    kinds = [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]
    if any(kind >= len(_EXTENSION_TYPES) for kind in kinds):
        raise NotParsable("unknown extension type")
    return [_EXTENSION_TYPES[kind] for kind in kinds]


def _sub(data: bytes) -> int:
    """The sub-instruction byte after the extension's tag."""
    if len(data) < 2:
        raise NotParsable("no sub-instruction")
    return data[1]


def _pod(data: bytes, size: int) -> Reader:
    """A reader of the sub-instruction's Pod data, which must be exactly `size` bytes."""
    if len(data) != 2 + size:
        raise NotParsable("sub-instruction data of the wrong size")
    return Reader(data, 2)


def _optional(info: dict[str, Any], key: str, value: str | None) -> None:
    # agave leaves absent addresses out of these instructions' info (not null).
    if value is not None:
        info[key] = value


def _mint_close_authority(data: bytes, a: Accounts) -> dict[str, Any]:
    close_authority = Reader(data, 1).coption_pubkey()
    a.need(1)
    return parsed("initializeMintCloseAuthority", {"mint": a[0], "newAuthority": close_authority})


def _transfer_fee(data: bytes, a: Accounts) -> dict[str, Any]:  # noqa: C901 - one branch per sub-instruction
    sub, r = _sub(data), Reader(data, 2)
    info: dict[str, Any]
    if sub == 0:
        config_authority, withdraw_authority = r.coption_pubkey(), r.coption_pubkey()
        bps, maximum_fee = r.u16(), r.u64()
        a.need(1)
        info = {"mint": a[0], "transferFeeBasisPoints": bps, "maximumFee": maximum_fee}
        _optional(info, "transferFeeConfigAuthority", config_authority)
        _optional(info, "withdrawWithheldAuthority", withdraw_authority)
        return parsed("initializeTransferFeeConfig", info)
    if sub == 1:
        amount, decimals, fee = r.u64(), r.u8(), r.u64()
        a.need(4)
        info = {"source": a[0], "mint": a[1], "destination": a[2],
                "tokenAmount": codec.ui_token_amount(amount, decimals),
                "feeAmount": codec.ui_token_amount(fee, decimals)}
        return parsed("transferCheckedWithFee", signers(info, a, 3, "authority", "multisigAuthority"))
    if sub == 2:
        a.need(3)
        info = {"mint": a[0], "feeRecipient": a[1]}
        signers(info, a, 2, "withdrawWithheldAuthority", "multisigWithdrawWithheldAuthority")
        return parsed("withdrawWithheldTokensFromMint", info)
    if sub == 3:
        sources = r.u8()
        a.need(3 + sources)
        first_source = len(a) - sources
        info = {"mint": a[0], "feeRecipient": a[1], "sourceAccounts": a.keys[first_source:]}
        signers(info, Accounts(a.keys[:first_source]), 2, "withdrawWithheldAuthority",
                "multisigWithdrawWithheldAuthority")
        return parsed("withdrawWithheldTokensFromAccounts", info)
    if sub == 4:
        a.need(1)
        return parsed("harvestWithheldTokensToMint", {"mint": a[0], "sourceAccounts": a.keys[1:]})
    if sub == 5:
        bps, maximum_fee = r.u16(), r.u64()
        a.need(2)
        info = {"mint": a[0], "transferFeeBasisPoints": bps, "maximumFee": maximum_fee}
        # agave's field name, lower-case "t" and all.
        signers(info, a, 1, "transferFeeConfigAuthority", "multisigtransferFeeConfigAuthority")
        return parsed("setTransferFee", info)
    raise NotParsable(f"unknown transfer-fee instruction {sub}")


def _confidential(data: bytes, a: Accounts) -> dict[str, Any]:
    raise NotParsable("confidential-transfer instructions are shown partially decoded")


def _default_account_state(data: bytes, a: Accounts) -> dict[str, Any]:
    sub, state = _sub(data), _pod(data, 1).u8()
    if sub > 1 or state >= len(_ACCOUNT_STATES):
        raise NotParsable("invalid default-account-state instruction")
    a.need(1 + sub)
    info = {"mint": a[0], "accountState": _ACCOUNT_STATES[state]}
    if sub == 0:
        return parsed("initializeDefaultAccountState", info)
    signers(info, a, 1, "freezeAuthority", "multisigFreezeAuthority")
    return parsed("updateDefaultAccountState", info)


def _reallocate(data: bytes, a: Accounts) -> dict[str, Any]:
    kinds = extension_types(data[1:])
    a.need(4)
    info = {"account": a[0], "payer": a[1], "systemProgram": a[2], "extensionTypes": kinds}
    return parsed("reallocate", signers(info, a, 3, "owner", "multisigOwner"))


def _toggle(name: str) -> Parser:
    """MemoTransfer and CpiGuard: sub-instruction 0 enables, 1 disables, for an account's owner."""

    def parse(data: bytes, a: Accounts) -> dict[str, Any]:
        sub = _sub(data)
        a.need(2)
        if sub > 1:
            raise NotParsable(f"unknown {name} instruction {sub}")
        info = signers({"account": a[0]}, a, 1, "owner", "multisigOwner")
        return parsed(("enable" if sub == 0 else "disable") + name, info)

    return parse


def _create_native_mint(data: bytes, a: Accounts) -> dict[str, Any]:
    a.need(3)
    return parsed("createNativeMint", {"payer": a[0], "nativeMint": a[1], "systemProgram": a[2]})


def _non_transferable_mint(data: bytes, a: Accounts) -> dict[str, Any]:
    a.need(1)
    return parsed("initializeNonTransferableMint", {"mint": a[0]})


def _interest_bearing(data: bytes, a: Accounts) -> dict[str, Any]:
    sub = _sub(data)
    if sub == 0:
        r = _pod(data, 34)
        rate_authority, rate = r.nonzero_pubkey(), r.i16()
        a.need(1)
        return parsed("initializeInterestBearingConfig",
                      {"mint": a[0], "rateAuthority": rate_authority, "rate": rate})
    if sub == 1:
        new_rate = _pod(data, 2).i16()
        a.need(2)
        info = signers({"mint": a[0], "newRate": new_rate}, a, 1, "rateAuthority", "multisigRateAuthority")
        return parsed("updateInterestBearingConfigRate", info)
    raise NotParsable(f"unknown interest-bearing instruction {sub}")


def _permanent_delegate(data: bytes, a: Accounts) -> dict[str, Any]:
    delegate = Reader(data, 1).pubkey()
    a.need(1)
    return parsed("initializePermanentDelegate", {"mint": a[0], "delegate": delegate})


def _pointer(name: str, address_field: str) -> Parser:
    """TransferHook, MetadataPointer, GroupPointer, GroupMemberPointer: Initialize(authority,
    address) and Update(address), each address optional (zeros: none, left out)."""

    def parse(data: bytes, a: Accounts) -> dict[str, Any]:
        sub = _sub(data)
        info: dict[str, Any]
        if sub == 0:
            r = _pod(data, 64)
            authority, address = r.nonzero_pubkey(), r.nonzero_pubkey()
            a.need(1)
            info = {"mint": a[0]}
            _optional(info, "authority", authority)
            _optional(info, address_field, address)
            return parsed("initialize" + name, info)
        if sub == 1:
            address = _pod(data, 32).nonzero_pubkey()
            a.need(2)
            info = {"mint": a[0]}
            _optional(info, address_field, address)
            return parsed("update" + name, signers(info, a, 1, "authority", "multisigAuthority"))
        raise NotParsable(f"unknown {name} instruction {sub}")

    return parse


def _withdraw_excess_lamports(data: bytes, a: Accounts) -> dict[str, Any]:
    a.need(3)
    info = {"source": a[0], "destination": a[1]}
    return parsed("withdrawExcessLamports", signers(info, a, 2, "authority", "multisigAuthority"))


def _f64(r: Reader) -> str:
    # agave shows the multiplier as Rust's f64 Display text.
    (value,) = struct.unpack("<d", r.take(8))
    return display_f64(value)


def _scaled_ui_amount(data: bytes, a: Accounts) -> dict[str, Any]:
    sub = _sub(data)
    if sub == 0:
        r = _pod(data, 40)
        authority, multiplier = r.nonzero_pubkey(), _f64(r)
        a.need(1)
        return parsed("initializeScaledUiAmountConfig",
                      {"mint": a[0], "authority": authority, "multiplier": multiplier})
    if sub == 1:
        r = _pod(data, 16)
        multiplier, timestamp = _f64(r), r.i64()
        a.need(2)
        info = {"mint": a[0], "newMultiplier": multiplier, "newMultiplierTimestamp": timestamp}
        return parsed("updateMultiplier", signers(info, a, 1, "authority", "multisigAuthority"))
    raise NotParsable(f"unknown scaled-ui-amount instruction {sub}")


def _pausable(data: bytes, a: Accounts) -> dict[str, Any]:
    sub = _sub(data)
    if sub == 0:
        authority = _pod(data, 32).pubkey()
        a.need(1)
        return parsed("initializePausableConfig", {"mint": a[0], "authority": authority})
    if sub in (1, 2):
        a.need(2)
        info = signers({"mint": a[0]}, a, 1, "authority", "multisigAuthority")
        return parsed("pause" if sub == 1 else "resume", info)
    raise NotParsable(f"unknown pausable instruction {sub}")


def _unwrap_lamports(data: bytes, a: Accounts) -> dict[str, Any]:
    r = Reader(data, 1)
    amount = r.u64() if r.option_tag() else None
    a.need(3)
    info: dict[str, Any] = {"source": a[0], "destination": a[1]}
    if amount is not None:
        info["amount"] = str(amount)
    return parsed("unwrapLamports", signers(info, a, 2, "authority", "multisigAuthority"))


def _permissioned_burn(data: bytes, a: Accounts) -> dict[str, Any]:
    sub = _sub(data)
    if sub == 0:
        authority = _pod(data, 32).pubkey()
        a.need(1)
        return parsed("initializePermissionedBurnConfig", {"mint": a[0], "authority": authority})
    if sub in (1, 2):
        r = _pod(data, 8 if sub == 1 else 9)
        amount = r.u64()
        a.need(4)
        info: dict[str, Any] = {"account": a[0], "mint": a[1], "permissionedBurnAuthority": a[2]}
        if sub == 1:
            info["amount"] = str(amount)
            kind = "permissionedBurn"
        else:
            info["tokenAmount"] = codec.ui_token_amount(amount, r.u8())
            kind = "permissionedBurnChecked"
        return parsed(kind, signers(info, a, 3, "authority", "multisigAuthority"))
    return _confidential(data, a)  # 3, ConfidentialBurn (and unknown ones, which fail as well)


EXTENSION_PARSERS: Final[dict[int, Parser]] = {
    25: _mint_close_authority,
    26: _transfer_fee,
    27: _confidential,
    28: _default_account_state,
    29: _reallocate,
    30: _toggle("RequiredMemoTransfers"),
    31: _create_native_mint,
    32: _non_transferable_mint,
    33: _interest_bearing,
    34: _toggle("CpiGuard"),
    35: _permanent_delegate,
    36: _pointer("TransferHook", "programId"),
    37: _confidential,
    38: _withdraw_excess_lamports,
    39: _pointer("MetadataPointer", "metadataAddress"),
    40: _pointer("GroupPointer", "groupAddress"),
    41: _pointer("GroupMemberPointer", "memberAddress"),
    42: _confidential,
    43: _scaled_ui_amount,
    44: _pausable,
    45: _unwrap_lamports,
    46: _permissioned_burn,
}
"""The parser of each Token-2022 extension instruction, by its instruction tag."""
