"""The demo's data directory: created and marked by the demo, the only kind it ever deletes."""

from __future__ import annotations

import shutil
from pathlib import Path

from ordinis.engines.learning.core.errors import FieldProblem, ValidationError

MARKER = ".ordinis-demo"


def prepare_demo_dir(path: Path, fresh: bool) -> None:
    """Make ``path`` ready for a replay; with ``fresh`` a previous demo run there is deleted.

    A directory without the marker is never deleted or written into (unless empty): it was
    not created by the demo. A previous demo run is kept unless ``fresh`` asks to replace it.
    """
    marker = path / MARKER
    if path.exists() and not path.is_dir():
        raise _refuse(path, "is a file, not a directory; choose another --data-dir")
    if path.is_dir() and any(path.iterdir()):
        if not marker.is_file():
            raise _refuse(
                path,
                "is not empty and was not created by the demo (no .ordinis-demo marker); "
                "the demo never deletes or writes into it: choose a new or empty --data-dir",
            )
        if not fresh:
            raise _refuse(
                path,
                "holds a previous demo run; pass --fresh to replace it, or choose another "
                "--data-dir",
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text("created by `ordinis-learning demo`; --fresh may delete this directory\n")


def _refuse(path: Path, problem: str) -> ValidationError:
    return ValidationError("demo data directory", [FieldProblem("--data-dir", str(path), problem)])
