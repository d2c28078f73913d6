"""An in-process chain for tests and benchmarks: LiteSVM (the real Solana runtime, with SPL Token,
Token-2022 and ATA preloaded) with the workspace's programs deployed from target/deploy at their
Anchor.toml ids, a clock the caller moves, and transactions that come back as one `TxResult`.

    chain = Chain()
    result = chain.send([ix], [authority])        # chain.payer pays and signs
    assert result.ok, result.logs
    result.cu, result.return_data, result.events(), result.custom_error

The same programs and clients run against the local validator and real clusters over RPC; this
module only removes the network for fast, deterministic program tests."""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.account import Account
from solders.clock import Clock
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError, TransactionReturnData

from quantdesk.clients import idl, token
from quantdesk.localnet.server import find_root, load_programs

SOL = 1_000_000_000
MAX_COMPUTE_UNITS = 1_400_000
ROOT = find_root(Path(__file__).resolve())
DEPLOY_DIR = ROOT / "target" / "deploy"
PROGRAM_DATA_LOG = "Program data: "
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")


@dataclass(frozen=True)
class TxResult:
    """The outcome of one transaction."""

    ok: bool
    logs: list[str]
    cu: int
    """Compute units consumed by the whole transaction."""
    return_data: bytes
    """Return data the transaction ended with (b"" when none was set)."""
    error: object | None
    """The transaction error (solders' TransactionErrorType); None on success."""

    @property
    def custom_error(self) -> int | None:
        """The code of a failed instruction's `Custom(code)` error (6000.. for QuantDesk programs)."""
        if isinstance(self.error, TransactionErrorInstructionError) and isinstance(self.error.err, InstructionErrorCustom):
            return self.error.err.code
        return None

    def events(self) -> list[bytes]:
        """Payloads of `sol_log_data` lines (Anchor events: discriminator + borsh), in order."""
        return [base64.b64decode(line[len(PROGRAM_DATA_LOG):]) for line in self.logs if line.startswith(PROGRAM_DATA_LOG)]


def _return_data(meta: TransactionMetadata) -> bytes:
    # solders 0.26's stub calls the method transaction_return_data; the extension module has return_data.
    data: TransactionReturnData = meta.return_data()  # type: ignore[attr-defined]
    return bytes(data.data)


class Chain:
    """LiteSVM with the workspace programs and a funded fee payer."""

    def __init__(self, unix_timestamp: int = 1_700_000_000, seed: bytes | None = None) -> None:
        """`seed`: derive every keypair this chain makes from it (benchmarks: the same keys, so
        the same PDA bump searches, on every run); None: random keys."""
        self._seed = seed
        self._keys_made = 0
        self.touched: set[Pubkey] = set()  # every account a transaction named or the caller set: what `export` copies
        self.svm = LiteSVM()
        for program_id, so in load_programs(ROOT).items():
            self.svm.add_program_from_file(program_id, so)
        self.payer = self.keypair(100 * SOL)
        self.set_time(slot=1, unix_timestamp=unix_timestamp)

    def deploy(self, name: str, program_id: Pubkey) -> Pubkey:
        """Loads target/deploy/<name>.so at `program_id` (test programs, or a copy at another id)."""
        path = DEPLOY_DIR / f"{name}.so"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: build the programs first (`make build`)")
        self.svm.add_program_from_file(program_id, path)
        return program_id

    def deploy_upgradeable(self, name: str, program_id: Pubkey, authority: Pubkey) -> Pubkey:
        """Redeploys target/deploy/<name>.so at `program_id` through the upgradeable loader with
        `authority` as its upgrade authority, as on a public cluster; returns its ProgramData."""
        program_data = idl.program_data_address(program_id)
        state = (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + b"\x01" + bytes(authority)
        self.set_account(program_data, Account(10**10, state + (DEPLOY_DIR / f"{name}.so").read_bytes(), idl.BPF_LOADER_UPGRADEABLE, False, 0))
        self.set_account(program_id, Account(10**9, (2).to_bytes(4, "little") + bytes(program_data), idl.BPF_LOADER_UPGRADEABLE, True, 0))
        return program_data

    def new_keypair(self) -> Keypair:
        """A fresh keypair: random, or the next one derived from the chain's seed."""
        if self._seed is None:
            return Keypair()
        self._keys_made += 1
        return Keypair.from_seed(hashlib.sha256(self._seed + self._keys_made.to_bytes(8, "little")).digest())

    def keypair(self, lamports: int = 10 * SOL) -> Keypair:
        """A new keypair holding `lamports` (0 for an unfunded one)."""
        kp = self.new_keypair()
        if lamports:
            self.svm.airdrop(kp.pubkey(), lamports)
            self.touched.add(kp.pubkey())
        return kp

    @property
    def clock(self) -> Clock:
        return self.svm.get_clock()

    def set_time(self, slot: int | None = None, unix_timestamp: int | None = None) -> None:
        """Moves the Clock sysvar (slot and/or unix time)."""
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
        self.touched.add(address)

    def export(self) -> dict[Pubkey, Account]:
        """Every account the chain's transactions and set-up wrote that still exists, programs
        and sysvars aside: what a local validator needs to hold the same state
        (quantdesk.localnet.load)."""
        found = {key: self.svm.get_account(key) for key in self.touched}
        return {key: a for key, a in found.items() if a is not None and not a.executable and a.owner != SYSVAR_OWNER}

    def lamports(self, address: Pubkey) -> int:
        """Balance of `address`; 0 for an account that does not exist."""
        account = self.svm.get_account(address)
        return account.lamports if account is not None else 0

    def create_mint(self, decimals: int, authority: Pubkey | None = None, token_program: Pubkey = token.TOKEN_PROGRAM_ID) -> Pubkey:
        """A new initialized SPL mint (Token or Token-2022); the payer is its authority by default."""
        mint = self.new_keypair()
        rent = self.svm.minimum_balance_for_rent_exemption(token.MINT_LEN)
        ixs = token.create_mint(self.payer.pubkey(), mint.pubkey(), authority or self.payer.pubkey(), decimals, rent, token_program)
        result = self.send(ixs, [mint])
        if not result.ok:
            raise RuntimeError(f"mint creation failed: {result.error}")
        return mint.pubkey()

    def send_unverified(self, instructions: Sequence[Instruction]) -> TxResult:
        """Executes with signature verification off: every signer meta may be any key, e.g. a PDA
        that only its program can sign for by CPI. For tests of the callee side of such CPIs."""
        message = Message.new_with_blockhash(list(instructions), self.payer.pubkey(), self.svm.latest_blockhash())
        tx = Transaction.populate(message, [Signature.new_unique() for _ in range(message.header.num_required_signatures)])
        self.svm.with_sigverify(False)
        try:
            return self._execute(tx)
        finally:
            self.svm.with_sigverify(True)

    def send(self, instructions: Sequence[Instruction], signers: Sequence[Keypair] = (), *,
             payer: Keypair | None = None, cu_limit: int | None = None, blockhash: Hash | None = None) -> TxResult:
        """Signs with the payer and `signers`, executes, and expires the blockhash so that an
        identical transaction sent later runs again rather than being refused as a replay.
        `blockhash`: a durable nonce's value in place of the latest blockhash."""
        payer = payer or self.payer
        ixs = list(instructions)
        if cu_limit is not None:
            ixs.insert(0, set_compute_unit_limit(cu_limit))
        keys: dict[Pubkey, Keypair] = {payer.pubkey(): payer}
        keys.update((s.pubkey(), s) for s in signers)
        return self._execute(Transaction(list(keys.values()), Message(ixs, payer.pubkey()), blockhash or self.svm.latest_blockhash()))

    def _execute(self, tx: Transaction) -> TxResult:
        self.touched.update(tx.message.account_keys)
        outcome = self.svm.send_transaction(tx)
        self.svm.expire_blockhash()
        if isinstance(outcome, FailedTransactionMetadata):
            meta = outcome.meta()
            return TxResult(False, list(meta.logs()), meta.compute_units_consumed(), _return_data(meta), outcome.err())
        return TxResult(True, list(outcome.logs()), outcome.compute_units_consumed(), _return_data(outcome), None)
