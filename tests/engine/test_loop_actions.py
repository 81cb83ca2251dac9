"""EngineLoopActions: the loop gets a typed gate outcome that reports advisory gates apart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.gate_report import (
    Comparison,
    GateReport,
    GateResult,
    GateType,
    Verdict,
)
from ordinis.engines.learning.core.models import EvaluationResult
from ordinis.engines.learning.engine.loop_actions import EngineLoopActions
from ordinis.engines.learning.feedback.pipeline_spec import load_pipeline_spec

AT = datetime(2020, 1, 2, tzinfo=UTC)


def _gate(name: str, value: float, required: bool, verdict: Verdict) -> GateResult:
    return GateResult(
        name, name, value, 0.5, Comparison.GTE, required, verdict, "msg", GateType.STATISTICAL
    )


class _Evaluation:
    def __init__(self, report: GateReport) -> None:
        self.report = report
        self.calls: list[dict[str, Any]] = []

    async def evaluate(self, version_id: str, benchmark: Any, **kw: Any) -> EvaluationResult:
        self.calls.append({"version_id": version_id, "benchmark": benchmark, **kw})
        return EvaluationResult(
            version_id, "pack", self.report.passed, {"sharpe": 0.7}, gate_report=self.report
        )


def _actions(evaluation: _Evaluation) -> EngineLoopActions:
    spec = load_pipeline_spec(None)
    return EngineLoopActions(
        None, SimulatedClock(AT), spec, None, None, evaluation, None  # type: ignore[arg-type]
    )


async def test_passed_with_advisory_failures_is_not_called_all_passed() -> None:
    report = GateReport(
        "staging",
        True,
        [
            _gate("max_drawdown", 0.6, True, Verdict.PASS),
            _gate("dsr", 0.1, False, Verdict.WARN),
            _gate("p_value", 0.3, False, Verdict.WARN),
        ],
    )
    evaluation = _Evaluation(report)
    outcome = await _actions(evaluation).evaluate_and_gate("alpha", "alpha:v2")
    assert outcome.passed and outcome.report is report
    assert outcome.report_summary == (
        "staging: 1 required gate(s) passed; 2 of 2 advisory failed (dsr, p_value)"
    )
    assert "all gates passed" not in outcome.report_summary
    assert evaluation.calls[0]["version_id"] == "alpha:v2"
    assert outcome.metrics == {"sharpe": 0.7}


async def test_blocked_names_the_required_gates_that_failed() -> None:
    report = GateReport(
        "production",
        False,
        [_gate("dsr", 0.2, True, Verdict.FAIL), _gate("sharpe", 1.0, False, Verdict.PASS)],
    )
    outcome = await _actions(_Evaluation(report)).evaluate_and_gate("alpha", "alpha:v3")
    assert not outcome.passed
    assert outcome.report_summary == "production: blocked by dsr; 1 advisory passed"
    assert "BLOCKED" in outcome.report_text
