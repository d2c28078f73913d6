"""`quantdesk indexer` and `quantdesk indexer migrate`: the store's URL from the options, then
the indexer until interrupted (or only the migrations)."""
from __future__ import annotations

import asyncio
from pathlib import Path

from quantdesk.indexer.follow import Indexer
from quantdesk.indexer.store import Store
from quantdesk.keeper.logs import Log

__all__ = ["DEFAULT_DB", "run", "store_url"]

DEFAULT_DB = Path("target/indexer.db")


def store_url(db: Path | None, db_url: str | None) -> str:
    """An SQLAlchemy URL (`postgresql+psycopg://user@host:port/name` in production) or else the
    SQLite file `db` (default target/indexer.db)."""
    if db_url:
        return db_url
    path = db or DEFAULT_DB
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def run(url: str, rpc_url: str, ws_url: str, log_level: str, migrate_only: bool) -> int:
    store = Store(url)  # migrates
    log = Log(level=log_level)
    try:
        if migrate_only:
            log.info("indexer.migrated", url=store.engine.url.render_as_string(hide_password=True))
            return 0
        asyncio.run(Indexer(store, rpc_url, ws_url, log).run())
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    return 0
