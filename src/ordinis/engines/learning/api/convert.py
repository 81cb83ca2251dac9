"""Library dataclasses -> API response models (one function each, no logic beyond mapping)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.api import schemas as s

if TYPE_CHECKING:
    from ordinis.engines.learning import (
        ABComparison,
        ABResults,
        ABTest,
        DriftAlert,
        EvaluationResult,
        FeedbackRecord,
        LearningEvent,
        MetricDrift,
        ModelVersion,
        PolicyResult,
        PromotionRequest,
        RetrainingTrigger,
        RolloutReport,
        TrainingJob,
    )


def event(e: LearningEvent) -> s.EventOut:
    return s.EventOut(
        event_id=e.event_id, event_type=e.event_type.value, source_engine=e.source_engine,
        symbol=e.symbol, timestamp=e.timestamp, payload=e.payload, labels=e.labels,
        outcome=s.num(e.outcome) if e.outcome is not None else None,
    )


def feedback(r: FeedbackRecord) -> s.FeedbackOut:
    return s.FeedbackOut(
        record_id=r.record_id, feedback_type=r.feedback_type, source_engine=r.source_engine,
        symbol=r.symbol, timestamp=r.timestamp,
        outcome=s.num(r.outcome) if r.outcome is not None else None, priority=r.priority.value,
    )


def job(j: TrainingJob) -> s.JobOut:
    return s.JobOut(
        job_id=j.job_id, model_name=j.model_name, model_type=j.model_type,
        status=j.status.value, created_at=j.created_at, started_at=j.started_at,
        completed_at=j.completed_at, progress=s.num(j.progress) or 0.0,
        progress_message=j.progress_message, metrics=s.nums(j.metrics),
        error_message=j.error_message, model_version_id=j.model_version_id, attempts=j.attempts,
    )


def trigger(t: RetrainingTrigger) -> s.TriggerOut:
    rollout = t.details.get("rollout")
    rollout_id = t.details.get("rollout_id")
    return s.TriggerOut(
        trigger_id=t.trigger_id, model_name=t.model_name, trigger_type=t.trigger_type.value,
        status=t.status.value, reason=t.reason, created_at=t.created_at,
        updated_at=t.updated_at, finished_at=t.finished_at, safeguard=t.safeguard,
        refusal_reason=t.refusal_reason, data_validation=t.data_validation, job_id=t.job_id,
        version_id=t.version_id, gate_passed=t.gate_passed, gate_summary=t.gate_summary,
        evaluation_id=t.evaluation_id, promoted_to=t.promoted_to,
        rollout=None if rollout is None else str(rollout),
        rollout_id=None if rollout_id is None else str(rollout_id), error=t.error,
    )


def production_label(mv: ModelVersion, blocker: str | None) -> str:
    """What the production gates say of a version, as promotion reads them."""
    if blocker is None:
        return "may open production"
    if mv.production_verdict is None:
        return "no production evaluation"
    if "re-evaluate" in blocker:
        return "stale: more candidates registered since; re-evaluate"
    return mv.production_verdict.label()


def version(mv: ModelVersion, blocker: str | None = "") -> s.VersionOut:
    """A version as the API shows it; ``blocker`` is ``engine.production_blocker`` of it."""
    return s.VersionOut(
        evaluation_label=mv.evaluation_label
        or ("-" if mv.evaluation_passed is None else "evaluated"),
        production=production_label(mv, blocker),
        version_id=mv.version_id, model_name=mv.model_name, version=mv.version,
        stage=mv.stage.value, created_at=mv.created_at, metrics=s.nums(mv.metrics),
        parameters=s.strs(mv.parameters), lineage=s.strs(mv.lineage),
        artifact_sha256=mv.artifact_sha256, training_job_id=mv.training_job_id,
        evaluation_passed=mv.evaluation_passed, description=mv.description,
    )


def stage_change(c: Any) -> s.StageChangeOut:
    return s.StageChangeOut(
        version=c.version, from_stage=c.from_stage.value if c.from_stage else None,
        to_stage=c.to_stage.value, actor=c.actor, reason=c.reason, at=c.at, action=c.action,
    )


def request(r: PromotionRequest) -> s.PromotionRequestOut:
    return s.PromotionRequestOut(
        request_id=r.request_id, version_id=r.version_id, target_stage=r.target_stage,
        requested_by=r.requested_by, reason=r.reason, requested_at=r.requested_at,
        status=r.status.value, decided_by=r.decided_by, decided_at=r.decided_at,
        decision_reason=r.decision_reason,
    )


def verdict(r: PolicyResult) -> s.PolicyVerdict:
    return s.PolicyVerdict(policy=r.policy, decision=r.decision.value, reason=r.reason)


def evaluation(r: EvaluationResult, sequence: int | None = None) -> s.EvaluationOut:
    return s.EvaluationOut(
        evaluation_id=r.evaluation_id, model_version_id=r.model_version_id,
        benchmark_name=r.benchmark_name, passed=r.passed, gate_set=r.gate_set,
        metrics=s.nums(r.metrics), thresholds=s.nums(r.thresholds), evaluated_at=r.evaluated_at,
        data_hash=r.data_hash,
        gate_report=r.gate_report.render() if r.gate_report is not None else None,
        opens_production=r.verdict is not None and r.verdict.opens_production,
        verdict=r.verdict.label() if r.verdict is not None else None,
        sequence=sequence,
    )


def alert(a: DriftAlert) -> s.AlertOut:
    return s.AlertOut(
        alert_id=a.alert_id, model_name=a.model_name, drift_type=a.drift_type.value,
        severity=a.severity.value, metric=a.metric, current_value=s.num(a.current_value),
        baseline_value=s.num(a.baseline_value), threshold=s.num(a.threshold),
        detected_at=a.detected_at,
    )


def metric_drift(m: MetricDrift) -> s.MetricDriftOut:
    return s.MetricDriftOut(
        metric=m.metric, value=s.num(m.value), baseline=s.num(m.baseline),
        ratio=s.num(m.ratio), threshold=s.num(m.threshold),
        severity=m.severity.value if m.severity else None,
        episode_severity=m.episode_severity.value if m.episode_severity else None,
        episode_opened_at=m.episode_opened_at,
    )


def breaker(name: str, b: Any) -> s.BreakerOut:
    return s.BreakerOut(
        engine=name, state=b.state.value, reason=b.reason, opened_at=b.opened_at, trips=b.trips,
        last_reset_by=b.last_reset_by, last_reset_reason=b.last_reset_reason,
    )


def audit(r: Any) -> s.AuditOut:
    return s.AuditOut(
        sequence=r.sequence, timestamp=r.timestamp, actor=r.actor, action=r.action,
        target=r.target, decision=r.decision, reason=r.reason, record_hash=r.record_hash,
    )


def rollout(r: RolloutReport) -> s.RolloutOut:
    e = r.evidence
    return s.RolloutOut(
        rollout_id=r.rollout_id, model_name=r.model_name, candidate=r.candidate,
        champion=r.champion, strategy=r.strategy.value, phase=r.phase.value,
        active=not r.phase.is_final, step=r.step, traffic=s.num(r.traffic),
        started_at=r.started_at, phase_started_at=r.phase_started_at, ended_at=r.ended_at,
        evidence=s.AnalysisOut(
            verdict=e.verdict.value, periods=e.periods, mean_difference=s.num(e.mean_difference),
            lower=s.num(e.lower), upper=s.num(e.upper), margin=s.num(e.margin),
            champion_mean=s.num(e.champion_mean), p_value=s.num(e.p_value), reason=e.reason,
        ),
        outcomes=r.outcomes,
        shadow_agreement=None if r.shadow_agreement is None else s.num(r.shadow_agreement),
        rollback_reason=r.rollback_reason,
        decisions=[
            s.RolloutDecisionOut(at=d.at, action=d.action, phase=d.phase.value, step=d.step,
                                 traffic=s.num(d.traffic), reason=d.reason, actor=d.actor)
            for d in r.decisions
        ],
    )


def _ab_figures(x: ABComparison) -> dict[str, float | None]:
    """The figures ``ABFigures`` carries, from one comparison (NaN and infinity as null)."""
    return {name: s.num(getattr(x, name)) for name in s.ABFigures.model_fields}


def ab_test(t: ABTest, res: ABResults) -> s.ABTestOut:
    return s.ABTestOut(
        test_id=t.test_id, name=t.name, variants=list(t.variants), weights=list(t.weights),
        created_at=t.created_at, status=t.status, stop_reason=t.stop_reason, alpha=t.alpha,
        min_samples=t.min_samples,
        stats=[s.VariantOut(variant=v.variant, n=v.n, mean=s.num(v.mean),
                            win_rate=s.num(v.win_rate)) for v in res.variants],
        decision=res.decision, reason=res.reason, leading=res.leading,
        comparisons=[s.ABComparisonOut(variant=x.variant, alpha=x.alpha, verdict=x.verdict,
                                       **_ab_figures(x)) for x in res.comparisons],
        **_ab_figures(res.lead),
    )
