"""JSON-safe round trip of EvaluationResult, for the event store and MLflow. In the kernel:
reading stored evaluations (``ordinis-learning models evaluations``) needs no evaluation code.

Non-finite floats become the strings "nan", "inf" and "-inf" (JSON has no such numbers) and
come back as floats; datetimes are ISO 8601 strings.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime
from typing import Any

from ordinis.engines.learning.core.gate_report import GateReport
from ordinis.engines.learning.core.models import (
    EvaluationResult,
    EvaluationScope,
    MetricEstimate,
    ProductionVerdict,
)

EVALUATION_KIND = "evaluation"  # the store's record kind of an evaluation (tag: the version id)
_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _kinds() -> tuple[Any, Any, Any]:
    """Integer, float and sequence types, numpy's among them once numpy is loaded (a numpy
    value cannot exist before): reading stored evaluations does not import numpy."""
    np = sys.modules.get("numpy")
    if np is None:
        return (int,), (float,), (list, tuple)
    return (int, np.integer), (float, np.floating), (list, tuple, np.ndarray)


def json_safe(value: Any) -> Any:
    """Recursively turn numpy scalars, non-finite floats, tuples and datetimes into JSON values."""
    if isinstance(value, bool | str) or value is None:
        return value
    ints, floats, sequences = _kinds()
    if isinstance(value, ints):
        return int(value)
    if isinstance(value, floats):
        f = float(value)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, sequences):
        return [json_safe(v) for v in value]
    if isinstance(value, MetricEstimate):
        return estimate_to_dict(value)
    return str(value)


def _num(value: Any) -> float:
    if isinstance(value, str):
        if value in _SPECIAL:
            return _SPECIAL[value]
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def estimate_to_dict(e: MetricEstimate) -> dict[str, Any]:
    return {
        "value": json_safe(e.value),
        "lower": json_safe(e.lower),
        "upper": json_safe(e.upper),
        "p_value": json_safe(e.p_value),
    }


def estimate_from_dict(d: dict[str, Any]) -> MetricEstimate:
    return MetricEstimate(
        value=_num(d["value"]),
        lower=_num(d.get("lower", "nan")),
        upper=_num(d.get("upper", "nan")),
        p_value=_num(d.get("p_value", "nan")),
    )


def evaluation_to_dict(result: EvaluationResult) -> dict[str, Any]:
    """A JSON-serialisable dict of every field of ``result``."""
    return {
        "evaluation_id": result.evaluation_id,
        "model_version_id": result.model_version_id,
        "benchmark_name": result.benchmark_name,
        "passed": bool(result.passed),
        "metrics": json_safe(result.metrics),
        "thresholds": json_safe(result.thresholds),
        "evaluated_at": result.evaluated_at.isoformat(),
        "details": json_safe(result.details),
        "intervals": {k: estimate_to_dict(v) for k, v in result.intervals.items()},
        "data_hash": result.data_hash,
        "gate_report": None if result.gate_report is None else result.gate_report.to_dict(),
        "scope": None if result.scope is None else result.scope.to_dict(),
        "verdict": None if result.verdict is None else json_safe(result.verdict.to_dict()),
    }


def _restore(value: Any) -> Any:
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    if isinstance(value, dict):
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def evaluation_from_dict(data: dict[str, Any]) -> EvaluationResult:
    """Inverse of :func:`evaluation_to_dict`."""
    return EvaluationResult(
        model_version_id=str(data["model_version_id"]),
        benchmark_name=str(data["benchmark_name"]),
        passed=bool(data["passed"]),
        metrics={k: _num(v) for k, v in data.get("metrics", {}).items()},
        thresholds={k: _num(v) for k, v in data.get("thresholds", {}).items()},
        evaluated_at=datetime.fromisoformat(data["evaluated_at"]),
        details=_restore(data.get("details", {})),
        evaluation_id=str(data["evaluation_id"]),
        intervals={k: estimate_from_dict(v) for k, v in data.get("intervals", {}).items()},
        data_hash=str(data.get("data_hash", "")),
        gate_report=_gate_report(data),
        scope=EvaluationScope.from_dict(data["scope"]) if data.get("scope") else None,
        verdict=ProductionVerdict.from_dict(data["verdict"]) if data.get("verdict") else None,
    )


def _gate_report(data: dict[str, Any]) -> GateReport | None:
    """The stored gate report (records written before it was a field kept it in details)."""
    stored = data.get("gate_report") or data.get("details", {}).get("gate_report")
    return GateReport.from_dict(stored) if isinstance(stored, dict) else None


def mlflow_metrics(result: EvaluationResult, prefix: str = "eval_") -> dict[str, float]:
    """Finite metrics and interval bounds, flat, for ``mlflow.log_metrics``."""
    out: dict[str, float] = {}
    for k, v in result.metrics.items():
        if math.isfinite(v):
            out[f"{prefix}{k}"] = float(v)
    for k, e in result.intervals.items():
        for part in ("lower", "upper"):
            x = getattr(e, part)
            if math.isfinite(x):
                out[f"{prefix}{k}_{part}"] = float(x)
    return out
