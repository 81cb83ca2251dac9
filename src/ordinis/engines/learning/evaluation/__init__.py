"""Evaluation: trading metrics, statistics, cross-validation, benchmark packs, evaluator,
gates and parity.

The engine facade uses these names; see docs/evaluation.md.

Names load on first use (PEP 562): a training worker that needs the splitters does not
import the evaluator, parity and the bootstrap.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

# ``backtest`` is also a submodule's name: bound here (a light module), so that importing the
# submodule never shadows the function on the package
from ordinis.engines.learning.evaluation.backtest import BacktestResult, backtest

if TYPE_CHECKING:
    from ordinis.engines.learning.evaluation.benchmarks import (
        BenchmarkDataset,
        BenchmarkRegistry,
        build_dataset,
        validate_prices,
    )
    from ordinis.engines.learning.evaluation.cross_validation import (
        CombinatorialPurged,
        CVResult,
        FoldResult,
        LeakageCheck,
        PurgedKFold,
        ShuffledKFold,
        Splitter,
        WalkForwardSplit,
        cross_validate,
        leakage_check,
    )
    from ordinis.engines.learning.evaluation.evaluator import (
        ComparisonResult,
        ModelEvaluator,
        MultipleComparisonResult,
        PackEvaluation,
    )
    from ordinis.engines.learning.evaluation.gates import (
        Comparison,
        EvaluationGate,
        GateReport,
        GateResult,
        GateSet,
        GateType,
        Verdict,
        load_gate_set,
        shipped_gate_sets,
    )
    from ordinis.engines.learning.evaluation.metrics import TradingMetrics, compute_trading_metrics
    from ordinis.engines.learning.evaluation.oos import OutOfSample, scope_pack
    from ordinis.engines.learning.evaluation.parity import (
        BacktestRecord,
        LiveRecord,
        Mismatch,
        ParityCheck,
        ParityEvidence,
        ParityResult,
        ParityValidator,
        PredictionParity,
        replay_live_features,
        validate_parity,
    )
    from ordinis.engines.learning.evaluation.serialization import (
        evaluation_from_dict,
        evaluation_to_dict,
        mlflow_metrics,
    )
    from ordinis.engines.learning.evaluation.statistics import (
        BootstrapSettings,
        DeflatedSharpe,
        PairedTestResult,
        SPAResult,
        deflated_sharpe_ratio,
        min_track_record_length,
        paired_sharpe_test,
        probabilistic_sharpe_ratio,
        spa_test,
    )

_LAZY: dict[str, str] = {
    "BenchmarkDataset": "ordinis.engines.learning.evaluation.benchmarks",
    "BenchmarkRegistry": "ordinis.engines.learning.evaluation.benchmarks",
    "build_dataset": "ordinis.engines.learning.evaluation.benchmarks",
    "validate_prices": "ordinis.engines.learning.evaluation.benchmarks",
    "CVResult": "ordinis.engines.learning.evaluation.cross_validation",
    "CombinatorialPurged": "ordinis.engines.learning.evaluation.cross_validation",
    "FoldResult": "ordinis.engines.learning.evaluation.cross_validation",
    "LeakageCheck": "ordinis.engines.learning.evaluation.cross_validation",
    "PurgedKFold": "ordinis.engines.learning.evaluation.cross_validation",
    "ShuffledKFold": "ordinis.engines.learning.evaluation.cross_validation",
    "Splitter": "ordinis.engines.learning.evaluation.cross_validation",
    "WalkForwardSplit": "ordinis.engines.learning.evaluation.cross_validation",
    "cross_validate": "ordinis.engines.learning.evaluation.cross_validation",
    "leakage_check": "ordinis.engines.learning.evaluation.cross_validation",
    "ComparisonResult": "ordinis.engines.learning.evaluation.evaluator",
    "ModelEvaluator": "ordinis.engines.learning.evaluation.evaluator",
    "MultipleComparisonResult": "ordinis.engines.learning.evaluation.evaluator",
    "PackEvaluation": "ordinis.engines.learning.evaluation.evaluator",
    "Comparison": "ordinis.engines.learning.evaluation.gates",
    "EvaluationGate": "ordinis.engines.learning.evaluation.gates",
    "GateReport": "ordinis.engines.learning.evaluation.gates",
    "GateResult": "ordinis.engines.learning.evaluation.gates",
    "GateSet": "ordinis.engines.learning.evaluation.gates",
    "GateType": "ordinis.engines.learning.evaluation.gates",
    "Verdict": "ordinis.engines.learning.evaluation.gates",
    "load_gate_set": "ordinis.engines.learning.evaluation.gates",
    "shipped_gate_sets": "ordinis.engines.learning.evaluation.gates",
    "TradingMetrics": "ordinis.engines.learning.evaluation.metrics",
    "compute_trading_metrics": "ordinis.engines.learning.evaluation.metrics",
    "OutOfSample": "ordinis.engines.learning.evaluation.oos",
    "scope_pack": "ordinis.engines.learning.evaluation.oos",
    "BacktestRecord": "ordinis.engines.learning.evaluation.parity",
    "LiveRecord": "ordinis.engines.learning.evaluation.parity",
    "Mismatch": "ordinis.engines.learning.evaluation.parity",
    "ParityCheck": "ordinis.engines.learning.evaluation.parity",
    "ParityEvidence": "ordinis.engines.learning.evaluation.parity",
    "ParityResult": "ordinis.engines.learning.evaluation.parity",
    "ParityValidator": "ordinis.engines.learning.evaluation.parity",
    "PredictionParity": "ordinis.engines.learning.evaluation.parity",
    "replay_live_features": "ordinis.engines.learning.evaluation.parity",
    "validate_parity": "ordinis.engines.learning.evaluation.parity",
    "evaluation_from_dict": "ordinis.engines.learning.evaluation.serialization",
    "evaluation_to_dict": "ordinis.engines.learning.evaluation.serialization",
    "mlflow_metrics": "ordinis.engines.learning.evaluation.serialization",
    "BootstrapSettings": "ordinis.engines.learning.evaluation.statistics",
    "DeflatedSharpe": "ordinis.engines.learning.evaluation.statistics",
    "PairedTestResult": "ordinis.engines.learning.evaluation.statistics",
    "SPAResult": "ordinis.engines.learning.evaluation.statistics",
    "deflated_sharpe_ratio": "ordinis.engines.learning.evaluation.statistics",
    "min_track_record_length": "ordinis.engines.learning.evaluation.statistics",
    "paired_sharpe_test": "ordinis.engines.learning.evaluation.statistics",
    "probabilistic_sharpe_ratio": "ordinis.engines.learning.evaluation.statistics",
    "spa_test": "ordinis.engines.learning.evaluation.statistics",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "BacktestRecord",
    "BacktestResult",
    "BenchmarkDataset",
    "BenchmarkRegistry",
    "BootstrapSettings",
    "CVResult",
    "CombinatorialPurged",
    "Comparison",
    "ComparisonResult",
    "DeflatedSharpe",
    "EvaluationGate",
    "FoldResult",
    "GateReport",
    "GateResult",
    "GateSet",
    "GateType",
    "LeakageCheck",
    "LiveRecord",
    "Mismatch",
    "ModelEvaluator",
    "MultipleComparisonResult",
    "OutOfSample",
    "PackEvaluation",
    "PairedTestResult",
    "ParityCheck",
    "ParityEvidence",
    "ParityResult",
    "ParityValidator",
    "PredictionParity",
    "PurgedKFold",
    "SPAResult",
    "ShuffledKFold",
    "Splitter",
    "TradingMetrics",
    "Verdict",
    "WalkForwardSplit",
    "backtest",
    "build_dataset",
    "compute_trading_metrics",
    "cross_validate",
    "deflated_sharpe_ratio",
    "evaluation_from_dict",
    "evaluation_to_dict",
    "leakage_check",
    "load_gate_set",
    "min_track_record_length",
    "mlflow_metrics",
    "paired_sharpe_test",
    "probabilistic_sharpe_ratio",
    "replay_live_features",
    "scope_pack",
    "shipped_gate_sets",
    "spa_test",
    "validate_parity",
    "validate_prices",
]
