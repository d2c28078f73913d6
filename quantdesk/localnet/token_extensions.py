"""Token-2022 extensions of mints and token accounts in the account-decoder's jsonParsed form.

A Token-2022 mint or account longer than its base layout carries, after the 165-byte base (a
mint is padded up to it) and the account-type byte, a TLV list: u16 type, u16 length, value.
agave lists them as `extensions: [{"extension": name, "state": {...}}]` (no `state` for the
marker extensions). The fixed-size extensions are decoded here; the confidential-transfer,
transfer-fee-config, interest-bearing, scaled-amount, token-metadata and group ones are listed
as "unparseableExtension" (their state is not decoded by this node).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from solders.pubkey import Pubkey

_TLV_START: Final = 166  # 165-byte base + the account-type byte
_STATES: Final = {0: "uninitialized", 1: "initialized", 2: "frozen"}


def _optional_key(value: bytes, offset: int = 0) -> str | None:
    # OptionalNonZeroPubkey: all zeros means none.
    raw = value[offset : offset + 32]
    return None if raw == bytes(32) else str(Pubkey.from_bytes(raw))


def _authority_and(field: str) -> Callable[[bytes], dict[str, Any]]:
    return lambda v: {"authority": _optional_key(v), field: _optional_key(v, 32)}


# type: (name, value length, state decoder or None for a marker extension)
_Decoder = Callable[[bytes], dict[str, Any]]
_EXTENSIONS: Final[dict[int, tuple[str, int, _Decoder | None]]] = {
    2: ("transferFeeAmount", 8, lambda v: {"withheldAmount": int.from_bytes(v, "little")}),
    3: ("mintCloseAuthority", 32, lambda v: {"closeAuthority": _optional_key(v)}),
    6: ("defaultAccountState", 1, lambda v: {"accountState": _STATES.get(v[0], "uninitialized")}),
    7: ("immutableOwner", 0, None),
    8: ("memoTransfer", 1, lambda v: {"requireIncomingTransferMemos": v[0] != 0}),
    9: ("nonTransferable", 0, None),
    11: ("cpiGuard", 1, lambda v: {"lockCpi": v[0] != 0}),
    12: ("permanentDelegate", 32, lambda v: {"delegate": _optional_key(v)}),
    13: ("nonTransferableAccount", 0, None),
    14: ("transferHook", 64, _authority_and("programId")),
    15: ("transferHookAccount", 1, lambda v: {"transferring": v[0] != 0}),
    18: ("metadataPointer", 64, _authority_and("metadataAddress")),
    20: ("groupPointer", 64, _authority_and("groupAddress")),
    22: ("groupMemberPointer", 64, _authority_and("memberAddress")),
    26: ("pausableConfig", 33, lambda v: {"authority": _optional_key(v), "paused": v[32] != 0}),
    27: ("pausableAccount", 0, None),
}


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
        known = _EXTENSIONS.get(kind)
        if known is None or known[1] != length or len(value) != length:
            found.append({"extension": "unparseableExtension"})
            continue
        name, _, decode = known
        found.append({"extension": name} if decode is None else {"extension": name, "state": decode(value)})
    return found
