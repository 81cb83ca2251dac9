"""The "signal" trainer and SignalModel, in process, on real market data."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.core.models import LearningEvent, TrainingJob
from ordinis.engines.learning.core.protocol import PredictiveModel
from ordinis.engines.learning.training.dataset import Dataset, build_signal_dataset
from ordinis.engines.learning.training.models import SignalModel
from ordinis.engines.learning.training.signal_trainer import SignalTrainer, holdout_split
from ordinis.engines.learning.training.trainers import (
    TrainerRegistry,
    TrainingContext,
    load_trainer,
)

SMALL_LGBM = {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 10}


@pytest.fixture(scope="module")
def dataset(market_events: list[LearningEvent]) -> Dataset:
    return build_signal_dataset(market_events, min_samples=200)


def _ctx(tmp_path: Path, ds: Dataset, config: dict[str, object]) -> tuple[TrainingContext, list]:
    seen: list[tuple[float, str]] = []
    job = TrainingJob("job-1", "spy_signal", "signal", config=dict(config))
    ctx = TrainingContext(job=job, dataset=ds, config=dict(config), output_dir=tmp_path / "out",
                          progress=lambda f, m: seen.append((f, m)))
    return ctx, seen


@pytest.mark.parametrize("config", [
    {"algorithm": "lightgbm", "params": SMALL_LGBM},
    {"algorithm": "logistic", "params": {"C": 0.5}},
])
def test_trains_predicts_and_reports(tmp_path: Path, dataset: Dataset,
                                     config: dict[str, object]) -> None:
    ctx, seen = _ctx(tmp_path, dataset, config)
    out = SignalTrainer().train(ctx)
    model = out.model
    assert isinstance(model, SignalModel) and isinstance(model, PredictiveModel)
    assert model.algorithm == config["algorithm"]
    signal = model.predict(dataset.X.iloc[:50])
    assert signal.shape == (50,)
    assert np.all((signal >= -1) & (signal <= 1))
    assert np.unique(np.round(signal, 6)).size > 1  # not a constant
    proba = model.predict_proba(dataset.X.iloc[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.predict(dataset.X.iloc[:5]), 2 * proba[:, 1] - 1)
    for key in ("accuracy", "log_loss", "auc", "hit_rate", "sharpe"):
        assert math.isfinite(out.metrics[key]), key
    assert 0 <= out.metrics["accuracy"] <= 1
    assert out.metrics["n_holdout"] == pytest.approx(0.2 * dataset.n_samples, rel=0.05)
    assert out.params["algorithm"] == config["algorithm"]
    assert out.lineage.n_samples == dataset.n_samples
    assert out.lineage.feature_set == "bar_features"
    assert out.lineage.window_end == dataset.window_end
    assert dict(out.lineage)["symbols"] == "AAPL,JPM,XOM"
    # the artifact on disk is the same model
    loaded = joblib.load(out.artifact_path)
    head = dataset.X.iloc[:20]
    np.testing.assert_allclose(loaded.predict(head), model.predict(head))
    assert Path(out.artifact_path).parent == ctx.output_dir
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("dropped" in m for _, m in seen)


def test_holdout_is_the_latest_time(dataset: Dataset) -> None:
    train, hold = holdout_split(dataset, 0.2)
    assert dataset.timestamps[train].max() < dataset.timestamps[hold].min()
    assert not (train & hold).any() and (train | hold).all()


def test_model_validates_its_input(dataset: Dataset, tmp_path: Path) -> None:
    ctx, _ = _ctx(tmp_path, dataset, {"algorithm": "logistic"})
    model = SignalTrainer().train(ctx).model
    with pytest.raises(ValidationError) as err:
        model.predict(dataset.X.drop(columns=["rsi_14", "vol_20"]))
    assert "rsi_14" in str(err.value) and "vol_20" in str(err.value)
    bad = dataset.X.iloc[:3].copy()
    bad.loc[bad.index[0], "ret_5"] = np.nan
    with pytest.raises(ValidationError, match="ret_5"):
        model.predict(bad)
    with pytest.raises(ValidationError, match="DataFrame"):
        model.predict(dataset.X.to_numpy())  # type: ignore[arg-type]
    # extra columns and another column order are fine
    shuffled = dataset.X.iloc[:4][list(reversed(dataset.X.columns))].assign(extra=1.0)
    np.testing.assert_allclose(model.predict(shuffled), model.predict(dataset.X.iloc[:4]))
    assert model.predict(dataset.X.iloc[:0]).shape == (0,)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(clone.predict(dataset.X.iloc[:4]), model.predict(dataset.X.iloc[:4]))


def test_threshold_zeroes_weak_signals(dataset: Dataset) -> None:
    est = _FixedProba(np.array([0.52, 0.9, 0.1, 0.5]))
    model = SignalModel(["a"], est, "fixed", threshold=0.1)
    out = model.predict(pd.DataFrame({"a": [0.0, 0.0, 0.0, 0.0]}))
    np.testing.assert_allclose(out, [0.0, 0.8, -0.8, 0.0])


class _FixedProba:
    def __init__(self, p: np.ndarray) -> None:
        self.p = p

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([1 - self.p, self.p])


def test_config_problems_are_all_reported() -> None:
    problems = SignalTrainer().validate_config({
        "params": {"n_estimators": 0, "learning_rate": -1},
        "holdout_fraction": 0.9, "threshold": 2, "min_samples": -3,
    })
    fields = {p.field for p in problems}
    assert {"config.params.n_estimators", "config.params.learning_rate",
            "config.holdout_fraction", "config.threshold", "config.min_samples"} <= fields
    algo = SignalTrainer().validate_config({"algorithm": "xgboost"})
    assert "lightgbm" in str(algo[0]) and "logistic" in str(algo[0])
    unknown = SignalTrainer().validate_config({"algorithm": "logistic", "params": {"depth": 3}})
    assert "depth" in str(unknown[0])
    sk = SignalTrainer().validate_config({"algorithm": "logistic", "params": {"penalty": "l7"}})
    assert sk and "penalty" in str(sk[0])
    assert SignalTrainer().validate_config({"algorithm": "logistic", "params": {"C": 2.0}}) == []


def test_registry_errors_list_known_types() -> None:
    reg = TrainerRegistry.default()
    assert reg.model_types == ("signal",)
    assert isinstance(reg.get("signal"), SignalTrainer)
    with pytest.raises(ValidationError) as err:
        reg.spec("risk")
    assert "'risk'" in str(err.value) and "signal" in str(err.value)
    with pytest.raises(ValidationError, match="cannot be imported"):
        reg.register("x", "no_such_module_xyz:Trainer")
    with pytest.raises(ValidationError, match=r"package\.module:Attribute"):
        load_trainer("not a spec")
    with pytest.raises(ValidationError, match="declares model_type='signal'"):
        reg.register("other", "ordinis.engines.learning.training.signal_trainer:SignalTrainer")
