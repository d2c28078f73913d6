"""The period report from rollups: every section's table written as CSV with its rows, the plots as
PNG files and embedded in one HTML file that states the audit chain head it was built from; desks
roll sub-accounts up to their owner."""
from __future__ import annotations

import csv
from pathlib import Path

from quantdesk.reports.daily import AccountRow, ExceptionRow, FundingRow, InsuranceRow, LiquidationRow, MarketRow, ReportData, build

USDC, BASE, HOUR = 10**6, 10**9, 3_600_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01 00:00 UTC in microseconds


def data() -> ReportData:
    return ReportData(
        T0, T0 + 24 * HOUR, "ab" * 32, 1_234,
        markets=[MarketRow(0, 5_000_000 * USDC, 2_500 * USDC, 40 * BASE, 310), MarketRow(1, 800_000 * USDC, 400 * USDC, 3 * BASE, 52)],
        accounts=[AccountRow("acc1", "deskA", -1_200 * USDC, 300 * USDC, 900_000 * USDC), AccountRow("acc2", "deskA", 400 * USDC, 100 * USDC, 100_000 * USDC),
                  AccountRow("acc3", "deskB", 800 * USDC, 50 * USDC, 50_000 * USDC)],
        funding=[FundingRow(0, T0 + h * HOUR, (h % 5 - 2) * 1_000) for h in range(24)],
        liquidations=[LiquidationRow(T0 + 5 * HOUR, 0, "acc1", "keeper", 2 * BASE, 95 * USDC, 3 * USDC)],
        insurance=[InsuranceRow(T0 + HOUR, "staked", 500 * USDC), InsuranceRow(T0 + 6 * HOUR, "paid", -120 * USDC)],
        exceptions=[ExceptionRow(T0 + 7 * HOUR, "5sig", "InsufficientHealth")],
        volume_by_hour={0: [(T0 + h * HOUR, 200_000 * USDC) for h in range(24)], 1: [(T0 + h * HOUR, 30_000 * USDC) for h in range(24)]},
    )


def test_a_daily_report_writes_html_csv_and_plots(tmp_path: Path) -> None:
    path = build("QuantDesk daily report 2026-01-01", data()).write(tmp_path)
    page = path.read_text()
    assert "chain head " + "ab" * 32 in page and "1,234 audited rows" in page
    assert page.count("<img ") == 4 and all((tmp_path / f"{n}.png").stat().st_size > 1_000 for n in ("markets", "accounts", "funding", "insurance"))
    with (tmp_path / "desks.csv").open() as f:
        desks = list(csv.reader(f))
    assert desks == [["owner", "accounts", "P&L (USDC)", "fees (USDC)", "volume (USDC)"], ["deskA", "2", "-800.00", "400.00", "1,000,000.00"],
                     ["deskB", "1", "800.00", "50.00", "50,000.00"]]
    with (tmp_path / "markets.csv").open() as f:
        assert list(csv.reader(f))[1] == ["0", "310", "5,000,000.00", "2,500.00", "40.000"]
    assert (tmp_path / "exceptions.csv").read_text().count("InsufficientHealth") == 1
    # An empty period still renders, each table saying none.
    empty = build("empty", ReportData(T0, T0 + HOUR, "00" * 32, 0)).write(tmp_path / "empty")
    assert "none" in empty.read_text()


def test_plots_render_after_litesvm_left_the_x87_stack_full(tmp_path: Path) -> None:
    # A LiteSVM transaction leaves every x87 register in use (quantdesk/fpu.py); the report clears it.
    from quantdesk.world import Venue
    Venue().trader()
    build("after LiteSVM", data()).write(tmp_path)
    assert (tmp_path / "markets.png").stat().st_size > 1_000
