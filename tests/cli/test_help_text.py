"""Every command's help reads well in a terminal: Typer's Rich help keeps the line breaks of
a docstring's later paragraphs and prints reST double backticks as they are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import typer.main

from ordinis.engines.learning.cli.commands import app


def _commands(cmd: click.Command, path: str = "") -> Iterator[tuple[str, click.Command]]:
    subs = getattr(cmd, "commands", None)
    if not subs:
        yield path.strip(), cmd
        return
    for name, sub in subs.items():
        yield from _commands(sub, f"{path} {name}")


def test_every_command_help_is_one_paragraph_without_rest_markup() -> None:
    found = list(_commands(typer.main.get_command(app)))
    assert len(found) > 40  # the walk reached the leaf commands, not only the groups
    for path, cmd in found:
        text = (cmd.help or "").strip()
        assert text, f"{path}: no help"
        assert "``" not in text, f"{path}: reST double backticks print as they are"
        assert "\n\n" not in text, f"{path}: a second paragraph keeps its hard line breaks"
        for param in cmd.params:
            helped = getattr(param, "help", None) or ""
            assert "``" not in helped, f"{path} {param.name}: reST double backticks"


def test_every_argument_and_option_says_what_it_is() -> None:
    """``--help`` describes every parameter: a bare ``NAME`` or ``--stage`` leaves the user
    guessing whether a version, a model or a stage name goes there."""
    bare = [f"{path} {param.name}" for path, cmd in _commands(typer.main.get_command(app))
            for param in cmd.params
            if param.name != "help" and not (getattr(param, "help", None) or "").strip()]
    assert bare == []


def test_the_readme_lists_every_command_and_nothing_else() -> None:
    """README's one-line map of the command line is the whole CLI, no more and no less."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = " ".join(readme.split("The command line: `", 1)[1].split("`", 1)[0].split())
    listed: set[str] = set()
    for part in (p.split() for p in line.removeprefix("ordinis-learning ").split(" | ")):
        head, subs = part[0], part[1:]
        listed |= {f"{head} {s}" for sub in subs for s in sub.split("|")} or {head}
    found = {path for path, _ in _commands(typer.main.get_command(app))}
    assert listed == found, (sorted(found - listed), sorted(listed - found))
