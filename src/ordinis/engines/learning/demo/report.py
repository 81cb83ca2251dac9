"""Console rendering of evaluation results and gate reports (demo and CLI)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from ordinis.engines.learning.core.models import EvaluationResult

_SHOWN = (
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "win_rate",
    "profit_factor",
    "hit_rate",
    "turnover",
    "n_trades",
    "exposure",
    "p_value",
    "psr",
    "dsr",
)


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"


def print_evaluation(console: Console, result: EvaluationResult) -> None:
    """Metrics with their bootstrap intervals, then the gate report."""
    table = Table(
        title=f"{result.model_version_id} on {result.benchmark_name} "
        f"(data {result.data_hash[:12] or '-'})"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% interval (two-sided)", justify="right")
    for name in _SHOWN:
        if name not in result.metrics:
            continue
        est = result.intervals.get(name)
        interval = (
            f"[{_fmt(est.lower)}, {_fmt(est.upper)}]"
            if est is not None and math.isfinite(est.lower)
            else ""
        )
        label = "p_value (one-sided, H0: Sharpe <= 0)" if name == "p_value" else name
        table.add_row(label, _fmt(float(result.metrics[name])), interval)
    console.print(table)
    scope = result.scope
    if scope is not None:
        cut = f"as of {scope.as_of:%Y-%m-%d}"
        if scope.excluded_start and scope.excluded_end:
            cut += (
                f", training window {scope.excluded_start:%Y-%m-%d}..{scope.excluded_end:%Y-%m-%d}"
                " excluded (purge/embargo included)"
            )
        console.print(cut)
        for p in scope.packs:
            what = f"skipped: {p.skipped}" if p.skipped else f"{p.rows_used} rows used"
            console.print(
                f"  {p.name}: {p.rows} rows, {p.rows_after_now} after now, "
                f"{p.rows_in_training_window} in the training window; {what}"
            )
    if result.gate_report is not None:
        console.print(result.gate_report.render())
        console.print(result.gate_report.summary())
    if result.passed:
        verdict = "[green]PASSED[/green]"
    elif result.gate_report is not None and not result.gate_report.failures:
        verdict = "[yellow]WAITING FOR LIVE EVIDENCE[/yellow]"
    else:
        verdict = "[red]REFUSED[/red]"
    opens = result.verdict is not None and result.verdict.opens_production
    console.print(
        f"gate set {result.gate_set or '?'}: {verdict}"
        + ("" if opens else " (this gate set never opens production)")
    )
