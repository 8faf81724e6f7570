"""Where the browser is and how it is started (shared by the fixtures and the skip markers)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Debian's chromium (CI installs it with apt); CHROMIUM_PATH overrides it, e.g. to check the skip
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
#: per action (click, fill, wait for a selector) and per navigation, in milliseconds
ACTION_TIMEOUT_MS = int(os.environ.get("BROWSER_ACTION_TIMEOUT_MS", "5000"))
NAVIGATION_TIMEOUT_MS = int(os.environ.get("BROWSER_NAVIGATION_TIMEOUT_MS", "10000"))


def chromium_missing_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium; CI installs it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


#: the marks every browser test module starts from: `pytestmark = [*BROWSER_TEST, ...]`
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or ""),
]
