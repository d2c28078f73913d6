"""Shared by the LiteSVM program tests: asserting a named failure, and forging account metas the
way a malicious client would."""
from __future__ import annotations

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from quantdesk.chain import TxResult


def failed(result: TxResult, code: int) -> None:
    """The transaction failed with custom error `code` (look codes up by name: idl.error_codes)."""
    assert not result.ok, "the transaction should have failed"
    assert result.custom_error == code, f"expected error {code}, got {result.error}; logs: {result.logs}"


def with_meta(ix: Instruction, index: int, *, signer: bool | None = None, writable: bool | None = None, key: Pubkey | None = None) -> Instruction:
    """`ix` with one account meta changed (to forge what a malicious client would send)."""
    metas = list(ix.accounts)
    m = metas[index]
    metas[index] = AccountMeta(key or m.pubkey, m.is_signer if signer is None else signer, m.is_writable if writable is None else writable)
    return Instruction(ix.program_id, ix.data, metas)
