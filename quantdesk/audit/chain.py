"""The audit trail's hash chain and its Merkle blocks: the encoding, appending and sealing.

Canonical encoding of a row of table T (every column but `seq`, values int, str or null):

    row_bytes = UTF-8 of JSON {"row": {column: value, ...}, "table": T} with keys sorted, no
                whitespace (separators "," and ":"), non-ASCII escaped (\\uXXXX)
    digest    = SHA-256(row_bytes)
    entry     = seq as 8 bytes big-endian || digest                       (40 bytes)
    hash[seq] = SHA-256(hash[seq - 1] || entry),  hash[0] = 32 zero bytes  (seqs start at 1)

`audit_chain` keeps (seq, table, digest, hash) for every row. A block is a run of consecutive
seqs; its `root` is the RFC 6962 tree head over the entries and its `head` is hash[last_seq].
The indexer seals a block at every commit, and a commit of more than BLOCK_ROWS rows in blocks
of BLOCK_ROWS: every committed row is covered by a sealed block. `seq` itself stays out of the
row's digest so a row moved to another seq is recognised (as reordered) rather than changed."""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select

from quantdesk.audit import merkle
from quantdesk.indexer.schema import audit_blocks, audit_chain

__all__ = ["BLOCK_ROWS", "GENESIS", "Chain", "digest", "entry", "link"]

BLOCK_ROWS = 1_000
GENESIS = bytes(32)


def digest(table: str, row: Mapping[str, Any]) -> bytes:
    values = {column: value for column, value in row.items() if column != "seq"}
    encoded = json.dumps({"row": values, "table": table}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).digest()


def entry(seq: int, row_digest: bytes) -> bytes:
    return seq.to_bytes(8, "big") + row_digest


def link(previous: bytes, seq: int, row_digest: bytes) -> bytes:
    return hashlib.sha256(previous + entry(seq, row_digest)).digest()


@dataclass
class Chain:
    """The writer's end of the chain: numbers rows, links them and seals blocks, inside the
    caller's database transaction. `load` it from the store before the first append and again
    after a rolled-back transaction."""

    seq: int = 0
    head: bytes = GENESIS
    block: int = 0
    sealed_seq: int = 0
    _pending: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, conn: Connection) -> Chain:
        last = conn.execute(select(audit_chain.c.seq, audit_chain.c.hash).order_by(audit_chain.c.seq.desc()).limit(1)).first()
        block = conn.execute(select(func.max(audit_blocks.c.block), func.max(audit_blocks.c.last_seq))).one()
        if last is None:
            return cls(block=block[0] or 0, sealed_seq=block[1] or 0)
        return cls(seq=last.seq, head=bytes.fromhex(last.hash), block=block[0] or 0, sealed_seq=block[1] or 0)

    def append(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """`row` numbered (its `seq` set) and linked; returns it for the caller to insert."""
        self.seq += 1
        row["seq"] = self.seq
        row_digest = digest(table, row)
        self.head = link(self.head, self.seq, row_digest)
        self._pending.append({"seq": self.seq, "table_name": table, "digest": row_digest.hex(), "hash": self.head.hex()})
        return row

    def commit(self, conn: Connection) -> None:
        """Writes the pending chain entries and seals them into blocks (call just before the
        database commit that stores their rows)."""
        if not self._pending:
            return
        conn.execute(insert(audit_chain), self._pending)
        now = time.time_ns() // 1_000
        blocks = []
        for start in range(0, len(self._pending), BLOCK_ROWS):
            part = self._pending[start:start + BLOCK_ROWS]
            self.block += 1
            root = merkle.root([entry(e["seq"], bytes.fromhex(e["digest"])) for e in part])
            blocks.append({"block": self.block, "first_seq": part[0]["seq"], "last_seq": part[-1]["seq"], "root": root.hex(),
                           "head": part[-1]["hash"], "sealed_us": now})
        conn.execute(insert(audit_blocks), blocks)
        self.sealed_seq = self.seq
        self._pending.clear()
