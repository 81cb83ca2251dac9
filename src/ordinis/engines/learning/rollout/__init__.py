"""Rollout: the router, shadow runs, canary ramps, blue-green, A/B tests, automatic rollback.

Names load on first use (PEP 562): importing one light module of this package does not
import the heavy ones.
"""

from typing import TYPE_CHECKING

from ordinis.engines.learning.core.lazy import lazy_getattr

if TYPE_CHECKING:
    from ordinis.engines.learning.rollout.ab_testing import (
        ABComparison,
        ABResults,
        ABTest,
        ABTestingFramework,
    )
    from ordinis.engines.learning.rollout.controller import (
        ControllerDeps,
        RolloutController,
    )
    from ordinis.engines.learning.rollout.machine import (
        Move,
        MoveKind,
        next_move,
    )
    from ordinis.engines.learning.rollout.plan import (
        PlannedStep,
        RolloutPlan,
        build_plan,
    )
    from ordinis.engines.learning.rollout.report import RolloutReport
    from ordinis.engines.learning.rollout.router import (
        ModelRouter,
        RoutedModel,
        RouteTable,
    )
    from ordinis.engines.learning.rollout.sequential import (
        Analysis,
        PairedSequentialTest,
        SequentialSettings,
        Verdict,
    )
    from ordinis.engines.learning.rollout.service import (
        Prediction,
        PredictionFailedError,
        RolloutService,
    )
    from ordinis.engines.learning.rollout.state import (
        RollbackReason,
        RolloutDecision,
        RolloutPhase,
        RolloutState,
    )

_LAZY: dict[str, str] = {
    "ABComparison": "ordinis.engines.learning.rollout.ab_testing",
    "ABResults": "ordinis.engines.learning.rollout.ab_testing",
    "ABTest": "ordinis.engines.learning.rollout.ab_testing",
    "ABTestingFramework": "ordinis.engines.learning.rollout.ab_testing",
    "ControllerDeps": "ordinis.engines.learning.rollout.controller",
    "RolloutController": "ordinis.engines.learning.rollout.controller",
    "Move": "ordinis.engines.learning.rollout.machine",
    "MoveKind": "ordinis.engines.learning.rollout.machine",
    "next_move": "ordinis.engines.learning.rollout.machine",
    "PlannedStep": "ordinis.engines.learning.rollout.plan",
    "RolloutPlan": "ordinis.engines.learning.rollout.plan",
    "build_plan": "ordinis.engines.learning.rollout.plan",
    "ModelRouter": "ordinis.engines.learning.rollout.router",
    "RoutedModel": "ordinis.engines.learning.rollout.router",
    "RouteTable": "ordinis.engines.learning.rollout.router",
    "Analysis": "ordinis.engines.learning.rollout.sequential",
    "PairedSequentialTest": "ordinis.engines.learning.rollout.sequential",
    "SequentialSettings": "ordinis.engines.learning.rollout.sequential",
    "Verdict": "ordinis.engines.learning.rollout.sequential",
    "Prediction": "ordinis.engines.learning.rollout.service",
    "PredictionFailedError": "ordinis.engines.learning.rollout.service",
    "RolloutReport": "ordinis.engines.learning.rollout.report",
    "RolloutService": "ordinis.engines.learning.rollout.service",
    "RollbackReason": "ordinis.engines.learning.rollout.state",
    "RolloutDecision": "ordinis.engines.learning.rollout.state",
    "RolloutPhase": "ordinis.engines.learning.rollout.state",
    "RolloutState": "ordinis.engines.learning.rollout.state",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
