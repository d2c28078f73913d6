"""jsonParsed token-group and token-metadata interface instructions, as agave's
`parse_token/extension/token_group.rs` and `token_metadata.rs`.

Token-2022 serves both interfaces for its mints. Each instruction starts with an 8-byte
discriminator, the first 8 bytes of sha256("<interface>:<name>"). The group instructions' data
is a Pod struct of exact size; the metadata ones' is borsh, which must be consumed whole.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Final

from quantdesk.localnet.parsed_support import Accounts, NotParsable, Reader, parsed


def _discriminator(hash_input: str) -> bytes:
    return hashlib.sha256(hash_input.encode()).digest()[:8]


def _initialize_group(r: Reader, a: Accounts) -> dict[str, Any]:
    update_authority, max_size = r.nonzero_pubkey(), r.u64()
    r.done()
    a.need(3)
    return parsed("initializeTokenGroup", {
        "group": a[0], "maxSize": max_size, "mint": a[1], "mintAuthority": a[2],
        "updateAuthority": update_authority})


def _update_group_max_size(r: Reader, a: Accounts) -> dict[str, Any]:
    max_size = r.u64()
    r.done()
    a.need(2)
    return parsed("updateTokenGroupMaxSize", {"group": a[0], "maxSize": max_size, "updateAuthority": a[1]})


def _update_group_authority(r: Reader, a: Accounts) -> dict[str, Any]:
    new_authority = r.nonzero_pubkey()
    r.done()
    a.need(2)
    return parsed("updateTokenGroupAuthority", {"group": a[0], "updateAuthority": a[1],
                                                "newAuthority": new_authority})


def _initialize_member(r: Reader, a: Accounts) -> dict[str, Any]:
    r.done()
    a.need(5)
    return parsed("initializeTokenGroupMember", {
        "member": a[0], "memberMint": a[1], "memberMintAuthority": a[2], "group": a[3],
        "groupUpdateAuthority": a[4]})


def _initialize_metadata(r: Reader, a: Accounts) -> dict[str, Any]:
    name, symbol, uri = r.borsh_str(), r.borsh_str(), r.borsh_str()
    r.done()
    a.need(4)
    return parsed("initializeTokenMetadata", {
        "metadata": a[0], "updateAuthority": a[1], "mint": a[2], "mintAuthority": a[3],
        "name": name, "symbol": symbol, "uri": uri})


_FIELDS: Final = ("name", "symbol", "uri")  # the borsh Field enum; variant 3 is Key(String)


def _update_field(r: Reader, a: Accounts) -> dict[str, Any]:
    variant = r.u8()
    if variant > len(_FIELDS):
        raise NotParsable(f"unknown metadata field variant {variant}")
    field = _FIELDS[variant] if variant < len(_FIELDS) else r.borsh_str()
    value = r.borsh_str()
    r.done()
    a.need(2)
    return parsed("updateTokenMetadataField", {"metadata": a[0], "updateAuthority": a[1],
                                               "field": field, "value": value})


def _remove_key(r: Reader, a: Accounts) -> dict[str, Any]:
    idempotent, key = r.borsh_bool(), r.borsh_str()
    r.done()
    a.need(2)
    return parsed("removeTokenMetadataKey", {"metadata": a[0], "updateAuthority": a[1],
                                             "key": key, "idempotent": idempotent})


def _update_metadata_authority(r: Reader, a: Accounts) -> dict[str, Any]:
    new_authority = r.nonzero_pubkey()
    r.done()
    a.need(2)
    return parsed("updateTokenMetadataAuthority", {"metadata": a[0], "updateAuthority": a[1],
                                                   "newAuthority": new_authority})


def _emit(r: Reader, a: Accounts) -> dict[str, Any]:
    start = r.u64() if r.option_tag() else None
    end = r.u64() if r.option_tag() else None
    r.done()
    a.need(1)
    info: dict[str, Any] = {"metadata": a[0]}
    if start is not None:
        info["start"] = start
    if end is not None:
        info["end"] = end
    return parsed("emitTokenMetadata", info)


_INTERFACE_PARSERS: Final[dict[bytes, Callable[[Reader, Accounts], dict[str, Any]]]] = {
    _discriminator("spl_token_group_interface:initialize_token_group"): _initialize_group,
    _discriminator("spl_token_group_interface:update_group_max_size"): _update_group_max_size,
    _discriminator("spl_token_group_interface:update_authority"): _update_group_authority,
    _discriminator("spl_token_group_interface:initialize_member"): _initialize_member,
    _discriminator("spl_token_metadata_interface:initialize_account"): _initialize_metadata,
    _discriminator("spl_token_metadata_interface:updating_field"): _update_field,
    _discriminator("spl_token_metadata_interface:remove_key_ix"): _remove_key,
    _discriminator("spl_token_metadata_interface:update_the_authority"): _update_metadata_authority,
    _discriminator("spl_token_metadata_interface:emitter"): _emit,
}


def parse_interface(data: bytes, a: Accounts) -> dict[str, Any]:
    parse = _INTERFACE_PARSERS.get(data[:8])
    if parse is None:
        raise NotParsable("neither a token instruction nor a group or metadata one")
    return parse(Reader(data, 8), a)
