"""Count one evaluation's final verdict: the evaluation and each gate's verdict, once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ordinis.engines.learning.observability.metrics import LearningMetrics


class _GateResult(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def verdict(self) -> object: ...


class _Report(Protocol):
    @property
    def results(self) -> Sequence[_GateResult]: ...


def record_verdict(
    metrics: LearningMetrics, model_name: str, passed: bool, report: _Report | None
) -> None:
    """``model_evaluations_total{model_name,passed}`` and, with a gate report,
    ``evaluation_gate_results_total{gate,verdict}``; called by whoever decides the verdict."""
    metrics.evaluations_total.labels(model_name=model_name, passed=str(bool(passed)).lower()).inc()
    if report is None:
        return
    for r in report.results:
        verdict = getattr(r.verdict, "value", r.verdict)
        metrics.gate_results_total.labels(gate=r.name, verdict=str(verdict)).inc()
