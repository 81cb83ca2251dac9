"""Time-series cross-validation in the "signal" trainer: on time, not row order, real data."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordinis.engines.learning.core.errors import InsufficientDataError, ValidationError
from ordinis.engines.learning.core.models import LearningEvent, TrainingJob, TrainingStatus
from ordinis.engines.learning.evaluation import PurgedKFold
from ordinis.engines.learning.training.dataset import Dataset, build_signal_dataset
from ordinis.engines.learning.training.job_records import JOB_RECORD_KIND
from ordinis.engines.learning.training.signal_trainer import SignalTrainer
from ordinis.engines.learning.training.time_cv import (
    CV_METHODS,
    CVSettings,
    TimeGroupedSplitter,
    run_time_cv,
    validate_cv_config,
)
from ordinis.engines.learning.training.trainers import TrainingContext, TrainingOutcome

SMALL_LGBM = {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 10}
MakeExecutor = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="module")
def dataset(market_events: list[LearningEvent]) -> Dataset:
    return build_signal_dataset(market_events, min_samples=200)


def _train(tmp_path: Path, ds: Dataset, config: dict[str, Any]
           ) -> tuple[TrainingOutcome, list[tuple[float, str]]]:
    seen: list[tuple[float, str]] = []
    job = TrainingJob("job-cv", "spy_signal", "signal", config=dict(config))
    ctx = TrainingContext(job=job, dataset=ds, config=dict(config), output_dir=tmp_path / "out",
                          progress=lambda f, m: seen.append((f, m)))
    return SignalTrainer().train(ctx), seen


def _time_safety_violations(splitter: TimeGroupedSplitter, purge: int, embargo: int,
                            walk_forward: bool = False) -> list[str]:
    """Every way the folds of ``splitter`` break time separation (empty list when safe)."""
    codes = splitter.time_codes
    bad: list[str] = []
    for k, (train, test) in enumerate(splitter.split(len(codes))):
        tr_t, te_t = np.unique(codes[train]), np.unique(codes[test])
        if np.intersect1d(tr_t, te_t).size:
            bad.append(f"fold {k}: a timestamp is in both train and test")
        if walk_forward and tr_t.size and tr_t.max() >= te_t.min() - purge:
            bad.append(f"fold {k}: walk-forward trains on or after its test start - purge")
        # each contiguous block of test time: nothing trained within [start-purge, end+embargo]
        for block in np.split(te_t, np.flatnonzero(np.diff(te_t) > 1) + 1):
            lo, hi = int(block[0]), int(block[-1])
            near = tr_t[(tr_t >= lo - purge) & (tr_t <= hi + embargo)]
            if near.size:
                bad.append(f"fold {k}: trains on time positions {near.tolist()} within the "
                           f"purge/embargo of test block [{lo}, {hi}]")
    return bad


# ------------------------------------------------------------------ metrics on real data


@pytest.mark.parametrize(("cv", "folds"), [
    ("purged_kfold", 5), ("walk_forward", 4), ("combinatorial", 10),
])
def test_cv_metrics_are_reported_per_fold_and_summarised(
    tmp_path: Path, dataset: Dataset, cv: str, folds: int,
) -> None:
    config: dict[str, Any] = {"params": SMALL_LGBM, "cv": cv}
    if cv == "walk_forward":
        config["cv_folds"] = 4
    out, seen = _train(tmp_path, dataset, config)
    m = out.metrics
    assert m["cv_folds"] == folds
    for key in ("accuracy", "log_loss", "auc", "hit_rate", "sharpe"):
        assert math.isfinite(m[f"cv_{key}_mean"]), key
        assert math.isfinite(m[f"cv_{key}_std"]) and m[f"cv_{key}_std"] >= 0, key
        assert math.isfinite(m[key]), key  # the holdout metrics are still there
    assert 0.3 < m["cv_hit_rate_mean"] < 0.7 and 0.3 < m["cv_accuracy_mean"] < 0.7
    fold_hits = [m[f"cv_fold{k}_hit_rate"] for k in range(folds)]
    assert np.mean(fold_hits) == pytest.approx(m["cv_hit_rate_mean"])
    assert np.std(fold_hits, ddof=1) == pytest.approx(m["cv_hit_rate_std"])
    assert f"cv_fold{folds}_hit_rate" not in m
    assert math.isfinite(m["cv_oos_sharpe"])
    n_times = dataset.timestamps.nunique()
    assert m["cv_purge_bars"] == 1
    assert m["cv_embargo_bars"] == (0 if cv == "walk_forward" else math.ceil(0.01 * n_times))
    tested = sum(m[f"cv_fold{k}_n_test"] for k in range(folds))
    if cv == "purged_kfold":  # disjoint test folds covering every row
        assert tested == dataset.n_samples == m["cv_oos_rows"]
    if cv == "walk_forward":  # the first 1/(folds+1) of time is never tested
        assert m["cv_oos_rows"] == tested < dataset.n_samples
    assert out.params["cv"] == cv
    fold_msgs = [msg for _, msg in seen if re.search(r"fold \d+/\d+", msg)]
    assert [f"fold {k + 1}/{folds}" in msg for k, msg in enumerate(fold_msgs)] == [True] * folds
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_cv_none_skips_cross_validation(tmp_path: Path, dataset: Dataset) -> None:
    out, seen = _train(tmp_path, dataset, {"params": SMALL_LGBM, "cv": "none"})
    assert not [k for k in out.metrics if k.startswith("cv_")]
    assert not [msg for _, msg in seen if "cross-validation" in msg]
    assert {"accuracy", "hit_rate", "sharpe", "n_holdout"} <= set(out.metrics)
    assert out.params["cv"] == "none" and "cv_folds" not in out.params


def test_default_is_purged_kfold_with_five_folds(tmp_path: Path, dataset: Dataset) -> None:
    out, _ = _train(tmp_path, dataset, {"algorithm": "logistic"})
    assert out.metrics["cv_folds"] == 5 and out.params["cv"] == "purged_kfold"
    assert math.isfinite(out.metrics["cv_sharpe_mean"])


def test_too_few_timestamps_for_the_folds_is_a_clear_error(
    tmp_path: Path, dataset: Dataset,
) -> None:
    def first(n_times: int) -> Dataset:
        keep = dataset.timestamps.isin(dataset.timestamps.drop_duplicates().iloc[:n_times])
        k = keep.to_numpy()
        return Dataset(dataset.X[k], dataset.y[k], dataset.timestamps[k], dataset.symbols[k],
                       dataset.window_start, dataset.window_end)

    with pytest.raises(InsufficientDataError) as err:  # fewer timestamps than 2 per fold
        _train(tmp_path, first(8), {"params": SMALL_LGBM, "cv_folds": 5})
    text = str(err.value)
    assert "8 distinct timestamps" in text and "cv_folds=5" in text and "cv: none" in text
    with pytest.raises(InsufficientDataError) as err:  # the embargo swallows the training rows
        _train(tmp_path, first(40), {"params": SMALL_LGBM, "cv_folds": 4, "cv_embargo": 35})
    text = str(err.value)
    assert "embargo 35 bars" in text and "without training or test rows" in text
    out, _ = _train(tmp_path, first(40), {"params": SMALL_LGBM, "cv_folds": 4, "cv_embargo": 3})
    assert out.metrics["cv_folds"] == 4 and out.metrics["cv_embargo_bars"] == 3


# ------------------------------------------------------------------ time, not rows


@pytest.mark.parametrize("method", ["purged_kfold", "combinatorial", "walk_forward"])
def test_folds_of_the_real_dataset_respect_purge_and_embargo_in_time(
    dataset: Dataset, method: str,
) -> None:
    cv = CVSettings(method=method, folds=5, embargo=7, purge=2)
    n_times = dataset.timestamps.nunique()
    assert dataset.n_samples > n_times  # several symbols share each timestamp
    grouped = TimeGroupedSplitter(cv.splitter(n_times), dataset.timestamps)
    embargo = 0 if method == "walk_forward" else 7
    assert _time_safety_violations(grouped, 2, embargo, method == "walk_forward") == []


def test_counting_rows_instead_of_time_would_leak(dataset: Dataset) -> None:
    """The plain splitter counts rows: with 3 symbols a 7-row embargo is ~2 days, not 7."""
    grouped = TimeGroupedSplitter(PurgedKFold(5, 2, 7), dataset.timestamps)
    codes = grouped.time_codes
    leaks = 0  # row-based folds judged on time: training rows within purge/embargo of a test
    for train, test in PurgedKFold(5, 2, 7).split(dataset.n_samples):
        lo, hi = codes[test].min(), codes[test].max()
        leaks += int(((codes[train] >= lo - 2) & (codes[train] <= hi + 7)).sum())
    assert leaks > 0
    assert _time_safety_violations(grouped, 2, 7) == []


def test_run_time_cv_fits_each_fold_on_time_separated_rows(dataset: Dataset) -> None:
    from sklearn.linear_model import LogisticRegression

    cv = CVSettings(method="purged_kfold", folds=4, embargo=0.02, purge=1)
    calls: list[tuple[int, int, int, int]] = []
    run = run_time_cv(cv, lambda: LogisticRegression(max_iter=200), dataset.X,
                      dataset.y.to_numpy(), dataset.timestamps,
                      progress=lambda *a: calls.append(a))
    assert [c[:2] for c in calls] == [(k, 4) for k in range(4)]
    times = dataset.timestamps.reset_index(drop=True)
    embargo = cv.embargo_bars(times.nunique())
    assert run.embargo_bars == embargo == math.ceil(0.02 * times.nunique())
    days = pd.Series(np.arange(times.nunique()), index=np.sort(times.unique()))
    for fold in run.folds:
        tr = days.loc[times.iloc[fold.train_rows].to_numpy()].to_numpy()
        te = days.loc[times.iloc[fold.test_rows].to_numpy()].to_numpy()
        assert fold.p_up.shape == fold.test_rows.shape
        assert not np.isin(tr, te).any()
        assert not ((tr >= te.min() - 1) & (tr <= te.max() + embargo)).any()
        assert calls[fold.fold][2:] == (fold.train_rows.size, fold.test_rows.size)


@settings(max_examples=60, deadline=None)
@given(
    n_days=st.integers(30, 90),
    n_symbols=st.integers(1, 4),
    presence=st.floats(0.5, 1.0),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(["purged_kfold", "combinatorial", "walk_forward"]),
    folds=st.integers(2, 5),
    purge=st.integers(0, 3),
    embargo=st.integers(0, 5),
)
def test_grouped_folds_are_time_safe_for_any_calendar(
    n_days: int, n_symbols: int, presence: float, seed: int, method: str,
    folds: int, purge: int, embargo: int,
) -> None:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-01", periods=n_days, freq="D", tz="UTC")
    stamps = [d for d in days for _ in range(n_symbols) if rng.random() < presence]
    stamps = stamps or [days[0]]
    timestamps = pd.Series(stamps)
    n_times = timestamps.nunique()
    if method == "combinatorial":
        folds = max(folds, 3)  # skfolio's minimum, also refused at submit
    cv = CVSettings(method=method, folds=folds, embargo=embargo, purge=purge)
    grouped = TimeGroupedSplitter(cv.splitter(n_times), timestamps)
    try:
        list(grouped.split(len(timestamps)))
    except ValueError:
        return  # too few timestamps for these folds: the splitter says so
    used_embargo = 0 if method == "walk_forward" else embargo
    assert _time_safety_violations(grouped, purge, used_embargo, method == "walk_forward") == []
    codes = grouped.time_codes
    for train, test in grouped.split(len(timestamps)):  # whole timestamps on each side
        assert set(np.flatnonzero(np.isin(codes, codes[test]))) == set(test.tolist())
        assert set(np.flatnonzero(np.isin(codes, codes[train]))) == set(train.tolist())


def test_embargo_is_bars_or_a_fraction_of_time() -> None:
    assert CVSettings(embargo=5).embargo_bars(1000) == 5
    assert CVSettings(embargo=0.01).embargo_bars(1000) == 10
    assert CVSettings(embargo=0.01).embargo_bars(360) == 4
    assert CVSettings(embargo=0).embargo_bars(1000) == 0


# ------------------------------------------------------------------ config validation


def test_cv_config_problems_name_field_value_and_allowed_values() -> None:
    problems = validate_cv_config({"cv": "kfold", "cv_folds": 1, "cv_embargo": 1.5,
                                   "cv_purge": -1, "cv_test_folds": 0})
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"config.cv", "config.cv_folds", "config.cv_embargo",
                             "config.cv_purge", "config.cv_test_folds"}
    assert by_field["config.cv"].value == "kfold"
    for method in CV_METHODS:
        assert method in by_field["config.cv"].problem
    assert "2 to 50" in by_field["config.cv_folds"].problem
    assert "[0, 1)" in by_field["config.cv_embargo"].problem
    for bad in ("5", True, -2, float("nan"), None):
        (p,) = validate_cv_config({"cv_embargo": bad})
        assert p.field == "config.cv_embargo" and p.value is bad
    (p,) = validate_cv_config({"cv": "combinatorial", "cv_folds": 2, "cv_test_folds": 1})
    assert p.field == "config.cv_folds" and ">= 3" in p.problem
    (p,) = validate_cv_config({"cv": "combinatorial", "cv_folds": 4, "cv_test_folds": 4})
    assert "smaller than cv_folds (4)" in p.problem
    (p,) = validate_cv_config({"cv": "combinatorial", "cv_folds": 20, "cv_test_folds": 5})
    assert "15504" in p.problem and "at most 100" in p.problem
    for good in ({}, {"cv": "none"}, {"cv": "walk_forward", "cv_folds": 3, "cv_embargo": 0},
                 {"cv": "combinatorial", "cv_folds": 6, "cv_test_folds": 2, "cv_embargo": 0.02}):
        assert validate_cv_config(good) == [], good
    assert SignalTrainer().validate_config({"cv": "kfold"})[0].field == "config.cv"
    with pytest.raises(ValidationError, match=r"config\.cv_folds"):
        CVSettings.from_config({"cv_folds": "five"})


async def test_bad_cv_config_is_refused_at_submit_and_nothing_is_stored(
    make_executor: MakeExecutor,
) -> None:
    h = await make_executor()
    with pytest.raises(ValidationError) as err:
        await h.executor.submit("spy_signal", "signal", {
            "cv": "shuffled", "cv_folds": 0, "cv_embargo": -0.5})
    text = str(err.value)
    assert "config.cv='shuffled'" in text and "purged_kfold" in text and "walk_forward" in text
    assert "config.cv_folds=0" in text and "config.cv_embargo=-0.5" in text
    assert h.store.list_records(JOB_RECORD_KIND) == []
    assert h.executor.list_jobs() == []


async def test_signal_job_reports_cv_metrics_from_a_worker_process(
    make_executor: MakeExecutor, dataset: Dataset,
) -> None:
    h = await make_executor(dataset_builder=lambda job: dataset)
    job = await h.executor.submit("spy_signal", "signal", {
        "params": SMALL_LGBM, "cv": "walk_forward", "cv_folds": 3})
    done = await h.executor.wait(job.job_id, timeout=120)
    assert done.status is TrainingStatus.COMPLETED, done.error_message
    assert done.metrics["cv_folds"] == 3
    assert math.isfinite(done.metrics["cv_hit_rate_mean"])
    assert {"cv_fold0_sharpe", "cv_fold2_sharpe", "accuracy"} <= set(done.metrics)
