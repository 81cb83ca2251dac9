"""EngineLoopActions: the loop gets a typed gate outcome that reports advisory gates apart."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from ordinis.engines.learning.core.clock import SimulatedClock
from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.gate_report import (
    Comparison,
    GateReport,
    GateResult,
    GateType,
    Verdict,
)
from ordinis.engines.learning.core.models import (
    EvaluationResult,
    ProductionVerdict,
    RolloutStrategy,
)
from ordinis.engines.learning.engine.loop_actions import EngineLoopActions
from ordinis.engines.learning.feedback.pipeline_spec import load_pipeline_spec
from ordinis.engines.learning.rollout.state import RolloutPhase

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


# ------------------------------------------------------------------ start_rollout
class _Registry:
    def __init__(self, champion: str | None) -> None:
        self.champion = champion

    def get_production_model(self, model_name: str) -> Any:
        if self.champion is None:
            return None
        return SimpleNamespace(version_id=self.champion)


class _Rollouts:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.calls: list[tuple[Any, ...]] = []

    def check_can_start(self, model_name: str) -> None:
        if self.fail is not None:
            raise self.fail

    async def start(self, *args: Any) -> Any:
        self.calls.append(args)
        self.check_can_start(args[0])
        return SimpleNamespace(
            rollout_id="R1", strategy=RolloutStrategy.CANARY, phase=RolloutPhase.SHADOW
        )


class _VerdictEvaluation(_Evaluation):
    def __init__(self, verdict: ProductionVerdict | None) -> None:
        super().__init__(GateReport("production", False, []))
        self.verdict = verdict

    async def evaluate(self, version_id: str, benchmark: Any, **kw: Any) -> EvaluationResult:
        result = await super().evaluate(version_id, benchmark, **kw)
        result.verdict = self.verdict
        return result


def _verdict(waiting: tuple[str, ...] = ("parity",), blocked: tuple[str, ...] = ()) -> Any:
    return ProductionVerdict("E1", "production", "h", True, False, 2, ("p@1",), AT, waiting,
                             blocked)


def _rollout_actions(
    evaluation: _Evaluation, champion: str | None, rollouts: _Rollouts, verdict_needed: bool = True
) -> EngineLoopActions:
    return EngineLoopActions(
        None, SimulatedClock(AT), load_pipeline_spec(None), None, None,  # type: ignore[arg-type]
        evaluation, _Registry(champion), rollouts=rollouts,  # type: ignore[arg-type]
        require_production_verdict=verdict_needed,
    )


async def test_a_candidate_waiting_only_for_parity_starts_the_rollout() -> None:
    evaluation, rollouts = _VerdictEvaluation(_verdict()), _Rollouts()
    start = await _rollout_actions(evaluation, "alpha:v1", rollouts).start_rollout(
        "alpha", "alpha:v2", "retrain T passed the gates")
    assert start.started and start.considered and start.rollout_id == "R1"
    assert start.message == "canary rollout R1 of alpha:v2 against alpha:v1 started in shadow"
    # judged by the production gate set itself (no overrides), on the pipeline's packs
    [call] = evaluation.calls
    assert call["gate_set"] is None and "threshold_overrides" not in call
    assert call["benchmark"] == ["pack_01_bull", "pack_04_bear", "pack_05_crypto"]
    assert rollouts.calls == [("alpha", "alpha:v2", None, "loop", "retrain T passed the gates")]


async def test_a_candidate_the_production_gates_block_is_not_rolled_out() -> None:
    rollouts = _Rollouts()
    evaluation = _VerdictEvaluation(_verdict(blocked=("dsr",)))
    start = await _rollout_actions(evaluation, "alpha:v1", rollouts).start_rollout(
        "alpha", "alpha:v2", "r")
    assert not start.started and start.considered and rollouts.calls == []
    assert start.message == "alpha:v2 stays staged: production: blocked by dsr"


async def test_without_a_champion_nothing_is_evaluated_or_started() -> None:
    evaluation, rollouts = _VerdictEvaluation(_verdict()), _Rollouts()
    actions = _rollout_actions(evaluation, None, rollouts)
    start = await actions.start_rollout("alpha", "alpha:v2", "r")
    assert not start.started and not start.considered
    assert "no production version" in start.message
    assert evaluation.calls == [] and rollouts.calls == []


async def test_with_the_verdict_rule_off_the_rollout_starts_without_an_evaluation() -> None:
    evaluation, rollouts = _VerdictEvaluation(None), _Rollouts()
    start = await _rollout_actions(evaluation, "alpha:v1", rollouts, verdict_needed=False) \
        .start_rollout("alpha", "alpha:v2", "r")
    assert start.started and evaluation.calls == [] and len(rollouts.calls) == 1


async def test_a_refused_rollout_start_leaves_the_candidate_staged() -> None:
    busy = ValidationError("start rollout", [FieldProblem(
        "model_name", "alpha", "already has rollout R0 of alpha:v3 in canary")])
    evaluation, rollouts = _VerdictEvaluation(_verdict()), _Rollouts(fail=busy)
    start = await _rollout_actions(evaluation, "alpha:v1", rollouts) \
        .start_rollout("alpha", "alpha:v2", "r")
    assert not start.started and start.considered
    assert start.message.startswith("alpha:v2 stays staged: ")
    assert "already has rollout R0" in start.message
    # refused before the production evaluation and the start
    assert evaluation.calls == [] and rollouts.calls == []
