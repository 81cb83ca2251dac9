"""Rollout: the router, shadow runs, canary ramps, blue-green, A/B tests, automatic rollback."""

from ordinis.engines.learning.rollout.ab_testing import (
    ABComparison,
    ABResults,
    ABTest,
    ABTestingFramework,
)
from ordinis.engines.learning.rollout.controller import ControllerDeps, RolloutController
from ordinis.engines.learning.rollout.machine import Move, MoveKind, next_move
from ordinis.engines.learning.rollout.plan import PlannedStep, RolloutPlan, build_plan
from ordinis.engines.learning.rollout.router import ModelRouter, RoutedModel, RouteTable
from ordinis.engines.learning.rollout.sequential import (
    Analysis,
    PairedSequentialTest,
    SequentialSettings,
    Verdict,
)
from ordinis.engines.learning.rollout.service import (
    Prediction,
    PredictionFailedError,
    RolloutReport,
    RolloutService,
)
from ordinis.engines.learning.rollout.state import (
    RollbackReason,
    RolloutDecision,
    RolloutPhase,
    RolloutState,
)

__all__ = [
    "ABComparison",
    "ABResults",
    "ABTest",
    "ABTestingFramework",
    "Analysis",
    "ControllerDeps",
    "ModelRouter",
    "Move",
    "MoveKind",
    "PairedSequentialTest",
    "PlannedStep",
    "Prediction",
    "PredictionFailedError",
    "RollbackReason",
    "RolloutController",
    "RolloutDecision",
    "RolloutPhase",
    "RolloutPlan",
    "RolloutReport",
    "RolloutService",
    "RolloutState",
    "RouteTable",
    "RoutedModel",
    "SequentialSettings",
    "Verdict",
    "build_plan",
    "next_move",
]
