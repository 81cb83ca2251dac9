"""The whole loop on real data with a simulated clock: a pre-2008 model degrades in the crash,
drift is detected, a retrain runs by itself, the candidate is evaluated and gated; a second
trigger inside the cooldown is refused and recorded.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from market_events import signal_rows

from ordinis.engines.learning import (
    DriftType,
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    ModelStage,
    SimulatedClock,
    TrainingStatus,
)
from ordinis.engines.learning.features.bar_features import FEATURE_NAMES
from ordinis.engines.learning.feedback.pipeline_spec import write_pipeline_variant

SYMBOLS = ["AAPL", "JPM", "XOM", "BAC"]
MODEL = "crash-test"
LOOSE_GATES = {
    "name": "loose",
    "default": {
        "gates": [
            {
                "name": "max_drawdown",
                "metric": "max_drawdown",
                "type": "safety",
                "comparison": "lte",
                "threshold": 1.0,
            },
        ]
    },
}


def _pipeline_file(tmp_path: Path) -> Path:
    return write_pipeline_variant(
        tmp_path / "pipeline.yaml",
        stages={
            "data_collection": {"window": "1095d"},
            "training": {"algorithm": "logistic", "params": {}},
            "evaluation": {"benchmarks": ["pack_03_crash"], "thresholds": {}},
        },
    )


def _config(data_dir: Path, tmp_path: Path) -> LearningEngineConfig:
    return LearningEngineConfig.create(
        data_dir=data_dir,
        event_retention_days=36500,
        min_samples_for_training=500,
        drift_check_interval_seconds=7 * 86400.0,
        retrain_cooldown_seconds=60 * 86400.0,
        max_retrains_per_day=1,
        live_metrics_window=300,
        breaker_max_consecutive_losses=1000,
        breaker_max_drawdown_pct=0.99,
        pipeline_config_path=_pipeline_file(tmp_path),
        # this test exercises the loop's mechanics on a model that cannot pass the production
        # gates (tests/engine/test_production_gates.py tests those): production opens without
        # a production verdict only because the rule is switched off here, with a warning
        require_eval_pass=False,
    )


async def test_crash_drift_retrains_gates_and_cooldown_refuses(
    data_dir: Path, tmp_path: Path
) -> None:
    gates = tmp_path / "loose.yaml"
    gates.write_text(yaml.safe_dump(LOOSE_GATES))
    rows = list(signal_rows(SYMBOLS, "2003-01-01", "2009-06-30"))
    by_day: dict[datetime, list[tuple[str, dict[str, float], float]]] = defaultdict(list)
    for t, sym, feats, target in rows:
        by_day[t].append((sym, feats, target))
    days = sorted(by_day)
    go_live = datetime(2007, 3, 1, tzinfo=UTC)
    clock = SimulatedClock(days[0] - timedelta(hours=1))
    async with LearningEngine(_config(data_dir, tmp_path), clock=clock) as engine:
        # history before the model: signal events only
        for day in [d for d in days if d < go_live]:
            clock.set(day)
            for sym, feats, target in by_day[day]:
                engine.record_event(
                    LearningEvent(
                        EventType.SIGNAL_GENERATED,
                        "signal",
                        symbol=sym,
                        timestamp=day,
                        payload={"features": feats},
                        outcome=target,
                    )
                )
        await engine.flush_events()
        job = await engine.submit_training_job(
            MODEL, "signal", {"algorithm": "logistic", "start": "2004-01-01T00:00:00+00:00"}
        )
        job = await engine.wait_for_training_job(job.job_id, timeout=120)
        assert job.status is TrainingStatus.COMPLETED, job.error_message
        v1 = job.model_version_id
        assert v1 is not None
        assert (await engine.evaluate_model(v1, ["pack_01_bull"], gate_set=str(gates))).passed
        await engine.promote_model(MODEL, v1, ModelStage.STAGING)
        await engine.promote_model(MODEL, v1, ModelStage.PRODUCTION)
        model = engine.load_model(v1)
        # promotion made the training window the data/prediction drift reference
        reference = engine.drift_reference(MODEL)
        assert set(FEATURE_NAMES) <= set(reference.features) and reference.predictions is not None

        # live: the production model trades; outcomes come back through the collector
        positions: dict[str, float] = {}
        baseline_set = False
        refused = None
        for day in [d for d in days if d >= go_live]:
            clock.set(day)
            batch = by_day[day]
            frame = pd.DataFrame([f for _, f, _ in batch], columns=list(FEATURE_NAMES))
            signals = np.sign(model.predict(frame))
            for (sym, feats, target), sig in zip(batch, signals, strict=True):
                if sym in positions:
                    pnl = positions[sym]
                    await engine.feedback.record_trade_outcome(
                        sym,
                        pnl=pnl,
                        return_pct=pnl,
                        model_name=MODEL,
                        model_version=v1,
                        metadata={"signal": float(np.sign(pnl) or 1.0)},
                    )
                engine.record_event(
                    LearningEvent(
                        EventType.SIGNAL_GENERATED,
                        "signal",
                        symbol=sym,
                        timestamp=day,
                        payload={"features": feats, "signal": float(sig), "model_name": MODEL},
                        outcome=target,
                    )
                )
                positions[sym] = float(sig) * target
            if not baseline_set and engine.live_metrics(MODEL).n >= 300:
                live = engine.live_metrics(MODEL).as_dict()
                base = {k: live[k] for k in ("sharpe", "win_rate", "hit_rate")}
                engine.set_baseline(MODEL, base)
                baseline_set = True
            if engine.has_background_work:
                await engine.drain()
            if refused is None and any(t.job_id for t in engine.list_retraining_triggers(MODEL)):
                # a safeguard: right after a retrain, a further trigger is inside the cooldown
                refused = await engine.trigger_retraining(MODEL, "operator asks again")
        await engine.flush_events()
        await engine.drain()

        assert engine.scheduler.errors == []
        alerts = engine.get_drift_alerts(MODEL)
        assert alerts, "the crash must raise drift alerts"
        assert any(a.detected_at >= datetime(2007, 7, 1, tzinfo=UTC) for a in alerts)
        kinds = {a.drift_type for a in alerts}
        assert kinds & {DriftType.PERFORMANCE, DriftType.CONCEPT}
        assert DriftType.DATA in kinds  # crash-level volatility against the calm reference
        triggers = engine.list_retraining_triggers(MODEL)
        retrains = [t for t in triggers if t.job_id]
        assert retrains, "a retrain must have started by itself"
        first = retrains[0]
        assert first.trigger_type.value != "manual"
        # a 2007 candidate cannot be judged on the 2008 crash pack: it is skipped as future, and
        # the candidate is judged on its forward holdout (events after its training window)
        assert first.status.value == "gated_out"
        scope = engine.get_evaluations(first.version_id)[0].scope
        assert scope is not None and scope.as_of < datetime(2008, 1, 1, tzinfo=UTC)
        packs = {p.name: p for p in scope.packs}
        assert "after the clock's now" in packs["pack_03_crash"].skipped
        assert not packs["forward_holdout"].skipped and packs["forward_holdout"].rows_used >= 60
        assert first.evaluation_id and first.version_id
        assert first.created_at >= datetime(2007, 3, 1, tzinfo=UTC)
        new_job = engine.get_training_job(first.job_id)
        assert new_job.status is TrainingStatus.COMPLETED and new_job.trigger_id == first.trigger_id
        assert engine.get_evaluations(first.version_id)[0].evaluation_id == first.evaluation_id
        assert engine.get_model_version(first.version_id).stage is ModelStage.DEVELOPMENT

        # the trigger inside the cooldown was refused, with the reason stored
        assert refused is not None and refused.status.value == "refused"
        assert refused.safeguard == "cooldown"
        stored = engine.get_retraining_trigger(refused.trigger_id)
        assert stored is not None and stored.refusal_reason

        # the whole chain is in the audit log and the metrics
        actions = [r.action for r in engine.audit_records()]
        for needed in (
            "loop.drift_alert",
            "loop.trigger",
            "loop.training",
            "training.submit",
            "model.register",
            "model.evaluate",
            "loop.evaluation",
            "loop.policy",
        ):
            assert needed in actions, needed
        assert engine.verify_audit().ok
        m = engine.metrics
        assert sum(
            m.sample(
                "drift_alerts_total",
                {
                    "model_name": MODEL,
                    "severity": a.severity.value,
                    "drift_type": a.drift_type.value,
                },
            )
            for a in {(x.severity, x.drift_type): x for x in alerts}.values()
        ) == len(alerts)
        assert m.sample("training_jobs_total", {"model_name": MODEL, "status": "completed"}) >= 2
        assert (
            m.sample(
                "retrain_triggers_total",
                {"model_name": MODEL, "trigger_type": "manual", "outcome": "refused"},
            )
            == 1
        )
        assert (
            m.sample(
                "retrain_refusals_total",
                {"model_name": MODEL, "safeguard": str(refused.safeguard)},
            )
            >= 1
        )


@pytest.fixture(autouse=True)
def _quiet_mlflow() -> None:
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
