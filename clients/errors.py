"""Failed transactions as named exceptions: one error path for sends and simulations.

A program's custom error (`InstructionError(i, Custom(code))`) becomes a `ProgramError` named
from the failing program's IDL `errors` array. Which program failed: the program of top-level
instruction `i`, unless the logs name an invoked (CPI'd) program as the one that returned the
code first (`Program <id> failed: custom program error: 0x<code>`, the innermost failure). The
same idea as anchorpy's `ProgramError.parse`, for every QuantDesk program at once and for CPIs.

Everything else that stops a transaction is a `RuntimeFailure`: an instruction error the runtime
raised (`MissingRequiredSignature`, `InvalidAccountData`, ...), a transaction-level error
(`BlockhashNotFound`, `InsufficientFundsForFee`, ...) or the RPC node refusing the request (a
malformed transaction, a failed signature check). `TransactionExpired`: the blockhash expired
before the transaction was seen confirmed. All are `TransactionFailed`, with the logs."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from quantdesk.clients import idl
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError, TransactionErrorType

__all__ = ["ProgramError", "RuntimeFailure", "TransactionExpired", "TransactionFailed", "from_rpc_error", "from_transaction_error"]



_CUSTOM_FAILURE = re.compile(r"^Program (\w+) failed: custom program error: 0x([0-9a-fA-F]+)$")


class TransactionFailed(Exception):
    """A transaction that was sent or simulated and failed. `err`: the runtime's
    TransactionError (None when the RPC refused the request before running it); `logs`: the
    program logs; `signature`: the transaction's; `simulated`: True for a simulation (or a
    send's preflight simulation)."""

    def __init__(self, message: str, logs: Sequence[str] = (), err: TransactionErrorType | None = None,
                 signature: Signature | None = None, simulated: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.logs = list(logs)
        self.err = err
        self.signature = signature
        self.simulated = simulated


class ProgramError(TransactionFailed):
    """A program's custom error: `program` (the IDL name, e.g. "qd_collateral", or the program
    id for a program without an IDL here), `program_id`, `code`, `name` and `message` (from the
    IDL; `Custom(<code>)` when it has none), `instruction` (the failing top-level instruction's
    index) and the `logs`."""

    def __init__(self, program: str, program_id: Pubkey, code: int, name: str, message: str, instruction: int, logs: Sequence[str] = (),
                 err: TransactionErrorType | None = None, signature: Signature | None = None, simulated: bool = False) -> None:
        super().__init__(message, logs, err, signature, simulated)
        self.program = program
        self.program_id = program_id
        self.code = code
        self.name = name
        self.instruction = instruction

    def __str__(self) -> str:
        return f"{self.program} {self.name} ({self.code}): {self.message} [instruction {self.instruction}]"


class RuntimeFailure(TransactionFailed):
    """Not a program's custom error: `reason` (the runtime's error, e.g.
    "InstructionError(0, MissingRequiredSignature)", or the RPC's message), `instruction` and
    `program_id` when one instruction failed, `rpc_code` when the RPC node refused the request."""

    def __init__(self, reason: str, logs: Sequence[str] = (), err: TransactionErrorType | None = None, signature: Signature | None = None,
                 simulated: bool = False, instruction: int | None = None, program_id: Pubkey | None = None, rpc_code: int | None = None) -> None:
        super().__init__(reason, logs, err, signature, simulated)
        self.reason = reason
        self.instruction = instruction
        self.program_id = program_id
        self.rpc_code = rpc_code


class TransactionExpired(TransactionFailed):
    """The transaction's blockhash expired (or the wait for it ran out) before it was seen confirmed."""


def _origin(code: int, top_level: Pubkey | None, logs: Sequence[str]) -> Pubkey | None:
    """The program that returned custom error `code`: the first program the logs say failed with
    it (the innermost of a CPI chain), else the top-level instruction's program."""
    for line in logs:
        match = _CUSTOM_FAILURE.match(line)
        if match is not None and int(match.group(2), 16) == code:
            try:
                return Pubkey.from_string(match.group(1))
            except ValueError:
                break
    return top_level


def from_transaction_error(err: TransactionErrorType, logs: Sequence[str], program_ids: Sequence[Pubkey], signature: Signature | None = None,
                           simulated: bool = False) -> TransactionFailed:
    """The named exception for a runtime TransactionError. `program_ids`: the program of each
    top-level instruction, in order."""
    if not isinstance(err, TransactionErrorInstructionError):
        return RuntimeFailure(f"transaction failed: {err}", logs, err, signature, simulated)
    index, failure = err.index, err.err
    top_level = program_ids[index] if index < len(program_ids) else None
    if isinstance(failure, InstructionErrorCustom):
        program_id = _origin(failure.code, top_level, logs)
        name = idl.program_names().get(program_id) if program_id is not None else None
        entry = idl.errors(name).get(failure.code) if name is not None else None
        error_name, message = entry if entry is not None else (f"Custom({failure.code})", f"custom program error: {failure.code:#x}")
        return ProgramError(name or str(program_id), program_id or Pubkey.default(), failure.code, error_name, message, index, logs, err,
                            signature, simulated)
    owner = idl.program_names().get(top_level) if top_level is not None else None
    return RuntimeFailure(f"instruction {index} ({owner or top_level}) failed: {failure}", logs, err, signature, simulated, index, top_level)


def from_rpc_error(error: dict[str, Any], parsed: object, program_ids: Sequence[Pubkey], simulated: bool = False) -> TransactionFailed:
    """The named exception for a JSON-RPC error answer to sendTransaction: `error` the answer's
    `error` object (code, message, data), `parsed` the same answer as solders parsed it. A
    preflight failure carries the simulation's TransactionError and logs."""
    data = getattr(parsed, "data", None)
    err = getattr(data, "err", None)
    logs = list(getattr(data, "logs", None) or [])
    if err is not None:
        return from_transaction_error(err, logs, program_ids, simulated=True)
    return RuntimeFailure(f"RPC refused the transaction: {error.get('message', error)}", logs, simulated=simulated,
                          rpc_code=error.get("code") if isinstance(error.get("code"), int) else None)
