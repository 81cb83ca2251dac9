"""The built-in "signal" trainer: LightGBM (default) or logistic regression, next-return sign.

Metrics come from a time-ordered holdout (the last ``holdout_fraction`` of time, 20 % by
default): accuracy, log_loss, auc, hit_rate and the annualised Sharpe ratio of the holdout
strategy ``sign(signal) * return``; and, unless ``cv: none``, the same scores per fold of a
time-series cross-validation over the whole dataset (``cv_*`` metrics, see time_cv.py).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ordinis.engines.learning.core.errors import FieldProblem, InsufficientDataError, TrainingError
from ordinis.engines.learning.training.dataset import Dataset, validate_dataset_config
from ordinis.engines.learning.training.models import SignalModel
from ordinis.engines.learning.training.time_cv import (
    CVSettings,
    TimeCVRun,
    run_time_cv,
    validate_cv_config,
)
from ordinis.engines.learning.training.trainers import (
    TrainingContext,
    TrainingLineage,
    TrainingOutcome,
)

ALGORITHMS = ("lightgbm", "logistic")
LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 20,
    "verbose": -1,
}
LOGISTIC_DEFAULTS: dict[str, Any] = {"C": 1.0, "max_iter": 1000}
ARTIFACT_NAME = "model.joblib"


def _estimator(algorithm: str, params: Mapping[str, Any]) -> Any:
    """An unfitted classifier of ``algorithm`` with ``params`` over the defaults."""
    if algorithm == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(**{**LIGHTGBM_DEFAULTS, **params})
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [("scale", StandardScaler()),
         ("clf", LogisticRegression(**{**LOGISTIC_DEFAULTS, **params}))]
    )


def _allowed_params(algorithm: str) -> set[str]:
    if algorithm == "lightgbm":
        from lightgbm import LGBMClassifier

        return set(LGBMClassifier().get_params())
    from sklearn.linear_model import LogisticRegression

    return set(LogisticRegression().get_params())


def holdout_split(dataset: Dataset, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, holdout): the holdout is every row at or after the time cut."""
    n = dataset.n_samples
    cut = min(max(math.floor(n * (1.0 - fraction)), 1), n - 1)
    boundary = dataset.timestamps.iloc[cut]
    holdout = (dataset.timestamps >= boundary).to_numpy()
    return ~holdout, holdout


def strategy_sharpe(signal: np.ndarray, returns: np.ndarray, timestamps: pd.Series) -> float:
    """Annualised (252 days) Sharpe of sign(signal) * return, averaged per timestamp."""
    pnl = pd.Series(np.sign(signal) * returns).groupby(timestamps.to_numpy()).mean()
    if len(pnl) < 2:
        return math.nan
    sd = float(pnl.std(ddof=1))
    if not math.isfinite(sd) or sd == 0.0:
        return math.nan
    return float(pnl.mean()) / sd * math.sqrt(252.0)


def holdout_metrics(
    model: SignalModel, X: pd.DataFrame, returns: np.ndarray, timestamps: pd.Series
) -> dict[str, float]:
    """accuracy, log_loss, auc, hit_rate and sharpe of ``model`` on a holdout."""
    return signal_metrics(model.predict_proba(X)[:, 1], model.predict(X), returns, timestamps)


def signal_metrics(
    p_up: np.ndarray, signal: np.ndarray, returns: np.ndarray, timestamps: pd.Series
) -> dict[str, float]:
    """accuracy, log_loss, auc, hit_rate and sharpe of probabilities/signals on scored rows."""
    from sklearn.metrics import log_loss, roc_auc_score

    labels = (returns > 0).astype(int)
    p_up = np.clip(p_up, 1e-12, 1 - 1e-12)
    traded = (signal != 0) & (returns != 0)
    return {
        "accuracy": float(np.mean((p_up > 0.5).astype(int) == labels)),
        "log_loss": float(log_loss(labels, np.column_stack([1 - p_up, p_up]), labels=[0, 1])),
        "auc": float(roc_auc_score(labels, p_up)) if len(set(labels)) == 2 else math.nan,
        "hit_rate": float(np.mean(np.sign(signal[traded]) == np.sign(returns[traded])))
        if traded.any() else math.nan,
        "sharpe": strategy_sharpe(signal, returns, timestamps),
    }


CV_FOLD_METRICS = ("accuracy", "log_loss", "auc", "hit_rate", "sharpe")
CV_PER_FOLD_KEYS = ("hit_rate", "sharpe", "auc", "n_train", "n_test")


def _threshold(signal: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(np.abs(signal) < threshold, 0.0, signal) if threshold > 0 else signal


def _mean_std(values: list[float]) -> tuple[float, float]:
    finite = np.array([v for v in values if math.isfinite(v)])
    if finite.size == 0:
        return math.nan, math.nan
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return float(finite.mean()), std


def cv_metrics(
    run: TimeCVRun, returns: np.ndarray, timestamps: pd.Series, threshold: float
) -> dict[str, float]:
    """``cv_<metric>_mean/_std`` over folds, ``cv_fold<k>_<metric>`` per fold, ``cv_folds``,
    ``cv_oos_sharpe`` (all out-of-sample signals together) and the purge/embargo in bars."""
    ts = timestamps.reset_index(drop=True)
    per_fold: list[dict[str, float]] = []
    for fold in run.folds:
        rows = fold.test_rows
        signal = _threshold(2.0 * fold.p_up - 1.0, threshold)
        m = signal_metrics(fold.p_up, signal, returns[rows], ts.iloc[rows].reset_index(drop=True))
        m.update(n_train=float(fold.train_rows.size), n_test=float(rows.size))
        per_fold.append(m)
    out: dict[str, float] = {"cv_folds": float(len(per_fold))}
    for key in CV_FOLD_METRICS:
        mean, std = _mean_std([m[key] for m in per_fold])
        out[f"cv_{key}_mean"] = mean
        out[f"cv_{key}_std"] = std
    oos = run.cv.oos_signals.to_numpy()
    tested = np.isfinite(oos)
    out["cv_oos_sharpe"] = strategy_sharpe(
        _threshold(oos[tested], threshold), returns[tested],
        ts[tested].reset_index(drop=True))
    out["cv_oos_rows"] = float(tested.sum())
    out["cv_purge_bars"] = float(run.purge_bars)
    out["cv_embargo_bars"] = float(run.embargo_bars)
    for k, m in enumerate(per_fold):
        for key in CV_PER_FOLD_KEYS:
            out[f"cv_fold{k}_{key}"] = m[key]
    return out


class SignalTrainer:
    """Trains a SignalModel. Config: algorithm, params, holdout_fraction, threshold, random_state,
    refit_on_full_data, cv, cv_folds, cv_embargo, cv_purge, cv_test_folds, plus the dataset
    keys (min_samples, start, end, symbols)."""

    model_type = "signal"
    config_keys = frozenset({
        "algorithm", "params", "random_state", "refit_on_full_data", "threshold",
        "holdout_fraction", "cv", "cv_folds", "cv_embargo", "cv_purge", "cv_test_folds",
    })

    def validate_config(self, config: Mapping[str, Any]) -> list[FieldProblem]:
        """Every problem of ``config`` for this trainer (empty list when valid)."""
        problems = validate_dataset_config(config)
        problems.extend(validate_cv_config(config))
        algorithm = config.get("algorithm", "lightgbm")
        if algorithm not in ALGORITHMS:
            problems.append(FieldProblem(
                "config.algorithm", algorithm,
                f"unknown algorithm; choose one of {list(ALGORITHMS)}"))
            return problems
        params = config.get("params", {})
        if not isinstance(params, Mapping):
            problems.append(FieldProblem("config.params", params, "must be a mapping of "
                                         "hyper-parameter name to value"))
        else:
            unknown = sorted(set(map(str, params)) - _allowed_params(algorithm))
            if unknown:
                problems.append(FieldProblem(
                    "config.params", unknown,
                    f"not hyper-parameters of {algorithm}; known: "
                    f"{sorted(_allowed_params(algorithm))}"))
            else:
                problems.extend(self._check_param_values(algorithm, params))
        frac = config.get("holdout_fraction", 0.2)
        if isinstance(frac, bool) or not isinstance(frac, int | float) or not 0 < frac <= 0.5:
            problems.append(FieldProblem("config.holdout_fraction", frac, "must be in (0, 0.5]"))
        thr = config.get("threshold", 0.0)
        if isinstance(thr, bool) or not isinstance(thr, int | float) or not 0 <= thr < 1:
            problems.append(FieldProblem("config.threshold", thr, "must be in [0, 1)"))
        rs = config.get("random_state", 0)
        if isinstance(rs, bool) or not isinstance(rs, int):
            problems.append(FieldProblem("config.random_state", rs, "must be an integer"))
        refit = config.get("refit_on_full_data", False)
        if not isinstance(refit, bool):
            problems.append(FieldProblem("config.refit_on_full_data", refit, "must be true/false"))
        return problems

    @staticmethod
    def _check_param_values(algorithm: str, params: Mapping[str, Any]) -> list[FieldProblem]:
        problems: list[FieldProblem] = []
        for key in ("n_estimators", "num_leaves", "max_iter", "min_child_samples"):
            v = params.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                problems.append(FieldProblem(f"config.params.{key}", v, "must be an integer >= 1"))
        for key in ("learning_rate", "C"):
            v = params.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v <= 0):
                problems.append(FieldProblem(f"config.params.{key}", v, "must be a number > 0"))
        if problems or algorithm != "logistic":
            return problems
        # scikit-learn checks the remaining values itself; ask it now rather than at fit time.
        est = _estimator(algorithm, params).named_steps["clf"]
        validate = getattr(est, "_validate_params", None)
        if validate is not None:
            try:
                validate()
            except (ValueError, TypeError) as exc:
                problems.append(FieldProblem("config.params", dict(params), str(exc)))
        return problems

    def train(self, ctx: TrainingContext) -> TrainingOutcome:
        """Fit on the earlier part of time, score on the holdout, write the model with joblib."""
        import joblib

        problems = self.validate_config(ctx.config)
        if problems:
            raise TrainingError("invalid signal trainer config: " + "; ".join(map(str, problems)))
        ds = ctx.require_dataset()
        cfg = ctx.config
        algorithm = str(cfg.get("algorithm", "lightgbm"))
        frac = float(cfg.get("holdout_fraction", 0.2))
        ctx.progress(0.02, f"dataset: {ds.n_samples} rows, {ds.n_dropped} events dropped "
                           f"({ds.drop_reasons or 'none'}); features: "
                           f"{ds.feature_report or ', '.join(ds.feature_names)}")
        if ds.n_samples < 10:
            raise InsufficientDataError(
                f"insufficient training data: {ds.n_samples} rows, the signal trainer needs at "
                "least 10 to fit and hold out")
        train_mask, hold_mask = holdout_split(ds, frac)
        y_up = (ds.y.to_numpy() > 0).astype(int)
        if len(set(y_up[train_mask])) < 2:
            raise TrainingError(
                "training rows hold only one class of next-return sign (all up or all down); "
                "use a longer data window")
        params = dict(cfg.get("params", {}))
        if algorithm == "lightgbm":
            params.setdefault("random_state", int(cfg.get("random_state", 0)))
            params.setdefault("n_jobs", max(1, ctx.resources.num_cpus))
        else:
            params.setdefault("random_state", int(cfg.get("random_state", 0)))
        cv = CVSettings.from_config(cfg)
        fit_end = 0.5 if cv.enabled else 0.8
        estimator = _estimator(algorithm, params)
        ctx.progress(0.1, f"fitting {algorithm} on {int(train_mask.sum())} rows")
        self._fit(estimator, algorithm, ds.X[train_mask], y_up[train_mask], ctx, 0.1, fit_end)
        threshold = float(cfg.get("threshold", 0.0))
        model = SignalModel(ds.feature_names, estimator, algorithm, threshold)

        ctx.progress(fit_end, f"scoring the time-ordered holdout of {int(hold_mask.sum())} rows")
        metrics = holdout_metrics(
            model, ds.X[hold_mask], ds.y.to_numpy()[hold_mask],
            ds.timestamps[hold_mask].reset_index(drop=True),
        )
        metrics.update(n_train=float(train_mask.sum()), n_holdout=float(hold_mask.sum()))
        if cv.enabled:
            metrics.update(self._cross_validate(ctx, ds, cv, algorithm, params, threshold))

        if cfg.get("refit_on_full_data", False):
            ctx.progress(0.85, f"refitting on all {ds.n_samples} rows")
            estimator = _estimator(algorithm, params)
            self._fit(estimator, algorithm, ds.X, y_up, ctx, 0.85, 0.9)
            model = SignalModel(ds.feature_names, estimator, algorithm, model.threshold)

        ctx.progress(0.92, "writing the model artifact")
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        path = Path(ctx.output_dir) / ARTIFACT_NAME
        joblib.dump(model, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lineage = TrainingLineage(
            window_start=ds.window_start,
            window_end=ds.window_end,
            feature_set=ds.feature_set,
            n_samples=ds.n_samples,
            data_hash=ds.fingerprint(),
            symbols=tuple(sorted({s for s in ds.symbols if s})),
            job_id=ctx.job.job_id,
            feature_set_version=ds.feature_set_version,
            feature_names=ds.feature_names,
            feature_report=ds.feature_report,
        )
        out_params: dict[str, Any] = {
            "algorithm": algorithm,
            **{k: v for k, v in params.items() if k != "n_jobs"},
            "holdout_fraction": frac,
            "threshold": model.threshold,
            "refit_on_full_data": bool(cfg.get("refit_on_full_data", False)),
            "cv": cv.method,
            **({"cv_folds": cv.folds, "cv_embargo": cv.embargo, "cv_purge": cv.purge}
               if cv.enabled else {}),
            **({"cv_test_folds": cv.test_folds} if cv.method == "combinatorial" else {}),
            "feature_names": list(ds.feature_names),
        }
        ctx.progress(1.0, "done")
        return TrainingOutcome(model=model, artifact_path=str(path), metrics=metrics,
                               params=out_params, lineage=lineage, artifact_sha256=digest)

    @staticmethod
    def _cross_validate(ctx: TrainingContext, ds: Dataset, cv: CVSettings, algorithm: str,
                        params: Mapping[str, Any], threshold: float) -> dict[str, float]:
        """Time-series CV over the whole dataset (one fresh estimator per fold): cv_* metrics."""
        start, end = 0.52, 0.84

        def report(fold: int, n_folds: int, n_train: int, n_test: int) -> None:
            ctx.progress(start + (end - start) * fold / n_folds,
                         f"cross-validation ({cv.method}) fold {fold + 1}/{n_folds}: "
                         f"fitting on {n_train} rows, testing on {n_test}")

        returns = ds.y.to_numpy()
        run = run_time_cv(cv, lambda: _estimator(algorithm, params), ds.X, returns,
                          ds.timestamps, progress=report)
        out = cv_metrics(run, returns, ds.timestamps, threshold)
        ctx.progress(end, f"cross-validation ({cv.method}): {len(run.folds)} folds, hit rate "
                          f"{out['cv_hit_rate_mean']:.3f} ± {out['cv_hit_rate_std']:.3f}, "
                          f"sharpe {out['cv_sharpe_mean']:.2f} ± {out['cv_sharpe_std']:.2f}")
        return out

    @staticmethod
    def _fit(estimator: Any, algorithm: str, X: pd.DataFrame, y: np.ndarray,
             ctx: TrainingContext, start: float, end: float) -> None:
        if algorithm != "lightgbm":
            estimator.fit(X, y)
            return
        total = int(estimator.get_params()["n_estimators"])
        step = max(1, total // 10)

        def report(env: Any) -> None:
            done = env.iteration + 1
            if done % step == 0 or done == total:
                ctx.progress(start + (end - start) * done / total,
                             f"lightgbm iteration {done}/{total}")

        estimator.fit(X, y, callbacks=[report])
