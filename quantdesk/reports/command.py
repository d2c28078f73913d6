"""`quantdesk report daily --date D` and `quantdesk report range --from D --to D`: the period's
report from the indexer's store into a directory (index.html, a CSV per table, the plots)."""
from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from quantdesk.reports.daily import build
from quantdesk.reports.data import load

__all__ = ["main", "period"]


def _midnight_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000


def period(start: str, end: str | None = None) -> tuple[int, int, str]:
    """[start, end] whole UTC days as microseconds (end inclusive; one day without it) and a title."""
    first = date.fromisoformat(start)
    last = date.fromisoformat(end) if end else first
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    title = f"QuantDesk daily report {first}" if first == last else f"QuantDesk report {first} to {last}"
    return _midnight_us(first), _midnight_us(last + timedelta(days=1)), title


def main(url: str, start: str, end: str | None, out: Path) -> int:
    try:
        start_us, end_us, title = period(start, end)
    except ValueError as exc:
        print(f"quantdesk report: InvalidPeriod: {exc}", file=sys.stderr)
        return 2
    engine = create_engine(url)
    try:
        data = load(engine, start_us, end_us)
    finally:
        engine.dispose()
    path = build(title, data).write(out)
    print(f"{title}: {len(data.markets)} market(s), {len(data.accounts)} account(s), {len(data.liquidations)} liquidation step(s); "
          f"built from {data.chain_rows} audited rows, chain head {data.chain_head}; wrote {path}")
    return 0
