"""`quantdesk surveil`: trade surveillance over the indexer's store, each alert with its evidence
rows (signature, instruction index, event index)."""
from __future__ import annotations

from sqlalchemy import create_engine

from quantdesk.surveillance import scan
from quantdesk.surveillance.store import load

__all__ = ["main"]


def main(url: str, evidence: int = 10) -> int:
    """Prints every alert (its first `evidence` rows); exits 1 when any was raised."""
    engine = create_engine(url)
    try:
        alerts = scan(load(engine))
    finally:
        engine.dispose()
    for a in alerts:
        print(f"{a.kind.value} market {a.market} accounts {', '.join(map(str, a.accounts))}: {a.reason}")
        for ref in a.evidence[:evidence]:
            print(f"    {ref.signature} instruction {ref.instruction} event {ref.event}")
        if len(a.evidence) > evidence:
            print(f"    ... {len(a.evidence) - evidence} more")
    print(f"surveil: {len(alerts)} alert(s)")
    return 1 if alerts else 0
