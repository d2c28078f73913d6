"""The audit trail on both backends: an untouched store verifies clean, and each tampering done
directly in the database (UPDATE, DELETE, INSERT, two rows' seqs swapped, a chain entry
rewritten) is found and named by table and seq. The rows come from synthetic decoded
transactions (the benchmark's) (the decoding itself is tested against the validator in test_follow.py)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from quantdesk.audit.chain import BLOCK_ROWS
from quantdesk.audit.verify import Finding, verify
from quantdesk.bench.indexer import TAKER
from quantdesk.bench.indexer import synthetic_fill as fill
from quantdesk.indexer.decode import Decoded
from quantdesk.indexer.store import Store


def failed(n: int) -> Decoded:
    return Decoded(f"bad{n}", 10 + n, None, TAKER, {"InstructionError": [0, {"Custom": 6000}]}, ["Program x failed"], ["qd_trading"], [])


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    s.ingest([(fill(n), 5) for n in range(3)])  # seqs 1..6: events and fills alternate
    s.ingest([(fill(n), 5) for n in range(3, 6)] + [(failed(0), 5)])  # seqs 7..13
    yield s
    s.close()


def found(s: Store) -> list[tuple[str, str, int | None]]:
    return sorted((f.kind, f.table, f.seq) for f in verify(s.engine).findings)


def execute(s: Store, sql: str) -> None:
    with s.engine.begin() as conn:
        conn.execute(text(sql))


def test_an_untouched_store_verifies_clean_and_ingesting_again_adds_nothing(store: Store) -> None:
    assert store.ingest([(fill(1), 9), (failed(0), 9)]) == 0
    report = verify(store.engine)
    assert report.clean and report.rows == 13 and report.blocks == 2
    assert report.head == store.chain.head.hex()


def test_an_updated_row_is_found(store: Store) -> None:
    execute(store, "UPDATE fills SET price = price + 1 WHERE seq = 4")
    assert found(store) == [("modified", "fills", 4)]


def test_an_updated_exception_is_found(store: Store) -> None:
    execute(store, "UPDATE exceptions SET error = '{}'")
    assert found(store) == [("modified", "exceptions", 13)]


def test_a_deleted_row_is_found(store: Store) -> None:
    execute(store, "DELETE FROM events WHERE seq = 7")
    assert found(store) == [("deleted", "events", 7)]


def test_an_inserted_row_is_found(store: Store) -> None:
    execute(store, "INSERT INTO events (seq, signature, ix_index, event_index, slot, block_time_us, received_us, signer, program, kind, fields) "
                   "VALUES (99, 'forged', 0, 0, 1, 1, 1, 'x', 'qd_trading', 'Fill', '{}')")
    assert found(store) == [("inserted", "events", 99)]


def test_two_swapped_seqs_are_found_as_reordered(store: Store) -> None:
    # events rows are at seqs 1, 3, 5...: swap 1 and 3 through a free seq.
    execute(store, "UPDATE events SET seq = 1000 WHERE seq = 1")
    execute(store, "UPDATE events SET seq = 1 WHERE seq = 3")
    execute(store, "UPDATE events SET seq = 3 WHERE seq = 1000")
    assert found(store) == [("reordered", "events", 1), ("reordered", "events", 3)]


def test_a_row_and_its_chain_entry_rewritten_together_break_the_chain_and_the_block(store: Store) -> None:
    execute(store, "UPDATE fills SET price = 1 WHERE seq = 2")
    from quantdesk.audit.chain import digest

    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM fills WHERE seq = 2")).mappings().one()
    execute(store, f"UPDATE audit_chain SET digest = '{digest('fills', row).hex()}' WHERE seq = 2")
    kinds = found(store)
    assert ("chain", "audit_chain", 2) in kinds and ("modified", "fills", 2) not in kinds
    assert any(kind == "block" for kind, _, _ in kinds)


def test_a_deleted_row_and_chain_entry_leave_a_gap(store: Store) -> None:
    execute(store, "DELETE FROM fills WHERE seq = 8")
    execute(store, "DELETE FROM audit_chain WHERE seq = 8")
    kinds = found(store)
    assert ("chain", "audit_chain", 8) in kinds and any(kind == "block" for kind, _, _ in kinds)


def test_a_large_commit_is_sealed_in_blocks_of_block_rows(store_url: str) -> None:
    s = Store(store_url)
    s.ingest([(fill(n), 5) for n in range(BLOCK_ROWS)])  # 2,000 rows
    report = verify(s.engine)
    s.close()
    assert report.clean and report.rows == 2 * BLOCK_ROWS and report.blocks == 2


def test_findings_read_as_sentences() -> None:
    assert str(Finding("modified", "fills", 4, "its digest differs")) == "modified: fills seq 4: its digest differs"
