"""ordinis-learning: the closed-loop LearningEngine of the ordinis trading system."""

from ordinis.engines.learning.collectors.feedback_types import TradeOutcome
from ordinis.engines.learning.core.clock import Clock, Scheduler, SimulatedClock, SystemClock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import (
    ArtifactIntegrityError,
    BufferFullError,
    ConfigError,
    InsufficientDataError,
    InvalidEventError,
    LearningEngineError,
    MissingExtraError,
    NotFoundError,
    PolicyDeniedError,
    SignalBlockedError,
)
from ordinis.engines.learning.core.models import (
    DriftAlert,
    DriftSeverity,
    DriftType,
    EvaluationResult,
    EventType,
    FeedbackPriority,
    FeedbackRecord,
    HealthLevel,
    HealthStatus,
    LearningEvent,
    ModelStage,
    ModelVersion,
    RolloutStrategy,
    TrainingJob,
    TrainingStatus,
)
from ordinis.engines.learning.core.protocol import LearningEngineProtocol, PredictiveModel
from ordinis.engines.learning.engine.facade import LearningEngine
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
from ordinis.engines.learning.training.signal_trainer import SignalTrainer

__all__ = [
    "FEATURE_NAMES",
    "ArtifactIntegrityError",
    "BufferFullError",
    "Clock",
    "ConfigError",
    "DriftAlert",
    "DriftSeverity",
    "DriftType",
    "EvaluationResult",
    "EventType",
    "FeatureFunction",
    "FeatureSet",
    "FeatureSource",
    "FeatureSpec",
    "FeatureStore",
    "FeedbackPriority",
    "FeedbackRecord",
    "HealthLevel",
    "HealthStatus",
    "InsufficientDataError",
    "InvalidEventError",
    "LearningEngine",
    "LearningEngineConfig",
    "LearningEngineError",
    "LearningEngineProtocol",
    "LearningEvent",
    "MissingExtraError",
    "ModelStage",
    "ModelVersion",
    "NotFoundError",
    "PolicyDeniedError",
    "PredictiveModel",
    "RolloutStrategy",
    "Scheduler",
    "SignalBlockedError",
    "SignalTrainer",
    "SimilarSituation",
    "SimulatedClock",
    "SystemClock",
    "TradeOutcome",
    "TrainingJob",
    "TrainingStatus",
    "compute_bar_features",
    "next_return",
    "write_pipeline_variant",
]
