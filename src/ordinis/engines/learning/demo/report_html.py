"""The demo's report: ONE self-contained HTML file (inline SVG from matplotlib, no JS, no network).

It reads only a ``DemoRecord``: equity of the three books with bootstrap bands, drift alerts and
retrains on the timeline, each version's stages (a Gantt chart) with canary traffic, breaker
trips, the gate reports and the verdict of the paired test.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
from matplotlib import dates as mdates
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ordinis.engines.learning.demo.record import (
    DemoRecord,
    GateReportView,
    MarkKind,
)

#: The figures every report holds, by the ``data-figure`` name the browser test looks for.
FIGURES = ("equity", "timeline", "stages", "breakers")

_COLOURS = {
    MarkKind.DRIFT: "#d08c00",
    MarkKind.RETRAIN: "#1f77b4",
    MarkKind.REFUSED: "#999999",
    MarkKind.STAGED: "#9ecae1",
    MarkKind.PROMOTION: "#2ca02c",
    MarkKind.ROLLBACK: "#d62728",
}
_STAGE_COLOURS = {
    "staging": "#9ecae1",
    "shadow": "#c7c7c7",
    "canary": "#fdae6b",
    "production": "#31a354",
    "archived": "#bbbbbb",
    "development": "#dadaeb",
    "serving": "#08306b",
}
_BOOK_COLOURS = ("#1f77b4", "#ff7f0e", "#7f7f7f", "#9467bd")


@contextmanager
def _style(name: str) -> Iterator[None]:
    """Text stays text in the SVG, ids are stable and distinct per figure."""
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": f"ordinis-{name}", "font.size": 9}):
        yield


def _svg(fig: Figure, name: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    start = text.find("<svg")
    svg = text[start:]
    # width/height in pt; let the page scale it
    size = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')
    return size.sub(r'<svg\1 width="100%"', svg, count=1)


def _x(at: datetime) -> float:
    """A time as matplotlib's date number (days since its epoch)."""
    return float(mdates.date2num(at))


def _naive(days: list[datetime]) -> np.ndarray:
    """Days as numpy datetimes (UTC, the zone dropped: matplotlib plots them as given)."""
    return np.array([d.replace(tzinfo=None) for d in days], dtype="datetime64[s]")


def _thin(n: int, target: int = 900) -> np.ndarray:
    """Indices that keep at most ``target`` points of a long daily series (and the last one)."""
    step = max(1, n // target)
    idx = np.arange(0, n, step)
    if n and idx[-1] != n - 1:
        idx = np.append(idx, n - 1)
    return idx


def _equity_figure(rec: DemoRecord) -> str:
    with _style("equity"):
        fig = Figure(figsize=(11, 4.6))
        ax = fig.add_subplot()
        days = _naive(rec.days)
        idx = _thin(len(days))
        for i, book in enumerate(rec.books):
            colour = _BOOK_COLOURS[i % len(_BOOK_COLOURS)]
            eq = book.equity
            label = f"{book.name} ({book.annual_return:+.1%}/yr, max DD {book.max_drawdown:.0%})"
            # the closed loop wide and solid, the books after it thinner and dashed on top of
            # it: where two books coincide (a loop that changed little) both stay visible
            ax.plot(days[idx], eq[idx], color=colour, lw=2.4 if i == 0 else 1.1,
                    ls="-" if i == 0 else (0, (4, 3)), label=label)
            for band in rec.bands:
                if band.book == book.name:
                    ax.fill_between(
                        days[idx], band.lower[idx], band.upper[idx], color=colour, alpha=0.12,
                        lw=0,
                    )
        for mark in rec.marks:
            if mark.kind in (MarkKind.RETRAIN, MarkKind.PROMOTION, MarkKind.ROLLBACK):
                ax.axvline(_x(mark.at), color=_COLOURS[mark.kind], lw=0.6, alpha=0.5, ls=":")
        ax.set_yscale("log")
        ax.set_ylabel("growth of 1 (log scale)")
        level = f"{rec.bands[0].level:.0%}" if rec.bands else ""
        ax.set_title(
            f"Equity, net of costs; shaded: {level} stationary-bootstrap bands; dotted: "
            "retrains, promotions to production, rollbacks"
        )
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
        return _svg(fig, "equity")


def _timeline_figure(rec: DemoRecord) -> str:
    with _style("timeline"):
        fig = Figure(figsize=(11, 2.4))
        ax = fig.add_subplot()
        kinds = list(MarkKind)
        for row, kind in enumerate(kinds):
            at = [_x(m.at) for m in rec.marks if m.kind is kind]
            ax.scatter(at, [row] * len(at), color=_COLOURS[kind], s=18, marker="|" if
                       kind is MarkKind.DRIFT else "o", label=f"{kind.value} ({len(at)})")
        ax.xaxis_date()
        counts = [sum(1 for m in rec.marks if m.kind is k) for k in kinds]
        ax.set_yticks(range(len(kinds)), [f"{k.value} ({n})" for k, n in zip(kinds, counts,
                                                                            strict=True)])
        ax.set_ylim(-0.7, len(kinds) - 0.3)
        if rec.days:
            ax.set_xlim(_x(rec.days[0]), _x(rec.days[-1]))
        ax.set_title(
            "Drift alerts, retrains (and refusals), staged candidates, promotions to "
            "production and rollbacks"
        )
        ax.grid(axis="x", alpha=0.3)
        return _svg(fig, "timeline")


def _stages_figure(rec: DemoRecord) -> str:
    with _style("stages"):
        versions = sorted({s.version_id for s in rec.stages}, key=_version_order)
        height = max(2.0, 0.32 * len(versions) + 1.2)
        fig = Figure(figsize=(11, height))
        ax = fig.add_subplot()
        end_of_record = rec.days[-1] if rec.days else datetime.now()
        for span in rec.stages:
            row = versions.index(span.version_id)
            start = mdates.date2num(span.start)
            end = mdates.date2num(span.end or end_of_record)
            serving = span.stage == "serving"  # the host's own line, under the registry's
            ax.barh(
                row + (0.3 if serving else -0.08), max(end - start, 1.0), left=start,
                height=0.16 if serving else 0.55,
                color=_STAGE_COLOURS.get(span.stage, "#cccccc"), edgecolor="white", lw=0.3,
            )
        seen = sorted({s.stage for s in rec.stages})
        handles = [Patch(color=_STAGE_COLOURS.get(st, "#cccccc"), label=st) for st in seen]
        if rec.traffic:
            tx = ax.twinx()
            tx.step(
                [_x(t.at) for t in rec.traffic], [100 * t.traffic for t in rec.traffic],
                where="post", color="#e6550d", lw=1.0, label="candidate traffic %",
            )
            tx.set_ylim(0, 105)
            tx.set_ylabel("candidate traffic (%)")
        ax.set_yticks(range(len(versions)), versions)
        ax.xaxis_date()
        if rec.days:
            ax.set_xlim(_x(rec.days[0]), _x(rec.days[-1]))
        ax.invert_yaxis()
        title = "Each version's stages over time"
        title += " with canary traffic" if rec.traffic else " (no rollout traffic recorded)"
        ax.set_title(title)
        if handles:
            ax.legend(handles=handles, loc="upper left", fontsize=7, ncol=len(handles))
        ax.grid(axis="x", alpha=0.3)
        return _svg(fig, "stages")


def _breakers_figure(rec: DemoRecord) -> str:
    with _style("breakers"):
        fig = Figure(figsize=(11, 2.6))
        ax = fig.add_subplot()
        days = _naive(rec.days)
        idx = _thin(len(days))
        if rec.books:
            eq = rec.books[0].equity
            dd = 1.0 - eq / np.maximum.accumulate(eq)
            ax.fill_between(days[idx], -dd[idx], 0, color="#1f77b4", alpha=0.35, lw=0,
                            label=f"drawdown of the {rec.books[0].name}")
        end_of_record = rec.days[-1] if rec.days else datetime.now()
        for i, trip in enumerate(rec.trips):
            ax.axvspan(_x(trip.opened_at), _x(trip.closed_at or end_of_record), color="#d62728",
                       alpha=0.25, lw=0)
            # a trip lasts days: a line keeps it visible on a 30-year axis
            ax.axvline(_x(trip.opened_at), color="#d62728", lw=1.0,
                       label="breaker tripped" if i == 0 else None)
        ax.set_ylabel("drawdown")
        ax.set_title(f"Circuit-breaker trips ({rec.breaker_trips}, in {len(rec.trips)} "
                     "stretches) over the closed loop's drawdown")
        ax.legend(loc="lower left", fontsize=8)
        ax.grid(alpha=0.3)
        return _svg(fig, "breakers")


def _version_order(version_id: str) -> tuple[str, int]:
    name, _, v = version_id.rpartition(":v")
    return (name, int(v)) if v.isdigit() else (version_id, 0)


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "missing"
    return f"{value:.4g}"


def _gate_table(view: GateReportView) -> str:
    rows = "".join(
        f"<tr class='{'req' if g.required else 'adv'} {g.verdict.lower()}'>"
        f"<td>{html.escape(g.name)}</td><td>{html.escape(g.metric)}</td>"
        f"<td class='n'>{_num(g.value)}</td><td>{html.escape(g.comparison)}</td>"
        f"<td class='n'>{g.threshold:g}</td><td>{'required' if g.required else 'advisory'}</td>"
        f"<td>{html.escape(g.verdict)}</td></tr>"
        for g in view.gates
    )
    status = "PASSED" if view.passed else "BLOCKED"
    return (
        f"<details><summary><b>{html.escape(view.version_id)}</b> on gate set "
        f"<code>{html.escape(view.gate_set)}</code> at {view.evaluated_at:%Y-%m-%d}: "
        f"<span class='{status.lower()}'>{status}</span> &mdash; {html.escape(view.summary)}"
        "</summary><table><tr><th>gate</th><th>metric</th><th>value</th><th></th>"
        "<th>threshold</th><th>kind</th><th>verdict</th></tr>"
        f"{rows}</table></details>"
    )


def _verdict_html(rec: DemoRecord) -> str:
    v = rec.verdict
    loop, static = (rec.books[0].name, rec.books[1].name) if len(rec.books) > 1 else ("", "")
    if v is None:
        return "<p class='no'>No verdict: the run produced no static model to compare with.</p>"
    cls = "yes" if v.beat else "no"
    return (
        f"<p class='{cls} verdict'>{html.escape(v.sentence(loop, static))}</p>"
        f"<p>Test: {html.escape(v.statistic)}; {html.escape(v.alternative)}; alpha = {v.alpha}; "
        f"{v.resamples:,} stationary-bootstrap resamples of {v.days:,} paired days (arch); "
        f"interval: {html.escape(v.interval)}.</p>"
    )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em auto;
max-width:1150px;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
figure{margin:0.5em 0}table{border-collapse:collapse;font-size:0.85em;margin:0.4em 0}
td,th{border:1px solid #ddd;padding:2px 6px}td.n{text-align:right}
tr.fail td{background:#fde0dd}tr.warn td{background:#fff3cd}tr.pass td{background:#e5f5e0}
.yes{color:#1a7f37;font-weight:bold}.no{color:#b42318;font-weight:bold}
.verdict{font-size:1.1em}.passed{color:#1a7f37}.blocked{color:#b42318}
.note{background:#f6f8fa;padding:0.5em 0.8em;border-left:3px solid #999}
"""


def render_html(rec: DemoRecord) -> str:
    """The whole report as one HTML document (no external resource of any kind)."""
    books = "".join(
        f"<tr><td>{html.escape(b.name)}</td><td class='n'>{b.annual_return:+.2%}</td>"
        f"<td class='n'>{b.max_drawdown:.1%}</td><td class='n'>{b.equity[-1]:.2f}</td>"
        f"<td>{html.escape(b.description)}</td></tr>"
        for b in rec.books
        if len(b.returns)
    )
    production = (
        "A candidate earned production on the production gates."
        if rec.production_reached
        else "No candidate earned production: every production evaluation below was refused "
        "(or is waiting for live evidence). The closed loop traded what the gates allowed; "
        "nothing was let through by lowering a bar."
    )
    trips = "".join(
        f"<tr><td>{html.escape(t.breaker)}</td><td>{t.opened_at:%Y-%m-%d}</td>"
        f"<td>{f'{t.closed_at:%Y-%m-%d}' if t.closed_at else 'still open'}</td>"
        f"<td>{t.trips}</td><td>{html.escape(t.reason)}</td></tr>"
        for t in rec.trips
    ) or '<tr><td colspan="5">No breaker tripped.</td></tr>'
    gates = "".join(_gate_table(g) for g in rec.gate_reports) or "<p>No evaluation ran.</p>"
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in rec.notes)
    pending = "".join(f"<li>{html.escape(p)}</li>" for p in rec.pending)
    figures = {
        "equity": _equity_figure(rec),
        "timeline": _timeline_figure(rec),
        "stages": _stages_figure(rec),
        "breakers": _breakers_figure(rec),
    }
    span = f"{rec.days[0]:%Y-%m-%d} to {rec.days[-1]:%Y-%m-%d}" if rec.days else "no days"

    def fig(name: str) -> str:
        return f"<figure data-figure='{name}' id='fig-{name}'>{figures[name]}</figure>"

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(rec.title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(rec.title)}</h1>
<p>{html.escape(rec.data)}: {len(rec.symbols)} instruments, {span}, {len(rec.days):,} trading
days on the simulated clock. Model <code>{html.escape(rec.model_name)}</code>:
{rec.retrains} retrains, {rec.promotions} promotions, {rec.rollbacks} rollbacks,
{rec.trades:,} trades, {rec.blocked_days} days with signals blocked.</p>
<h2 id="verdict">Verdict: did the closed loop beat the static model?</h2>
{_verdict_html(rec)}
<p class="note">{html.escape(production)}</p>
<h2 id="equity">Equity</h2>
<table><tr><th>book</th><th>annual return</th><th>max drawdown</th><th>final</th>
<th>what it is</th></tr>{books}</table>
{fig("equity")}
<h2 id="timeline">Drift alerts and retrains</h2>
{fig("timeline")}
<h2 id="stages">Versions: stages and canary traffic</h2>
{fig("stages")}
<h2 id="breakers">Circuit breakers</h2>
{fig("breakers")}
<p class="note">A row is a stretch with the breaker open, from its trip until it closed. A
failed half-open probe trips it again within the stretch: "trips" counts them, as the
breaker's own counter and circuit_breaker_trips_total do.</p>
<table><tr><th>breaker</th><th>opened</th><th>closed</th><th>trips</th><th>reason</th></tr>{trips}</table>
<h2 id="gates">Gate reports (required vs advisory)</h2>
{gates}
<h2 id="notes">Notes</h2>
<ul>{notes}</ul>
{f"<h3>Not yet shown (waits on other parts)</h3><ul>{pending}</ul>" if pending else ""}
<p>Audit log: {rec.audit_records:,} records, hash chain
{"intact" if rec.audit_ok else "BROKEN"}.</p>
</body></html>
"""


def write_report(rec: DemoRecord, path: Path) -> Path:
    """Write the report to ``path`` (parents created) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(rec), encoding="utf-8")
    return path
