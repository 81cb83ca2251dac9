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
    from ordinis.engines.learning.engine.offload import Offload
    from ordinis.engines.learning.features import FeatureSetRegistry, FeatureStore
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
        features: FeatureService | None = None, offload: Offload | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.features = features
        self.offload = offload  # builds the dataset in the store-read helper when it can

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
        discovered; a store-sourced set is joined point-in-time) and next-return targets.

        Built in the store-read helper process when there is one (the host's loop never waits
        on decoding the window's events), unless the set is read from the feature store.
        """
        from ordinis.engines.learning.features import default_feature_sets

        start, end = self.window(job.config)
        sets = self.features.synced_sets() if self.features else default_feature_sets()
        args = (start, end, job.config.get("symbol"), dict(job.config),
                self.config.min_samples_for_training, sets)
        if self.offload is not None and not _store_sourced(job.config, sets):
            return self.offload.call(read_dataset, self.store, *args)
        feature_store = self.features.open_store() if self.features else None
        return read_dataset(self.store, *args, feature_store)


def _store_sourced(config: dict[str, Any], sets: FeatureSetRegistry) -> bool:
    """Whether the job names a feature set read from the feature store (the host's DuckDB)."""
    from ordinis.engines.learning.features import FeatureSource

    named = config.get("feature_set")
    if not isinstance(named, str) or not named:
        return False
    try:
        return sets.resolve(named).source is FeatureSource.STORE
    except Exception:  # an unknown set: the build reports it, wherever it runs
        return False


def read_dataset(
    store: EventStore,
    start: datetime | None,
    end: datetime | None,
    symbol: str | None,
    job_config: dict[str, Any],
    min_samples: int,
    sets: FeatureSetRegistry,
    feature_store: FeatureStore | None = None,
) -> Dataset:
    """A job's dataset from the signal events of ``[start, end]`` (in the host or the helper)."""
    from ordinis.engines.learning.training.dataset import dataset_for_job

    events = store.query_events(
        EventQuery(
            event_type=EventType.SIGNAL_GENERATED,
            start=start,
            end=end,
            symbol=symbol,
            limit=None,
        )
    )
    return dataset_for_job(job_config, events, min_samples, sets, feature_store)
