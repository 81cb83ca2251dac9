"""One live service per module (engine start-up is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import Live, live_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("api") / "learning"
    # These tests are about the service (roles, four eyes), not the production gates: their
    # versions carry reported metrics only, so the production verdict is not required here.
    with live_server(
        data_dir, approval="manual", auto_retrain_enabled=False, require_eval_pass=False
    ) as srv:
        yield srv
