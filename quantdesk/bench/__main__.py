from __future__ import annotations

import asyncio
import json
from pathlib import Path

from quantdesk.bench import blocks, collateral, core, health, indexer, insurance, keeper, liquidation, oracle, security, stress, trading
from quantdesk.localnet import bench as localnet_bench

OUT = Path("target/bench")
PROGRAM_SCENARIOS = [oracle.measure, security.measure, core.measure, insurance.measure, collateral.measure, trading.measure, liquidation.measure,
                     health.measure]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tables = [measure() for measure in PROGRAM_SCENARIOS]
    print("compute units per instruction (LiteSVM):")
    for table in tables:
        print("\n".join(table.lines()))
    (OUT / "cu.json").write_text(json.dumps({t.program: t.cu for t in tables}, indent=2) + "\n")
    print(f"wrote {OUT / 'cu.json'}\n")
    fills = blocks.report(next(t for t in tables if t.program == "qd_trading"))
    print("\n".join(blocks.lines(fills)))
    (OUT / "fills_per_block.json").write_text(json.dumps(fills, indent=2) + "\n")
    print(f"wrote {OUT / 'fills_per_block.json'}\n")
    throughput = asyncio.run(localnet_bench.run())
    (OUT / "throughput.json").write_text(json.dumps(throughput, indent=2) + "\n")
    print(f"wrote {OUT / 'throughput.json'}\n")
    print("keeper: price shock to liquidation sent (local validator, in-process keeper):")
    keepers = asyncio.run(keeper.measure())
    (OUT / "keeper.json").write_text(json.dumps(keepers, indent=2) + "\n")
    print(f"wrote {OUT / 'keeper.json'}\n")
    print("stress: the built-in scenarios over every account (local validator snapshot):")
    stressed = asyncio.run(stress.measure())
    (OUT / "stress.json").write_text(json.dumps(stressed, indent=2) + "\n")
    print(f"wrote {OUT / 'stress.json'}")
    indexing = indexer.measure()
    (OUT / "indexer.json").write_text(json.dumps(indexing, indent=2) + "\n")
    print(f"wrote {OUT / 'indexer.json'}")
    over = [name for t in tables for name in t.over_target()]
    if over:
        print(f"over target: {', '.join(over)}")
        return 1
    return 0


raise SystemExit(main())
