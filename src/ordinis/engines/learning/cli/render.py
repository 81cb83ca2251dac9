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
    words down to that width. A narrow terminal then wraps the long texts instead of standing
    the short columns ("stage", "staging") on end, one letter per line.
    """
    rows = [[cell(v) for v in row] for row in rows]
    # An empty table says so (psql's "(0 rows)"), so that no output is not mistaken for a fault.
    t = Table(title=title, caption=None if rows else "(0 rows)")
    least = 1  # the narrowest the table can be drawn without hiding a column: borders...
    for i, name in enumerate(columns):
        cells = (name, *(r[i] for r in rows))
        longest = max(len(c) for c in cells)
        if name in ids or longest <= SHORT_WIDTH:
            # ids keep their full width (copyable); short columns (stage, version) too
            width = longest
            t.add_column(name, no_wrap=True, min_width=width)
        else:
            width = min(max(len(w) for c in cells for w in c.split() or [""]), SHORT_WIDTH)
            t.add_column(name, overflow="fold", min_width=width)
        least += width + 3  # ... and each column's padding and rule
    for row in rows:
        t.add_row(*row)
    if least + 3 <= out.width:  # Rich's layout may take a column or two more than the sum
        out.print(t)
    else:  # Narrower, Rich would squeeze the wrapping columns to nothing: draw the table wider
        # than the terminal (which wraps the lines; no cell is lost). Console.print clamps its
        # ``width`` to the console's, hence a wider console on the same file.
        Console(file=out.file, width=least, soft_wrap=True,
                force_terminal=out.is_terminal, no_color=out.no_color).print(t)


def as_json(data: Any) -> None:
    """Machine output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str) -> None:
    """An error in full (no truncation), on stderr."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
