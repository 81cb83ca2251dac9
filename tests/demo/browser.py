"""Debian's chromium, headless with every host name resolving to nothing: run a page, read
its console (shared by the report's browser tests)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

# The page's console as chromium logs it: `...:INFO:CONSOLE:12] "message", source: ...`
# (older builds: `CONSOLE(12)]`).
_CONSOLE = re.compile(r":CONSOLE[(:]\d+\)?\]")


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    message = "chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the browser test")
    pytest.skip(message)


def run_browser(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    # root in containers needs --no-sandbox; every host name resolves to nothing, so any
    # attempt to reach the network would fail and show in the log
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
        "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr", "--v=1", *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def console_messages(log: str) -> list[str]:
    return [line for line in log.splitlines() if _CONSOLE.search(line)]
