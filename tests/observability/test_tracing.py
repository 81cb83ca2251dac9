"""Spans of one closed-loop cycle, captured with the SDK's in-memory exporter.

Drift check -> retrain trigger -> training (submit, queue, run, register) -> evaluation (per
pack) -> promotion, plus the event flushes, on real S&P 500 bars with a simulated clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ordinis.engines.learning import (
    EventType,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    SimulatedClock,
)
from ordinis.engines.learning.core.errors import ConfigError
from ordinis.engines.learning.features.bar_features import (
    FEATURE_NAMES,
    compute_bar_features,
    next_return,
)
from ordinis.engines.learning.feedback.pipeline_spec import write_pipeline_variant
from ordinis.engines.learning.observability.metrics import LearningMetrics
from ordinis.engines.learning.observability.tracing import (
    ATTR_EVENTS,
    ATTR_JOB,
    ATTR_MODEL,
    ATTR_VERSION,
    build_tracer_provider,
    rollout_step,
    tracer_of,
)

MODEL = "traced"
LOOSE_GATES = """
name: loose
default:
  gates:
    - {name: max_drawdown, metric: max_drawdown, type: safety, comparison: lte, threshold: 1.0}
"""


def _signal_events(symbols: list[str], start: str, end: str) -> list[LearningEvent]:
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset().sort_index()
    events: list[LearningEvent] = []
    for sym in symbols:
        feats = compute_bar_features(prices[sym])
        feats["target"] = next_return(prices[sym])
        feats = feats.loc[start:end].dropna()
        for ts, row in feats.iterrows():
            t = pd.Timestamp(ts)
            events.append(
                LearningEvent(
                    EventType.SIGNAL_GENERATED,
                    "signal",
                    symbol=sym,
                    timestamp=datetime(t.year, t.month, t.day, 21, tzinfo=UTC),
                    payload={"features": {k: float(row[k]) for k in FEATURE_NAMES}},
                    outcome=float(row["target"]),
                )
            )
    return sorted(events, key=lambda e: e.timestamp)


def _config(data_dir: Path, tmp_path: Path) -> LearningEngineConfig:
    gates = tmp_path / "loose.yaml"
    gates.write_text(LOOSE_GATES)
    pipeline = write_pipeline_variant(
        tmp_path / "pipeline.yaml",
        stages={
            "data_collection": {"window": "1095d"},
            "training": {"algorithm": "logistic", "params": {}},
            "evaluation": {"benchmarks": ["pack_01_bull"], "gate_set": str(gates),
                           "thresholds": {}},
        },
        triggers={"drift_alerts": {"min_severity": "info"}},
    )
    return LearningEngineConfig.create(
        data_dir=data_dir,
        event_retention_days=36500,
        min_samples_for_training=500,
        pipeline_config_path=pipeline,
    )


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[str]:
    assert parent.context is not None
    return sorted(
        s.name for s in spans
        if s.parent is not None and s.parent.span_id == parent.context.span_id
    )


def _int(s: ReadableSpan, key: str) -> int:
    value = (s.attributes or {}).get(key)
    assert isinstance(value, int), (s.name, key, value)
    return value


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{name}: {len(found)} spans in {[s.name for s in spans]}"
    return found[0]


async def test_span_tree_of_one_closed_loop_cycle(data_dir: Path, tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider("none", exporter=exporter)
    assert provider is not None
    metrics = LearningMetrics()
    metrics.tracer = tracer_of(provider)
    events = _signal_events(["AAPL", "JPM"], "2003-01-01", "2005-12-31")
    clock = SimulatedClock(datetime(2006, 1, 3, tzinfo=UTC))
    async with LearningEngine(_config(data_dir, tmp_path), clock=clock, metrics=metrics) as engine:
        for ev in events:
            engine.record_event(ev)
        assert await engine.flush_events() == len(events)
        flushes = [s for s in exporter.get_finished_spans() if s.name == "learning.events.flush"]
        assert flushes and all(s.parent is None for s in flushes)
        assert sum(_int(s, ATTR_EVENTS) for s in flushes) == len(events)
        # the model's first version, trained by hand (outside the cycle under test)
        job = await engine.submit_training_job(
            MODEL, "signal", {"algorithm": "logistic", "end": "2006-01-01T00:00:00+00:00"}
        )
        job = await engine.wait_for_training_job(job.job_id, timeout=120)
        assert job.model_version_id == f"{MODEL}:v1", job.error_message
        exporter.clear()
        engine.set_baseline(MODEL, {"sharpe": 1.5})
        alerts = engine.check_drift(MODEL, {"sharpe": -1.0})
        assert len(alerts) == 1
        await engine.drain()
        triggers = engine.list_retraining_triggers(MODEL)
        assert [t.status.value for t in triggers] == ["promoted"], [
            (t.safeguard, t.refusal_reason, t.error) for t in triggers
        ]
    finished = list(exporter.get_finished_spans())
    check = _one(finished, "learning.drift.check")
    assert check.context is not None
    # the cycle: every span of the drift check's trace
    spans = [s for s in finished if s.context is not None
             and s.context.trace_id == check.context.trace_id]

    assert check.parent is None and check.attributes[ATTR_MODEL] == MODEL  # type: ignore[index]
    retrain = _one(spans, "learning.retrain")
    assert retrain.parent is not None and check.context is not None
    assert retrain.parent.span_id == check.context.span_id  # the alert started the retrain
    assert _children(spans, retrain) == [
        "learning.evaluation",
        "learning.promotion",
        "learning.training.queue",
        "learning.training.register",
        "learning.training.run",
        "learning.training.submit",
    ]
    evaluation = _one(spans, "learning.evaluation")
    # the pack and the candidate's forward holdout (the events after its training window)
    assert _children(spans, evaluation) == ["learning.evaluation.pack"] * 2
    packs = [s for s in spans if s.name == "learning.evaluation.pack"]
    assert sorted(str((p.attributes or {})["learning.pack"]) for p in packs) == [
        "forward_holdout", "pack_01_bull"
    ]

    job_id = retrain.attributes[ATTR_JOB]  # type: ignore[index]
    version = retrain.attributes[ATTR_VERSION]  # type: ignore[index]
    assert version == f"{MODEL}:v2"
    for name in ("learning.training.queue", "learning.training.run", "learning.training.register"):
        s = _one(spans, name)
        assert s.attributes[ATTR_JOB] == job_id and s.attributes[ATTR_MODEL] == MODEL  # type: ignore[index]
    assert _one(spans, "learning.training.register").attributes[ATTR_VERSION] == version  # type: ignore[index]
    assert _one(spans, "learning.promotion").attributes[ATTR_VERSION] == "v2"  # type: ignore[index]
    assert evaluation.attributes[ATTR_VERSION] == version  # type: ignore[index]
    # the loop's own steps finished inside the cycle's root
    assert all(s.end_time is not None for s in spans)
    assert retrain.end_time is not None and evaluation.end_time is not None
    assert retrain.end_time >= evaluation.end_time


def test_exporter_choice_is_validated() -> None:
    assert build_tracer_provider("none") is None
    assert build_tracer_provider("console") is not None
    with pytest.raises(ConfigError, match="tracing_exporter"):
        build_tracer_provider("zipkin")  # type: ignore[arg-type]


def test_rollout_step_span_carries_model_version_step_and_traffic() -> None:
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider("none", exporter=exporter)
    assert provider is not None
    with rollout_step(tracer_of(provider), "alpha", "v3", "canary", traffic=0.25):
        pass
    (s,) = exporter.get_finished_spans()
    assert s.name == "learning.rollout.step"
    assert dict(s.attributes or {}) == {
        ATTR_MODEL: "alpha", ATTR_VERSION: "v3",
        "learning.rollout_step": "canary", "learning.traffic": 0.25,
    }


def test_a_failing_step_marks_its_span_as_an_error() -> None:
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider("none", exporter=exporter)
    assert provider is not None
    with pytest.raises(RuntimeError), rollout_step(tracer_of(provider), "a", "v1", "shadow"):
        raise RuntimeError("router unavailable")
    (s,) = exporter.get_finished_spans()
    assert not s.status.is_ok and s.events[0].name == "exception"
