"""A report as written to disk: sections of tables and plots rendered into one self-contained HTML
file (plots embedded as PNG, also written beside it) and one CSV file per table. Pure rendering:
what goes in the tables is the builders' business (quantdesk.reports.daily)."""
from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from quantdesk.fpu import clear_x87  # noqa: E402

__all__ = ["Plot", "Report", "Section", "Table"]


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's stem
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Plot:
    name: str  # the PNG file's stem
    draw: Callable[[Figure], None]  # draws into an empty figure


@dataclass(frozen=True)
class Section:
    title: str
    text: str = ""
    tables: Sequence[Table] = ()
    plots: Sequence[Plot] = ()


@dataclass
class Report:
    title: str
    subtitle: str  # the period and what it was built from (the audit chain head)
    sections: list[Section] = field(default_factory=list)

    def write(self, directory: Path) -> Path:
        """index.html, <table>.csv and <plot>.png in `directory` (created); returns the HTML's path."""
        directory.mkdir(parents=True, exist_ok=True)
        clear_x87()
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>",
                 f"<h1>{html.escape(self.title)}</h1><p class='sub'>{html.escape(self.subtitle)}</p>"]
        for section in self.sections:
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
            if section.text:
                parts.append(f"<p>{html.escape(section.text)}</p>")
            for plot in section.plots:
                png = _render(plot)
                (directory / f"{_stem(plot.name)}.png").write_bytes(png)
                parts.append(f"<img alt='{html.escape(plot.name)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
            for table in section.tables:
                _csv(directory / f"{_stem(table.name)}.csv", table)
                parts.append(_html_table(table))
        parts.append("</body></html>")
        path = directory / "index.html"
        path.write_text("\n".join(parts), encoding="utf-8")
        return path


_STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
          "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f3f3f3}.sub{color:#666}img{max-width:900px;display:block}")


def _stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _render(plot: Plot) -> bytes:
    figure = plt.figure(figsize=(9, 3.6), dpi=100)
    try:
        plot.draw(figure)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)


def _csv(path: Path, table: Table) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(table.columns)
        writer.writerows(table.rows)


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    empty = "" if table.rows else f"<tr><td colspan='{len(table.columns)}'>none</td></tr>"
    return f"<table><tr>{head}</tr>{body}{empty}</table>"
