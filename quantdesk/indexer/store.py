"""The store: decoded transactions into the tables of schema.py, each row joining the audit
chain, idempotently (a transaction already stored, as an event's location or an exception, is
skipped), one database transaction per batch with its chain block sealed in it."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, insert, select, text

from quantdesk.audit.chain import Chain
from quantdesk.indexer.decode import Decoded, canonical_json, typed_value
from quantdesk.indexer.schema import TYPED, cursors, events, exceptions

__all__ = ["ANALYZE_ROWS", "MIGRATIONS", "Store", "migrate"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ANALYZE_ROWS = 20_000
"""On PostgreSQL, ANALYZE the duplicate check's tables after this many rows written: while a
fresh table has no statistics the check by signature is planned as a sequential scan, and a
large backfill slows quadratically until autovacuum (a minute or more later) catches up."""


def migrate(engine: Engine) -> None:
    """Brings the database to the newest migration (Alembic, quantdesk/indexer/migrations)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _field(fields: dict[str, Any], path: str) -> Any:
    value: Any = fields
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        migrate(self.engine)
        with self.engine.connect() as conn:
            self.chain = Chain.load(conn)
        self._unanalyzed = 0

    def close(self) -> None:
        self.engine.dispose()

    def cursor(self, program: str) -> str | None:
        """The newest signature of `program` the store holds everything up to."""
        with self.engine.connect() as conn:
            return conn.execute(select(cursors.c.signature).where(cursors.c.program == program)).scalar()

    def known(self, signatures: Sequence[str]) -> set[str]:
        """Those of `signatures` already stored."""
        with self.engine.connect() as conn:
            return self._known(conn, signatures)

    @staticmethod
    def _known(conn: Connection, signatures: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(signatures), 500):
            part = list(signatures[start:start + 500])
            found.update(conn.execute(select(events.c.signature).where(events.c.signature.in_(part)).distinct()).scalars())
            found.update(conn.execute(select(exceptions.c.signature).where(exceptions.c.signature.in_(part))).scalars())
        return found

    def ingest(self, transactions: Sequence[tuple[Decoded, int]], cursors: Sequence[tuple[str, str, int]] = ()) -> int:
        """Stores (decoded transaction, received_us) pairs not stored yet and moves `cursors`
        ((program, signature, slot) each) in the same database transaction; returns the rows written."""
        try:
            with self.engine.begin() as conn:
                known = self._known(conn, [d.signature for d, _ in transactions])
                batch: dict[str, list[dict[str, Any]]] = {}
                for decoded, received_us in transactions:
                    if decoded.signature in known:
                        continue
                    known.add(decoded.signature)
                    self._rows(decoded, received_us, batch)
                tables = {t.name: t for t in (events, exceptions, *(typed.table for typed in TYPED))}
                for name, rows in batch.items():
                    conn.execute(insert(tables[name]), rows)
                self.chain.commit(conn)
                for cursor in cursors:
                    self._move_cursor(conn, *cursor)
        except Exception:
            with self.engine.connect() as conn:
                self.chain = Chain.load(conn)  # the rolled-back rows' seqs are reused
            raise
        written = sum(len(rows) for rows in batch.values())
        self._analyze(written)
        return written

    def _analyze(self, written: int) -> None:
        self._unanalyzed += written
        if self.engine.dialect.name != "postgresql" or self._unanalyzed < ANALYZE_ROWS:
            return
        self._unanalyzed = 0
        with self.engine.begin() as conn:
            conn.execute(text("ANALYZE events, exceptions"))

    def _rows(self, d: Decoded, received_us: int, batch: dict[str, list[dict[str, Any]]]) -> None:
        if d.error is not None:
            row = {"signature": d.signature, "slot": d.slot, "block_time_us": d.block_time_us, "received_us": received_us, "signer": d.signer,
                   "programs": ",".join(d.programs), "error": canonical_json(d.error), "logs": canonical_json(d.logs)}
            batch.setdefault("exceptions", []).append(self.chain.append("exceptions", row))
            return
        for e in d.events:
            location = {"signature": d.signature, "ix_index": e.ix_index, "event_index": e.event_index, "slot": d.slot,
                        "block_time_us": d.block_time_us, "received_us": received_us, "signer": d.signer, "program": e.program,
                        "kind": e.name}
            batch.setdefault("events", []).append(self.chain.append("events", location | {"fields": canonical_json(e.fields)}))
            for typed in TYPED:
                if e.name in typed.kinds:
                    columns = {column: typed_value(next((v for p in paths if (v := _field(e.fields, p)) is not None), None))
                               for column, paths in typed.sources.items()}
                    batch.setdefault(typed.table.name, []).append(self.chain.append(typed.table.name, location | columns))

    @staticmethod
    def _move_cursor(conn: Connection, program: str, signature: str, slot: int) -> None:
        updated = conn.execute(cursors.update().where(cursors.c.program == program).values(signature=signature, slot=slot))
        if updated.rowcount == 0:
            conn.execute(insert(cursors).values(program=program, signature=signature, slot=slot))

