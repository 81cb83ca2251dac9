"""The closed loop's acting side: retraining triggers, safeguards, the pipeline, reports.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.feedback.actions import (
        GateOutcome,
        LoopActions,
        RolloutStart,
    )
    from ordinis.engines.learning.feedback.data_validation import (
        DataValidationReport,
        FeatureDriftReport,
        NullRateReport,
        SchemaReport,
        check_feature_drift,
        check_null_rate,
        check_schema,
        population_stability_index,
        validate_training_data,
    )
    from ordinis.engines.learning.feedback.improvement_loop import (
        ImprovementLoop,
        LoopEvent,
        LoopStep,
    )
    from ordinis.engines.learning.feedback.pipeline_spec import (
        BENCHMARK_NAME_PATTERN,
        STAGE_NAMES,
        DataCollectionStage,
        DataValidationStage,
        EvaluationStage,
        PipelineSpec,
        ProductionStage,
        RampStep,
        StagingStage,
        TrainingStage,
        TriggerRulesConfig,
        default_pipeline_path,
        load_pipeline_spec,
        parse_duration,
        pipeline_spec_from_mapping,
    )
    from ordinis.engines.learning.feedback.policy import (
        RetrainDecision,
        RetrainingPolicy,
        Safeguard,
    )
    from ordinis.engines.learning.feedback.report import ImprovementReport
    from ordinis.engines.learning.feedback.triggers import (
        TRIGGER_RECORD_KIND,
        ConsecutiveLossRule,
        DegradationRule,
        DriftAlertRule,
        RetrainingTrigger,
        ScheduleRule,
        TriggerEvaluator,
        TriggerStatus,
        TriggerType,
        drift_alert_to_trigger,
    )

_LAZY: dict[str, str] = {
    "GateOutcome": "ordinis.engines.learning.feedback.actions",
    "LoopActions": "ordinis.engines.learning.feedback.actions",
    "RolloutStart": "ordinis.engines.learning.feedback.actions",
    "DataValidationReport": "ordinis.engines.learning.feedback.data_validation",
    "FeatureDriftReport": "ordinis.engines.learning.feedback.data_validation",
    "NullRateReport": "ordinis.engines.learning.feedback.data_validation",
    "SchemaReport": "ordinis.engines.learning.feedback.data_validation",
    "check_feature_drift": "ordinis.engines.learning.feedback.data_validation",
    "check_null_rate": "ordinis.engines.learning.feedback.data_validation",
    "check_schema": "ordinis.engines.learning.feedback.data_validation",
    "population_stability_index": "ordinis.engines.learning.feedback.data_validation",
    "validate_training_data": "ordinis.engines.learning.feedback.data_validation",
    "ImprovementLoop": "ordinis.engines.learning.feedback.improvement_loop",
    "LoopEvent": "ordinis.engines.learning.feedback.improvement_loop",
    "LoopStep": "ordinis.engines.learning.feedback.improvement_loop",
    "BENCHMARK_NAME_PATTERN": "ordinis.engines.learning.feedback.pipeline_spec",
    "STAGE_NAMES": "ordinis.engines.learning.feedback.pipeline_spec",
    "DataCollectionStage": "ordinis.engines.learning.feedback.pipeline_spec",
    "DataValidationStage": "ordinis.engines.learning.feedback.pipeline_spec",
    "EvaluationStage": "ordinis.engines.learning.feedback.pipeline_spec",
    "PipelineSpec": "ordinis.engines.learning.feedback.pipeline_spec",
    "ProductionStage": "ordinis.engines.learning.feedback.pipeline_spec",
    "RampStep": "ordinis.engines.learning.feedback.pipeline_spec",
    "StagingStage": "ordinis.engines.learning.feedback.pipeline_spec",
    "TrainingStage": "ordinis.engines.learning.feedback.pipeline_spec",
    "TriggerRulesConfig": "ordinis.engines.learning.feedback.pipeline_spec",
    "default_pipeline_path": "ordinis.engines.learning.feedback.pipeline_spec",
    "load_pipeline_spec": "ordinis.engines.learning.feedback.pipeline_spec",
    "parse_duration": "ordinis.engines.learning.feedback.pipeline_spec",
    "pipeline_spec_from_mapping": "ordinis.engines.learning.feedback.pipeline_spec",
    "TRIGGER_RECORD_KIND": "ordinis.engines.learning.feedback.triggers",
    "RetrainDecision": "ordinis.engines.learning.feedback.policy",
    "RetrainingPolicy": "ordinis.engines.learning.feedback.policy",
    "Safeguard": "ordinis.engines.learning.feedback.policy",
    "ImprovementReport": "ordinis.engines.learning.feedback.report",
    "ConsecutiveLossRule": "ordinis.engines.learning.feedback.triggers",
    "DegradationRule": "ordinis.engines.learning.feedback.triggers",
    "DriftAlertRule": "ordinis.engines.learning.feedback.triggers",
    "RetrainingTrigger": "ordinis.engines.learning.feedback.triggers",
    "ScheduleRule": "ordinis.engines.learning.feedback.triggers",
    "TriggerEvaluator": "ordinis.engines.learning.feedback.triggers",
    "TriggerStatus": "ordinis.engines.learning.feedback.triggers",
    "TriggerType": "ordinis.engines.learning.feedback.triggers",
    "drift_alert_to_trigger": "ordinis.engines.learning.feedback.triggers",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "BENCHMARK_NAME_PATTERN",
    "STAGE_NAMES",
    "TRIGGER_RECORD_KIND",
    "ConsecutiveLossRule",
    "DataCollectionStage",
    "DataValidationReport",
    "DataValidationStage",
    "DegradationRule",
    "DriftAlertRule",
    "EvaluationStage",
    "FeatureDriftReport",
    "GateOutcome",
    "ImprovementLoop",
    "ImprovementReport",
    "LoopActions",
    "LoopEvent",
    "LoopStep",
    "NullRateReport",
    "PipelineSpec",
    "ProductionStage",
    "RampStep",
    "RetrainDecision",
    "RetrainingPolicy",
    "RetrainingTrigger",
    "RolloutStart",
    "Safeguard",
    "ScheduleRule",
    "SchemaReport",
    "StagingStage",
    "TrainingStage",
    "TriggerEvaluator",
    "TriggerRulesConfig",
    "TriggerStatus",
    "TriggerType",
    "check_feature_drift",
    "check_null_rate",
    "check_schema",
    "default_pipeline_path",
    "drift_alert_to_trigger",
    "load_pipeline_spec",
    "parse_duration",
    "pipeline_spec_from_mapping",
    "population_stability_index",
    "validate_training_data",
]
