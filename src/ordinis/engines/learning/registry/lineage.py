"""Lineage: where a model version came from (training job, data, features, code, parent)."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGE = "ordinis-learning"


@functools.cache
def code_version() -> str:
    """The git revision of the running code when it runs from a checkout, else the package
    version (``ordinis-learning==X``), else ``"unknown"``. Computed once per process."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
        rev = out.stdout.strip()
        if out.returncode == 0 and len(rev) >= 7:
            return f"git:{rev}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"{PACKAGE}=={metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:
        return "unknown"


def build_lineage(
    given: dict[str, str] | None,
    training_job_id: str | None,
    parent_version: str | None,
) -> dict[str, str]:
    """Lineage tags of a new version: the caller's keys (data window, feature set, ...) over the
    defaults (training job, code version, parent = production version at registration)."""
    lineage: dict[str, str] = {
        "code_version": code_version(),
        "parent_version": parent_version or "",
    }
    if training_job_id:
        lineage["training_job_id"] = training_job_id
    for key, value in (given or {}).items():
        lineage[str(key)] = str(value)
    return lineage
