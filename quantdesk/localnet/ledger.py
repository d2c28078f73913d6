"""`--ledger DIR`: the bank kept on disk, so a restart resumes where the node stopped.

The ledger is one append-only log (DIR/ledger.log) of what changed the bank: a genesis frame (the
faucet, identity and vote keys, the genesis hash, the time base), then, in order, each produced
block's header, each committed transaction's record with the accounts it wrote, and each account
a control set. A restart replays it onto a fresh bank: accounts, owner index, blocks, history,
address index, slot, block height, transaction count, blockhash window and clock come back as
they were. Replaying is plain in-memory work (no execution), so it runs at log-read speed.

Frames are length-prefixed pickles. The node's thread only appends them to a buffer (the hot path
stays cheap); a syncer thread writes the buffer out and fsyncs it every SYNC_INTERVAL_S (and
shutdown does a last one), so a crash — the process killed, or the machine gone — loses at most
the batch of frames appended since the last sync. A torn last frame (killed mid-write) is dropped
on reading. The log is the node's own file: it is read by this code only, never from elsewhere.
A qd_reset starts the log over.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, Final

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction_status import (
    TransactionErrorDuplicateInstruction,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorProgramExecutionTemporarilyRestricted,
    TransactionErrorType,
    TransactionStatus,
)

from quantdesk.localnet import codec
from quantdesk.localnet.bank import FAUCET_LAMPORTS, Bank, Block, SlotInfo, TxRecord

LOG_NAME: Final = "ledger.log"
# The most a crash can lose: what was appended since the last sync. An fsync takes a few ms, so
# the syncer thread is idle most of the time, and the node's thread never waits for it.
SYNC_INTERVAL_S: Final = 0.1
_VERSION: Final = 1
_HEADER: Final = struct.Struct("<I")
_ERROR_TYPES: Final = (
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorDuplicateInstruction,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorProgramExecutionTemporarilyRestricted,
)


class LedgerError(Exception):
    """The ledger directory holds a log this version cannot read (not a torn tail: corruption)."""


def _error_from_json(err: Any) -> TransactionErrorType:
    # solders builds transaction errors from their serde JSON only inside a status.
    status = {"slot": 0, "confirmations": None, "err": err, "status": {"Ok": None},
              "confirmationStatus": None}
    parsed = TransactionStatus.from_json(json.dumps(status)).err
    assert parsed is not None
    return parsed


class _Pickler(pickle.Pickler):
    """solders objects do not pickle; they travel as their bincode bytes (errors as JSON)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _ERROR_TYPES):
            return _error_from_json, (codec.error_to_json(obj),)
        kind = type(obj)
        if kind.__module__.startswith("solders") and hasattr(kind, "from_bytes"):
            return kind.from_bytes, (bytes(obj),)
        return NotImplemented


def _dumps(frame: tuple[Any, ...]) -> bytes:
    out = io.BytesIO()
    out.write(b"\0\0\0\0")
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(frame)
    payload = out.getbuffer()
    _HEADER.pack_into(payload, 0, len(payload) - 4)
    return bytes(payload)


def _frames(path: Path) -> tuple[list[tuple[Any, ...]], int]:
    """The log's whole frames, and the length they span (what follows is a torn tail)."""
    data = path.read_bytes()
    frames: list[tuple[Any, ...]] = []
    offset = 0
    while offset + 4 <= len(data):
        (size,) = _HEADER.unpack_from(data, offset)
        if offset + 4 + size > len(data):
            break
        try:
            frame = pickle.loads(data[offset + 4 : offset + 4 + size])
        except Exception as exc:  # any decode failure of a whole frame is corruption
            raise LedgerError(f"{path}: frame at byte {offset} is unreadable: {exc}") from exc
        if not isinstance(frame, tuple) or not frame:
            raise LedgerError(f"{path}: frame at byte {offset} is not a ledger frame")
        frames.append(frame)
        offset += 4 + size
    return frames, offset


class Ledger:
    """Persists one bank to DIR/ledger.log and restores it from there."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / LOG_NAME
        self._file: BinaryIO | None = None
        self._buffer = bytearray()
        self._bank: Bank | None = None
        self._buffer_lock = threading.Lock()  # the buffer, shared with the syncer
        self._file_lock = threading.Lock()  # writes, fsyncs and truncation of the file
        self._stopping = threading.Event()
        self._syncer: threading.Thread | None = None

    @staticmethod
    def delete(directory: Path) -> None:
        """--reset: the ledger goes, whole."""
        if directory.exists():
            shutil.rmtree(directory)

    def open(self, bank: Bank) -> bool:
        """Restore `bank` from the log if there is one (True), then log its changes from now on."""
        self.directory.mkdir(parents=True, exist_ok=True)
        restored = False
        if self.path.exists():
            frames, whole = _frames(self.path)
            if frames:
                _replay(bank, frames, self.path)
                restored = True
            with self.path.open("r+b") as f:  # drop a torn tail so new frames follow whole ones
                f.truncate(whole)
        self._file = self.path.open("ab")
        self._bank = bank
        if not restored:
            self._start_over()
        bank.on_commit(self._committed)
        bank.on_slot(self._slot)
        bank.on_account(self._account)
        self._syncer = threading.Thread(target=self._sync_every_interval, name="ledger-sync", daemon=True)
        self._syncer.start()
        return restored

    def _start_over(self) -> None:
        assert self._file is not None and self._bank is not None
        bank = self._bank
        genesis = _dumps(
            ("genesis", _VERSION, bytes(bank.faucet), bank.identity, bank.vote_account,
             bank.genesis_hash, bank.unix_timestamp_at(0))
        )
        with self._file_lock:
            with self._buffer_lock:
                self._buffer.clear()
            self._file.truncate(0)
            self._file.write(genesis)
            self._file.flush()
            os.fsync(self._file.fileno())

    def _append(self, frame: bytes) -> None:
        with self._buffer_lock:
            self._buffer += frame

    def _committed(self, record: TxRecord) -> None:
        self._append(_dumps(("tx", record)))

    def _account(self, pubkey: Pubkey, account: Account | None) -> None:
        self._append(_dumps(("account", pubkey, account)))

    def _slot(self, info: SlotInfo) -> None:
        assert self._bank is not None
        if info.slot == 0:  # only a reset goes back to slot 0: the log starts over
            self._start_over()
            return
        block = self._bank.block(info.slot)
        assert block is not None
        self._append(_dumps(
            ("block", block.slot, block.parent_slot, block.blockhash, block.previous_blockhash,
             block.block_height, block.block_time, *self._time_base())
        ))

    def _time_base(self) -> tuple[int, int]:
        assert self._bank is not None
        return self._bank._ts_base, self._bank._ts_base_slot

    def _sync_every_interval(self) -> None:
        while not self._stopping.wait(SYNC_INTERVAL_S):
            self.sync()

    def sync(self) -> None:
        """Write out what is buffered and make it durable (a batch: whole frames, in order)."""
        with self._file_lock:
            with self._buffer_lock:
                batch, self._buffer = self._buffer, bytearray()
            if batch and self._file is not None:
                self._file.write(batch)
                self._file.flush()
                os.fsync(self._file.fileno())

    def close(self) -> None:
        """Write what is buffered, with the clock as it stands (a qd_setClock since the last
        block), and make it durable."""
        if self._file is None or self._bank is None:
            return
        self._stopping.set()
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None
        block = self._bank.block(self._bank.slot)
        assert block is not None
        self._append(_dumps(("clock", *self._time_base(), block.block_time)))
        self.sync()
        self._file.close()
        self._file = None


def _replay(bank: Bank, frames: list[tuple[Any, ...]], path: Path) -> None:
    """Rebuilds the bank's state from the log (the bank is fresh from genesis; no listeners
    fire: nothing is subscribed yet)."""
    first = frames[0]
    if first[0] != "genesis" or first[1] != _VERSION:
        raise LedgerError(f"{path}: not a version {_VERSION} ledger (first frame {first[0]!r})")
    _, _, faucet, identity, vote_account, genesis_hash, ts_base = first
    # This start's own genesis keys and faucet give way to the ledger's.
    bank.svm.set_account(bank.faucet.pubkey(), Account(0, b"", Pubkey.default()))
    bank._index(bank.faucet.pubkey(), None)
    bank.faucet = Keypair.from_bytes(faucet)
    bank.identity, bank.vote_account, bank.genesis_hash = identity, vote_account, genesis_hash
    _write(bank, bank.faucet.pubkey(), Account(FAUCET_LAMPORTS, b"", codec.SYSTEM_PROGRAM_ID))
    bank._ts_base, bank._ts_base_slot = ts_base, 0
    bank._blockhashes = OrderedDict()
    bank._register_blockhash(genesis_hash)
    bank._blocks = {0: Block(0, 0, genesis_hash, genesis_hash, 0, ts_base)}
    bank._block_slots = [0]
    for frame in frames[1:]:
        kind = frame[0]
        if kind == "tx":
            record: TxRecord = frame[1]
            for pubkey, account in record.written:
                _write(bank, pubkey, account)
            bank._store(record)
        elif kind == "block":
            _, slot, parent, blockhash, previous, height, block_time, ts_base, ts_slot = frame
            _open_block(bank, Block(slot, parent, blockhash, previous, height, block_time))
            bank._ts_base, bank._ts_base_slot = ts_base, ts_slot
        elif kind == "account":
            _write(bank, frame[1], frame[2])
        elif kind == "clock":
            bank._ts_base, bank._ts_base_slot = frame[1], frame[2]
            block = bank._blocks[bank.slot]
            block.block_time = frame[3]
            for record in block.transactions:
                record.block_time = frame[3]
        else:
            raise LedgerError(f"{path}: unknown frame kind {kind!r}")
    bank._write_clock()


def _write(bank: Bank, pubkey: Pubkey, account: Account | None) -> None:
    # A deleted account is a zero-lamport one to LiteSVM, as the runtime leaves it.
    bank.svm.set_account(pubkey, account or Account(0, b"", Pubkey.default()))
    bank._index(pubkey, account)


def _open_block(bank: Bank, block: Block) -> None:
    """What Bank.warp_to_slot does, with the recorded blockhash instead of a fresh one."""
    bank.parent_slot, bank.slot, bank.block_height = block.parent_slot, block.slot, block.block_height
    bank._register_blockhash(block.blockhash)
    bank._slot_fees.append((block.slot, []))
    bank._sample()
    bank._blocks[block.slot] = block
    bank._block_slots.append(block.slot)
    bank._slot_successful = bank._slot_failed = 0
    bank._prune()

