"""The HTML report in a real headless browser (Debian's chromium): it loads without errors,
every figure is there, nothing is fetched from the network; a screenshot is saved.

Fails (never skips) when ``CI`` is set and chromium is missing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from browser import chromium, console_messages, run_browser
from matplotlib.image import imread
from sample_record import sample_record

from ordinis.engines.learning.demo.report_html import FIGURES, write_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(sample_record(), tmp_path_factory.mktemp("report") / "report.html")


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text.lower()
    assert "@import" not in text


def test_the_breaker_table_lists_trips_or_says_there_were_none(
    report: Path, tmp_path: Path
) -> None:
    text = report.read_text(encoding="utf-8")
    assert "No breaker tripped." not in text and "still open" in text
    # a stretch counts its trips (the first and each failed probe), as the breaker does
    assert re.search(r"<td>portfolio</td><td>[\d-]+</td><td>[\d-]+</td><td>3</td>", text)
    assert "<td>execution</td><td>" in text and "still open</td><td>1</td>" in text
    assert "Circuit-breaker trips (4, in 2 stretches)" in text
    quiet = sample_record()
    quiet.trips = []
    text = write_report(quiet, tmp_path / "quiet.html").read_text(encoding="utf-8")
    assert '<td colspan="5">No breaker tripped.</td>' in text


def test_report_loads_in_chromium_with_every_figure(report: Path) -> None:
    browser = chromium()
    done = run_browser(browser, "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for name in FIGURES:
        m = re.search(rf"<figure[^>]*data-figure=\"{name}\"[^>]*>(.*?)</figure>", dom, re.S)
        assert m is not None, f"figure {name!r} missing from the rendered page"
        assert "<svg" in m.group(1) and "<path" in m.group(1), f"figure {name!r} is empty"
    assert "did not beat" in dom or "beat the" in dom  # the verdict is stated
    errors = console_messages(done.stderr)
    assert not errors, "browser console reported errors:\n" + "\n".join(errors[:20])


def test_console_check_catches_a_page_that_reaches_out(tmp_path: Path) -> None:
    """The console check is not vacuous: a page that loads a remote image is caught."""
    browser = chromium()
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><img src='https://cdn.example.invalid/x.png'>"
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    done = run_browser(browser, "--dump-dom", page.as_uri())
    messages = console_messages(done.stderr)
    assert any("boom" in m for m in messages), done.stderr[-2000:]


def test_report_screenshot(report: Path, tmp_path: Path) -> None:
    browser = chromium()
    shot = tmp_path / "report.png"
    done = run_browser(
        browser, "--hide-scrollbars", "--window-size=1280,3200", f"--screenshot={shot}",
        report.as_uri(),
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[1] == 1280
    assert float(pixels[..., :3].std()) > 0.05, "the screenshot is blank"
    keep = os.environ.get("ORDINIS_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
