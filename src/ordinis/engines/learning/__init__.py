"""ordinis-learning: the closed-loop LearningEngine of the ordinis trading system.

The kernel's names load at once; the facade and the governance names load on first use
(PEP 562), so ``import ordinis.engines.learning`` (and the CLI's ``--url`` mode) stays fast.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.clock import Clock, Scheduler, SimulatedClock, SystemClock
from ordinis.engines.learning.core.errors import (
    ArtifactIntegrityError,
    BufferFullError,
    CallTimeoutError,
    ConfigError,
    EngineNotRunningError,
    EvaluationError,
    FieldProblem,
    InsufficientDataError,
    InvalidEventError,
    LearningEngineError,
    MissingExtraError,
    NotFoundError,
    PolicyDeniedError,
    SignalBlockedError,
    StoreError,
    StoreLockedError,
    TrainingError,
    ValidationError,
)
from ordinis.engines.learning.core.lazy import lazy_getattr
from ordinis.engines.learning.core.models import (
    DriftAlert,
    DriftSeverity,
    DriftType,
    EvaluationResult,
    EvaluationScope,
    EventType,
    FeedbackPriority,
    FeedbackRecord,
    HealthLevel,
    HealthStatus,
    LearningEvent,
    MetricDrift,
    ModelStage,
    ModelVersion,
    PackCoverage,
    ProductionVerdict,
    RolloutStrategy,
    TrainingJob,
    TrainingStatus,
)

if TYPE_CHECKING:
    from ordinis.engines.learning.collectors.feedback_types import TradeOutcome
    from ordinis.engines.learning.core.config import LearningEngineConfig
    from ordinis.engines.learning.core.protocol import LearningEngineProtocol, PredictiveModel
    from ordinis.engines.learning.core.strategy import PositionMapping, PositionPolicy
    from ordinis.engines.learning.engine.facade import LearningEngine
    from ordinis.engines.learning.engine.reader import EngineReader
    from ordinis.engines.learning.evaluation.backtest_record import StoredBacktest
    from ordinis.engines.learning.evaluation.parity import (
        BacktestRecord,
        ParityEvidence,
        ParityResult,
    )
    from ordinis.engines.learning.features import (
        FeatureFunction,
        FeatureSet,
        FeatureSource,
        FeatureSpec,
        FeatureStore,
        SimilarSituation,
    )
    from ordinis.engines.learning.features.bar_features import (
        FEATURE_NAMES,
        compute_bar_features,
        next_return,
    )
    from ordinis.engines.learning.feedback.pipeline_spec import write_pipeline_variant
    from ordinis.engines.learning.feedback.triggers import RetrainingTrigger, TriggerStatus
    from ordinis.engines.learning.governance.approvals import PromotionRequest, RequestStatus
    from ordinis.engines.learning.governance.policies import Decision, PolicyResult
    from ordinis.engines.learning.rollout import (
        ABComparison,
        ABResults,
        ABTest,
        Prediction,
        RolloutDecision,
        RolloutPhase,
        RolloutReport,
    )
    from ordinis.engines.learning.training.signal_trainer import SignalTrainer

_LAZY: dict[str, str] = {
    # pydantic and numpy: loaded on first use, so the CLI's --url mode never imports them
    "LearningEngineConfig": "ordinis.engines.learning.core.config",
    "PositionMapping": "ordinis.engines.learning.core.strategy",
    "PositionPolicy": "ordinis.engines.learning.core.strategy",
    "LearningEngineProtocol": "ordinis.engines.learning.core.protocol",
    "PredictiveModel": "ordinis.engines.learning.core.protocol",
    "LearningEngine": "ordinis.engines.learning.engine.facade",
    "EngineReader": "ordinis.engines.learning.engine.reader",
    "PromotionRequest": "ordinis.engines.learning.governance.approvals",
    "RequestStatus": "ordinis.engines.learning.governance.approvals",
    "Decision": "ordinis.engines.learning.governance.policies",
    "PolicyResult": "ordinis.engines.learning.governance.policies",
    "FeatureFunction": "ordinis.engines.learning.features",
    "FeatureSet": "ordinis.engines.learning.features",
    "FeatureSource": "ordinis.engines.learning.features",
    "FeatureSpec": "ordinis.engines.learning.features",
    "FeatureStore": "ordinis.engines.learning.features",
    "SimilarSituation": "ordinis.engines.learning.features",
    "FEATURE_NAMES": "ordinis.engines.learning.features.bar_features",
    "compute_bar_features": "ordinis.engines.learning.features.bar_features",
    "next_return": "ordinis.engines.learning.features.bar_features",
    "write_pipeline_variant": "ordinis.engines.learning.feedback.pipeline_spec",
    "BacktestRecord": "ordinis.engines.learning.evaluation.parity",
    "ParityEvidence": "ordinis.engines.learning.evaluation.parity",
    "ParityResult": "ordinis.engines.learning.evaluation.parity",
    "StoredBacktest": "ordinis.engines.learning.evaluation.backtest_record",
    "RetrainingTrigger": "ordinis.engines.learning.feedback.triggers",
    "TriggerStatus": "ordinis.engines.learning.feedback.triggers",
    "SignalTrainer": "ordinis.engines.learning.training.signal_trainer",
    "Prediction": "ordinis.engines.learning.rollout",
    "RolloutDecision": "ordinis.engines.learning.rollout",
    "RolloutPhase": "ordinis.engines.learning.rollout",
    "RolloutReport": "ordinis.engines.learning.rollout",
    "TradeOutcome": "ordinis.engines.learning.collectors.feedback_types",
    "ABComparison": "ordinis.engines.learning.rollout",
    "ABResults": "ordinis.engines.learning.rollout",
    "ABTest": "ordinis.engines.learning.rollout",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())

__all__ = [
    "FEATURE_NAMES",
    "ABComparison",
    "ABResults",
    "ABTest",
    "ArtifactIntegrityError",
    "BacktestRecord",
    "BufferFullError",
    "CallTimeoutError",
    "Clock",
    "ConfigError",
    "Decision",
    "DriftAlert",
    "DriftSeverity",
    "DriftType",
    "EngineNotRunningError",
    "EngineReader",
    "EvaluationError",
    "EvaluationResult",
    "EvaluationScope",
    "EventType",
    "FeatureFunction",
    "FeatureSet",
    "FeatureSource",
    "FeatureSpec",
    "FeatureStore",
    "FeedbackPriority",
    "FeedbackRecord",
    "FieldProblem",
    "HealthLevel",
    "HealthStatus",
    "InsufficientDataError",
    "InvalidEventError",
    "LearningEngine",
    "LearningEngineConfig",
    "LearningEngineError",
    "LearningEngineProtocol",
    "LearningEvent",
    "MetricDrift",
    "MissingExtraError",
    "ModelStage",
    "ModelVersion",
    "NotFoundError",
    "PackCoverage",
    "ParityEvidence",
    "ParityResult",
    "PolicyDeniedError",
    "PolicyResult",
    "PositionMapping",
    "PositionPolicy",
    "Prediction",
    "PredictiveModel",
    "ProductionVerdict",
    "PromotionRequest",
    "RequestStatus",
    "RetrainingTrigger",
    "RolloutDecision",
    "RolloutPhase",
    "RolloutReport",
    "RolloutStrategy",
    "Scheduler",
    "SignalBlockedError",
    "SignalTrainer",
    "SimilarSituation",
    "SimulatedClock",
    "StoreError",
    "StoreLockedError",
    "StoredBacktest",
    "SystemClock",
    "TradeOutcome",
    "TrainingError",
    "TrainingJob",
    "TrainingStatus",
    "TriggerStatus",
    "ValidationError",
    "compute_bar_features",
    "next_return",
    "write_pipeline_variant",
]
