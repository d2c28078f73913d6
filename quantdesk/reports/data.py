"""Report rollups from the indexer's store: everything from the `events` table (fields as JSON)
and `exceptions`, with the audit chain's head. Positions are rebuilt from fills, liquidations and
settlement close-outs exactly as qd-trading keeps them (average cost: `Position::apply_fill`), so
realized P&L in a period is what the positions realized then; fees and funding come from the
events that charge them."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from quantdesk.indexer.schema import audit_chain, events, exceptions
from quantdesk.reports.daily import AccountRow, ExceptionRow, FundingRow, InsuranceRow, LiquidationRow, MarketRow, ReportData

__all__ = ["load"]

BASE = 10**9
HOUR_US = 3_600_000_000
KINDS = ("MarginAccountCreated", "Fill", "PerpLiquidated", "PnlSettled", "FundingUpdated", "Staked", "Unstaked", "InsurancePaid", "FeesSwept")


@dataclass
class _Position:
    base: int = 0
    entry: int = 0  # signed cost basis, as Position.quote_entry

    def fill(self, delta: int, price: int) -> int:
        """Applies a fill of `delta` base at `price`; returns the PnL it realizes (Position::apply_fill)."""
        quote = abs(delta) * price // BASE
        flow = -quote if delta > 0 else quote
        if self.base == 0 or (self.base > 0) == (delta > 0):
            self.base, self.entry = self.base + delta, self.entry + flow
            return 0
        held, closing = abs(self.base), min(abs(delta), abs(self.base))
        part = self.entry if closing == held else self.entry * closing // held
        close_quote = quote if closing == abs(delta) else closing * price // BASE
        realized = part + (-close_quote if delta > 0 else close_quote)
        rest = quote - close_quote
        self.entry = self.entry - part + (-rest if delta > 0 else rest)
        self.base += delta
        return realized


def _open_interest(positions: dict[tuple[str, int], _Position]) -> dict[int, int]:
    """Per market, the longs' total base (equal to the shorts')."""
    total: defaultdict[int, int] = defaultdict(int)
    for (_, m), p in positions.items():
        total[m] += max(p.base, 0)
    return total


def load(engine: Engine, start_us: int, end_us: int) -> ReportData:
    with engine.connect() as c:
        rows = c.execute(select(events.c.kind, events.c.block_time_us, events.c.fields).where(events.c.kind.in_(KINDS))
                         .where(events.c.block_time_us < end_us).order_by(events.c.seq)).all()
        failed = c.execute(select(exceptions.c.block_time_us, exceptions.c.signature, exceptions.c.error)
                           .where(exceptions.c.block_time_us >= start_us, exceptions.c.block_time_us < end_us).order_by(exceptions.c.seq)).all()
        count = c.execute(select(func.count()).select_from(audit_chain)).scalar_one()
        head = c.execute(select(audit_chain.c.hash).order_by(audit_chain.c.seq.desc()).limit(1)).scalar()
    data = ReportData(start_us, end_us, head or "0" * 64, count)
    owners: dict[str, str] = {}
    positions: defaultdict[tuple[str, int], _Position] = defaultdict(_Position)
    pnl: defaultdict[str, int] = defaultdict(int)
    fees: defaultdict[str, int] = defaultdict(int)
    volume: defaultdict[str, int] = defaultdict(int)
    market_volume: defaultdict[int, int] = defaultdict(int)
    market_fees: defaultdict[int, int] = defaultdict(int)
    market_fills: defaultdict[int, int] = defaultdict(int)
    hourly: defaultdict[int, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
    interest: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    boundary = start_us + HOUR_US

    def sample(until: int) -> None:
        """Open interest per market at each hour's end up to `until` (positions as they stand)."""
        nonlocal boundary
        while boundary <= min(until, end_us):
            for m, oi in _open_interest(positions).items():
                interest[m].append((boundary, oi))
            boundary += HOUR_US

    for kind, ts, raw in rows:
        if ts is not None:
            sample(ts)
        f: dict[str, Any] = json.loads(raw)
        inside = ts is not None and ts >= start_us
        if kind == "MarginAccountCreated":
            owners[f["margin_account"]] = f["owner"]
        elif kind == "Fill":
            m, delta = f["market_index"], f["base"] if f["taker_side"] == 0 else -f["base"]
            for account, d, fee in ((f["taker"], delta, f["taker_fee"]), (f["maker"], -delta, f["maker_fee"])):
                realized = positions[(account, m)].fill(d, f["price"])
                if inside:
                    pnl[account] += realized - fee
                    fees[account] += fee
                    volume[account] += f["quote"]
            if inside:
                market_volume[m] += f["quote"]
                market_fees[m] += f["taker_fee"] + f["maker_fee"]
                market_fills[m] += 1
                hourly[m][start_us + (ts - start_us) // HOUR_US * HOUR_US] += f["quote"]
        elif kind == "PerpLiquidated":
            m = f["market_index"]
            realized = positions[(f["margin_account"], m)].fill(f["base"], f["price"])
            taken = positions[(f["liquidator"], m)].fill(-f["base"], f["price"])
            charged = f["liquidator_fee"] + f["insurance_fee"]
            if inside:
                pnl[f["margin_account"]] += realized - charged
                pnl[f["liquidator"]] += taken + f["liquidator_fee"]
                data.liquidations.append(LiquidationRow(ts, m, f["margin_account"], f["liquidator"], abs(f["base"]), f["price"], charged))
        elif kind == "PnlSettled":
            m = f["market_index"]
            if f["closed_base"]:
                positions[(f["margin_account"], m)] = _Position()
            if inside:
                pnl[f["margin_account"]] += f["funding"]
        elif kind == "FundingUpdated" and inside:
            data.funding.append(FundingRow(f["market_index"], ts, f["delta"]))
        elif inside:
            amount = {"Staked": f.get("amount", 0), "Unstaked": -f.get("amount", 0), "InsurancePaid": -f.get("amount", 0),
                      "FeesSwept": f.get("to_insurance", 0)}[kind]
            data.insurance.append(InsuranceRow(ts, kind.lower(), amount))
    sample(end_us)
    open_interest = _open_interest(positions)
    data.open_interest_by_hour = dict(interest)
    data.markets = [MarketRow(m, market_volume[m], market_fees[m], open_interest[m], market_fills[m]) for m in sorted(set(market_volume) | set(open_interest))]
    data.accounts = [AccountRow(a, owners.get(a, a), pnl[a], fees[a], volume[a]) for a in sorted(set(pnl) | set(volume))]
    data.volume_by_hour = {m: sorted(h.items()) for m, h in hourly.items()}
    data.exceptions = [ExceptionRow(ts or 0, sig, err) for ts, sig, err in failed]
    return data
