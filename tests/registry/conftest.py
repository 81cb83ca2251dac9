"""A registry on a temporary data_dir with the real MLflow sqlite backend, shared per module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from registry_helpers import Env, make_env


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: object) -> AsyncIterator[Env]:
    data_dir = tmp_path_factory.mktemp("registry") / "learning"  # type: ignore[attr-defined]
    e = await make_env(data_dir)
    yield e
    await e.registry.close()
    e.store.close()
