"""The health engine (crates/qd-health) on SBF, through the test-only program
tests/programs/qd-test-health (quantdesk.world.HealthProgram): the CU of n collateral entries and
of n perp positions (health only, no liquidation prices), n = 1..8."""
from __future__ import annotations

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.chain import Chain
from quantdesk.clients.health import CollateralInput, PerpInput, PerpMarketParams
from quantdesk.world import MAX_HEALTH_ENTRIES, HealthProgram


def bench_collateral(i: int) -> CollateralInput:
    """A 9-decimal SOL-like balance at 150.123456 with 80% / 90% weights (i varies the size)."""
    return CollateralInput(balance=2_500_000_000 + i * 1_000_000_007, decimals=9, price=150_123_456, init_weight_bps=8_000, maint_weight_bps=9_000)


def bench_perp(i: int) -> PerpInput:
    """The expensive case: a 10-unit long marked below entry, bids and asks resting (both order
    scenarios evaluated), funding owed and a size-dependent margin (both 64 x 64-bit products)."""
    market = PerpMarketParams(init_margin_bps=1_000, maint_margin_bps=500, size_margin_factor=50_000_000_000,
                              upnl_init_weight_bps=5_000, upnl_maint_weight_bps=8_000)
    return PerpInput(base=10_000_000_000 + i * 7_000_003, quote=-1_000_000_000, funding_snapshot=1_000_000_000, cumulative_funding=26_000_000_000,
                     bids_base=2_000_000_000, bids_quote=188_000_000, asks_base=5_000_000_000, asks_quote=505_000_000,
                     price=95_123_456, market=market)


def measure() -> CuTable:
    """`collateral_n`: n collateral entries; `perps_n`: n perps (health only, no collateral)."""
    table = CuTable("qd_health")
    program = HealthProgram(Chain(seed=BENCH_SEED))
    for n in range(1, MAX_HEALTH_ENTRIES + 1):
        table.record(f"collateral_{n}", program.send([bench_collateral(i) for i in range(n)], []))
    for n in range(1, MAX_HEALTH_ENTRIES + 1):
        table.record(f"perps_{n}", program.send([], [bench_perp(i) for i in range(n)]))
    return table
