"""Helpers of the ownership chaos tests: the registry test helpers, and engines on a data dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent.parent
# reuse make_env / small_model of the registry tests and the misbehaving test trainers (their
# folder goes on the path of worker processes too, which import trainers by spec)
for _dir in (str(_TESTS / "registry"), str(_TESTS / "training")):
    if _dir not in sys.path:
        sys.path.append(_dir)
_TRAINING = str(_TESTS / "training")
if _TRAINING not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_TRAINING, os.environ.get("PYTHONPATH", "")) if p
    )

from registry_helpers import Env, make_env, small_model  # noqa: E402
from testing_trainers import TEST_TRAINER_SPECS  # noqa: E402

__all__ = ["TEST_TRAINER_SPECS", "Env", "make_env", "small_model"]


def engine_config(data_dir: Path, **values: object) -> object:
    """A small engine config for ownership tests (governance off, no drift schedules)."""
    from ordinis.engines.learning.core.config import LearningEngineConfig

    base: dict[str, object] = {
        "data_dir": data_dir,
        "enable_governance": False,
        "enable_drift_detection": False,
        "event_retention_days": 36500,
        "max_concurrent_jobs": 1,
    }
    base.update(values)
    return LearningEngineConfig.create(**base)


SLEEP_TRAINER = TEST_TRAINER_SPECS["test_sleep"]
