"""Fixtures for observability tests: Debian's prometheus binaries (a failure in CI if missing)."""

from __future__ import annotations

import os
import shutil

import pytest


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found: apt-get install -y prometheus (Debian) puts it on PATH"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; it is required in CI")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _binary("promtool")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return _binary("prometheus")
