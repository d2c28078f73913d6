"""A transaction as getTransaction returns it (JSON encoding) -> the rows the store keeps: one
per Anchor event of any of the five programs, or an exception when the transaction failed.

Events are found by walking the logs: `Program <id> invoke [1]` starts the next top-level
instruction, deeper invokes push the program called, `Program <id> success|failed` pops it, and
each `Program data: <base64>` is an event emitted by the program on top (so events of programs
reached by CPI are kept too). The event index counts events within the top-level instruction."""
from __future__ import annotations

import base64
import binascii
import json
import keyword
from dataclasses import dataclass
from functools import cache
from typing import Any

from anchorpy import Program
from solders.pubkey import Pubkey

from quantdesk.clients import idl

__all__ = ["Decoded", "DecodedEvent", "canonical_json", "decode_transaction", "plain", "program_ids", "typed_value"]

_INT64 = range(-(2**63), 2**63)


@cache
def _programs() -> dict[str, tuple[str, Program]]:
    return {str(pid): (name, idl.program(name)) for pid, name in idl.program_names().items()}


def program_ids() -> list[str]:
    return sorted(_programs())


@dataclass(frozen=True)
class DecodedEvent:
    ix_index: int
    event_index: int
    program: str
    name: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Decoded:
    signature: str
    slot: int
    block_time_us: int | None
    signer: str
    error: Any  # the transaction error's JSON, None when it succeeded
    logs: list[str]
    programs: list[str]  # the names of the five programs the transaction invoked
    events: list[DecodedEvent]


def _idl_name(name: str) -> str:
    """The field's IDL name: anchorpy appends "_" to a Python keyword ("from" -> "from_")."""
    return name[:-1] if name.endswith("_") and keyword.iskeyword(name[:-1]) else name


def plain(value: Any) -> Any:
    """An event field as JSON: addresses base58, structs objects of snake_case fields, arrays lists."""
    if isinstance(value, Pubkey):
        return str(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, bytes):
        return list(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if not str(k).startswith("_")}
    if hasattr(value, "__dict__"):  # anchorpy's Container and generated struct types
        return {_idl_name(k): plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    raise TypeError(f"cannot store an event field of type {type(value).__name__}")


def typed_value(value: Any) -> Any:
    """A typed column's value: integers beyond 64 bits and non-scalars are left to `events.fields`."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if value in _INT64 else None
    return value if isinstance(value, str) else None


def decode_transaction(tx: dict[str, Any]) -> Decoded:
    meta = tx.get("meta") or {}
    message = tx["transaction"]["message"]
    logs: list[str] = meta.get("logMessages") or []
    programs = _programs()
    events: list[DecodedEvent] = []
    touched: list[str] = []
    stack: list[str] = []
    ix_index, event_index = -1, 0
    for line in logs:
        parts = line.split()
        if len(parts) == 4 and parts[0] == "Program" and parts[2] == "invoke":
            if parts[3] == "[1]":
                ix_index, event_index, stack = ix_index + 1, 0, []
            stack.append(parts[1])
            if parts[1] in programs and programs[parts[1]][0] not in touched:
                touched.append(programs[parts[1]][0])
        elif len(parts) >= 3 and parts[0] == "Program" and (parts[2] == "success" or parts[2].startswith("failed")) and stack:
            stack.pop()
        elif line.startswith("Program data: ") and stack and stack[-1] in programs:
            name, prog = programs[stack[-1]]
            try:
                event = prog.coder.events.parse(base64.b64decode(line[len("Program data: "):]))
            except (binascii.Error, ValueError, KeyError):
                event = None
            if event is not None:
                events.append(DecodedEvent(ix_index, event_index, name, event.name, plain(event.data)))
                event_index += 1
    block_time = tx.get("blockTime")
    return Decoded(
        signature=tx["transaction"]["signatures"][0],
        slot=tx["slot"],
        block_time_us=None if block_time is None else block_time * 1_000_000,
        signer=message["accountKeys"][0],
        error=meta.get("err"),
        logs=logs,
        programs=touched,
        events=events,
    )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
