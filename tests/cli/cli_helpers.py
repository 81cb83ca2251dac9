"""Run the CLI in-process for the CLI tests: a crash raises (its traceback shows), a clean
exit returns the result with its exit code and output."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from ordinis.engines.learning.cli import app

runner = CliRunner()


def cli(*args: str) -> Result:
    """``ordinis-learning *args``; raises what the command raised unless it was an exit."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not a clean exit code: show the traceback
    return result
