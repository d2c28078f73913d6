"""What the jsonParsed instruction parsers share: reading instruction data, naming accounts,
agave's {type, info} shape and its single-signer/multisig convention.

The parsers (parsed.py, parsed_token.py, parsed_token_extensions.py, parsed_token_interfaces.py)
raise NotParsable for whatever agave's parsers reject; the instruction is then shown partially
decoded.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from solders.pubkey import Pubkey

_NO_KEY: Final = bytes(32)


class NotParsable(Exception):
    """The instruction does not decode as its program's instruction (agave
    ParseInstructionError): it is then shown partially decoded."""


def utf8(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise NotParsable("string is not UTF-8") from exc


class Reader:
    """Little-endian fields of instruction data (bincode/borsh/the token program's own packing)."""

    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data, self.at = data, at

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise NotParsable("instruction data too short")
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def rest(self) -> bytes:
        out = self.data[self.at :]
        self.at = len(self.data)
        return out

    def done(self) -> None:
        """Pod (bytemuck) and borsh decoders take exactly their bytes: trailing data fails."""
        if self.at != len(self.data):
            raise NotParsable("instruction data too long")

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def i16(self) -> int:
        return int.from_bytes(self.take(2), "little", signed=True)

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "little")

    def i64(self) -> int:
        return int.from_bytes(self.take(8), "little", signed=True)

    def pubkey(self) -> str:
        return str(Pubkey.from_bytes(self.take(32)))

    def nonzero_pubkey(self) -> str | None:
        """OptionalNonZeroPubkey / MaybeNull<Pubkey> of the Pod layouts: 32 zero bytes are none."""
        raw = self.take(32)
        return None if raw == _NO_KEY else str(Pubkey.from_bytes(raw))

    def bincode_str(self) -> str:
        return utf8(self.take(self.u64()))

    def borsh_str(self) -> str:
        return utf8(self.take(self.u32()))

    def borsh_bool(self) -> bool:
        value = self.u8()
        if value > 1:
            raise NotParsable("invalid bool")
        return value == 1

    def option_tag(self) -> bool:
        """The 1-byte tag of borsh's Option and of the token program's COption."""
        tag = self.u8()
        if tag > 1:
            raise NotParsable("invalid option tag")
        return tag == 1

    def coption_pubkey(self) -> str | None:
        return self.pubkey() if self.option_tag() else None


class Accounts:
    """The instruction's accounts as addresses, with agave's minimum-count check."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)

    @classmethod
    def of(cls, keys: Sequence[Pubkey], indexes: bytes) -> Accounts:
        return cls([str(keys[i]) for i in indexes])

    def need(self, n: int) -> None:
        if len(self.keys) < n:
            raise NotParsable("not enough accounts")

    def __getitem__(self, i: int) -> str:
        return self.keys[i]

    def __len__(self) -> int:
        return len(self.keys)


def parsed(type_: str, info: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "info": info}


def signers(info: dict[str, Any], a: Accounts, index: int, single: str, multisig: str) -> dict[str, Any]:
    """agave's parse_signers: the authority at `index` is a plain signer, or, with accounts after
    it, a multisig followed by its signers. Returns `info`."""
    if len(a) > index + 1:
        info[multisig] = a[index]
        info["signers"] = a.keys[index + 1 :]
    elif len(a) > index:
        info[single] = a[index]
    return info
