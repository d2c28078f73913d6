"""The desk's reports over a period (`quantdesk report daily --date D`, `report range --from --to`):
volume, fees and open interest per market; P&L per account and per desk (sub-accounts rolled up to
their owner); funding; liquidations and insurance fund flows; exceptions. Each states the audit
chain head it was built from. Built from `ReportData` (the store's rollups,
quantdesk.reports.data); written by quantdesk.reports.document."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from matplotlib.figure import Figure

from quantdesk.reports.document import Plot, Report, Section, Table

__all__ = ["AccountRow", "ExceptionRow", "FundingRow", "InsuranceRow", "LiquidationRow", "MarketRow", "ReportData", "build"]

USDC = 10**6
BASE = 10**9


@dataclass(frozen=True)
class MarketRow:
    market: int
    volume_quote: int
    fees: int
    open_interest: int  # base, at the period's end
    fills: int


@dataclass(frozen=True)
class AccountRow:
    account: str
    owner: str
    pnl: int  # realized in the period: trading, funding and fees (quote)
    fees: int
    volume_quote: int


@dataclass(frozen=True)
class FundingRow:
    market: int
    ts_us: int
    delta: int


@dataclass(frozen=True)
class LiquidationRow:
    ts_us: int
    market: int
    account: str
    liquidator: str
    base: int
    price: int
    fees: int  # the liquidator's and the insurance fund's


@dataclass(frozen=True)
class InsuranceRow:
    ts_us: int
    kind: str  # staked, unstaked, paid, swept
    amount: int  # into the fund (> 0) or out of it (< 0)


@dataclass(frozen=True)
class ExceptionRow:
    ts_us: int
    signature: str
    error: str


@dataclass
class ReportData:
    start_us: int
    end_us: int
    chain_head: str  # hex of the audit chain's last hash
    chain_rows: int
    markets: list[MarketRow] = field(default_factory=list)
    accounts: list[AccountRow] = field(default_factory=list)
    funding: list[FundingRow] = field(default_factory=list)
    liquidations: list[LiquidationRow] = field(default_factory=list)
    insurance: list[InsuranceRow] = field(default_factory=list)
    exceptions: list[ExceptionRow] = field(default_factory=list)
    volume_by_hour: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # market -> (hour start us, quote)
    open_interest_by_hour: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # market -> (hour end us, base)


def _usd(amount: int) -> str:
    return f"{amount / USDC:,.2f}"


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _hours(us: list[int], start_us: int) -> list[float]:
    """Hours since the period's start (the plots' x axis)."""
    return [(t - start_us) / 3.6e9 for t in us]


def build(title: str, d: ReportData, top: int = 20) -> Report:
    period = f"{_when(d.start_us)} to {_when(d.end_us)} UTC"
    report = Report(title, f"{period}; built from {d.chain_rows:,} audited rows, chain head {d.chain_head}")
    report.sections += [_markets(d), _accounts(d, top), _desks(d, top), _funding(d), _liquidations(d), _exceptions(d)]
    return report


def _markets(d: ReportData) -> Section:
    table = Table("markets", ["market", "fills", "volume (USDC)", "fees (USDC)", "open interest (base)"],
                  [[m.market, m.fills, _usd(m.volume_quote), _usd(m.fees), f"{m.open_interest / BASE:,.3f}"] for m in d.markets])

    def volume(fig: Figure) -> None:
        ax = fig.add_subplot(1, 3, 1)
        for market, series in sorted(d.volume_by_hour.items()):
            ax.plot(_hours([t for t, _ in series], d.start_us), [v / USDC for _, v in series], marker=".", label=f"market {market}")
        ax.set_xlabel("hours from the start")
        ax.set_title("volume per hour (USDC)")
        if d.volume_by_hour:
            ax.legend(fontsize="small")
        bx = fig.add_subplot(1, 3, 2)
        names = [str(m.market) for m in d.markets]
        bx.bar(names, [m.fees / USDC for m in d.markets], color="tab:orange")
        bx.set_title("fees per market (USDC)")
        bx.set_xlabel("market")
        cx = fig.add_subplot(1, 3, 3)
        for market, series in sorted(d.open_interest_by_hour.items()):
            cx.step(_hours([t for t, _ in series], d.start_us), [v / BASE for _, v in series], where="post", label=f"market {market}")
        cx.set_xlabel("hours from the start")
        cx.set_title("open interest (base)")

    return Section("Markets", "Volume, fees and open interest per market.", [table], [Plot("markets", volume)])


def _accounts(d: ReportData, top: int) -> Section:
    ranked = sorted(d.accounts, key=lambda a: a.pnl)
    rows = [[a.account, a.owner, _usd(a.pnl), _usd(a.fees), _usd(a.volume_quote)] for a in ranked]

    def pnl(fig: Figure) -> None:
        shown = ranked[:top // 2] + ranked[-(top // 2):] if len(ranked) > top else ranked
        ax = fig.add_subplot(1, 1, 1)
        ax.barh([a.account[:8] for a in shown], [a.pnl / USDC for a in shown], color=["tab:red" if a.pnl < 0 else "tab:green" for a in shown])
        ax.set_title("realized P&L per account (USDC; largest losses and gains)")

    return Section("P&L per account", "Realized in the period: trading, funding and fees.",
                   [Table("accounts", ["account", "owner", "P&L (USDC)", "fees (USDC)", "volume (USDC)"], rows)], [Plot("accounts", pnl)])


def _desks(d: ReportData, top: int) -> Section:
    desks: defaultdict[str, list[AccountRow]] = defaultdict(list)
    for a in d.accounts:
        desks[a.owner].append(a)
    rows = [[owner, len(v), _usd(sum(a.pnl for a in v)), _usd(sum(a.fees for a in v)), _usd(sum(a.volume_quote for a in v))]
            for owner, v in sorted(desks.items())]
    return Section("P&L per desk", "Sub-accounts rolled up to their owner.",
                   [Table("desks", ["owner", "accounts", "P&L (USDC)", "fees (USDC)", "volume (USDC)"], rows)])


def _funding(d: ReportData) -> Section:
    def draw(fig: Figure) -> None:
        ax = fig.add_subplot(1, 1, 1)
        by_market: defaultdict[int, list[FundingRow]] = defaultdict(list)
        for f in d.funding:
            by_market[f.market].append(f)
        for market, rows in sorted(by_market.items()):
            ax.step(_hours([f.ts_us for f in rows], d.start_us), [f.delta / 1e6 for f in rows], where="post", label=f"market {market}")
        ax.set_xlabel("hours from the start")
        ax.axhline(0, color="#999", linewidth=0.5)
        ax.set_title("funding index change per crank (USDC per base; > 0: longs pay)")
        if by_market:
            ax.legend(fontsize="small")

    table = Table("funding", ["time (UTC)", "market", "index change"], [[_when(f.ts_us), f.market, f.delta] for f in d.funding])
    return Section("Funding", "", [table], [Plot("funding", draw)])


def _liquidations(d: ReportData) -> Section:
    liq = Table("liquidations", ["time (UTC)", "market", "account", "liquidator", "base", "price", "fees (USDC)"],
                [[_when(q.ts_us), q.market, q.account, q.liquidator, f"{q.base / BASE:,.3f}", _usd(q.price), _usd(q.fees)] for q in d.liquidations])
    fund = Table("insurance", ["time (UTC)", "flow", "amount (USDC)"], [[_when(i.ts_us), i.kind, _usd(i.amount)] for i in d.insurance])

    def flows(fig: Figure) -> None:
        ax = fig.add_subplot(1, 1, 1)
        totals: defaultdict[str, int] = defaultdict(int)
        for i in d.insurance:
            totals[i.kind] += i.amount
        kinds = sorted(totals)
        ax.bar(kinds, [totals[k] / USDC for k in kinds], color=["tab:green" if totals[k] >= 0 else "tab:red" for k in kinds])
        ax.set_title("insurance fund flows (USDC; in > 0, out < 0)")

    return Section("Liquidations and the insurance fund", f"{len(d.liquidations)} liquidation step(s).", [liq, fund], [Plot("insurance", flows)])


def _exceptions(d: ReportData) -> Section:
    return Section("Exceptions", "Failed transactions that touched the programs.",
                   [Table("exceptions", ["time (UTC)", "signature", "error"], [[_when(e.ts_us), e.signature, e.error] for e in d.exceptions])])
