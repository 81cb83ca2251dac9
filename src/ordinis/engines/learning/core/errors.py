"""Errors a user of the engine can meet; each message names the field and the fix."""

from __future__ import annotations

from dataclasses import dataclass


class LearningEngineError(Exception):
    """Base of every error the LearningEngine raises on purpose."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid field: where, what was given, what is allowed."""

    field: str
    value: object
    problem: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}: {self.problem}"


class ValidationError(LearningEngineError, ValueError):
    """Input that cannot be accepted; lists every problem found, not just the first."""

    def __init__(self, what: str, problems: list[FieldProblem]) -> None:
        self.what = what
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid {what} ({len(problems)} problem(s)):\n{lines}")

    def __reduce__(self) -> tuple[type[ValidationError], tuple[str, list[FieldProblem]]]:
        return (type(self), (self.what, self.problems))  # crosses a process boundary intact


class InvalidEventError(ValidationError):
    """An event refused at ``record_event``: it would not be storable."""


class ConfigError(ValidationError):
    """An invalid configuration (file, environment or arguments)."""


class BufferFullError(LearningEngineError):
    """The event buffer is full; the synchronous path refuses instead of dropping."""


class CallTimeoutError(LearningEngineError, TimeoutError):
    """A trading-path call hit its bounded wait (``timeout=``); says what is kept and the fix.

    ``record_id`` (when set) is the id to pass back on a retry, which is then idempotent.
    """

    record_id: str | None = None


class EngineNotRunningError(LearningEngineError):
    """A call that needs ``await engine.initialize()`` first, or came after shutdown."""


class StoreError(LearningEngineError):
    """The event store failed; buffered events are kept and retried."""


class NotFoundError(LearningEngineError, KeyError):
    """A named thing (model, version, job, benchmark) does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class PolicyDeniedError(LearningEngineError):
    """Governance preflight denied a change; nothing was changed."""

    def __init__(self, action: str, policy: str, reason: str) -> None:
        self.action = action
        self.policy = policy
        self.reason = reason
        super().__init__(f"{action} denied by policy {policy!r}: {reason}")


class SignalBlockedError(LearningEngineError):
    """Signals are blocked by an open circuit breaker."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"signals blocked: {reason}")


class ArtifactIntegrityError(LearningEngineError):
    """A model artifact's SHA-256 differs from the one recorded at registration."""


class TrainingError(LearningEngineError):
    """A training job could not be created or run."""


class InsufficientDataError(TrainingError):
    """Too few samples to train; the message says how many there are and how many are needed."""


class EvaluationError(LearningEngineError):
    """An evaluation could not be run (bad benchmark, missing predictions, ...)."""


class StoreLockedError(LearningEngineError):
    """Another engine owns this store; the message names the holder (pid, host, started)."""


class StoreIdentityError(LearningEngineError):
    """A file where a store was expected is empty, foreign or damaged; names the file and fix."""


class ReadOnlyError(LearningEngineError):
    """A write was asked of an engine opened read-only (for inspection)."""


class NotLeaderError(LearningEngineError):
    """A leader-only action (registry write, schedule, loop) on an engine that is not the leader."""


class MissingExtraError(LearningEngineError, ImportError):
    """An optional part needs a package extra that is not installed; says which to install."""

    def __init__(self, feature: str, extra: str, package: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs the {package!r} package of the {extra!r} extra, which is not "
            f"installed: pip install 'ordinis-learning[{extra}]'"
        )
