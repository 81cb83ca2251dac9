"""A leader that leaves hands over at once: when ``release()`` returns the advisory lock is
free, even while the server has not yet ended the old session's backend, so a follower
checking right then takes over. (Closing the session alone frees the lock only once the
backend is gone: the scale-out test lost that race under load.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ordinis.engines.learning.events.ownership import Holder, LeaderLock


def test_the_lock_is_free_when_release_returns_before_the_session_ends(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"t_hand_{uuid.uuid4().hex[:10]}"
    started = datetime(2024, 3, 1, tzinfo=UTC).isoformat()
    first = LeaderLock(pg_url, schema, Holder(1, "a", started))
    second = LeaderLock(pg_url, schema, Holder(2, "b", started))
    assert first.try_acquire() is True and second.try_acquire() is False
    session: Any = first._conn
    real_close = session.close
    monkeypatch.setattr(session, "close", lambda: None)  # the backend lingers after close()
    try:
        first.release()
        assert first.is_leader is False
        assert second.try_acquire() is True, "the lock was still held after release()"
        assert second.leader_description().startswith("backend pid ")
    finally:
        real_close()
        second.release()
        first.release()
