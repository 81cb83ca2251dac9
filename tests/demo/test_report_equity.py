"""The equity figure keeps every book visible: the closed loop wide and solid, the other books
thinner and dashed on top of it, so where the loop tracks the static model closely both show
(in the full demo, -8.97 % against -8.90 % a year, the loop had vanished under the other)."""

from __future__ import annotations

import re

from sample_record import sample_record

from ordinis.engines.learning.demo.report_html import render_html

LOOP, STATIC, HOLD = "#1f77b4", "#ff7f0e", "#7f7f7f"


def _line_styles(svg: str) -> list[str]:
    """The style of each unfilled path in drawing order (the axes' lines, then the legend's)."""
    return re.findall(r'style="(fill: none;[^"]*)"', svg)


def test_the_closed_loop_is_wide_and_solid_and_the_other_books_dashed_over_it() -> None:
    html = render_html(sample_record())
    m = re.search(r"<figure[^>]*data-figure='equity'[^>]*>(.*?)</figure>", html, re.S)
    assert m is not None
    styles = _line_styles(m.group(1))

    def first(colour: str) -> int:
        return next(i for i, st in enumerate(styles)
                    if f"stroke: {colour};" in st and "stroke-opacity" not in st)

    loop, static, hold = first(LOOP), first(STATIC), first(HOLD)
    assert loop < static and loop < hold  # the dashed books are drawn over the loop
    assert "stroke-dasharray" not in styles[loop] and "stroke-width: 2.4" in styles[loop]
    for other in (static, hold):
        assert "stroke-dasharray" in styles[other] and "stroke-width: 1.1" in styles[other]
