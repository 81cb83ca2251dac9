"""Every command's help reads well in a terminal: Typer's Rich help keeps the line breaks of
a docstring's later paragraphs and prints reST double backticks as they are."""

from __future__ import annotations

from collections.abc import Iterator

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
