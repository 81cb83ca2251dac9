"""The demo deletes only a directory it created itself, recognised by its marker file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordinis.engines.learning.core.errors import ValidationError
from ordinis.engines.learning.demo.workdir import MARKER, prepare_demo_dir


def test_a_foreign_directory_is_never_deleted_even_with_fresh(tmp_path: Path) -> None:
    precious = tmp_path / "trading-data"
    precious.mkdir()
    (precious / "positions.csv").write_text("SPY,100\n")
    for fresh in (False, True):
        with pytest.raises(ValidationError, match=r"--data-dir.*not created by the demo"):
            prepare_demo_dir(precious, fresh=fresh)
    assert (precious / "positions.csv").read_text() == "SPY,100\n"
    assert not (precious / MARKER).exists()


def test_the_demo_marks_its_dir_and_replaces_it_only_when_asked(tmp_path: Path) -> None:
    d = tmp_path / "demo"
    prepare_demo_dir(d, fresh=False)  # new: created and marked
    assert (d / MARKER).is_file()
    (d / "events.db").write_text("previous run")
    with pytest.raises(ValidationError, match="pass --fresh"):
        prepare_demo_dir(d, fresh=False)  # a previous run is kept unless asked
    assert (d / "events.db").exists()
    prepare_demo_dir(d, fresh=True)
    assert not (d / "events.db").exists() and (d / MARKER).is_file()


def test_fresh_is_off_by_default() -> None:
    from typer.testing import CliRunner

    from ordinis.engines.learning.cli import app
    from ordinis.engines.learning.demo.replay import DemoOptions

    assert DemoOptions().fresh is False
    flat = " ".join(CliRunner().invoke(app, ["demo", "--help"]).output.split())
    assert "--fresh" in flat and "--no-fresh" in flat and "[default: no-fresh]" in flat
