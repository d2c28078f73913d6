"""A `RiskReport` (keeper/risk_report.py) as the tables `quantdesk risk` prints: markets, health
buckets, accounts near liquidation, insurance coverage, oracles. Presentation only."""
from __future__ import annotations

from collections.abc import Sequence

from quantdesk.clients.health import BASE_SCALE, format_percent, format_quote, format_ratio
from quantdesk.clients.oracle import Action
from quantdesk.keeper.risk_report import GUARDED, OracleRisk, RiskReport

__all__ = ["format_base", "render", "table"]


def format_base(amount: int) -> str:
    """Perp base (9 decimals), trailing zeros dropped: 95_500_000_000 -> "95.5"."""
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), BASE_SCALE)
    return f"{sign}{whole:,}" + (f".{fraction:09d}".rstrip("0") if fraction else "")


def _quote(amount: int | None) -> str:
    return "n/a" if amount is None else format_quote(amount)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A title and left-aligned columns (the first) and right-aligned ones (the rest), or "(none)"."""
    if not rows:
        return [title, "  (none)", ""]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [title, line(headers), *(line(r) for r in rows), ""]


def _state(o: OracleRisk) -> str:
    stale = [a.name.lower() for a in GUARDED if o.stale_for(a)]
    return "stale for " + ", ".join(stale) if stale else "fresh"


def render(r: RiskReport) -> str:
    lines = [f"QuantDesk risk at slot {r.slot}, unix time {r.unix_timestamp}", ""]
    lines += table("Markets", ("market", "oracle", "long OI", "short OI", "net", "long notional", "short notional", "net notional", "positions"),
                    [(f"{m.index} {m.symbol}", _quote(m.price), format_base(m.long_base), format_base(m.short_base), format_base(m.net_base),
                      _quote(m.long_notional), _quote(m.short_notional), _quote(m.net_notional), str(m.positions)) for m in r.markets])
    buckets = r.buckets
    lines += table(f"Health factor buckets ({len(r.accounts)} accounts, {len(r.unpriced)} unpriced)", ("bucket", "accounts"),
                    [(b, str(n)) for b, n in buckets.items()])
    lines += table(f"Accounts near liquidation (maintenance health within {format_percent(r.near_fraction_bps)} of its requirement)",
                    ("margin account", "health factor", "maint health", "requirement", "distance", "oracle move to liquidation", "state"),
                    [(str(a.margin), format_ratio(a.health_factor_bps), format_quote(a.maint_health), format_quote(a.requirement),
                      format_percent(a.distance_bps), format_percent(a.move_bps), "liquidatable" if a.liquidatable else "being liquidated"
                      if a.being_liquidated else "near") for a in r.near])
    lines += table("Insurance fund coverage", ("quote mint", "fund balance", "largest shortfall", "covers", "negative equity", "covers", "accounts short"),
                    [(str(c.mint), format_quote(c.balance) if c.fund else "no fund", format_quote(c.largest_shortfall), format_ratio(c.largest_coverage_bps),
                      format_quote(c.negative_equity), format_ratio(c.total_coverage_bps), str(c.accounts_short)) for c in r.coverage])

    lines += table("Oracles", ("feed", "price", "age secs", "age slots", "trade limit secs/slots", "liquidation limit secs/slots", "state"),
                    [(o.symbol, format_quote(o.price), str(o.age_secs), str(o.age_slots), "{}/{}".format(*o.limits[Action.TRADE]),
                      "{}/{}".format(*o.limits[Action.LIQUIDATION]), _state(o)) for o in r.oracles])
    return "\n".join(lines)
