"""The store-read helper: the same results as the host's own read, errors intact, no leftovers."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ordinis.engines.learning.core.errors import InsufficientDataError, ValidationError
from ordinis.engines.learning.core.models import EventType, LearningEvent
from ordinis.engines.learning.engine import heap_freeze
from ordinis.engines.learning.engine.feature_rows import live_window
from ordinis.engines.learning.engine.forward_holdout import forward_holdout
from ordinis.engines.learning.engine.offload import Offload, offloadable_url
from ordinis.engines.learning.engine.training_data import read_dataset
from ordinis.engines.learning.events.encoding import encode_event
from ordinis.engines.learning.events.sqlite_store import SQLiteEventStore
from ordinis.engines.learning.features import default_feature_sets

T0 = datetime(2020, 1, 1, 21, tzinfo=UTC)


def _store(tmp_path: Path, n: int = 400) -> SQLiteEventStore:
    store = SQLiteEventStore(f"sqlite:///{tmp_path / 'events.db'}", init=True)
    store.open()
    events = [
        LearningEvent(
            EventType.SIGNAL_GENERATED, "signal", symbol=f"S{i % 3}",
            timestamp=T0 + timedelta(days=i // 3),
            payload={"features": {"a": float(i % 7), "b": float(i % 5) / 3},
                     "signal": float(i % 4) - 1.5, "model_name": "m" if i % 2 else "n"},
            outcome=((i * 37) % 11 - 5) / 100,
        )
        for i in range(n)
    ]
    store.append_events([encode_event(e, 64 * 1024) for e in events])
    return store


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_helper_builds_the_same_dataset_and_holdout_as_the_host(tmp_path: Path) -> None:
    store = _store(tmp_path)
    offload = Offload(store, store.url)
    try:
        args = (T0, T0 + timedelta(days=100), None, {"features": ["a", "b"]}, 50,
                default_feature_sets())
        remote = offload.call(read_dataset, store, *args)
        local = read_dataset(store, *args)
        assert offload.calls == 1 and offload.fallbacks == 0 and offload.pid() is not None
        assert remote.fingerprint() == local.fingerprint() and remote.n_samples == 300
        pd.testing.assert_frame_equal(remote.X, local.X)
        window = (T0 + timedelta(days=100), T0 + timedelta(days=133), ["a", "b"])
        held = offload.call(forward_holdout, store, *window)
        mine = forward_holdout(store, *window)
        assert held is not None and mine is not None and held.version == mine.version
        pd.testing.assert_frame_equal(held.returns, mine.returns)
        recent = (store, T0 + timedelta(days=60), T0 + timedelta(days=90))
        frame, signals = offload.call(live_window, *recent)
        frame_here, signals_here = live_window(*recent)
        assert offload.calls == 3 and offload.fallbacks == 0
        assert frame is not None and frame_here is not None and len(frame) == 90
        pd.testing.assert_frame_equal(frame, frame_here)
        assert signals == signals_here and sorted(signals) == ["m", "n"]
        assert len(signals["m"]) + len(signals["n"]) == 90
    finally:
        pid = offload.pid()
        offload.close()
        store.close()
    assert pid is not None and not _alive(pid)  # close kills and reaps the helper


def test_errors_keep_their_type_and_what_cannot_go_runs_in_the_host(tmp_path: Path) -> None:
    store = _store(tmp_path, n=30)
    offload = Offload(store, store.url)
    try:
        args = (None, None, None, {"features": ["a"]}, 10_000, default_feature_sets())
        with pytest.raises(InsufficientDataError) as remote:
            offload.call(read_dataset, store, *args)  # too few rows: the same error as here
        with pytest.raises(InsufficientDataError) as local:
            read_dataset(store, *args)
        assert str(remote.value) == str(local.value)
        bad = (None, None, None, {"features": "a"}, 10, default_feature_sets())
        with pytest.raises(ValidationError, match=r"config\.features") as err:
            offload.call(read_dataset, store, *bad)
        assert err.value.problems[0].field == "config.features"  # rebuilt intact
        assert offload.calls == 2
        offload.call(lambda s: s.count_events(), store)  # a lambda does not pickle: runs here
        assert offload.fallbacks == 1
    finally:
        offload.close()
        store.close()
    assert offload.call(len, [1, 2]) == 2  # closed: every call runs in the host
    assert offloadable_url("sqlite:///:memory:") is None
    assert offloadable_url("postgresql://h/db?schema=x") == "postgresql://h/db?schema=x"


def test_the_heap_freeze_is_held_until_the_last_engine_releases_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap_freeze, "_holders", 0)  # no engine of another test holds it
    gc.unfreeze()
    heap_freeze.freeze()
    heap_freeze.freeze()
    assert gc.get_freeze_count() > 0
    heap_freeze.release()
    assert gc.get_freeze_count() > 0  # another engine still runs
    heap_freeze.release()
    assert gc.get_freeze_count() == 0  # the last engine unfroze
    heap_freeze.release()  # more releases than freezes: nothing happens, nothing goes negative
    assert heap_freeze._holders == 0
    heap_freeze.freeze()  # so the next engine's freeze is the first again
    assert gc.get_freeze_count() > 0
    heap_freeze.release()
    assert gc.get_freeze_count() == 0


class _NoVersions:
    """A registry with no versions yet (the window's features keep their own columns)."""

    def list_versions(self, model_name: str) -> list[object]:
        return []


def test_the_loop_reads_its_training_window_in_the_helper(tmp_path: Path) -> None:
    """Data validation's window read runs in the helper and equals the host's own read."""

    from ordinis.engines.learning.core.clock import SimulatedClock
    from ordinis.engines.learning.engine.loop_actions import EngineLoopActions
    from ordinis.engines.learning.feedback.pipeline_spec import load_pipeline_spec

    store = _store(tmp_path)
    offload = Offload(store, store.url)
    clock = SimulatedClock(T0 + timedelta(days=120))
    spec = load_pipeline_spec()
    none: Any = None
    try:
        parts = (store, clock, spec, none, none, none, _NoVersions())
        remote = EngineLoopActions(*parts, offload).training_window_features("m")
        local = EngineLoopActions(*parts).training_window_features("m")
        assert offload.calls == 1 and offload.fallbacks == 0
        assert remote is not None and local is not None and len(remote) == 270
        pd.testing.assert_frame_equal(remote, local)
    finally:
        offload.close()
        store.close()


class _Versions:
    """A registry whose versions carry their training windows in lineage."""

    def __init__(self) -> None:
        self.versions: list[Any] = []

    def add(self, n: int, start_day: int, end_day: int) -> None:
        from ordinis.engines.learning.core.models import ModelStage, ModelVersion

        mv = ModelVersion("m", f"v{n}", ModelStage.STAGING)
        mv.created_at = T0 + timedelta(days=200 + n)
        mv.lineage = {"window_start": (T0 + timedelta(days=start_day)).isoformat(),
                      "window_end": (T0 + timedelta(days=end_day)).isoformat()}
        self.versions.append(mv)

    def list_versions(self, model_name: str) -> list[Any]:
        return list(self.versions)


def test_the_reference_window_is_read_once_per_version(tmp_path: Path) -> None:
    """Every trigger compares with the latest version's training window: one read per version."""
    from ordinis.engines.learning.core.clock import SimulatedClock
    from ordinis.engines.learning.engine.loop_actions import EngineLoopActions
    from ordinis.engines.learning.feedback.pipeline_spec import load_pipeline_spec

    store = _store(tmp_path)
    offload = Offload(store, store.url)
    registry = _Versions()
    none: Any = None
    actions = EngineLoopActions(store, SimulatedClock(T0 + timedelta(days=130)),
                                load_pipeline_spec(), none, none, none, registry, offload)
    try:
        registry.add(1, 0, 10)
        first = actions.reference_features("m")
        again = actions.reference_features("m")
        assert first is not None and len(first) == 33 and again is first
        assert offload.calls == 1
        registry.add(2, 20, 40)  # a new version: its own window is read
        second = actions.reference_features("m")
        assert second is not None and len(second) == 63 and offload.calls == 2
    finally:
        offload.close()
        store.close()
