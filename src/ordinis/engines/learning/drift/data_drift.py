"""Data and prediction drift against a training reference: PSI, Kolmogorov-Smirnov, Wasserstein.

``ReferenceProfile`` is computed once from the training data (quantile bin edges, reference
proportions, a bounded quantile sample, moments) and persisted, so live batches are compared
with the same bins and sample after a restart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.models import DriftSeverity, StoredRecord

REFERENCE_KIND = "drift_reference"
PREDICTION_FEATURE = "__prediction__"
_PSI_FLOOR = 1e-4  # proportion floor so an empty bin does not give an infinite PSI


@dataclass(frozen=True, slots=True)
class DataDriftThresholds:
    """Where each test flags drift. PSI bands are the industry's 0.1 / 0.25; KS by p-value
    (critical also needs a large statistic, since huge samples make tiny shifts significant);
    Wasserstein in units of the reference standard deviation."""

    psi_warning: float = 0.10
    psi_critical: float = 0.25
    ks_alpha: float = 0.01
    ks_critical_statistic: float = 0.20
    wasserstein_warning: float = 0.10
    wasserstein_critical: float = 0.25
    min_samples: int = 30


@dataclass(slots=True)
class FeatureReference:
    """What is kept of one feature's training distribution."""

    name: str
    bin_edges: list[float]  # inner edges; len(proportions) == len(bin_edges) + 1
    proportions: list[float]
    sample: list[float]  # bounded, sorted quantile sample
    mean: float
    std: float
    n: int


@dataclass(slots=True)
class ReferenceProfile:
    """The training reference of one model: per feature, and of its predictions (optional)."""

    model_name: str
    features: dict[str, FeatureReference]
    created_at: datetime
    predictions: FeatureReference | None = None

    def to_record(self, now: datetime) -> StoredRecord:
        body: dict[str, Any] = {
            "model_name": self.model_name,
            "created_at": self.created_at.isoformat(),
            "features": {k: _ref_to_body(v) for k, v in self.features.items()},
            "predictions": None if self.predictions is None else _ref_to_body(self.predictions),
        }
        return StoredRecord(REFERENCE_KIND, self.model_name, body, self.created_at, now,
                            tag=self.model_name)

    @classmethod
    def from_record(cls, record: StoredRecord) -> ReferenceProfile:
        b = record.body
        preds = b.get("predictions")
        return cls(
            model_name=str(b["model_name"]),
            features={k: _ref_from_body(v) for k, v in b["features"].items()},
            created_at=datetime.fromisoformat(b["created_at"]),
            predictions=None if preds is None else _ref_from_body(preds),
        )


@dataclass(slots=True)
class TestResult:
    """One test of one feature."""

    test: str  # "psi" | "ks" | "wasserstein"
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    severity: DriftSeverity | None


@dataclass(slots=True)
class FeatureDriftResult:
    """All tests of one feature against its reference, and the worst severity among them."""

    feature: str
    n_current: int
    psi: TestResult
    ks: TestResult
    wasserstein: TestResult
    severity: DriftSeverity | None
    recovered: bool  # every statistic within half its warning threshold
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        return self.severity is not None


def _ref_to_body(r: FeatureReference) -> dict[str, Any]:
    return {
        "name": r.name, "bin_edges": r.bin_edges, "proportions": r.proportions,
        "sample": r.sample, "mean": r.mean, "std": r.std, "n": r.n,
    }


def _ref_from_body(b: Mapping[str, Any]) -> FeatureReference:
    return FeatureReference(
        name=str(b["name"]), bin_edges=[float(x) for x in b["bin_edges"]],
        proportions=[float(x) for x in b["proportions"]],
        sample=[float(x) for x in b["sample"]], mean=float(b["mean"]), std=float(b["std"]),
        n=int(b["n"]),
    )


def _finite(values: Any, field_name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValidationError(
            "drift input", [FieldProblem(field_name, type(values).__name__, "must be numeric")]
        ) from None
    return arr[np.isfinite(arr)]


def build_reference(
    name: str, values: Any, n_bins: int = 10, sample_size: int = 1000
) -> FeatureReference:
    """Quantile bins (fixed now, reused for every later check), proportions, a quantile sample."""
    x = _finite(values, name)
    if x.size < 2:
        raise ValidationError(
            "drift reference",
            [FieldProblem(name, int(x.size), "needs at least 2 finite values for a reference")],
        )
    qs = np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1])
    edges = np.unique(qs)
    props = bin_proportions(x, edges)
    m = min(sample_size, x.size)
    # inverted_cdf picks actual order statistics: with n <= sample_size the sample is the data.
    sample = np.quantile(x, (np.arange(m) + 0.5) / m, method="inverted_cdf")
    return FeatureReference(
        name=name, bin_edges=edges.tolist(), proportions=props.tolist(),
        sample=sample.tolist(), mean=float(x.mean()), std=float(x.std()), n=int(x.size),
    )


def bin_proportions(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``x`` in each bin ``(-inf, e0], (e0, e1], ..., (e_last, inf)``."""
    idx = np.searchsorted(edges, x, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return counts / max(x.size, 1)


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = _PSI_FLOOR) -> float:
    """Population stability index ``sum (a - e) ln(a / e)`` of two proportion vectors (>= 0)."""
    e = np.maximum(np.asarray(expected, dtype=float), floor)
    a = np.maximum(np.asarray(actual, dtype=float), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def compare_feature(
    ref: FeatureReference, values: Any, thresholds: DataDriftThresholds
) -> FeatureDriftResult:
    """Run PSI, KS (against the stored quantile sample) and Wasserstein on one feature."""
    x = _finite(values, ref.name)
    if x.size < thresholds.min_samples:
        raise ValidationError(
            "drift check",
            [FieldProblem(ref.name, int(x.size),
                          f"needs at least {thresholds.min_samples} finite values to compare")],
        )
    t = thresholds
    psi_value = psi(np.asarray(ref.proportions), bin_proportions(x, np.asarray(ref.bin_edges)))
    psi_sev = _band(psi_value, t.psi_warning, t.psi_critical)
    ks = stats.ks_2samp(np.asarray(ref.sample), x)
    ks_stat, ks_p = float(ks.statistic), float(ks.pvalue)
    ks_sev: DriftSeverity | None = None
    if ks_p < t.ks_alpha:
        ks_sev = (DriftSeverity.CRITICAL if ks_stat > t.ks_critical_statistic
                  else DriftSeverity.WARNING)
    scale = ref.std if ref.std > 0 else 1.0
    w = float(stats.wasserstein_distance(np.asarray(ref.sample), x)) / scale
    w_sev = _band(w, t.wasserstein_warning, t.wasserstein_critical)
    sevs = [s for s in (psi_sev, ks_sev, w_sev) if s is not None]
    worst = None
    if sevs:
        worst = DriftSeverity.CRITICAL if DriftSeverity.CRITICAL in sevs else DriftSeverity.WARNING
    recovered = (psi_value <= 0.5 * t.psi_warning and ks_sev is None
                 and w <= 0.5 * t.wasserstein_warning)
    return FeatureDriftResult(
        feature=ref.name,
        n_current=int(x.size),
        psi=TestResult("psi", psi_value, None, t.psi_warning, psi_sev is not None, psi_sev),
        ks=TestResult("ks", ks_stat, ks_p, t.ks_alpha, ks_sev is not None, ks_sev),
        wasserstein=TestResult("wasserstein", w, None, t.wasserstein_warning, w_sev is not None,
                               w_sev),
        severity=worst,
        recovered=recovered,
        details={"current_mean": float(x.mean()), "reference_mean": ref.mean},
    )


def _band(value: float, warning: float, critical: float) -> DriftSeverity | None:
    if value > critical:
        return DriftSeverity.CRITICAL
    if value > warning:
        return DriftSeverity.WARNING
    return None


def build_profile(
    model_name: str,
    features: pd.DataFrame,
    predictions: Any | None,
    created_at: datetime,
    n_bins: int = 10,
    sample_size: int = 1000,
) -> ReferenceProfile:
    """Profile every numeric column of the training features (and the predictions, if given)."""
    if not isinstance(features, pd.DataFrame) or features.empty:
        raise ValidationError(
            f"reference of model {model_name!r}",
            [FieldProblem("features", type(features).__name__,
                          "must be a non-empty pandas DataFrame of training features")],
        )
    numeric = features.select_dtypes(include=[np.number, "bool"])
    if numeric.shape[1] == 0:
        raise ValidationError(
            f"reference of model {model_name!r}",
            [FieldProblem("features", list(features.columns), "has no numeric column")],
        )
    refs = {str(c): build_reference(str(c), numeric[c].to_numpy(dtype=float), n_bins,
                                    sample_size) for c in numeric.columns}
    pred_ref = None
    if predictions is not None:
        pred_ref = build_reference(PREDICTION_FEATURE, predictions, n_bins, sample_size)
    return ReferenceProfile(model_name, refs, created_at, pred_ref)


def finite_or_none(value: float) -> float | None:
    """JSON-safe float (PostgreSQL JSONB refuses NaN)."""
    return value if math.isfinite(value) else None
