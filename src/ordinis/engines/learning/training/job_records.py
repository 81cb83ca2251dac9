"""TrainingJob <-> StoredRecord: how jobs are kept in the event store (kind "training_job")."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from ordinis.engines.learning.core.models import StoredRecord, TrainingJob, TrainingStatus

JOB_RECORD_KIND = "training_job"


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def job_to_record(job: TrainingJob, updated_at: datetime) -> StoredRecord:
    """The stored form of ``job``: key job_id, tag model_name, created_at the job's."""
    body: dict[str, Any] = {
        "job_id": job.job_id,
        "model_name": job.model_name,
        "model_type": job.model_type,
        "config": copy.deepcopy(job.config),
        "status": job.status.value,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
        # Non-finite metrics (an undefined AUC) are stored as null: JSON has no NaN.
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in job.metrics.items()},
        "error_message": job.error_message,
        "artifacts_path": job.artifacts_path,
        "progress": job.progress,
        "progress_message": job.progress_message,
        "attempts": job.attempts,
        "model_version_id": job.model_version_id,
        "trigger_id": job.trigger_id,
        "resources": dict(job.resources),
    }
    return StoredRecord(
        kind=JOB_RECORD_KIND,
        key=job.job_id,
        body=body,
        created_at=job.created_at,
        updated_at=updated_at,
        tag=job.model_name,
    )


def job_from_record(record: StoredRecord) -> TrainingJob:
    """Rebuild a TrainingJob from its record; a record of another kind is refused."""
    if record.kind != JOB_RECORD_KIND:
        raise ValueError(f"record kind {record.kind!r} is not {JOB_RECORD_KIND!r}")
    b = record.body
    created = _dt(b.get("created_at")) or record.created_at
    return TrainingJob(
        job_id=str(b.get("job_id") or record.key),
        model_name=str(b.get("model_name") or record.tag),
        model_type=str(b["model_type"]),
        config=dict(b.get("config") or {}),
        status=TrainingStatus(b.get("status", TrainingStatus.PENDING.value)),
        created_at=created,
        started_at=_dt(b.get("started_at")),
        completed_at=_dt(b.get("completed_at")),
        metrics={
            str(k): math.nan if v is None else float(v)
            for k, v in (b.get("metrics") or {}).items()
        },
        error_message=b.get("error_message"),
        artifacts_path=b.get("artifacts_path"),
        progress=float(b.get("progress") or 0.0),
        progress_message=str(b.get("progress_message") or ""),
        attempts=int(b.get("attempts") or 0),
        model_version_id=b.get("model_version_id"),
        trigger_id=b.get("trigger_id"),
        resources={str(k): float(v) for k, v in (b.get("resources") or {}).items()},
    )


def copy_job(job: TrainingJob) -> TrainingJob:
    """A detached copy, so callers and listeners cannot change the executor's record."""
    return replace(
        job,
        config=copy.deepcopy(job.config),
        metrics=dict(job.metrics),
        resources=dict(job.resources),
    )
