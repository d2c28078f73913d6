"""A `StressReport` as files: `stress.html` (the tables and matplotlib plots, the images inline so
the page is one file) and `stress.json` (every scenario's figures) in the report directory.

Plots: the health-factor distribution before and after each scenario, the shortfall by scenario
against the insurance fund, the accounts liquidatable and bankrupt by scenario, and the largest
contributors to the worst scenario's shortfall (or, when none is short, to its fall of health)."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit to import

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.figure import Figure  # noqa: E402

from quantdesk.clients.health import BPS, QUOTE_DECIMALS, format_quote  # noqa: E402
from quantdesk.fpu import clear_x87  # noqa: E402
from quantdesk.stress.engine import ScenarioResult, StressReport  # noqa: E402
from quantdesk.stress.table import render  # noqa: E402

__all__ = ["HF_CLIP", "summary", "worst", "write"]

HF_CLIP = 4.0
"""Health factors above this are drawn in the last bin (no liabilities: not drawn)."""
QUOTE_SCALE = 10**QUOTE_DECIMALS


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _factors(values: list[int | None]) -> list[float]:
    return [min(v / BPS, HF_CLIP) for v in values if v is not None]


def _distributions(s: StressReport) -> Figure:
    columns = min(3, max(len(s.results), 1))
    rows = -(-len(s.results) // columns) or 1
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.2 * rows), squeeze=False)
    bins = [i * HF_CLIP / 40 for i in range(41)]
    before = _factors([a.health_factor_bps for a in s.baseline.values()])
    for ax, r in zip(axes.flat, s.results):
        ax.hist(before, bins=bins, alpha=0.5, label="before", color="grey")
        ax.hist(_factors([a.health_factor_bps for a in r.accounts]), bins=bins, alpha=0.6, label="after", color="tab:red")
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_title(r.scenario.name, fontsize=9)
        ax.set_xlabel(f"health factor (clipped at {HF_CLIP:g})", fontsize=8)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(s.results):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _shortfalls(s: StressReport) -> Figure:
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(s.results)), 3.5))
    names = [r.scenario.name for r in s.results]
    ax.bar(names, [r.shortfall / QUOTE_SCALE for r in s.results], color="tab:red", label="shortfall (bankrupt accounts' negative equity)")
    ax.axhline(s.fund_balance / QUOTE_SCALE, color="tab:blue", linestyle="--", label="insurance fund balance")
    ax.set_ylabel("quote")
    ax.legend(fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    return fig


def _counts(s: StressReport) -> Figure:
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(s.results)), 3.5))
    xs = range(len(s.results))
    for offset, label, values in ((-0.27, "liquidatable", [len(r.liquidatable) for r in s.results]),
                                  (0.0, "newly liquidatable", [len(r.newly_liquidatable) for r in s.results]),
                                  (0.27, "bankrupt", [len(r.bankrupt) for r in s.results])):
        ax.bar([x + offset for x in xs], values, width=0.27, label=label)
    ax.set_xticks(list(xs), [r.scenario.name for r in s.results], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accounts")
    ax.legend(fontsize=8)
    return fig


def worst(s: StressReport) -> ScenarioResult | None:
    """The scenario with the largest shortfall, else the most newly liquidatable accounts."""
    return max(s.results, key=lambda r: (r.shortfall, len(r.newly_liquidatable)), default=None)


def _contributors(r: ScenarioResult, top: int) -> Figure:
    accounts = r.top(top)
    short = any(a.shortfall for a in accounts)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(accounts) + 1.2))
    ax.barh([str(a.margin)[:12] + "…" for a in accounts][::-1],
            [(a.shortfall if short else a.health_drop) / QUOTE_SCALE for a in accounts][::-1], color="tab:orange")
    ax.set_xlabel("shortfall (quote)" if short else "fall of maintenance health (quote)")
    ax.set_title(f"{r.scenario.name}: largest contributors", fontsize=9)
    return fig


def summary(s: StressReport) -> dict[str, Any]:
    """Every scenario's figures (quote amounts in native units), as stress.json holds them."""
    return {"slot": s.slot, "unix_timestamp": s.unix_timestamp, "accounts": len(s.baseline), "fund_balance": s.fund_balance,
            "liquidatable_before": sum(a.liquidatable for a in s.baseline.values()),
            "scenarios": [{"name": r.scenario.name, "change": r.scenario.summary(), "liquidatable": len(r.liquidatable),
                           "newly_liquidatable": len(r.newly_liquidatable), "bankrupt": len(r.bankrupt), "shortfall": r.shortfall,
                           "uncovered": r.uncovered, "halted_feeds": r.prices.halted, "unpriced": len(r.unpriced), "cpu_secs": round(r.seconds, 3),
                           "top": [{"margin": str(a.margin), "shortfall": a.shortfall, "health_drop": a.health_drop} for a in r.top(10)]}
                          for r in s.results]}


def write(s: StressReport, directory: Path, top: int = 10) -> Path:
    """stress.html and stress.json in `directory` (made if missing); the page's path."""
    directory.mkdir(parents=True, exist_ok=True)
    clear_x87()
    images = [("Health factor before and after", _distributions(s)), ("Shortfall by scenario", _shortfalls(s)),
              ("Accounts liquidatable and bankrupt by scenario", _counts(s))]
    w = worst(s)
    if w is not None and w.top(top):
        images.append(("Largest contributors", _contributors(w, top)))
    sections = "\n".join(f"<h2>{html.escape(title)}</h2>\n<img alt=\"{html.escape(title)}\" src=\"data:image/png;base64,{_png(fig)}\">"
                         for title, fig in images)
    page = (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>QuantDesk stress, slot {s.slot}</title>\n"
            "<style>body{font-family:sans-serif;margin:2em} pre{font-size:12px;background:#f6f6f6;padding:1em;overflow-x:auto}</style></head>\n"
            f"<body><h1>QuantDesk stress at slot {s.slot}</h1>\n<p>{len(s.baseline)} accounts; insurance fund {html.escape(format_quote(s.fund_balance))}</p>\n"
            f"{sections}\n<h2>Tables</h2>\n<pre>{html.escape(render(s, top))}</pre>\n</body></html>\n")
    path = directory / "stress.html"
    path.write_text(page)
    (directory / "stress.json").write_text(json.dumps(summary(s), indent=2) + "\n")
    return path
