"""Reports and surveillance read from the store, on both backends: a small history (two desks'
accounts, a round trip between them, a liquidation, funding, insurance flows, a failed
transaction) ingested as the indexer stores it; the period report's rollups (P&L rebuilt from the
fills as the program keeps positions, desks rolled up to owners, the chain head) and the wash
trade the delegate link makes are read back, and `quantdesk report daily` writes the files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey
from sqlalchemy import create_engine

from quantdesk.audit.verify import verify
from quantdesk.indexer.decode import Decoded, DecodedEvent
from quantdesk.indexer.store import Store
from quantdesk.reports.data import load
from quantdesk.surveillance import AlertKind, scan
from quantdesk.surveillance import store as surveillance_store

USDC, BASE = 10**6, 10**9
DAY_US = 86_400_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01 00:00 UTC
W1, W2, A, B, C = (str(Pubkey.new_unique()) for _ in range(5))
_n = iter(range(1, 10_000))


def tx(at_us: int, program: str, name: str, fields: dict[str, Any], error: Any = None) -> tuple[Decoded, int]:
    n = next(_n)
    events = [] if error else [DecodedEvent(0, 0, program, name, fields)]
    return Decoded(f"sig{n}", 100 + n, at_us, W1, error, [], [program], events), at_us + 1


def fill(at_us: int, taker: str, maker: str, side: int, price: int, taker_fee: int, maker_fee: int) -> tuple[Decoded, int]:
    return tx(at_us, "qd_trading", "Fill", {"fill_id": 1, "market_index": 0, "taker": taker, "taker_order_id": 1, "maker": maker, "maker_order_id": 2,
                                            "taker_side": side, "price": price, "base": BASE, "quote": price, "taker_fee": taker_fee,
                                            "maker_fee": maker_fee, "slot": 1, "ts": at_us // 10**6})


def history() -> list[tuple[Decoded, int]]:
    hour = 3_600_000_000
    return [
        tx(T0 - DAY_US, "qd_core", "MarginAccountCreated", {"owner": W1, "margin_account": A, "sub_id": 0, "name": [0] * 16, "slot": 1}),
        tx(T0 - DAY_US, "qd_core", "MarginAccountCreated", {"owner": W2, "margin_account": B, "sub_id": 0, "name": [0] * 16, "slot": 1}),
        tx(T0 - DAY_US, "qd_core", "MarginAccountCreated", {"owner": W1, "margin_account": C, "sub_id": 1, "name": [0] * 16, "slot": 1}),
        # W1 is B's delegate: A and B are one party's.
        tx(T0 - DAY_US, "qd_core", "DelegateChanged", {"margin_account": B, "owner": W2, "old": str(Pubkey.default()), "new": W1, "slot": 1}),
        fill(T0 + hour, A, B, 0, 100 * USDC, 50_000, -10_000),  # A buys 1 at 100 from B
        fill(T0 + 2 * hour, A, B, 1, 110 * USDC, 55_000, -11_000),  # and sells it back at 110
        fill(T0 + 3 * hour, C, B, 0, 105 * USDC, 52_500, -10_500),  # C buys 1 at 105
        tx(T0 + 4 * hour, "qd_trading", "FundingUpdated", {"market_index": 0, "mark_twap": 0, "oracle_twap": 0, "delta": 1_500,
                                                           "cumulative_funding_long": 1_500, "cumulative_funding_short": 1_500, "ts": 0, "slot": 1}),
        tx(T0 + 5 * hour, "qd_core", "PerpLiquidated", {"liquidation_id": 1, "market_index": 0, "liquidator": A, "margin_account": C, "base": -BASE,
                                                        "price": 95 * USDC, "quote": 95 * USDC, "liquidator_fee": 950_000, "insurance_fee": 475_000,
                                                        "maint_before": 0, "maint_after": 0, "end_before": 0, "end_after": 0, "slot": 1}),
        tx(T0 + 6 * hour, "qd_core", "Staked", {"fund": W2, "staker": W2, "amount": 500 * USDC, "shares": 1, "stake_shares": 1, "balance": 1,
                                                "total_shares": 1, "slot": 1, "seq": 1}),
        tx(T0 + 7 * hour, "qd_trading", "Fill", {}, error={"InstructionError": [0, {"Custom": 6132}]}),
        fill(T0 + DAY_US + hour, A, B, 0, 120 * USDC, 60_000, -12_000),  # the next day: outside the report
    ]


def test_report_rollups_and_wash_trades_from_the_store(store_url: str, tmp_path: Path) -> None:
    store = Store(store_url)
    try:
        store.ingest(history())
        data = load(store.engine, T0, T0 + DAY_US)
        assert verify(store.engine).clean
    finally:
        store.close()
    (market,) = data.markets
    assert (market.fills, market.volume_quote, market.fees) == (3, 315 * USDC, 126_000)
    # After the day: A flat (bought and sold; then took C's long by liquidation: 1 long), B short 2, C flat.
    assert market.open_interest == BASE
    hourly = data.open_interest_by_hour[0]
    # Sampled at each hour's end once the market has a position: 1 after the first buy, 0 after the round trip, then C's long.
    hour = 3_600_000_000
    assert hourly[:3] == [(T0 + 2 * hour, BASE), (T0 + 3 * hour, 0), (T0 + 4 * hour, BASE)] and hourly[-1] == (T0 + DAY_US, BASE) and len(hourly) == 23
    accounts = {a.account: a for a in data.accounts}
    # A: +10 on the round trip less 105,000 of fees, plus the liquidator's fee; B: -10 and C's +5 leg, less its rebates back.
    assert accounts[A].pnl == 10 * USDC - 105_000 + 950_000
    assert accounts[B].pnl == -10 * USDC + 21_000 + 10_500
    assert accounts[C].pnl == -10 * USDC - 52_500 - 1_425_000  # bought at 105, liquidated at 95, paid both fees
    assert {a.owner for a in data.accounts} == {W1, W2} and accounts[C].owner == W1
    assert [(f.market, f.delta) for f in data.funding] == [(0, 1_500)]
    assert [(i.kind, i.amount) for i in data.insurance] == [("staked", 500 * USDC)]
    # 11 events, the 8 typed rows of the fills, funding, liquidation and stake, and the exception.
    assert len(data.liquidations) == 1 and len(data.exceptions) == 1 and data.chain_rows == 20 and data.chain_head != "0" * 64

    engine = create_engine(store_url)
    try:
        alerts = scan(surveillance_store.load(engine, until_us=T0 + DAY_US))
    finally:
        engine.dispose()
    wash = [a for a in alerts if a.kind == AlertKind.WASH_TRADE]
    # B is W1's as delegate: A's and C's fills with B are one party's.
    assert len(wash) == 1 and set(map(str, wash[0].accounts)) == {A, B, C} and len(wash[0].evidence) >= 4

    out = tmp_path / "report"
    done = subprocess.run([sys.executable, "-m", "quantdesk", "report", "daily", "--date", "2026-01-01", "--db-url", store_url, "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert data.chain_head in (out / "index.html").read_text() and (out / "accounts.csv").exists()
    surveil = subprocess.run([sys.executable, "-m", "quantdesk", "surveil", "--db-url", store_url], capture_output=True, text=True, timeout=120)
    assert surveil.returncode == 1 and "wash_trade market 0" in surveil.stdout and "surveil: 1 alert(s)" in surveil.stdout
    bad = subprocess.run([sys.executable, "-m", "quantdesk", "report", "range", "--from", "2026-01-02", "--to", "2026-01-01", "--db-url", store_url],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "InvalidPeriod" in bad.stderr
