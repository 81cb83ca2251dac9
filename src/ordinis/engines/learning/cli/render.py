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
SHORT_WIDTH = 12  # columns this narrow keep their width; longer texts wrap down to it
WORD_WIDTH = 20  # a wrapping column is never narrower than its longest word, up to this


def ts(value: str | None) -> str:
    """An ISO time from the API as ``YYYY-mm-dd HH:MM:SS`` (``-`` for none)."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def num(value: float | int | None, digits: int = 6) -> str:
    """A number for people: ``digits`` significant digits, a whole count as an integer
    (``n_train=131500``, not ``1.315e+05``), ``-`` for none. ``--json`` keeps every digit."""
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"


def cell(value: Any) -> str:
    """One table cell: ``-`` for none, numbers by ``num``, the rest as text."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return num(value)
    return str(value)


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
    ids: Sequence[str] = (),
) -> None:
    """A table; the ``ids`` columns keep their full width (never folded, never elided).

    A column whose cells all fit in ``SHORT_WIDTH`` keeps its width; longer texts wrap between
    words, in a column as wide as its longest word (up to ``WORD_WIDTH``) when the terminal
    has room, so names such as ``min_profit_factor`` are not cut. A narrow terminal then wraps
    the long texts instead of standing the short columns ("stage", "staging") on end.
    """
    rows = [[cell(v) for v in row] for row in rows]
    cells = [(name, *(r[i] for r in rows)) for i, name in enumerate(columns)]
    fixed = [name in ids or max(len(c) for c in col) <= SHORT_WIDTH
             for name, col in zip(columns, cells, strict=True)]
    # Whole words if the terminal has room for them, else wrapping down to SHORT_WIDTH (a word
    # longer than that may then fold). Narrower still, the table is drawn wider than the
    # terminal with words whole (the terminal wraps the lines; no cell is lost or squeezed to
    # nothing). Console.print clamps its ``width`` to the console's, hence a wider console.
    console = out
    widths = (_widths(cells, fixed, WORD_WIDTH, out.width)
              or _widths(cells, fixed, SHORT_WIDTH, out.width))
    if widths is None:
        widths = _widths(cells, fixed, WORD_WIDTH, None)
        assert widths is not None  # no room limit: always a layout
        console = Console(file=out.file, width=sum(widths) + 3 * len(widths) + 1,
                          soft_wrap=True, force_terminal=out.is_terminal, no_color=out.no_color)
    # An empty table says so (psql's "(0 rows)"), so that no output is not mistaken for a fault.
    t = Table(title=title, caption=None if rows else "(0 rows)")
    for name, width, keep in zip(columns, widths, fixed, strict=True):
        if keep:  # ids keep their full width (copyable); short columns (stage, version) too
            t.add_column(name, no_wrap=True, width=width)
        else:
            t.add_column(name, overflow="fold", width=width)
    for row in rows:
        t.add_row(*row)
    console.print(t)


def _widths(
    cells: Sequence[Sequence[str]], fixed: Sequence[bool], word_width: int, room: int | None
) -> list[int] | None:
    """Column widths in ``room`` characters (borders included), or None when they cannot fit.

    Fixed columns take their longest cell; a wrapping column at least its longest word up to
    ``word_width``, then a share of what is left, up to its longest cell.
    """
    widths = [max(len(c) for c in col) if keep
              else min(max(len(w) for c in col for w in c.split() or [""]), word_width)
              for col, keep in zip(cells, fixed, strict=True)]
    frame = 3 * len(widths) + 1  # a space either side of each cell, the rules between
    if room is None:
        return widths
    spare = room - frame - sum(widths)
    if spare < 0:
        return None
    wants = [max(len(c) for c in col) for col in cells]
    while spare > 0:  # one character at a time to each column still short of its longest cell
        short = [i for i, w in enumerate(widths) if w < wants[i]]
        if not short:
            break
        for i in short[:spare]:
            widths[i] += 1
        spare -= min(len(short), spare)
    return widths


def as_json(data: Any) -> None:
    """Machine output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str) -> None:
    """An error in full (no truncation), on stderr."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
