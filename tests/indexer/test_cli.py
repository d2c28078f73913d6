"""`quantdesk indexer migrate` and `quantdesk audit verify` from the command line (SQLite)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from quantdesk.bench.indexer import synthetic_fill
from quantdesk.cli import main
from quantdesk.indexer.store import Store


def test_migrate_then_verify_clean_then_tampered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.db"
    assert main(["indexer", "migrate", "--db", str(db)]) == 0
    store = Store(f"sqlite:///{db}")
    store.ingest([(synthetic_fill(n), 0) for n in range(2)])
    head = store.chain.head.hex()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE fills SET maker = 'someone else' WHERE seq = 4"))
    store.close()
    assert main(["audit", "verify", "--db", str(db)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["modified: fills seq 4: its digest differs from the chain's", f"audit verify: 4 rows, 1 blocks, head {head}: 1 findings"]
