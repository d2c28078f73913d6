"""Liquidation's compute budgets (quantdesk/bench/liquidation.py, `make bench`): a perp step on
an 8-position account, a collateral step on an 8-collateral account, a bankruptcy paid by the
fund and socialized, and taking 32 orders off the book stay within the issue's targets; the
8-position step costs the 1-position one plus the seven other positions' reads, both searching
the step's size."""
from __future__ import annotations

from quantdesk.bench import liquidation as bench


def test_liquidation_steps_stay_within_their_cu_targets() -> None:
    table = bench.measure()
    assert set(bench.TARGETS) | {"liquidate_perp_1", "liquidate_collateral_1", "view_liquidation_8", "exit_liquidation"} <= set(table.cu)
    assert not table.over_target(), "\n".join(table.lines())
    extra = table.cu["liquidate_perp_8"] - table.cu["liquidate_perp_1"]
    # Seven more markets and oracles read into the health (about 1,200 CU each with the end level).
    assert 7 * 900 < extra < 7 * 1_600, extra
