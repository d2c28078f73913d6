"""Token-2022 extensions of mints and token accounts in the account-decoder's jsonParsed form.

A Token-2022 mint or account longer than its base layout carries, after the 165-byte base (a
mint is padded up to it) and the account-type byte, a TLV list: u16 type, u16 length, value.
agave lists them as `extensions: [{"extension": name, "state": {...}}]` (no `state` for the
marker extensions), field by field as its parse_token_extension does: optional addresses (32
zero bytes) as null, ElGamal keys and ciphertexts in base64, f64 multipliers as Rust prints them.
TokenMetadata is the one variable-length value (borsh); the others are Pod structs of a fixed
size. A value that does not decode (wrong size, bad borsh, a mint's extension in an account or
the reverse) is "unparseableExtension", as is PermissionedBurn, whose state this node does not
decode.
"""
from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from solders.pubkey import Pubkey

_TLV_START: Final = 166  # 165-byte base + the account-type byte
_STATES: Final = {0: "uninitialized", 1: "initialized", 2: "frozen"}
_TOKEN_METADATA: Final = 19


def display_f64(value: float) -> str:
    """Rust's `f64::to_string`: the shortest text that reads back as the same value, never in
    exponent form, with no ".0" on whole numbers."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


class _Value:
    """Reads one extension's value field by field."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise ValueError("extension value too short")
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def num(self, n: int, signed: bool = False) -> int:
        return int.from_bytes(self.take(n), "little", signed=signed)

    def flag(self) -> bool:
        return self.take(1)[0] != 0

    def key(self) -> str:
        return str(Pubkey.from_bytes(self.take(32)))

    def optional_key(self) -> str | None:
        # OptionalNonZeroPubkey: all zeros means none.
        raw = self.take(32)
        return None if raw == bytes(32) else str(Pubkey.from_bytes(raw))

    def b64(self, n: int) -> str:
        return base64.b64encode(self.take(n)).decode("ascii")

    def optional_b64(self, n: int) -> str | None:
        raw = self.take(n)
        return None if raw == bytes(n) else base64.b64encode(raw).decode("ascii")

    def f64(self) -> str:
        (value,) = struct.unpack("<d", self.take(8))
        return display_f64(value)

    def borsh_str(self) -> str:
        return self.take(self.num(4)).decode()  # a UnicodeDecodeError is a ValueError


_ELGAMAL_KEY: Final = 32
_ELGAMAL_CIPHERTEXT: Final = 64
_AE_CIPHERTEXT: Final = 36


def _transfer_fee(v: _Value) -> dict[str, Any]:
    return {"epoch": v.num(8), "maximumFee": v.num(8), "transferFeeBasisPoints": v.num(2)}


def _transfer_fee_config(v: _Value) -> dict[str, Any]:
    return {"transferFeeConfigAuthority": v.optional_key(), "withdrawWithheldAuthority": v.optional_key(),
            "withheldAmount": v.num(8), "olderTransferFee": _transfer_fee(v),
            "newerTransferFee": _transfer_fee(v)}


def _confidential_transfer_mint(v: _Value) -> dict[str, Any]:
    return {"authority": v.optional_key(), "autoApproveNewAccounts": v.flag(),
            "auditorElgamalPubkey": v.optional_b64(_ELGAMAL_KEY)}


def _confidential_transfer_account(v: _Value) -> dict[str, Any]:
    return {
        "approved": v.flag(),
        "elgamalPubkey": v.b64(_ELGAMAL_KEY),
        "pendingBalanceLo": v.b64(_ELGAMAL_CIPHERTEXT),
        "pendingBalanceHi": v.b64(_ELGAMAL_CIPHERTEXT),
        "availableBalance": v.b64(_ELGAMAL_CIPHERTEXT),
        "decryptableAvailableBalance": v.b64(_AE_CIPHERTEXT),
        "allowConfidentialCredits": v.flag(),
        "allowNonConfidentialCredits": v.flag(),
        "pendingBalanceCreditCounter": v.num(8),
        "maximumPendingBalanceCreditCounter": v.num(8),
        "expectedPendingBalanceCreditCounter": v.num(8),
        "actualPendingBalanceCreditCounter": v.num(8),
    }


def _interest_bearing_config(v: _Value) -> dict[str, Any]:
    return {"rateAuthority": v.optional_key(), "initializationTimestamp": v.num(8, signed=True),
            "preUpdateAverageRate": v.num(2, signed=True), "lastUpdateTimestamp": v.num(8, signed=True),
            "currentRate": v.num(2, signed=True)}


def _confidential_transfer_fee_config(v: _Value) -> dict[str, Any]:
    # The withdraw-withheld ElGamal key is a plain (non-nullable) field: zeros show as base64.
    return {"authority": v.optional_key(), "withdrawWithheldAuthorityElgamalPubkey": v.b64(_ELGAMAL_KEY),
            "harvestToMintEnabled": v.flag(), "withheldAmount": v.b64(_ELGAMAL_CIPHERTEXT)}


def _token_metadata(v: _Value) -> dict[str, Any]:
    # Borsh, read as spl-token-metadata's unpack does: bytes after the value are ignored.
    update_authority, mint = v.optional_key(), v.key()
    name, symbol, uri = v.borsh_str(), v.borsh_str(), v.borsh_str()
    additional = [[v.borsh_str(), v.borsh_str()] for _ in range(v.num(4))]
    return {"updateAuthority": update_authority, "mint": mint, "name": name, "symbol": symbol,
            "uri": uri, "additionalMetadata": additional}


def _token_group(v: _Value) -> dict[str, Any]:
    return {"updateAuthority": v.optional_key(), "mint": v.key(), "size": v.num(8), "maxSize": v.num(8)}


def _token_group_member(v: _Value) -> dict[str, Any]:
    return {"mint": v.key(), "group": v.key(), "memberNumber": v.num(8)}


def _confidential_mint_burn(v: _Value) -> dict[str, Any]:
    return {"confidentialSupply": v.b64(_ELGAMAL_CIPHERTEXT), "decryptableSupply": v.b64(_AE_CIPHERTEXT),
            "supplyElgamalPubkey": v.b64(_ELGAMAL_KEY), "pendingBurn": v.b64(_ELGAMAL_CIPHERTEXT)}


def _scaled_ui_amount_config(v: _Value) -> dict[str, Any]:
    return {"authority": v.optional_key(), "multiplier": v.f64(),
            "newMultiplierEffectiveTimestamp": v.num(8, signed=True), "newMultiplier": v.f64()}


def _authority_and(field: str) -> Callable[[_Value], dict[str, Any]]:
    return lambda v: {"authority": v.optional_key(), field: v.optional_key()}


_MINT: Final = 1  # the account-type byte after the base layout
_ACCOUNT: Final = 2

# type: (name, the base it belongs to, value length (None: variable), state decoder, or None
# for a marker extension)
_Decoder = Callable[[_Value], dict[str, Any]]
_EXTENSIONS: Final[dict[int, tuple[str, int, int | None, _Decoder | None]]] = {
    1: ("transferFeeConfig", _MINT, 108, _transfer_fee_config),
    2: ("transferFeeAmount", _ACCOUNT, 8, lambda v: {"withheldAmount": v.num(8)}),
    3: ("mintCloseAuthority", _MINT, 32, lambda v: {"closeAuthority": v.optional_key()}),
    4: ("confidentialTransferMint", _MINT, 65, _confidential_transfer_mint),
    5: ("confidentialTransferAccount", _ACCOUNT, 295, _confidential_transfer_account),
    6: ("defaultAccountState", _MINT, 1, lambda v: {"accountState": _STATES.get(v.num(1), "uninitialized")}),
    7: ("immutableOwner", _ACCOUNT, 0, None),
    8: ("memoTransfer", _ACCOUNT, 1, lambda v: {"requireIncomingTransferMemos": v.flag()}),
    9: ("nonTransferable", _MINT, 0, None),
    10: ("interestBearingConfig", _MINT, 52, _interest_bearing_config),
    11: ("cpiGuard", _ACCOUNT, 1, lambda v: {"lockCpi": v.flag()}),
    12: ("permanentDelegate", _MINT, 32, lambda v: {"delegate": v.optional_key()}),
    13: ("nonTransferableAccount", _ACCOUNT, 0, None),
    14: ("transferHook", _MINT, 64, _authority_and("programId")),
    15: ("transferHookAccount", _ACCOUNT, 1, lambda v: {"transferring": v.flag()}),
    16: ("confidentialTransferFeeConfig", _MINT, 129, _confidential_transfer_fee_config),
    17: ("confidentialTransferFeeAmount", _ACCOUNT, 64, lambda v: {"withheldAmount": v.b64(_ELGAMAL_CIPHERTEXT)}),
    18: ("metadataPointer", _MINT, 64, _authority_and("metadataAddress")),
    _TOKEN_METADATA: ("tokenMetadata", _MINT, None, _token_metadata),
    20: ("groupPointer", _MINT, 64, _authority_and("groupAddress")),
    21: ("tokenGroup", _MINT, 80, _token_group),
    22: ("groupMemberPointer", _MINT, 64, _authority_and("memberAddress")),
    23: ("tokenGroupMember", _MINT, 72, _token_group_member),
    24: ("confidentialMintBurn", _MINT, 196, _confidential_mint_burn),
    25: ("scaledUiAmountConfig", _MINT, 56, _scaled_ui_amount_config),
    26: ("pausableConfig", _MINT, 33, lambda v: {"authority": v.optional_key(), "paused": v.flag()}),
    27: ("pausableAccount", _ACCOUNT, 0, None),
}


def _unparseable() -> dict[str, Any]:
    return {"extension": "unparseableExtension"}


def _ui_extension(kind: int, value: bytes, base: int) -> dict[str, Any]:
    known = _EXTENSIONS.get(kind)
    if known is None:
        return _unparseable()
    name, belongs_to, length, decode = known
    if decode is None:  # agave names a marker wherever it is found
        return {"extension": name}
    # Decoded only at its size and on its own base (a mint extension in an account is not).
    if (length is not None and length != len(value)) or belongs_to != base:
        return _unparseable()
    try:
        return {"extension": name, "state": decode(_Value(value))}
    except ValueError:  # a value too short for its layout, or bad UTF-8 in TokenMetadata
        return _unparseable()


def parse_extensions(data: bytes) -> list[dict[str, Any]]:
    """The extensions of Token-2022 mint or account data; [] for a base-layout one."""
    found: list[dict[str, Any]] = []
    index = _TLV_START
    # Like spl-token-2022's TLV walk: stop at an Uninitialized type or when no full header fits.
    while index + 4 <= len(data):
        kind = int.from_bytes(data[index : index + 2], "little")
        length = int.from_bytes(data[index + 2 : index + 4], "little")
        if kind == 0:
            break
        value = data[index + 4 : index + 4 + length]
        index += 4 + length
        found.append(_ui_extension(kind, value, data[_TLV_START - 1]) if len(value) == length else _unparseable())
    return found
