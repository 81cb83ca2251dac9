"""The JSON round trip of EvaluationResult (kept in ``core.evaluation_json``), by its old name."""

from ordinis.engines.learning.core.evaluation_json import (
    EVALUATION_KIND,
    estimate_from_dict,
    estimate_to_dict,
    evaluation_from_dict,
    evaluation_to_dict,
    json_safe,
    mlflow_metrics,
)

__all__ = [
    "EVALUATION_KIND",
    "estimate_from_dict",
    "estimate_to_dict",
    "evaluation_from_dict",
    "evaluation_to_dict",
    "json_safe",
    "mlflow_metrics",
]
