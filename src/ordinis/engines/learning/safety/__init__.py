"""Circuit breakers: block signals and execution when trading engines fail or lose too much."""

from ordinis.engines.learning.core.errors import SignalBlockedError
from ordinis.engines.learning.safety.breaker import CircuitBreaker
from ordinis.engines.learning.safety.losses import LossState, LossTracker, LossTrip
from ordinis.engines.learning.safety.manager import (
    BREAKER_RECORD_KIND,
    DEFAULT_ENGINES,
    LOSS_RECORD_KIND,
    SIGNAL_ENGINE,
    CircuitBreakerManager,
)
from ordinis.engines.learning.safety.rules import (
    DEFAULT_ERROR_ENGINES,
    DEFAULT_TRIP_RULES,
    TripRule,
)
from ordinis.engines.learning.safety.state import BreakerChange, BreakerSnapshot, BreakerState

__all__ = [
    "BREAKER_RECORD_KIND",
    "DEFAULT_ENGINES",
    "DEFAULT_ERROR_ENGINES",
    "DEFAULT_TRIP_RULES",
    "LOSS_RECORD_KIND",
    "SIGNAL_ENGINE",
    "BreakerChange",
    "BreakerSnapshot",
    "BreakerState",
    "CircuitBreaker",
    "CircuitBreakerManager",
    "LossState",
    "LossTracker",
    "LossTrip",
    "SignalBlockedError",
    "TripRule",
]
