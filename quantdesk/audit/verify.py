"""`quantdesk audit verify`: re-reads every audited row, the chain and the blocks and names each
row modified, deleted, inserted or reordered (by table and seq), each broken link and each block
whose root or head no longer matches."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from quantdesk.audit import merkle
from quantdesk.audit.chain import GENESIS, digest, entry, link
from quantdesk.indexer.schema import AUDITED, audit_blocks, audit_chain

__all__ = ["Finding", "Report", "verify"]

_FETCH = 20_000


@dataclass(frozen=True)
class Finding:
    kind: str  # modified, deleted, inserted, reordered, chain, block
    table: str
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"{self.table} seq {self.seq}" if self.seq is not None else self.table
        return f"{self.kind}: {where}: {self.detail}"


@dataclass(frozen=True)
class Report:
    rows: int
    blocks: int
    head: str
    findings: list[Finding]

    @property
    def clean(self) -> bool:
        return not self.findings


def _rows(conn: Connection) -> Iterator[tuple[str, int | None, bytes]]:
    """(table, seq, digest) of every audited row, streamed."""
    for table in AUDITED:
        result = conn.execution_options(stream_results=True, yield_per=_FETCH).execute(select(table))
        for row in result.mappings():
            yield table.name, row["seq"], digest(table.name, dict(row))


def verify(engine: Engine) -> Report:
    findings: list[Finding] = []
    with engine.connect() as conn:
        chain = {seq: (table, bytes.fromhex(d), bytes.fromhex(h))
                 for seq, table, d, h in conn.execute(select(audit_chain).order_by(audit_chain.c.seq))}
        stored: dict[int, tuple[str, bytes]] = {}
        for table, seq, row_digest in _rows(conn):
            if seq is None or seq in stored or seq not in chain:
                findings.append(Finding("inserted", table, seq, "a row the chain does not record"))
            else:
                stored[seq] = (table, row_digest)
        blocks = list(conn.execute(select(audit_blocks).order_by(audit_blocks.c.block)))

    # Rows whose seq holds something else than the chain says: moved (its content is recorded
    # at another such seq of the same table) or changed in place.
    wrong = {seq: found for seq, found in stored.items() if found != chain[seq][:2]}
    expected_at = {chain[seq][:2]: seq for seq in wrong}
    for seq, (table, row_digest) in sorted(wrong.items()):
        if chain[seq][0] != table:
            findings.append(Finding("inserted", table, seq, f"the chain records a {chain[seq][0]} row at this seq"))
        elif (table, row_digest) in expected_at:
            findings.append(Finding("reordered", table, seq, f"holds the row the chain records at seq {expected_at[(table, row_digest)]}"))
        else:
            findings.append(Finding("modified", table, seq, "its digest differs from the chain's"))
    for seq, (table, _, _) in chain.items():
        if seq not in stored:
            findings.append(Finding("deleted", table, seq, "the chain records it, the table no longer has it"))

    previous, expect = GENESIS, 1
    for seq in sorted(chain):
        table, row_digest, stored_hash = chain[seq]
        if seq != expect:
            findings.append(Finding("chain", "audit_chain", expect, f"entries {expect}..{seq - 1} are missing"))
        if link(previous, seq, row_digest) != stored_hash:
            findings.append(Finding("chain", "audit_chain", seq, f"the link to the previous entry is broken ({table} row)"))
        previous, expect = stored_hash, seq + 1

    covered = 0
    for block in blocks:
        leaves = [entry(s, chain[s][1]) for s in range(block.first_seq, block.last_seq + 1) if s in chain]
        if block.first_seq != covered + 1:
            findings.append(Finding("block", "audit_blocks", block.first_seq, f"block {block.block} does not follow the previous block"))
        if merkle.root(leaves).hex() != block.root:
            findings.append(Finding("block", "audit_blocks", None, f"block {block.block} (seq {block.first_seq}..{block.last_seq}): root differs"))
        head = chain.get(block.last_seq)
        if head is None or head[2].hex() != block.head:
            findings.append(Finding("block", "audit_blocks", None, f"block {block.block}: head differs"))
        covered = block.last_seq
    for seq in sorted(s for s in chain if s > covered):
        findings.append(Finding("inserted", chain[seq][0], seq, "a chain entry after the last sealed block"))
    head_hex = chain[max(chain)][2].hex() if chain else GENESIS.hex()
    return Report(len(stored), len(blocks), head_hex, findings)


def main(url: str) -> int:
    """`quantdesk audit verify`: prints the result; 1 when anything was found."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        report = verify(engine)
    finally:
        engine.dispose()
    for finding in report.findings:
        print(finding)
    state = "clean" if report.clean else f"{len(report.findings)} findings"
    print(f"audit verify: {report.rows} rows, {report.blocks} blocks, head {report.head}: {state}")
    return 0 if report.clean else 1
