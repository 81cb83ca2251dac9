"""Data validation before training: schema, null rate and feature drift (PSI) of the window.

Each check returns a typed report; ``validate_training_data`` runs all three and says, in one
line per failure, what was wrong and by how much. Nothing is trained on data that fails.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ordinis.engines.learning.drift import psi as psi_of_proportions
from ordinis.engines.learning.feedback.pipeline_spec import DataValidationStage


def population_stability_index(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of ``current`` against ``reference`` over the reference's quantile bins.

    The drift package's ``psi`` does the sum over bins of (p_cur - p_ref) * ln(p_cur / p_ref)
    (empty bins floored); this binds raw samples to it. < 0.1 stable, > 0.25 a large shift.
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref = ref[np.isfinite(ref)]
    cur = cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        return math.nan
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)))
    if edges.size < 2:  # a constant reference: one bin holds it, everything else is outside
        p_ref = np.array([1.0, 0.0])
        same = np.isclose(cur, edges[0])
        p_cur = np.array([same.mean(), 1.0 - same.mean()])
    else:
        inner = edges[1:-1]
        p_ref = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1)
        p_cur = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1)
        p_ref = p_ref / ref.size
        p_cur = p_cur / cur.size
    return psi_of_proportions(p_ref, p_cur)


@dataclass(slots=True)
class SchemaReport:
    """Do the training features carry every required column, numeric?"""

    passed: bool
    required: list[str]
    missing: list[str] = field(default_factory=list)
    non_numeric: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def problem(self) -> str | None:
        parts = []
        if self.missing:
            parts.append(f"missing required feature(s) {', '.join(self.missing)}")
        if self.non_numeric:
            parts.append(f"non-numeric feature(s) {', '.join(self.non_numeric)}")
        return "schema check failed: " + "; ".join(parts) if parts else None


@dataclass(slots=True)
class NullRateReport:
    """Share of missing values per required feature."""

    passed: bool
    max_null_rate: float
    rates: dict[str, float] = field(default_factory=dict)
    rows: int = 0

    @property
    def worst(self) -> tuple[str, float] | None:
        if not self.rates:
            return None
        name = max(self.rates, key=lambda k: self.rates[k])
        return name, self.rates[name]

    def problem(self) -> str | None:
        if self.passed:
            return None
        if self.rows == 0:
            return "null rate check failed: the training window has no rows"
        bad = {k: v for k, v in self.rates.items() if v > self.max_null_rate}
        listed = ", ".join(f"{k}={v:.2%}" for k, v in sorted(bad.items(), key=lambda kv: -kv[1]))
        return f"null rate check failed: {listed} above max_null_rate={self.max_null_rate:g}"


@dataclass(slots=True)
class FeatureDriftReport:
    """PSI of each feature of the training window against the reference features."""

    passed: bool
    max_feature_drift: float
    psi: dict[str, float] = field(default_factory=dict)
    skipped_reason: str | None = None

    @property
    def worst(self) -> tuple[str, float] | None:
        finite = {k: v for k, v in self.psi.items() if math.isfinite(v)}
        if not finite:
            return None
        name = max(finite, key=lambda k: finite[k])
        return name, finite[name]

    def problem(self) -> str | None:
        if self.passed:
            return None
        bad = {k: v for k, v in self.psi.items() if v > self.max_feature_drift}
        listed = ", ".join(f"{k}={v:.3f}" for k, v in sorted(bad.items(), key=lambda kv: -kv[1]))
        return (
            f"feature drift check failed: PSI {listed} above "
            f"max_feature_drift={self.max_feature_drift:g}"
        )


@dataclass(slots=True)
class DataValidationReport:
    """The three checks together; ``passed`` only when every check that ran passed."""

    passed: bool
    rows: int
    schema: SchemaReport | None = None
    nulls: NullRateReport | None = None
    drift: FeatureDriftReport | None = None
    skipped_reason: str | None = None

    @property
    def failures(self) -> list[str]:
        out = []
        for check in (self.schema, self.nulls, self.drift):
            if check is not None and (problem := check.problem()):
                out.append(problem)
        return out

    @property
    def failed_check(self) -> str | None:
        """Name of the first failed check: ``schema``, ``null_rate`` or ``feature_drift``."""
        for name, check in (("schema", self.schema), ("null_rate", self.nulls),
                            ("feature_drift", self.drift)):
            if check is not None and not check.passed:
                return name
        return None

    def summary(self) -> str:
        if self.skipped_reason:
            return f"data validation skipped: {self.skipped_reason}"
        if not self.passed:
            return "; ".join(self.failures)
        parts = [f"data validation passed on {self.rows} rows"]
        if self.nulls is not None and (w := self.nulls.worst) is not None:
            parts.append(f"max null rate {w[1]:.2%} ({w[0]})")
        if self.drift is not None:
            if self.drift.skipped_reason:
                parts.append(f"drift not checked ({self.drift.skipped_reason})")
            elif (d := self.drift.worst) is not None:
                parts.append(f"max PSI {d[1]:.3f} ({d[0]})")
        return ", ".join(parts)


def check_schema(features: pd.DataFrame, required: Sequence[str]) -> SchemaReport:
    """Every required feature is a numeric column; extra columns are listed, not refused."""
    cols = [str(c) for c in features.columns]
    missing = [f for f in required if f not in cols]
    non_numeric = [
        f for f in required if f in cols and not pd.api.types.is_numeric_dtype(features[f])
    ]
    extra = [c for c in cols if c not in required]
    return SchemaReport(
        passed=not missing and not non_numeric,
        required=list(required),
        missing=missing,
        non_numeric=non_numeric,
        extra=extra,
    )


def check_null_rate(
    features: pd.DataFrame, required: Sequence[str], max_null_rate: float
) -> NullRateReport:
    """NaN share per present required feature; fails above ``max_null_rate`` or when empty."""
    present = [f for f in required if f in features.columns]
    rows = len(features)
    rates = {f: float(features[f].isna().mean()) if rows else 1.0 for f in present}
    passed = rows > 0 and all(r <= max_null_rate for r in rates.values())
    return NullRateReport(passed=passed, max_null_rate=max_null_rate, rates=rates, rows=rows)


def check_feature_drift(
    features: pd.DataFrame,
    reference: pd.DataFrame | None,
    required: Sequence[str],
    max_feature_drift: float,
    bins: int = 10,
) -> FeatureDriftReport:
    """PSI per required feature against ``reference``; skipped (passing) when there is none."""
    if reference is None or reference.empty:
        return FeatureDriftReport(
            passed=True, max_feature_drift=max_feature_drift, skipped_reason="no reference features"
        )
    psi: dict[str, float] = {}
    for name in required:
        if name not in features.columns or name not in reference.columns:
            continue
        cur = pd.to_numeric(features[name], errors="coerce").to_numpy(dtype=float)
        ref = pd.to_numeric(reference[name], errors="coerce").to_numpy(dtype=float)
        psi[name] = population_stability_index(ref, cur, bins=bins)
    passed = all(not (v > max_feature_drift) for v in psi.values())
    return FeatureDriftReport(passed=passed, max_feature_drift=max_feature_drift, psi=psi)


def validate_training_data(
    features: pd.DataFrame | None,
    reference: pd.DataFrame | None,
    stage: DataValidationStage,
    required: Sequence[str] | None = None,
) -> DataValidationReport:
    """Run the schema, null-rate and drift checks of ``stage`` on the training window.

    Required features: the pipeline's list, else ``required`` (the model's own set), else the
    window's columns (the engine frames the window in the model's set).
    """
    if not stage.enabled:
        return DataValidationReport(passed=True, rows=0, skipped_reason="disabled in pipeline.yaml")
    if features is None:
        return DataValidationReport(
            passed=True, rows=0, skipped_reason="no training-window features for this model"
        )
    names = list(stage.required_features) or list(required or [])
    required = names or [str(c) for c in features.columns]
    schema = check_schema(features, required)
    nulls = check_null_rate(features, required, stage.max_null_rate)
    drift = check_feature_drift(
        features, reference, required, stage.max_feature_drift, bins=stage.drift_bins
    )
    return DataValidationReport(
        passed=schema.passed and nulls.passed and drift.passed,
        rows=len(features),
        schema=schema,
        nulls=nulls,
        drift=drift,
    )
