"""Fills per block at Solana's write-lock limits, before and after step 8 (target/bench/fills_per_block.json).

Solana's cost model caps the compute units one block may spend writing any one account
(`MAX_WRITABLE_ACCOUNT_UNITS`, 12,000,000) and the block as a whole (`MAX_BLOCK_UNITS`:
48,000,000, 50,000,000 since SIMD-0207, 60,000,000 proposed by SIMD-0256; we count 50,000,000).
Every fill writes its market, so one market takes at most 12M CU of fills a block. Before step 8
every fill also wrote the quote CollateralConfig (its protocol balance was the fee pool, moved
by a CPI per party), so all fills of all markets shared that one 12M cap; now a fill writes only
its market and the parties' trading accounts (and sessions), so markets fill in parallel up to
the block limit. Figures count the instruction's compute units only (the cost model's
signature and write-lock units would lower all of them alike)."""
from __future__ import annotations

from dataclasses import dataclass

from quantdesk.bench.cu import CuTable

WRITABLE_ACCOUNT_UNITS = 12_000_000
BLOCK_UNITS = 50_000_000
BEFORE = {"place_and_make_1": 12_747, "fill_order_4": 33_828}
"""The same scenarios' CU on main at d4ab8cb (quantdesk/bench/trading.py, LiteSVM), before step 8."""
FILLS = {"place_and_make_1": 1, "fill_order_4": 4}
"""Fills one instruction makes: place_and_make one, fill_order here one per maker (4)."""


@dataclass(frozen=True)
class Capacity:
    """One fill instruction's cost and the fills a block takes, per market and for the venue."""

    cu: int
    fills_per_instruction: int
    venue_cap: int
    """The CU all markets' fills share in a block: one account's cap while every fill wrote the
    quote config, the block's once none is shared."""

    @property
    def cu_per_fill(self) -> int:
        return -(-self.cu // self.fills_per_instruction)

    @property
    def market_fills(self) -> int:
        return WRITABLE_ACCOUNT_UNITS // self.cu * self.fills_per_instruction

    @property
    def venue_fills(self) -> int:
        return self.venue_cap // self.cu * self.fills_per_instruction

    def to_json(self) -> dict[str, int]:
        return {"cu_per_instruction": self.cu, "fills_per_instruction": self.fills_per_instruction, "cu_per_fill": self.cu_per_fill,
                "fills_per_block_one_market": self.market_fills, "fills_per_block_venue": self.venue_fills}


def report(table: CuTable) -> dict[str, object]:
    """Before and after for each fill instruction, from qd-trading's measured table."""
    out: dict[str, object] = {"writable_account_units": WRITABLE_ACCOUNT_UNITS, "block_units": BLOCK_UNITS,
                              "before": "main d4ab8cb: every fill wrote the quote CollateralConfig (one 12M cap for the venue)",
                              "after": "a fill writes its market and the parties' trading accounts (the block limit for the venue)"}
    for name, fills in FILLS.items():
        before = Capacity(BEFORE[name], fills, WRITABLE_ACCOUNT_UNITS)
        after = Capacity(table.cu[name], fills, BLOCK_UNITS)
        out[name] = {"before": before.to_json(), "after": after.to_json()}
    return out


def lines(report: dict[str, object]) -> list[str]:
    out = [f"fills per block (per-account write limit {WRITABLE_ACCOUNT_UNITS:,} CU, block limit {BLOCK_UNITS:,} CU):"]
    for name in FILLS:
        entry = report[name]
        assert isinstance(entry, dict)
        for when in ("before", "after"):
            c = entry[when]
            out.append(f"  {name:<18} {when:<6} {c['cu_per_instruction']:>7,} CU ({c['cu_per_fill']:>6,} per fill)"
                       f"  one market {c['fills_per_block_one_market']:>6,}  venue {c['fills_per_block_venue']:>6,}")
    return out
