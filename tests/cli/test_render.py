"""CLI tables on narrow terminals: short columns keep their words, no column is squeezed away."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from ordinis.engines.learning.cli import render

COLUMNS = ("model", "version", "stage", "created", "evaluation", "production", "job")
JOB = "01a22dec-41a4-7000-8037-367d04763d3c"
ROWS = [("spx-signal", f"v{i}", stage, "1995-12-29 21:00:00",
         "demo: 1 required gate(s) passed; 4 of 4 advisory failed (min_sharpe, min_win_rate, "
         "min_profit_factor, sharpe_significant)",
         "stale: more candidates registered since; re-evaluate", JOB)
        for i, stage in enumerate(("staging", "development", "production"), start=1)]


def _draw(monkeypatch: pytest.MonkeyPatch, width: int) -> list[str]:
    buf = io.StringIO()
    monkeypatch.setattr(render, "out", Console(file=buf, width=width, soft_wrap=True))
    render.table(COLUMNS, ROWS, ids=("job",))
    return buf.getvalue().splitlines()


# The rows' narrowest layouts, borders included: 126 columns with every word whole (the longest
# evaluation word is 19), 119 with the wrapping columns down to SHORT_WIDTH.
WORDS_WHOLE, FOLDED = 126, 119


@pytest.mark.parametrize("width", [60, 80, 100, 118, 119, 125, 126, 140])
def test_narrow_terminal_keeps_every_short_cell_and_header_whole(
    monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    lines = _draw(monkeypatch, width)
    text = "\n".join(lines)
    for word in (*COLUMNS, "spx-signal", "staging", "development", "production", "v1", "v3",
                 "1995-12-29", JOB):
        assert word in text, (width, word)
    # the long texts wrap between words, and every word is there whole (gate names such as
    # "min_profit_factor," included) when the terminal has room for the words, or has room for
    # no layout at all (the table is then drawn wider); between, a word above SHORT_WIDTH folds
    drawn_wider = max(len(line) for line in lines) > width
    for word in ROWS[0][4].split() + ROWS[0][5].split():
        assert len(word) <= render.WORD_WIDTH
        if width >= WORDS_WHOLE or drawn_wider or len(word) <= render.SHORT_WIDTH:
            assert word in text, (width, word)
    assert drawn_wider == (width < FOLDED)
    if drawn_wider:  # as narrow as whole words allow
        assert max(len(line) for line in lines) == WORDS_WHOLE


def test_table_fits_the_terminal_when_it_can(monkeypatch: pytest.MonkeyPatch) -> None:
    for width in (FOLDED, WORDS_WHOLE, 140, 160, 200):
        assert max(len(line) for line in _draw(monkeypatch, width)) <= width
    # narrower than its columns' minimum it is drawn wider, never with a column hidden
    narrow = _draw(monkeypatch, 60)
    assert max(len(line) for line in narrow) > 60
    assert "┃┃" not in "\n".join(narrow)


def test_cells_show_floats_to_six_significant_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(render, "out", Console(file=buf, width=120, soft_wrap=True))
    render.table(("metric", "current", "baseline", "n"),
                 [("sharpe", -0.20339150475323814, 0.5615714406316995, 7),
                  ("psi", float("inf"), None, True)])
    text = buf.getvalue()
    assert "-0.203392" in text and "0.561571" in text and "0.2033915" not in text
    assert "inf" in text and "│ -" in text and "True" in text and "│ 7" in text


def test_numbers_show_counts_whole_and_the_rest_to_their_digits() -> None:
    assert render.num(131500.0) == "131500" and render.num(32840.0, 4) == "32840"
    assert render.num(0.50213, 4) == "0.5021" and render.num(-0.1391234) == "-0.139123"
    assert render.num(None) == "-" and render.num(7) == "7"
    assert render.num(float("inf")) == "inf" and render.num(float("nan")) == "nan"
    assert render.num(1e300) == "1e+300"  # too large to be a count


def test_an_empty_table_says_it_has_no_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(render, "out", Console(file=buf, width=100, soft_wrap=True))
    render.table(("test_id", "name"), [])
    assert "(0 rows)" in buf.getvalue() and "test_id" in buf.getvalue()
    buf.truncate(0)
    render.table(("test_id", "name"), [("t1", "sizing")])
    assert "(0 rows)" not in buf.getvalue()


@given(
    st.lists(st.lists(st.text(alphabet="ab -_", max_size=40), min_size=2, max_size=4),
             min_size=1, max_size=6),
    st.integers(min_value=10, max_value=200),
)
def test_widths_fit_the_room_and_never_go_below_a_word_or_above_a_cell(
    columns: list[list[str]], room: int
) -> None:
    fixed = [max(len(c) for c in col) <= render.SHORT_WIDTH for col in columns]
    widths = render._widths(columns, fixed, render.WORD_WIDTH, room)
    floors = render._widths(columns, fixed, render.WORD_WIDTH, None)
    assert floors is not None
    frame = 3 * len(columns) + 1
    if widths is None:
        assert sum(floors) + frame > room
        return
    assert sum(widths) + frame <= room
    for col, width, floor in zip(columns, widths, floors, strict=True):
        assert floor <= width <= max(len(c) for c in col)
    # room left over means every column already shows its longest cell on one line
    if sum(widths) + frame < room:
        assert widths == [max(len(c) for c in col) for col in columns]
