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
    table.add_column("95% interval", justify="right")
    for name in _SHOWN:
        if name not in result.metrics:
            continue
        est = result.intervals.get(name)
        interval = (
            f"[{_fmt(est.lower)}, {_fmt(est.upper)}]"
            if est is not None and math.isfinite(est.lower)
            else ""
        )
        table.add_row(name, _fmt(float(result.metrics[name])), interval)
    console.print(table)
    if result.gate_report is not None:
        console.print(result.gate_report.render())
    verdict = "[green]PASSED[/green]" if result.passed else "[red]REFUSED[/red]"
    console.print(f"gate set {result.gate_set or '?'}: {verdict}")
