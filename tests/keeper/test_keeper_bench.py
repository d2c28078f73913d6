"""The keeper benchmark's liquidator measurement, small: every shock liquidated and timed."""
from __future__ import annotations

from quantdesk.bench.keeper import measure_jit, measure_liquidator


async def test_each_shock_is_detected_sent_and_timed() -> None:
    report = await measure_liquidator((200,), 5)
    figures = report["detect_to_send_ms"]["200"]
    assert figures["shocks"] == 5 and 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    assert report["cpu_ms_per_oracle_update"]["200"] > 0


async def test_each_jit_fill_is_timed() -> None:
    figures = await measure_jit(3)
    assert figures["fills"] == 3 and 0 < figures["p50"] <= figures["p99"]
