"""The training data of a job: its window, the samples in it, and its dataset from events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ordinis.engines.learning.core.clock import Clock
from ordinis.engines.learning.core.config import LearningEngineConfig
from ordinis.engines.learning.core.errors import FieldProblem, ValidationError
from ordinis.engines.learning.core.models import EventType, TrainingJob
from ordinis.engines.learning.events.store import EventQuery, EventStore

if TYPE_CHECKING:
    from ordinis.engines.learning.engine.feature_service import FeatureService
    from ordinis.engines.learning.training.dataset import Dataset


def _parse_time(field: str, value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(
            "training job config",
            [
                FieldProblem(
                    field, value, "must be an ISO-8601 time, e.g. 2015-01-01T00:00:00+00:00"
                )
            ],
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class TrainingData:
    """Reads a job's training window from the event store (never past the clock's now)."""

    def __init__(
        self, config: LearningEngineConfig, store: EventStore, clock: Clock,
        features: FeatureService | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.features = features

    def window(self, job_config: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
        """A job's data window: config ``start``/``end``; ``end`` defaults to the clock's now."""
        start = _parse_time("start", job_config.get("start"))
        end = _parse_time("end", job_config.get("end")) or self.clock.now()
        return start, end

    def count_samples(
        self, start: datetime | None, end: datetime | None, symbol: str | None = None
    ) -> int:
        """Stored signal events in a window (the candidates for a training set)."""
        return self.store.count_events(
            EventQuery(
                event_type=EventType.SIGNAL_GENERATED,
                start=start,
                end=end,
                symbol=symbol,
                limit=None,
            )
        )

    def build_dataset(self, job: TrainingJob) -> Dataset:
        """Signal events of the job's window, with the job's feature set (named, listed or
        discovered; a store-sourced set is joined point-in-time) and next-return targets."""
        from ordinis.engines.learning.features import default_feature_sets
        from ordinis.engines.learning.training.dataset import dataset_for_job

        start, end = self.window(job.config)
        events = self.store.query_events(
            EventQuery(
                event_type=EventType.SIGNAL_GENERATED,
                start=start,
                end=end,
                symbol=job.config.get("symbol"),
                limit=None,
            )
        )
        sets = self.features.synced_sets() if self.features else default_feature_sets()
        store = self.features.open_store() if self.features else None
        return dataset_for_job(
            job.config, events, self.config.min_samples_for_training, sets, store)
