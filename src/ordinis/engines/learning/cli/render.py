"""Output of the CLI: Rich tables for people, ``--json`` for scripts; ids never folded or cut."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def ts(value: str | None) -> str:
    """An ISO time from the API as ``YYYY-mm-dd HH:MM:SS`` (``-`` for none)."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
    ids: Sequence[str] = (),
) -> None:
    """A table; the ``ids`` columns keep their full width (never folded, never elided)."""
    rows = [[("-" if v is None else str(v)) for v in row] for row in rows]
    t = Table(title=title)
    for i, name in enumerate(columns):
        if name in ids:
            width = max([len(name), *(len(r[i]) for r in rows)])
            t.add_column(name, no_wrap=True, min_width=width)
        else:
            t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*row)
    out.print(t)


def as_json(data: Any) -> None:
    """Machine output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str) -> None:
    """An error in full (no truncation), on stderr."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
