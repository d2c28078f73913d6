"""The ledger behind the local validator: LiteSVM plus what a cluster has and LiteSVM lacks.

LiteSVM executes transactions and stores accounts, but it has no notion of slots advancing, of a
window of valid blockhashes, of transaction history with slots and balances, or of which accounts a
program owns. `Bank` adds those, so the RPC layer can answer like an agave node:

- a slot clock: every `advance_slot()` produces a block with a fresh blockhash, bumps the block
  height and moves LiteSVM's Clock sysvar (slot, epoch, unix_timestamp); blockhashes stay valid for
  150 blocks (MAX_PROCESSING_AGE), as on a real cluster;
- transaction admission like a leader's: sanitize, resolve address lookup tables, verify
  signatures, check the blockhash and the status cache (AlreadyProcessed), then execute;
- a record per committed transaction (slot, block time, fee, balances, token balances, logs);
- a block per produced slot (parent, blockhash, previous blockhash, time, height, its transactions
  in order), empty ones too, and an index of transactions by every account key they touch, for
  getBlock, getBlocks, getBlockTime and getSignaturesForAddress;
- an owner index for getProgramAccounts, kept current from every write;
- the SlotHashes sysvar kept current (so address lookup tables can be created), and rentEpoch
  u64::MAX on rent-exempt accounts as they are stored, as agave's account loader sets it.

Single node, no forks: a transaction is final as soon as it is committed. All methods are
synchronous and meant to be called from one thread (the server's event loop), which makes each
call atomic with respect to the others.
"""
from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable, SlotHashes
from solders.clock import Clock
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import (
    FailedTransactionMetadata,
    InnerInstruction,
    SimulatedTransactionInfo,
    TransactionMetadata,
)
from solders.transaction_status import TransactionErrorFieldless, TransactionErrorType, TransactionReturnData

from quantdesk.localnet import codec

MAX_PROCESSING_AGE: Final = 150  # blocks a blockhash stays valid (agave MAX_PROCESSING_AGE)
MAX_RECENT_BLOCKHASHES: Final = 300  # blockhash queue length, also the status-cache depth
LAMPORTS_PER_SIGNATURE: Final = 5_000
MAX_HISTORY: Final = 200_000  # committed transactions kept for getTransaction
# Blocks kept (~a day of 400 ms slots); the oldest go first, whole, with their transactions.
MAX_BLOCKS: Final = 250_000
FAUCET_LAMPORTS: Final = 500_000_000 * 1_000_000_000  # 500M SOL, like a test validator's mint
SAMPLE_PERIOD_SECS: Final = 60  # agave's performance sample interval
MAX_PERF_SAMPLES: Final = 720  # agave keeps 720 samples (12 hours)
MAX_SLOT_HASHES: Final = 512  # entries of the SlotHashes sysvar (agave MAX_ENTRIES)
RENT_EXEMPT_RENT_EPOCH: Final = 2**64 - 1  # agave stamps rent-exempt accounts with u64::MAX
_ACTIVE_TABLE: Final = 2**64 - 1  # a lookup table's deactivation slot until it is deactivated
STAKE_PROGRAM_ID: Final = Pubkey.from_string("Stake11111111111111111111111111111111111111")
_GET_MINIMUM_DELEGATION: Final = (13).to_bytes(4, "little")  # StakeInstruction::GetMinimumDelegation

COMPUTE_BUDGET_PROGRAM_ID: Final = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
ALT_PROGRAM_ID: Final = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
NATIVE_LOADER_ID: Final = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
_MAX_COMPUTE_UNIT_LIMIT: Final = 1_400_000
_DEFAULT_INSTRUCTION_CU_LIMIT: Final = 200_000
_BUILTIN_INSTRUCTION_CU_LIMIT: Final = 3_000
# Builtins get a small default compute allocation (agave: reserve_minimal_cus_for_builtins).
_BUILTIN_PROGRAMS: Final = frozenset(
    Pubkey.from_string(k)
    for k in (
        "11111111111111111111111111111111",
        "ComputeBudget111111111111111111111111111111",
        "AddressLookupTab1e1111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
        "BPFLoader1111111111111111111111111111111111",
        "Vote111111111111111111111111111111111111111",
        "Stake11111111111111111111111111111111111111",
        "Config1111111111111111111111111111111111111",
    )
)
# Precompiles whose signatures count towards the signature fee (first data byte = count).
_PRECOMPILES: Final = frozenset(
    Pubkey.from_string(k)
    for k in (
        "Ed25519SigVerify111111111111111111111111111",
        "KeccakSecp256k11111111111111111111111111111",
        "Secp256r1SigVerify1111111111111111111111111",
    )
)
# Accounts LiteSVM creates at genesis; probed once so getProgramAccounts sees them.
_GENESIS_ACCOUNTS: Final = (
    *_BUILTIN_PROGRAMS,
    *_PRECOMPILES,
    Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
    Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"),
    Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"),
    Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"),
    Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"),
    Pubkey.from_string("SysvarC1ock11111111111111111111111111111111"),
    Pubkey.from_string("SysvarRent111111111111111111111111111111111"),
    Pubkey.from_string("SysvarEpochSchedu1e111111111111111111111111"),
    Pubkey.from_string("SysvarS1otHashes111111111111111111111111111"),
    Pubkey.from_string("SysvarStakeHistory1111111111111111111111111"),
    Pubkey.from_string("SysvarS1otHistory11111111111111111111111111"),
    Pubkey.from_string("SysvarEpochRewards1111111111111111111111111"),
    Pubkey.from_string("SysvarLastRestartS1ot1111111111111111111111"),
    Pubkey.from_string("SysvarRecentB1ockHashes11111111111111111111"),
    Pubkey.from_string("SysvarFees111111111111111111111111111111111"),
)


class SanitizeError(Exception):
    """The transaction is malformed; agave answers `invalid transaction: <err>` (-32602)."""

    def __init__(self, err: TransactionErrorType) -> None:
        self.err = err
        super().__init__(codec.error_text(codec.error_to_json(err)))


class TransactionRejected(Exception):
    """Processing refused the transaction before committing it (no fee was charged)."""

    def __init__(self, err: TransactionErrorType, logs: list[str] | None = None) -> None:
        self.err = err
        self.logs = logs or []
        super().__init__(codec.error_text(codec.error_to_json(err)))


@dataclass(slots=True, frozen=True)
class ResolvedTransaction:
    """A sanitized transaction with its full account list (static keys, then loaded ones)."""

    tx: VersionedTransaction
    account_keys: list[Pubkey]
    writable: list[bool]
    loaded_writable: list[Pubkey]
    loaded_readonly: list[Pubkey]

    @property
    def signature(self) -> Signature:
        return self.tx.signatures[0]


@dataclass(slots=True)
class TxRecord:
    """A committed transaction, as getTransaction and getSignatureStatuses report it."""

    resolved: ResolvedTransaction
    slot: int
    block_height: int
    block_time: int
    err: TransactionErrorType | None
    fee: int
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[dict[str, object]]
    post_token_balances: list[dict[str, object]]
    logs: list[str]
    inner_instructions: list[list[InnerInstruction]]
    compute_units: int
    return_data: tuple[Pubkey, bytes] | None
    written: list[tuple[Pubkey, Account | None]] = field(default_factory=list)
    index: int = 0  # position in commit order over the bank's life: orders history newest first

    @property
    def signature(self) -> Signature:
        return self.resolved.signature


@dataclass(slots=True)
class Block:
    """A produced slot: what getBlock reports, with its transactions in commit order."""

    slot: int
    parent_slot: int
    blockhash: Hash
    previous_blockhash: Hash
    block_height: int
    block_time: int
    transactions: list[TxRecord] = field(default_factory=list)


@dataclass(slots=True)
class Simulation:
    err: TransactionErrorType | None
    logs: list[str]
    units_consumed: int
    return_data: tuple[Pubkey, bytes] | None
    inner_instructions: list[list[InnerInstruction]]
    post_accounts: dict[Pubkey, Account]
    account_keys: list[Pubkey]
    loaded_accounts_data_size: int = 0


@dataclass(slots=True, frozen=True)
class SlotInfo:
    slot: int
    parent: int
    root: int
    # The parent's block, closed by this slot: its committed transactions (0/0 after a reset).
    parent_successful: int = 0
    parent_failed: int = 0


@dataclass(slots=True, frozen=True)
class PerfSample:
    """One getRecentPerformanceSamples entry: what the bank did over one sample period."""

    slot: int
    num_slots: int
    num_transactions: int
    sample_period_secs: int


CommitListener = Callable[[TxRecord], None]
SlotListener = Callable[[SlotInfo], None]
AccountListener = Callable[[Pubkey, Account | None], None]


def _return_data(meta: TransactionMetadata) -> tuple[Pubkey, bytes] | None:
    # LiteSVM reports "no return data" as an empty payload; agave reports it as absent.
    # solders 0.26's stub calls the method transaction_return_data; the extension module has return_data.
    data: TransactionReturnData = meta.return_data()  # type: ignore[attr-defined]
    payload = bytes(data.data)
    return (data.program_id, payload) if payload else None


def compute_budget(message: Message | MessageV0) -> tuple[int, int]:
    """(compute unit limit, compute unit price in micro-lamports) the message requests."""
    keys = message.account_keys
    limit: int | None = None
    price = 0
    default_limit = 0
    for ix in message.instructions:
        program = keys[ix.program_id_index]
        data = bytes(ix.data)
        if program == COMPUTE_BUDGET_PROGRAM_ID and data:
            if data[0] == 2 and len(data) >= 5:
                limit = int.from_bytes(data[1:5], "little")
            elif data[0] == 3 and len(data) >= 9:
                price = int.from_bytes(data[1:9], "little")
        default_limit += (
            _BUILTIN_INSTRUCTION_CU_LIMIT
            if program in _BUILTIN_PROGRAMS
            else _DEFAULT_INSTRUCTION_CU_LIMIT
        )
    return min(limit if limit is not None else default_limit, _MAX_COMPUTE_UNIT_LIMIT), price


def message_fee(message: Message | MessageV0) -> int:
    """Signature fee (incl. precompile signatures) plus the prioritization fee."""
    keys = message.account_keys
    signatures = message.header.num_required_signatures
    for ix in message.instructions:
        data = bytes(ix.data)
        if keys[ix.program_id_index] in _PRECOMPILES and data:
            signatures += data[0]
    limit, price = compute_budget(message)
    priority = (limit * price + 999_999) // 1_000_000
    return signatures * LAMPORTS_PER_SIGNATURE + priority


class Bank:
    """LiteSVM with a slot clock, a blockhash window, transaction history and an owner index."""

    def __init__(
        self,
        programs: dict[Pubkey, Path] | None = None,
        slot_ms: int = 400,
        start_unix_timestamp: int | None = None,
    ) -> None:
        self.programs = dict(programs or {})
        self.slot_ms = slot_ms
        self._start_unix_timestamp = start_unix_timestamp
        self.faucet = Keypair()
        # The node's identity and vote account: node-level, so they survive reset().
        self.identity = Keypair().pubkey()
        self.vote_account = Keypair().pubkey()
        self._commit_listeners: list[CommitListener] = []
        self._slot_listeners: list[SlotListener] = []
        self._account_listeners: list[AccountListener] = []
        self._genesis()

    # -- set-up -------------------------------------------------------------------------------

    def _genesis(self) -> None:
        # Signatures and blockhashes are checked here, before LiteSVM, so that blockhashes can
        # stay valid for 150 blocks (LiteSVM accepts only its latest) and so that preflight can
        # report SignatureFailure the way agave does; its own history is not needed either.
        self.svm = (
            LiteSVM().with_sigverify(False).with_blockhash_check(False).with_transaction_history(0)
        )
        for program_id, path in self.programs.items():
            self.svm.add_program_from_file(program_id, path)
        self.svm.set_account(
            self.faucet.pubkey(), Account(FAUCET_LAMPORTS, b"", codec.SYSTEM_PROGRAM_ID)
        )
        self.slot = 0
        self.parent_slot = 0
        self.block_height = 0
        self.transaction_count = 0
        self._ts_base = (
            self._start_unix_timestamp
            if self._start_unix_timestamp is not None
            else int(time.time())
        )
        self._ts_base_slot = 0
        self._blockhashes: OrderedDict[Hash, int] = OrderedDict()
        self._records: dict[Signature, TxRecord] = {}
        self._blocks: dict[int, Block] = {}  # by slot, ascending (insertion order)
        self._block_slots: list[int] = []  # the same slots, for range look-ups by bisection
        self._by_address: dict[Pubkey, list[TxRecord]] = {}  # each in commit order
        self._history_size = 0  # records held by the blocks
        self._owners: dict[Pubkey, Pubkey] = {}
        self._by_owner: dict[Pubkey, set[Pubkey]] = {}
        # Per recent slot: (compute unit price, writable accounts) of each committed transaction.
        self._slot_fees: deque[tuple[int, list[tuple[int, list[Pubkey]]]]] = deque(
            maxlen=MAX_PROCESSING_AGE
        )
        self._slot_fees.append((0, []))
        self._slot_successful = 0
        self._slot_failed = 0
        self._samples: deque[PerfSample] = deque(maxlen=MAX_PERF_SAMPLES)
        self._sample_start = (0, 0)  # (slot, transaction count) the current sample period began at
        self._minimum_delegation: int | None = None
        for pubkey in (*_GENESIS_ACCOUNTS, *self.programs, self.faucet.pubkey()):
            self._index(pubkey, self._stamp_rent_epoch(pubkey, self.get_account(pubkey)))
        self.genesis_hash = self.svm.latest_blockhash()
        self._register_blockhash(self.genesis_hash)
        self._slot_hashes: deque[tuple[int, Hash]] = deque(maxlen=MAX_SLOT_HASHES)
        self._write_slot_hashes()
        self._write_clock()
        self._blocks[0] = Block(0, 0, self.genesis_hash, self.genesis_hash, 0, self.unix_timestamp)
        self._block_slots.append(0)

    def reset(self) -> None:
        """Back to genesis: fresh accounts, slot 0, empty history; listeners stay attached."""
        self._genesis()
        info = SlotInfo(self.slot, self.parent_slot, self.slot)
        for listener in self._slot_listeners:
            listener(info)

    def on_commit(self, listener: CommitListener) -> None:
        self._commit_listeners.append(listener)

    def on_slot(self, listener: SlotListener) -> None:
        self._slot_listeners.append(listener)

    def on_account(self, listener: AccountListener) -> None:
        """Called for writes made outside transactions (test controls)."""
        self._account_listeners.append(listener)

    # -- clock --------------------------------------------------------------------------------

    @property
    def latest_blockhash(self) -> Hash:
        return next(reversed(self._blockhashes))

    def last_valid_block_height(self, blockhash: Hash) -> int | None:
        height = self._blockhashes.get(blockhash)
        return None if height is None else height + MAX_PROCESSING_AGE

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        height = self._blockhashes.get(blockhash)
        return height is not None and self.block_height <= height + MAX_PROCESSING_AGE

    def unix_timestamp_at(self, slot: int) -> int:
        # Time advances with slots (slot_ms each) from the last qd_setClock anchor, so a paused
        # clock also pauses time and a warp moves time as far as the slots it skips.
        return self._ts_base + (slot - self._ts_base_slot) * self.slot_ms // 1000

    @property
    def unix_timestamp(self) -> int:
        return self.unix_timestamp_at(self.slot)

    def epoch_info(self) -> dict[str, int]:
        schedule = self.svm.get_epoch_schedule()
        epoch, slot_index = schedule.get_epoch_and_slot_index(self.slot)
        return {
            "absoluteSlot": self.slot,
            "blockHeight": self.block_height,
            "epoch": epoch,
            "slotIndex": slot_index,
            "slotsInEpoch": schedule.get_slots_in_epoch(epoch),
            "transactionCount": self.transaction_count,
        }

    def advance_slot(self) -> SlotInfo:
        """Produce the next block."""
        return self.warp_to_slot(self.slot + 1)

    def warp_to_slot(self, slot: int) -> SlotInfo:
        """Produce a block at `slot` (> current); the slots in between are skipped."""
        if slot <= self.slot:
            raise ValueError(f"slot {slot} is not after the current slot {self.slot}")
        self.parent_slot, self.slot = self.slot, slot
        self.block_height += 1
        previous = self.latest_blockhash
        self.svm.expire_blockhash()
        self._register_blockhash(self.svm.latest_blockhash())
        self._slot_fees.append((slot, []))
        self._write_slot_hashes()
        self._write_clock()
        self._sample()
        self._blocks[slot] = Block(
            slot, self.parent_slot, self.latest_blockhash, previous, self.block_height,
            self.unix_timestamp,
        )
        self._block_slots.append(slot)
        self._prune()
        info = SlotInfo(slot, self.parent_slot, slot, self._slot_successful, self._slot_failed)
        self._slot_successful = self._slot_failed = 0
        for listener in self._slot_listeners:
            listener(info)
        return info

    def _sample(self) -> None:
        """Close the sample period once SAMPLE_PERIOD_SECS of slot time have passed since it
        began (time advances slot_ms per slot, so this is wall time while the clock runs)."""
        start_slot, start_count = self._sample_start
        elapsed_ms = (self.slot - start_slot) * self.slot_ms
        if elapsed_ms < SAMPLE_PERIOD_SECS * 1000:
            return
        self._samples.append(
            PerfSample(
                slot=self.slot,
                num_slots=self.slot - start_slot,
                num_transactions=self.transaction_count - start_count,
                sample_period_secs=min(elapsed_ms // 1000, 0xFFFF),  # a u16 on the wire
            )
        )
        self._sample_start = (self.slot, self.transaction_count)

    def performance_samples(self, limit: int) -> list[PerfSample]:
        """The newest `limit` samples, newest first."""
        return list(reversed(self._samples))[:limit]

    def set_unix_timestamp(self, unix_timestamp: int) -> None:
        """Re-anchor the time line: the current slot now has this timestamp."""
        self._ts_base = unix_timestamp
        self._ts_base_slot = self.slot
        self._write_clock()
        # The open block (and what it holds) takes the new time, as its transactions report it.
        block = self._blocks[self.slot]
        block.block_time = unix_timestamp
        for record in block.transactions:
            record.block_time = unix_timestamp

    def _register_blockhash(self, blockhash: Hash) -> None:
        self._blockhashes[blockhash] = self.block_height
        while len(self._blockhashes) > MAX_RECENT_BLOCKHASHES:
            self._blockhashes.popitem(last=False)

    def _write_slot_hashes(self) -> None:
        """Put the current slot at the front of SlotHashes (newest first, MAX_SLOT_HASHES).

        agave's SlotHashes at slot N lists N's ancestors; here the open slot is listed too,
        because this node executes a transaction in the slot getSlot just reported, where on a
        cluster it lands in a later one. So an address lookup table created with `getSlot`'s
        answer as its recent slot is accepted, as it is on a cluster. The price: with the open
        slot in one of the 512 entries, a deactivated table's slot leaves SlotHashes (and the
        table stops resolving) 512 blocks after its deactivation, one block sooner than on a
        cluster."""
        self._slot_hashes.appendleft((self.slot, self.latest_blockhash))
        self.svm.set_slot_hashes(list(self._slot_hashes))

    def _write_clock(self) -> None:
        schedule = self.svm.get_epoch_schedule()
        epoch, _ = schedule.get_epoch_and_slot_index(self.slot)
        epoch_start = self.unix_timestamp_at(schedule.get_first_slot_in_epoch(epoch))
        self.svm.set_clock(
            Clock(
                slot=self.slot,
                epoch_start_timestamp=epoch_start,
                epoch=epoch,
                leader_schedule_epoch=schedule.get_leader_schedule_epoch(self.slot),
                unix_timestamp=self.unix_timestamp,
            )
        )

    # -- accounts -----------------------------------------------------------------------------

    def get_account(self, pubkey: Pubkey) -> Account | None:
        account = self.svm.get_account(pubkey)
        # A zero-lamport account is a deleted one, for RPC as for the runtime.
        return account if account is not None and account.lamports > 0 else None

    def set_account(self, pubkey: Pubkey, account: Account) -> None:
        """Overwrite an account outside any transaction (test control)."""
        self.svm.set_account(pubkey, account)
        stored = self._stamp_rent_epoch(pubkey, self.get_account(pubkey))
        self._index(pubkey, stored)
        for listener in self._account_listeners:
            listener(pubkey, stored)

    def rent_stamped(self, account: Account) -> Account:
        """The account with rent_epoch u64::MAX if it is rent-exempt, as agave's loader sets it
        (rent collection is disabled, so exempt accounts are never visited again); else as is."""
        if (
            account.rent_epoch == RENT_EXEMPT_RENT_EPOCH
            or account.lamports < self.svm.minimum_balance_for_rent_exemption(len(account.data))
        ):
            return account
        return Account(account.lamports, bytes(account.data), account.owner,
                       account.executable, RENT_EXEMPT_RENT_EPOCH)

    def _stamp_rent_epoch(self, pubkey: Pubkey, account: Account | None) -> Account | None:
        """Store the account rent-stamped (see rent_stamped)."""
        if account is None:
            return None
        stamped = self.rent_stamped(account)
        if stamped is not account:
            self.svm.set_account(pubkey, stamped)
        return stamped

    def accounts(self) -> list[tuple[Pubkey, Account]]:
        """Every live account the bank holds (the owner index covers each one written)."""
        found: list[tuple[Pubkey, Account]] = []
        for pubkey in self._owners:
            account = self.get_account(pubkey)
            if account is not None:
                found.append((pubkey, account))
        return found

    def program_accounts(self, owner: Pubkey) -> list[tuple[Pubkey, Account]]:
        found: list[tuple[Pubkey, Account]] = []
        for pubkey in self._by_owner.get(owner, ()):
            account = self.get_account(pubkey)
            if account is not None and account.owner == owner:
                found.append((pubkey, account))
        return found

    def _index(self, pubkey: Pubkey, account: Account | None) -> None:
        old = self._owners.get(pubkey)
        new = account.owner if account is not None else None
        if old == new:
            return
        if old is not None:
            self._by_owner[old].discard(pubkey)
            del self._owners[pubkey]
        if new is not None:
            self._owners[pubkey] = new
            self._by_owner.setdefault(new, set()).add(pubkey)

    # -- transactions -------------------------------------------------------------------------

    def resolve(self, tx: VersionedTransaction) -> ResolvedTransaction:
        """Sanitize and load lookup-table addresses, as agave's RuntimeTransaction::try_create."""
        try:
            tx.sanitize()
        except Exception as exc:  # solders raises a bare error type for SanitizeError
            raise SanitizeError(TransactionErrorFieldless.SanitizeFailure) from exc
        message = tx.message
        static = list(message.account_keys)
        loaded_w: list[Pubkey] = []
        loaded_r: list[Pubkey] = []
        if isinstance(message, MessageV0):
            for lookup in message.address_table_lookups:
                addresses = self._lookup_table(lookup.account_key)
                try:
                    loaded_w.extend(addresses[i] for i in bytes(lookup.writable_indexes))
                    loaded_r.extend(addresses[i] for i in bytes(lookup.readonly_indexes))
                except IndexError as exc:
                    raise SanitizeError(
                        TransactionErrorFieldless.InvalidAddressLookupTableIndex
                    ) from exc
        keys = static + loaded_w + loaded_r
        if len(set(keys)) != len(keys):
            raise SanitizeError(TransactionErrorFieldless.AccountLoadedTwice)
        header = message.header
        n_static = len(static)
        signed = header.num_required_signatures
        writable_signed = signed - header.num_readonly_signed_accounts
        writable_unsigned_end = n_static - header.num_readonly_unsigned_accounts
        programs = {static[ix.program_id_index] for ix in message.instructions}
        writable = [
            (i < writable_signed or signed <= i < writable_unsigned_end)
            and static[i] not in programs
            for i in range(n_static)
        ]
        writable += [True] * len(loaded_w) + [False] * len(loaded_r)
        return ResolvedTransaction(tx, keys, writable, loaded_w, loaded_r)

    def _lookup_table(self, key: Pubkey) -> list[Pubkey]:
        account = self.get_account(key)
        if account is None:
            raise SanitizeError(TransactionErrorFieldless.AddressLookupTableNotFound)
        if account.owner != ALT_PROGRAM_ID:
            raise SanitizeError(TransactionErrorFieldless.InvalidAddressLookupTableOwner)
        try:
            table = AddressLookupTable.deserialize(bytes(account.data))
        except Exception as exc:  # any decode failure is "invalid data" to the runtime
            raise SanitizeError(TransactionErrorFieldless.InvalidAddressLookupTableData) from exc
        # A deactivated table resolves until its deactivation slot leaves SlotHashes (or while
        # it is the current slot), as agave's LookupTableMeta::is_active decides; LiteSVM's own
        # address loader applies the same rule to the same sysvar when it executes.
        meta = table.meta
        if meta.deactivation_slot != _ACTIVE_TABLE and not meta.is_active(self.slot, SlotHashes(list(self._slot_hashes))):
            raise SanitizeError(TransactionErrorFieldless.AddressLookupTableNotFound)
        addresses = list(table.addresses)
        # Addresses appended in the current slot are not usable until the next one.
        if table.meta.last_extended_slot >= self.slot:
            return addresses[: table.meta.last_extended_slot_start_index]
        return addresses

    @staticmethod
    def signatures_valid(tx: VersionedTransaction) -> bool:
        return all(tx.verify_with_results())

    def _check(self, resolved: ResolvedTransaction) -> TransactionErrorType | None:
        """The leader's age and status-cache checks."""
        if not self.is_blockhash_valid(resolved.tx.message.recent_blockhash):
            return TransactionErrorFieldless.BlockhashNotFound
        if resolved.signature in self._records:
            return TransactionErrorFieldless.AlreadyProcessed
        return None

    def simulate(self, resolved: ResolvedTransaction) -> Simulation:
        keys = resolved.account_keys
        err = self._check(resolved)
        if err is not None:
            return Simulation(err, [], 0, None, [], {}, keys)
        loaded = self.loaded_accounts_data_size(resolved)
        result = self.svm.simulate_transaction(resolved.tx)
        if isinstance(result, SimulatedTransactionInfo):
            meta = result.meta()
            post = {pubkey: account for pubkey, account in result.post_accounts()}
            return Simulation(
                None,
                list(meta.logs()),
                meta.compute_units_consumed(),
                _return_data(meta),
                list(meta.inner_instructions()),
                post,
                keys,
                loaded,
            )
        meta = result.meta()
        return Simulation(
            result.err(),
            list(meta.logs()),
            meta.compute_units_consumed(),
            _return_data(meta),
            list(meta.inner_instructions()),
            {},
            keys,
            loaded,
        )

    def loaded_accounts_data_size(self, resolved: ResolvedTransaction) -> int:
        """The bytes of account data the transaction loads, as agave 2.2 counts them: the data
        of every account it lists (missing ones count 0), plus, once per loader, the loader
        account of each top-level program (agave's load_transaction_accounts)."""
        total = 0
        for key in resolved.account_keys:
            account = self.get_account(key)
            total += 0 if account is None else len(account.data)
        message = resolved.tx.message
        loaders: set[Pubkey] = set()
        for ix in message.instructions:
            program = self.get_account(resolved.account_keys[ix.program_id_index])
            if program is not None and program.owner != NATIVE_LOADER_ID:
                loaders.add(program.owner)
        for loader in loaders:
            account = self.get_account(loader)
            total += 0 if account is None else len(account.data)
        return total

    def process(self, resolved: ResolvedTransaction) -> TxRecord:
        """Execute and commit; raises TransactionRejected if the transaction does not land."""
        err = self._check(resolved)
        if err is not None:
            raise TransactionRejected(err)
        keys = resolved.account_keys
        pre_accounts = [self.svm.get_account(k) for k in keys]
        fee = message_fee(resolved.tx.message)
        if pre_accounts[0] is None or pre_accounts[0].lamports < fee:
            raise TransactionRejected(TransactionErrorFieldless.InsufficientFundsForFee)
        result = self.svm.send_transaction(resolved.tx)
        if isinstance(result, FailedTransactionMetadata):
            payer_after = self.svm.get_balance(keys[0]) or 0
            payer_before = pre_accounts[0].lamports if pre_accounts[0] is not None else 0
            if payer_after == payer_before:  # nothing charged: the transaction did not land
                raise TransactionRejected(result.err(), list(result.meta().logs()))
            meta = result.meta()
            tx_err: TransactionErrorType | None = result.err()
        else:
            meta = result
            tx_err = None
        post_accounts = list(pre_accounts)
        written: list[tuple[Pubkey, Account | None]] = []
        for i, key in enumerate(keys):
            # A failed transaction only stores its fee payer (fee) and nothing else.
            if resolved.writable[i] and (tx_err is None or i == 0):
                post = self._stamp_rent_epoch(key, self.get_account(key))
                post_accounts[i] = post
                self._index(key, post)
                written.append((key, post))
        pre_balances = [a.lamports if a is not None else 0 for a in pre_accounts]
        post_balances = [a.lamports if a is not None else 0 for a in post_accounts]
        # LiteSVM charges only the signature fee; the prioritization fee a cluster also takes
        # is charged here, so balances and getFeeForMessage agree with meta.fee. Lamports are
        # conserved by execution, so what the accounts lost is what LiteSVM charged.
        uncharged = fee - (sum(pre_balances) - sum(post_balances))
        payer = post_accounts[0]
        # (A payer that emptied itself can no longer be charged; the runtime charges fees first.)
        if uncharged > 0 and payer is not None and payer.lamports >= uncharged:
            payer = Account(payer.lamports - uncharged, bytes(payer.data), payer.owner,
                            payer.executable, payer.rent_epoch)
            self.svm.set_account(keys[0], payer)
            post_accounts[0] = payer
            post_balances[0] = payer.lamports
            written[0] = (keys[0], payer)
        record = TxRecord(
            resolved=resolved,
            slot=self.slot,
            block_height=self.block_height,
            block_time=self.unix_timestamp,
            err=tx_err,
            fee=sum(pre_balances) - sum(post_balances),
            pre_balances=pre_balances,
            post_balances=post_balances,
            pre_token_balances=self._token_balances(pre_accounts),
            post_token_balances=self._token_balances(post_accounts),
            logs=list(meta.logs()),
            inner_instructions=list(meta.inner_instructions()),
            compute_units=meta.compute_units_consumed(),
            return_data=_return_data(meta),
            written=written,
        )
        self._store(record)
        for listener in self._commit_listeners:
            listener(record)
        return record

    def _store(self, record: TxRecord) -> None:
        record.index = self.transaction_count
        self._records[record.signature] = record
        self._blocks[self.slot].transactions.append(record)
        for key in record.resolved.account_keys:
            self._by_address.setdefault(key, []).append(record)
        self._history_size += 1
        self.transaction_count += 1
        if record.err is None:
            self._slot_successful += 1
        else:
            self._slot_failed += 1
        self._prune()
        _, price = compute_budget(record.resolved.tx.message)
        writable = [k for k, w in zip(record.resolved.account_keys, record.resolved.writable) if w]
        self._slot_fees[-1][1].append((price, writable))

    def _token_balances(self, accounts: list[Account | None]) -> list[dict[str, object]]:
        balances: list[dict[str, object]] = []
        for index, account in enumerate(accounts):
            if account is None or not codec.is_token_account(account):
                continue
            mint, owner, amount = codec.token_account_fields(bytes(account.data))
            mint_account = self.get_account(mint)
            if mint_account is None:
                continue
            balances.append(
                {
                    "accountIndex": index,
                    "mint": str(mint),
                    "uiTokenAmount": codec.ui_token_amount(
                        amount, codec.mint_decimals(bytes(mint_account.data))
                    ),
                    "owner": str(owner),
                    "programId": str(account.owner),
                }
            )
        return balances

    def record(self, signature: Signature) -> TxRecord | None:
        return self._records.get(signature)

    # -- ledger -------------------------------------------------------------------------------

    def block(self, slot: int) -> Block | None:
        return self._blocks.get(slot)

    @property
    def first_available_block(self) -> int:
        return next(iter(self._blocks))

    def block_slots(self, start: int, end: int, limit: int | None = None) -> list[int]:
        """Slots in [start, end] that hold a block, ascending, at most `limit` of them."""
        lo = bisect_left(self._block_slots, start)
        hi = bisect_right(self._block_slots, end)
        if limit is not None:
            hi = min(hi, lo + limit)
        return self._block_slots[lo:hi]

    def signatures_for_address(
        self, address: Pubkey, before: Signature | None, until: Signature | None, limit: int
    ) -> list[TxRecord]:
        """Committed transactions touching `address`, newest first: older than `before` (none if
        `before` is unknown, as agave answers), newer than `until` (if known), at most `limit`."""
        history = self._by_address.get(address, [])
        end = len(history)
        if before is not None:
            anchor = self._records.get(before)
            if anchor is None:
                return []
            end = bisect_left(history, anchor.index, key=lambda r: r.index)
        stop = -1
        if until is not None:
            floor = self._records.get(until)
            stop = -1 if floor is None else floor.index
        found: list[TxRecord] = []
        for i in range(end - 1, -1, -1):
            record = history[i]
            if record.index <= stop or len(found) >= limit:
                break
            found.append(record)
        return found

    def _prune(self) -> None:
        """Drop the oldest blocks, whole, while the ledger holds more than its limits."""
        if len(self._blocks) <= MAX_BLOCKS and self._history_size <= MAX_HISTORY:
            return
        touched: set[Pubkey] = set()
        # A tenth at a time, so each address list is cut once per batch rather than per record.
        while len(self._blocks) > 1 and (
            len(self._blocks) > MAX_BLOCKS * 9 // 10 or self._history_size > MAX_HISTORY * 9 // 10
        ):
            block = self._blocks.pop(next(iter(self._blocks)))
            for record in block.transactions:
                del self._records[record.signature]
                touched.update(record.resolved.account_keys)
            self._history_size -= len(block.transactions)
        del self._block_slots[: len(self._block_slots) - len(self._blocks)]
        oldest = self.transaction_count - self._history_size
        for key in touched:
            history = self._by_address[key]
            del history[: bisect_left(history, oldest, key=lambda r: r.index)]
            if not history:
                del self._by_address[key]

    def fee_for_message(self, message: Message | MessageV0) -> int | None:
        """getFeeForMessage: None once the message's blockhash has expired."""
        if not self.is_blockhash_valid(message.recent_blockhash):
            return None
        return message_fee(message)

    def prioritization_fees(self, accounts: Iterable[Pubkey]) -> list[tuple[int, int]]:
        """(slot, fee) for recent slots, as agave's prioritization fee cache answers: the lowest
        compute-unit price that landed in the slot (0 for none), raised to the highest of
        `accounts`' own minimums (the lowest price among the slot's transactions writing it)."""
        wanted = set(accounts)
        fees: list[tuple[int, int]] = []
        for slot, txs in self._slot_fees:
            fee = min((p for p, _ in txs), default=0)
            account_minimums: dict[Pubkey, int] = {}
            for price, writable in txs:
                for key in wanted.intersection(writable):
                    account_minimums[key] = min(price, account_minimums.get(key, price))
            fees.append((slot, max([fee, *account_minimums.values()])))
        return fees

    def minimum_delegation(self) -> int:
        """The stake program's own answer to GetMinimumDelegation (it depends on the feature
        set), asked once by simulating the instruction with the faucet as fee payer."""
        if self._minimum_delegation is None:
            ix = Instruction(STAKE_PROGRAM_ID, _GET_MINIMUM_DELEGATION, [])
            tx = Transaction([self.faucet], Message([ix], self.faucet.pubkey()), self.latest_blockhash)
            result = self.svm.simulate_transaction(VersionedTransaction.from_legacy(tx))
            if not isinstance(result, SimulatedTransactionInfo):
                raise RuntimeError(f"GetMinimumDelegation failed: {result.err()}")
            returned = _return_data(result.meta())
            if returned is None:
                raise RuntimeError("GetMinimumDelegation returned no data")
            self._minimum_delegation = int.from_bytes(returned[1], "little")
        return self._minimum_delegation

    # -- faucet -------------------------------------------------------------------------------

    def airdrop(self, to: Pubkey, lamports: int) -> Signature:
        """A transfer from the faucet, processed like any client transaction."""
        message = Message(
            [transfer(TransferParams(from_pubkey=self.faucet.pubkey(), to_pubkey=to, lamports=lamports))],
            self.faucet.pubkey(),
        )
        tx = Transaction([self.faucet], message, self.latest_blockhash)
        resolved = self.resolve(VersionedTransaction.from_legacy(tx))
        if resolved.signature in self._records:
            # Same recipient and amount within one block: the identical faucet transaction was
            # already processed, and like agave's faucet we hand back its signature.
            return resolved.signature
        self.process(resolved)
        return resolved.signature
