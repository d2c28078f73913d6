"""JSON-RPC errors and parameter checking with the texts an agave node answers with.

agave parses parameters with jsonrpc-core/jsonrpc-derive and serde, so a bad request gets
`-32602` with messages such as "`params` should have at least 1 argument(s)",
"Invalid params: invalid type: integer `5`, expected a string." or "Invalid param: WrongSize".
The helpers below reproduce those texts for the parameter shapes the local validator accepts.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from quantdesk.localnet import codec

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
SEND_TRANSACTION_PREFLIGHT_FAILURE: Final = -32002
BLOCK_NOT_AVAILABLE: Final = -32004
NO_SNAPSHOT: Final = -32008
TRANSACTION_SIGNATURE_VERIFICATION_FAILURE: Final = -32003
MIN_CONTEXT_SLOT_NOT_REACHED: Final = -32016
UNSUPPORTED_TRANSACTION_VERSION: Final = -32015

_STANDARD_MESSAGES: Final = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
}
_NO_DATA: Final = object()


class RpcError(Exception):
    """A JSON-RPC error object; `data` is left out of the response unless given."""

    def __init__(self, code: int, message: str | None = None, data: Any = _NO_DATA) -> None:
        self.code = code
        self.message = message if message is not None else _STANDARD_MESSAGES[code]
        self.data = data
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not _NO_DATA:
            error["data"] = self.data
        return error


@dataclass(frozen=True, slots=True)
class Request:
    """A valid JSON-RPC 2.0 request object."""

    id: str | int | None
    method: str
    params: list[Any] | dict[str, Any] | None
    notification: bool


def error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


def parse_request(obj: Any) -> Request | dict[str, Any]:
    """The request in a decoded JSON value, or the Invalid Request response to send for it."""
    if not isinstance(obj, dict):
        return error_response(None, RpcError(INVALID_REQUEST))
    request_id = obj.get("id")
    method = obj.get("method")
    params = obj.get("params")
    valid_id = isinstance(request_id, (str, int, type(None))) and not isinstance(request_id, bool)
    if (
        obj.get("jsonrpc", "2.0") != "2.0"
        or not isinstance(method, str)
        or not valid_id
        or not isinstance(params, (list, dict, type(None)))
    ):
        return error_response(request_id if valid_id and request_id is not None else None, RpcError(INVALID_REQUEST))
    return Request(request_id, method, params, "id" not in obj)


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


# -- Rust Debug rendering of serde_json values (jsonrpc-core puts it in `data`) -------------------


def _rust_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def rust_debug(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return f"Bool({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"Number({value})"
    if isinstance(value, str):
        return f"String({_rust_str(value)})"
    if isinstance(value, list):
        return "Array [" + ", ".join(rust_debug(v) for v in value) + "]"
    return "Object {" + ", ".join(f"{_rust_str(k)}: {rust_debug(v)}" for k, v in value.items()) + "}"


def _params_debug(params: Any) -> str:
    if isinstance(params, list):
        return "Array([" + ", ".join(rust_debug(v) for v in params) + "])"
    return "Map({" + ", ".join(f"{_rust_str(k)}: {rust_debug(v)}" for k, v in params.items()) + "})"


# -- arity, as jsonrpc-derive checks it ------------------------------------------------------------


def positional(params: Any, required: int, total: int) -> list[Any]:
    """The positional parameters, padded with None up to `total` (trailing ones are Options)."""
    if total == 0:
        if params is None or params == []:
            return []
        raise RpcError(
            INVALID_PARAMS,
            "Invalid parameters: No parameters were expected",
            _params_debug(params),
        )
    if params is None:
        params = []
    if not isinstance(params, list):
        raise invalid_params("`params` should be an array")
    if len(params) < required:
        raise invalid_params(f"`params` should have at least {required} argument(s)")
    if len(params) > total:
        raise RpcError(
            INVALID_PARAMS,
            f"Invalid parameters: Expected from {required} to {total} parameters.",
            f'"Got: {len(params)}"',
        )
    return list(params) + [None] * (total - len(params))


# -- serde-style type errors -----------------------------------------------------------------------


def _unexpected(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {_rust_str(value)}"
    if isinstance(value, list):
        return "sequence"
    return "map"


def serde_error(text: str) -> NoReturn:
    raise invalid_params(f"Invalid params: {text}.")


def invalid_type(value: Any, expected: str) -> NoReturn:
    serde_error(f"invalid type: {_unexpected(value)}, expected {expected}")


def want_str(value: Any) -> str:
    if not isinstance(value, str):
        invalid_type(value, "a string")
    return value


def want_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        invalid_type(value, "a boolean")
    return value


def want_uint(value: Any, kind: str = "u64", bits: int = 64) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        invalid_type(value, kind)
    if value < 0 or value >= 1 << bits:
        serde_error(f"invalid value: integer `{value}`, expected {kind}")
    return value


def want_str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        invalid_type(value, "a sequence")
    return [want_str(v) for v in value]


def want_struct(value: Any, name: str) -> dict[str, Any]:
    """An optional config object; null or absent means all defaults."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        invalid_type(value, f"struct {name}")
    return value


def want_enum(value: Any, variants: Sequence[str]) -> str:
    if not isinstance(value, str):
        invalid_type(value, "string or map")
    if value not in variants:
        listed = ", ".join(f"`{v}`" for v in variants)
        serde_error(f"unknown variant `{value}`, expected one of {listed}")
    return value


COMMITMENTS: Final = ("processed", "confirmed", "finalized")
TX_ENCODINGS: Final = ("binary", "base64", "base58", "json", "jsonParsed")


def commitment(config: dict[str, Any], key: str = "commitment") -> str:
    value = config.get(key)
    return "finalized" if value is None else want_enum(value, COMMITMENTS)


def optional_uint(config: dict[str, Any], key: str, kind: str = "u64", bits: int = 64) -> int | None:
    value = config.get(key)
    return None if value is None else want_uint(value, kind, bits)


def optional_bool(config: dict[str, Any], key: str, default: bool = False) -> bool:
    value = config.get(key)
    return default if value is None else want_bool(value)


def account_encoding(config: dict[str, Any], default: str) -> str:
    value = config.get("encoding")
    return default if value is None else want_enum(value, codec.ACCOUNT_ENCODINGS)


def data_slice(config: dict[str, Any]) -> tuple[int, int] | None:
    value = config.get("dataSlice")
    if value is None:
        return None
    fields = want_struct(value, "UiDataSliceConfig")
    for name in ("offset", "length"):
        if name not in fields:
            serde_error(f"missing field `{name}`")
    return want_uint(fields["offset"], "usize"), want_uint(fields["length"], "usize")


# -- base58 identifiers (agave: `Invalid param: {ParseError:?}`) ---------------------------------


def _parse_error_kind(text: str, max_len: int, size: int) -> str | None:
    """None if `text` is a valid base58 key of `size` bytes, else WrongSize / Invalid."""
    if len(text) > max_len:
        return "WrongSize"
    try:
        raw = codec.b58decode(text)
    except codec.Base58Error:
        return "Invalid"
    return None if len(raw) == size else "WrongSize"


def pubkey(text: Any) -> Pubkey:
    text = want_str(text)
    kind = _parse_error_kind(text, 44, 32)
    if kind is not None:
        raise invalid_params(f"Invalid param: {kind}")
    return Pubkey.from_string(text)


def signature(text: Any) -> Signature:
    text = want_str(text)
    kind = _parse_error_kind(text, 88, 64)
    if kind is not None:
        raise invalid_params(f"Invalid param: {kind}")
    return Signature.from_string(text)


def blockhash(text: Any, prefix: str = "Invalid param: ") -> Hash:
    text = want_str(text)
    kind = _parse_error_kind(text, 44, 32)
    if kind is not None:
        raise invalid_params(f"{prefix}{kind}")
    return Hash.from_string(text)
