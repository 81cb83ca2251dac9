"""Fill a DemoRecord after the replay from the engine's public API and the host's own books.

Stage history, evaluations (their typed gate reports), drift alerts, retraining triggers,
audit records (breaker trips) and, when the engine has a rollout part, its rollout state;
after the engine has stopped, the audit chain as stored (``record_audit``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from ordinis.engines.learning import (
    EngineReader,
    EvaluationResult,
    LearningEngine,
    LearningEngineConfig,
    RolloutPhase,
    RolloutReport,
)
from ordinis.engines.learning.demo.market_data import FeaturePanel
from ordinis.engines.learning.demo.record import (
    BookSeries,
    BreakerTrip,
    DemoRecord,
    GateLine,
    GateReportView,
    MarkKind,
    StageSpan,
    TimelineMark,
    TrafficStep,
)
from ordinis.engines.learning.demo.verdict import equity_band, paired_test

LOOP = "closed loop"
STATIC = "first model, never retrained"
HOLD = "equal-weight buy-and-hold"
MIN_VERDICT_BARS = 20  # the paired test runs on more bars than this after the first model


def collect_record(
    engine: LearningEngine,
    panel: FeaturePanel,
    model_name: str,
    loop_returns: np.ndarray,
    static_returns: np.ndarray,
    first_model_day: int | None,
    served: Sequence[tuple[datetime, Sequence[str]]],
    counts: Mapping[str, int],
    rollouts: Sequence[RolloutReport] = (),
) -> DemoRecord:
    """Everything the report shows, read back through the public API after the run."""
    rec = DemoRecord(
        title=f"ordinis-learning closed loop: {panel.source}",
        data=panel.source,
        model_name=model_name,
        symbols=list(panel.symbols),
        days=list(panel.days),
    )
    ppy = panel.periods_per_year
    rec.books = [
        BookSeries(LOOP, loop_returns, "what the host traded: served model (or its rule), "
                   "costs and slippage, breakers on", ppy),
        BookSeries(STATIC, static_returns, "paper book: the first model kept for the whole run, "
                   "same execution", ppy),
        BookSeries(HOLD, panel.buy_and_hold(), "paper book: the same instruments, equal "
                   "weight, bought on the first day and held", ppy),
    ]
    rec.bands = [equity_band(b) for b in rec.books]
    _verdict(rec, loop_returns, static_returns, first_model_day)
    rec.events_recorded = counts.get("events", 0)
    rec.trades = counts.get("trades", 0)
    rec.retrains = counts.get("retrains", 0)
    rec.blocked_days = counts.get("blocked_days", 0)
    _stages(engine, model_name, rec, served)
    _evaluations(engine, model_name, rec)
    _production_note(rec)
    _drift_and_retrains(engine, model_name, rec)
    _trips(engine, rec)
    _rollout(rec, rollouts)
    _quiet_loop(rec, served, engine.config.enable_drift_detection)
    rec.marks.sort(key=lambda m: m.at)
    return rec


def record_audit(config: LearningEngineConfig, rec: DemoRecord) -> None:
    """Verify the audit chain as stored, read-only after the engine stopped: the count then
    includes the shutdown's own record, the count ``audit verify`` gives on the data dir."""
    with EngineReader(config) as reader:
        verification = reader.verify_audit()
    rec.audit_ok = bool(verification.ok)
    rec.audit_records = int(verification.checked)


def _verdict(
    rec: DemoRecord, loop_returns: np.ndarray, static_returns: np.ndarray,
    first_model_day: int | None,
) -> None:
    """The paired test of the loop against the first model, over the days that model existed,
    and the notes that say what it covers."""
    if first_model_day is None or len(rec.days) - first_model_day <= MIN_VERDICT_BARS:
        return
    ppy = rec.books[0].periods_per_year
    cut = slice(first_model_day, None)
    rec.verdict = paired_test(
        BookSeries(LOOP, loop_returns[cut], periods_per_year=ppy),
        BookSeries(STATIC, static_returns[cut], periods_per_year=ppy),
    )
    rec.notes.append(
        f"The paired test covers {rec.days[first_model_day]:%Y-%m-%d} onwards, the days "
        "the first model existed (before that both books traded the host's rule)."
    )
    rec.books_identical = bool(np.array_equal(loop_returns[cut], static_returns[cut]))
    if rec.books_identical:
        rec.notes.append(
            "The two books are the same on every tested day: the closed loop traded the "
            "first model throughout (no retrained candidate replaced it and no breaker "
            "blocked a signal), so the difference is exactly zero and the test cannot "
            "find one."
        )


def _stages(
    engine: LearningEngine,
    model_name: str,
    rec: DemoRecord,
    served: Sequence[tuple[datetime, Sequence[str]]],
) -> None:
    """Stage spans from the registry's history; the host's serving spans beside them."""
    open_spans: dict[str, tuple[str, datetime, str]] = {}
    for change in engine.stage_history(model_name):
        vid = change.version_id
        if vid in open_spans:
            stage, start, reason = open_spans.pop(vid)
            rec.stages.append(StageSpan(vid, stage, start, change.at, reason))
        stage = change.to_stage.value
        open_spans[vid] = (stage, change.at, change.reason)
        if stage == "production":
            rec.production_reached = True
            rec.promotions += 1
        if change.action == "rollback":
            rec.rollbacks += 1
            rec.marks.append(TimelineMark(change.at, MarkKind.ROLLBACK, f"{vid}: {change.reason}"))
        elif stage == "production":
            rec.marks.append(TimelineMark(change.at, MarkKind.PROMOTION, f"{vid} -> {stage}"))
        elif stage == "staging":
            rec.marks.append(TimelineMark(change.at, MarkKind.STAGED, f"{vid} -> {stage}"))
    for vid, (stage, start, reason) in open_spans.items():
        if stage != "none":
            rec.stages.append(StageSpan(vid, stage, start, None, reason))
    rec.stages.extend(_serving_spans(served))


def _production_note(rec: DemoRecord) -> None:
    """When nothing reached production, which versions the production gates refused and which
    never faced them (from the gate reports and the stages, never assumed)."""
    if rec.production_reached:
        return
    judged = {g.version_id for g in rec.gate_reports if g.gate_set == "production"}
    passed = {g.version_id for g in rec.gate_reports if g.gate_set == "production" and g.passed}
    others = {s.version_id for s in rec.stages if s.stage != "serving"} - judged
    text = "No version reached PRODUCTION. "
    if judged:
        text += (f"The production gates refused {_names(judged - passed)} (see the gate reports)."
                 if judged - passed else "")
    else:
        text += "No version was put to the production gates."
    if others:
        text += (f" {_names(others)} never faced them: a retrained candidate is put to them only "
                 "when the paired comparison says it beats the serving version (and the "
                 "pipeline's gates staged it), and none did.")
    if any(s.stage == "serving" for s in rec.stages):
        text += (" The host traded the staged version (the staging path) so the loop had live "
                 "evidence to watch; that is labelled 'serving' above.")
    elif rec.gate_reports:
        text += (" No version passed the demo's gates for staging either, so none served: the "
                 "host's own rule traded throughout.")
    else:
        text += " No version was trained, so none served: the host's own rule traded throughout."
    rec.notes.append(text)


def _names(versions: set[str]) -> str:
    def order(v: str) -> tuple[str, int]:
        name, _, n = v.rpartition(":v")
        return (name, int(n)) if n.isdigit() else (v, 0)

    return ", ".join(sorted(versions, key=order))


def _serving_spans(served: Sequence[tuple[datetime, Sequence[str]]]) -> list[StageSpan]:
    """Per version, the spans in which the host traded it on at least one symbol (``served``:
    from each time on, the versions trading; two during a canary)."""
    spans: list[StageSpan] = []
    open_at: dict[str, datetime] = {}
    for at, versions in served:
        now = {v for v in versions if v != "rule"}
        for vid in [v for v in open_at if v not in now]:
            spans.append(StageSpan(vid, "serving", open_at.pop(vid), at,
                                   "the host traded this version"))
        for vid in sorted(now):
            open_at.setdefault(vid, at)
    spans.extend(StageSpan(vid, "serving", at, None, "the host traded this version")
                 for vid, at in open_at.items())
    return spans


def _gate_view(result: EvaluationResult) -> GateReportView | None:
    report = result.gate_report
    if report is None:
        return None
    return GateReportView(
        version_id=result.model_version_id,
        gate_set=report.gate_set,
        evaluated_at=result.evaluated_at,
        passed=report.passed,
        summary=report.summary(),
        gates=tuple(
            GateLine(
                g.name, g.metric, g.value, g.comparison.symbol, g.threshold, g.required,
                g.verdict.value,
            )
            for g in report.results
        ),
    )


def _evaluations(engine: LearningEngine, model_name: str, rec: DemoRecord) -> None:
    for result in engine.get_evaluations():
        if not result.model_version_id.startswith(f"{model_name}:"):
            continue
        view = _gate_view(result)
        if view is not None:
            rec.gate_reports.append(view)


def _drift_and_retrains(engine: LearningEngine, model_name: str, rec: DemoRecord) -> None:
    for alert in engine.get_drift_alerts(model_name=model_name):
        rec.marks.append(
            TimelineMark(
                alert.detected_at,
                MarkKind.DRIFT,
                f"{alert.severity.value} {alert.drift_type.value} drift of {alert.metric}",
            )
        )
    for trig in engine.list_retraining_triggers(model_name):
        status = str(getattr(trig.status, "value", trig.status))
        if trig.refusal_reason or status == "refused":
            label = f"{trig.trigger_type.value}: refused by {trig.safeguard or '?'}"
            rec.marks.append(TimelineMark(trig.created_at, MarkKind.REFUSED, label))
        elif trig.job_id:
            label = f"{trig.trigger_type.value} -> {trig.version_id or status}"
            rec.marks.append(
                TimelineMark(trig.training_started_at or trig.created_at, MarkKind.RETRAIN, label)
            )


def _trips(engine: LearningEngine, rec: DemoRecord) -> None:
    """Breaker stretches from the audit log: a ``breaker.open``, the re-openings after failed
    probes, then the ``breaker.closed`` of that breaker."""
    opened: dict[str, tuple[datetime, str, int]] = {}
    for r in engine.audit_records():
        if not r.action.startswith("breaker."):
            continue
        state = r.action.partition(".")[2]
        if state == "open":
            at, reason, trips = opened.get(r.target, (r.timestamp, r.reason, 0))
            opened[r.target] = (at, reason, trips + 1)
        elif state == "closed" and r.target in opened:
            at, reason, trips = opened.pop(r.target)
            rec.trips.append(BreakerTrip(r.target, at, reason, r.timestamp, trips))
    for target, (at, reason, trips) in opened.items():
        rec.trips.append(BreakerTrip(target, at, reason, None, trips))
    rec.trips.sort(key=lambda t: t.opened_at)


def _quiet_loop(
    rec: DemoRecord, served: Sequence[tuple[datetime, Sequence[str]]], watching: bool
) -> None:
    """Say why the timeline is empty when no drift alert fired."""
    if any(m.kind is MarkKind.DRIFT for m in rec.marks):
        return
    if not watching:
        rec.notes.append("No drift alert: drift detection is off in this engine's config.")
        return
    if not any(v != "rule" for _, versions in served for v in versions):
        rec.notes.append(
            "No drift alert and no retrain: no model ever served (the host's rule traded "
            "throughout), so the loop had no live performance to watch."
        )
        return
    rec.notes.append(
        "No drift alert: the engine watched the live performance of each version that served "
        "(production, or the staged version on the staging path), and no drift check crossed "
        "its threshold."
    )


def _rollout(rec: DemoRecord, rollouts: Sequence[RolloutReport]) -> None:
    """Canary traffic from the rollout reports the host kept (``engine.get_rollout``): each
    decision's traffic from its time on, per candidate; a rollout rolled back (or aborted)
    before its candidate held production is a rollback the registry records as an archive."""
    for report in rollouts:
        for decision in report.decisions:
            rec.traffic.append(
                TrafficStep(decision.at, report.candidate, float(decision.traffic),
                            decision.phase.value)
            )
        if report.phase not in (RolloutPhase.ROLLED_BACK, RolloutPhase.ABORTED):
            continue
        at = report.ended_at or report.phase_started_at
        counted = any(
            m.kind is MarkKind.ROLLBACK and abs((m.at - at).total_seconds()) < 60 for m in rec.marks
        )  # after a switch the registry's rollback already counted it
        if not counted:
            rec.rollbacks += 1
            why = report.rollback_reason or "rolled back"
            rec.marks.append(TimelineMark(at, MarkKind.ROLLBACK, f"{report.candidate}: {why}"))
    rec.traffic.sort(key=lambda t: t.at)
