"""An in-process chain for tests and benchmarks: LiteSVM with the workspace's programs deployed
(from target/deploy, at their Anchor.toml ids), a clock the caller sets, and transactions that
come back as one `TxResult` (success, logs, compute units, return data, custom error code).

The same programs and clients run against the local validator and real clusters over RPC; this
module only removes the network for fast, deterministic program tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solders.account import Account
from solders.clock import Clock
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from quantdesk.localnet.server import find_root, load_programs

SOL = 1_000_000_000


@dataclass(frozen=True)
class TxResult:
    ok: bool
    logs: list[str]
    cu: int
    return_data: bytes
    error: object | None

    @property
    def custom_error(self) -> int | None:
        """The program's custom error code (6000.. for QuantDesk programs), if that is why it failed."""
        if not isinstance(self.error, TransactionErrorInstructionError):
            return None
        instruction_error = self.error.err
        return instruction_error.code if isinstance(instruction_error, InstructionErrorCustom) else None


class Chain:
    """LiteSVM with the workspace programs and a funded payer."""

    def __init__(self, root: Path | None = None, unix_timestamp: int = 1_700_000_000) -> None:
        self.svm = LiteSVM()
        for program_id, so in load_programs(root or find_root(Path(__file__).resolve())).items():
            self.svm.add_program_from_file(program_id, so)
        self.payer = self.funded()
        self.set_time(slot=1, unix_timestamp=unix_timestamp)

    def deploy(self, program_id: Pubkey, so: Path) -> None:
        self.svm.add_program_from_file(program_id, so)

    def funded(self, lamports: int = 100 * SOL) -> Keypair:
        kp = Keypair()
        self.svm.airdrop(kp.pubkey(), lamports)
        return kp

    @property
    def clock(self) -> Clock:
        return self.svm.get_clock()

    def set_time(self, slot: int | None = None, unix_timestamp: int | None = None) -> None:
        """Moves the Clock sysvar (slot and/or unix time)."""
        c = self.svm.get_clock()
        if slot is not None:
            self.svm.warp_to_slot(slot)
            c = self.svm.get_clock()
        self.svm.set_clock(Clock(c.slot, c.epoch_start_timestamp, c.epoch, c.leader_schedule_epoch,
                                 c.unix_timestamp if unix_timestamp is None else unix_timestamp))

    def advance(self, slots: int = 1, seconds: int = 0) -> None:
        c = self.clock
        self.set_time(slot=c.slot + slots, unix_timestamp=c.unix_timestamp + seconds)

    def account(self, address: Pubkey) -> Account | None:
        return self.svm.get_account(address)

    def set_account(self, address: Pubkey, account: Account) -> None:
        self.svm.set_account(address, account)

    def send(self, instructions: list[Instruction], signers: list[Keypair] = (), payer: Keypair | None = None) -> TxResult:
        """Signs (payer first), sends and returns the outcome. Each call gets a fresh blockhash,
        so identical transactions are not deduplicated."""
        payer = payer or self.payer
        unique = {payer.pubkey(): payer}
        unique.update({s.pubkey(): s for s in signers})
        tx = Transaction(list(unique.values()), Message(instructions, payer.pubkey()), self.svm.latest_blockhash())
        meta = self.svm.send_transaction(tx)
        self.svm.expire_blockhash()
        if isinstance(meta, FailedTransactionMetadata):
            m = meta.meta()
            return TxResult(False, list(m.logs()), m.compute_units_consumed(), bytes(m.return_data().data), meta.err())
        assert isinstance(meta, TransactionMetadata)
        return TxResult(True, list(meta.logs()), meta.compute_units_consumed(), bytes(meta.return_data().data), None)
