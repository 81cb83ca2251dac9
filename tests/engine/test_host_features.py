"""A host's own features, end to end through the public API: record, train, evaluate, promote.

The feature names (``ret_0``..``ret_4``, ``vol_20``) are the host's; the project never saw
them. Packs built by ``bar_features`` cannot provide them and are skipped with the reason; a
user pack registered with the host's feature function can.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ordinis.engines.learning import (
    EventType,
    FeatureFunction,
    LearningEngine,
    LearningEngineConfig,
    LearningEvent,
    ModelStage,
    PolicyDeniedError,
    SimulatedClock,
    TrainingStatus,
)

HOST_FEATURES = ("ret_0", "ret_1", "ret_2", "ret_3", "ret_4", "vol_20")
LOOSE_GATES = """
name: host-loose
default:
  gates:
    - {name: max_drawdown, metric: max_drawdown, type: safety, comparison: lte, threshold: 1.0}
"""


def host_features(close: pd.Series) -> pd.DataFrame:
    """The host's features of a close series: the last five returns and 20-bar volatility."""
    r = close.pct_change()
    out = pd.DataFrame({f"ret_{k}": r.shift(k) for k in range(5)}, index=close.index)
    out["vol_20"] = r.rolling(20).std()
    return out


def sp500() -> pd.Series:
    from skfolio.datasets import load_sp500_index

    s = load_sp500_index()["SP500"].astype(float)
    s.index = pd.DatetimeIndex(s.index).tz_localize("UTC")
    return s


def host_events(close: pd.Series) -> list[LearningEvent]:
    """SIGNAL_GENERATED events as the host's signal engine records them: features + outcome."""
    feats = host_features(close)
    nxt = close.shift(-1) / close - 1.0
    events = []
    for ts, row in feats.iterrows():
        if row.isna().any() or np.isnan(nxt[ts]):
            continue
        events.append(LearningEvent(
            EventType.SIGNAL_GENERATED, "signal", symbol="SPX",
            timestamp=ts.to_pydatetime(),
            payload={"features": {k: float(row[k]) for k in HOST_FEATURES}, "signal": 0.0},
            outcome=float(nxt[ts])))
    return events


async def test_host_features_train_evaluate_on_user_pack_and_promote(
    data_dir: Path, tmp_path: Path
) -> None:
    close = sp500()
    events = host_events(close["1990":"2009"])
    assert len(events) > 4900
    gates = tmp_path / "gates.yaml"
    gates.write_text(LOOSE_GATES)
    config = LearningEngineConfig.create(
        data_dir=data_dir, min_samples_for_training=1000, event_retention_days=36500,
        enable_drift_detection=False, bootstrap_resamples=300)
    clock = SimulatedClock(datetime(2010, 1, 4, tzinfo=UTC))
    async with LearningEngine(config, clock=clock) as engine:
        for ev in events:
            engine.record_event(ev)
        await engine.flush_events()

        job = await engine.submit_training_job(
            "host_alpha", "signal", {"algorithm": "logistic", "cv": "none"})
        job = await engine.wait_for_training_job(job.job_id, timeout=180)
        assert job.status is TrainingStatus.COMPLETED, job.error_message
        mv = engine.get_model_version(job.model_version_id or "")
        assert mv.lineage["feature_names"] == ",".join(HOST_FEATURES)
        assert (mv.lineage["feature_set"], mv.lineage["feature_set_version"]) == (
            "discovered", "1")
        assert "discovered 6 feature(s)" in mv.lineage["feature_report"]
        assert tuple(engine.load_model(mv.version_id).feature_names) == HOST_FEATURES

        fn = FeatureFunction("host_features", host_features, HOST_FEATURES, warmup_rows=21)
        pack = engine.register_benchmark(
            "spx_host_2012_2019", close["2011-10":"2019"].tz_localize(None),
            feature_function=fn, start="2012-01-01")
        assert pack.feature_function == "host_features"
        assert engine.get_feature_set("host_features").names == HOST_FEATURES

        # evaluations are as of the clock: the 2012-2019 pack is judged once it has happened
        clock.set(datetime(2020, 1, 2, tzinfo=UTC))
        result = await engine.evaluate_model(
            mv.version_id, ["spx_host_2012_2019", "pack_01_bull"], gate_set=str(gates))
        assert result.benchmark_name == "spx_host_2012_2019"  # evaluated after training
        reason = result.details["skipped_packs"]["pack_01_bull"]
        assert "ret_0" in reason and "'bar_features'" in reason
        assert result.passed, result.details

        await engine.promote_model("host_alpha", mv.version_id, ModelStage.STAGING,
                                   reason="host features evaluated")
        # a user gate file never opens production (docs/evaluation.md)
        with pytest.raises(PolicyDeniedError, match="no evaluation with the production gate"):
            await engine.promote_model("host_alpha", mv.version_id, ModelStage.PRODUCTION,
                                       reason="gates passed")
        assert engine.get_production_model("host_alpha") is None

        # the host can also name a registered set (a version lineage records)
        assert engine.register_feature_set("host", HOST_FEATURES).ref == "host@v1"
        # a version trained on the registered function's set: built-in packs compute it too
        job2 = await engine.submit_training_job(
            "host_fn", "signal", {"algorithm": "logistic", "cv": "none",
                                  "feature_set": "host_features"})
        job2 = await engine.wait_for_training_job(job2.job_id, timeout=180)
        assert job2.status is TrainingStatus.COMPLETED, job2.error_message
        on_builtin = await engine.evaluate_model(
            job2.model_version_id or "", ["pack_01_bull"], gate_set=str(gates))
        assert on_builtin.benchmark_name == "pack_01_bull"
        assert "skipped_packs" not in on_builtin.details

        # or keep them in the feature store: the trainer joins them point-in-time
        store = engine.feature_store
        store.create_feature_set("host_store", ["vol_20", "ret_0"], ttl_seconds=7 * 86400)
        feats = host_features(close["1990":"2009"]).dropna()
        store.ingest_frame("host_store", feats[["vol_20", "ret_0"]].assign(
            entity="SPX", timestamp=feats.index))
        job3 = await engine.submit_training_job(
            "host_alpha", "signal", {"algorithm": "logistic", "cv": "none",
                                     "feature_set": "host_store"})
        job3 = await engine.wait_for_training_job(job3.job_id, timeout=180)
        assert job3.status is TrainingStatus.COMPLETED, job3.error_message
        lineage3 = engine.get_model_version(job3.model_version_id or "").lineage
        assert (lineage3["feature_set"], lineage3["feature_set_version"],
                lineage3["feature_names"]) == ("host_store", "1", "vol_20,ret_0")


async def test_past_situations_like_this_one_come_back_with_outcomes(data_dir: Path) -> None:
    pytest.importorskip("chromadb")
    clock = SimulatedClock(datetime(2020, 1, 2, tzinfo=UTC))
    config = LearningEngineConfig.create(data_dir=data_dir, enable_drift_detection=False)
    async with LearningEngine(config, clock=clock) as engine:
        rng = np.random.default_rng(5)
        for i in range(60):
            x = rng.standard_normal(2)
            await engine.feedback.record_trade_outcome(
                "SPX", pnl=float(x[0]), return_pct=float(x[0]) / 100,
                metadata={"features": {"ret_0": float(x[0]), "vol_20": float(x[1])},
                          "regime": "bull" if i % 2 else "bear"})
            clock.advance(timedelta(hours=1))
        await engine.flush_events()
        found = await engine.feedback.search_similar(
            {"ret_0": 2.5, "vol_20": 0.0}, where={"regime": "bull"}, k=5)
        assert len(found) == 5 and all(f.regime == "bull" for f in found)
        assert all(f.outcome is not None for f in found)
        assert [f.distance for f in found] == sorted(f.distance for f in found)
