"""A small LiteSVM harness for program tests: deploy built programs, send transactions, read
what happened.

    chain = Chain()
    chain.deploy("qd_oracle", ORACLE_ID)          # target/deploy/qd_oracle.so (`make build`)
    result = chain.send([ix], [authority])        # chain.payer pays and signs
    assert result.ok, result.logs
    result.cu, result.return_data, result.events()
    assert chain.send([bad_ix]).custom_error == 6005

LiteSVM (solders.litesvm) embeds the real Solana runtime and preloads SPL Token, Token-2022 and
the Associated Token Account program. Programs are not built here: a missing .so is an error.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.account import Account
from solders.compute_budget import set_compute_unit_limit
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = ROOT / "target" / "deploy"
LAMPORTS_PER_SOL = 1_000_000_000
MAX_COMPUTE_UNITS = 1_400_000
PROGRAM_DATA_LOG = "Program data: "


@dataclass(frozen=True)
class Result:
    """The outcome of one transaction."""

    ok: bool
    logs: list[str]
    cu: int
    """Compute units consumed by the whole transaction."""
    return_data: bytes
    """Return data the transaction ended with (b"" when none was set)."""
    error: str | None
    """The transaction error as solders prints it; None on success."""
    custom_error: int | None
    """The code of a failed instruction's `Custom(code)` error, else None."""

    def events(self) -> list[bytes]:
        """Payloads of `sol_log_data` lines (Anchor events: discriminator + borsh), in order."""
        return [base64.b64decode(line[len(PROGRAM_DATA_LOG):]) for line in self.logs if line.startswith(PROGRAM_DATA_LOG)]


class Chain:
    """One LiteSVM instance with a funded fee payer."""

    def __init__(self) -> None:
        self.svm = LiteSVM()
        self.payer = self.keypair()

    def keypair(self, lamports: int = 10 * LAMPORTS_PER_SOL) -> Keypair:
        """A new keypair holding `lamports` (0 for an unfunded one)."""
        kp = Keypair()
        if lamports:
            self.svm.airdrop(kp.pubkey(), lamports)
        return kp

    def deploy(self, name: str, program_id: Pubkey) -> Pubkey:
        """Loads target/deploy/<name>.so at `program_id`."""
        path = DEPLOY_DIR / f"{name}.so"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: build the programs first (`make build`)")
        self.svm.add_program(program_id, path.read_bytes())
        return program_id

    def send(self, instructions: Sequence[Instruction], signers: Sequence[Keypair] = (), *,
             payer: Keypair | None = None, cu_limit: int | None = None) -> Result:
        """Signs with the payer and `signers`, executes, and expires the blockhash so that an
        identical transaction sent later is executed again rather than refused as a replay."""
        payer = payer or self.payer
        ixs = list(instructions)
        if cu_limit is not None:
            ixs.insert(0, set_compute_unit_limit(cu_limit))
        keys: dict[Pubkey, Keypair] = {payer.pubkey(): payer}
        keys.update((s.pubkey(), s) for s in signers)
        tx = Transaction(list(keys.values()), Message(ixs, payer.pubkey()), self.svm.latest_blockhash())
        outcome = self.svm.send_transaction(tx)
        self.svm.expire_blockhash()
        if isinstance(outcome, FailedTransactionMetadata):
            err = outcome.err()
            code = None
            if isinstance(err, TransactionErrorInstructionError) and isinstance(err.err, InstructionErrorCustom):
                code = err.err.code
            meta = outcome.meta()
            return Result(False, list(meta.logs()), meta.compute_units_consumed(), bytes(meta.return_data().data), str(err), code)
        return Result(True, list(outcome.logs()), outcome.compute_units_consumed(), bytes(outcome.return_data().data), None, None)

    def account(self, key: Pubkey) -> Account | None:
        return self.svm.get_account(key)

    def lamports(self, key: Pubkey) -> int:
        """Balance of `key`; 0 for an account that does not exist."""
        account = self.svm.get_account(key)
        return account.lamports if account is not None else 0
