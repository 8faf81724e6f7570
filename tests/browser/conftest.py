"""Fixtures for the browser tests: Debian's chromium through Playwright, one browser per module,
a fresh context (cookies) per test, bounded timeouts, and a screenshot when a test fails.

Set BROWSER_SCREENSHOTS=all to also keep a screenshot of every named step (for a human to look at).
"""

from __future__ import annotations

import os
import re

import pytest

from .chromium import (
    ACTION_TIMEOUT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    NAVIGATION_TIMEOUT_MS,
    SCREENSHOTS,
    chromium_missing_reason,
)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:150]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module", autouse=True)
def _expect_timeout():
    """Playwright's `expect` waits as long as an action may (ACTION_TIMEOUT_MS), not its own 5 s."""
    if chromium_missing_reason() is None:
        from playwright.sync_api import expect

        expect.set_options(timeout=ACTION_TIMEOUT_MS)


@pytest.fixture(scope="module")
def _async_unsafe_allowed():
    """Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from a
    thread with a running loop. The calls here are plain synchronous ones, so allow them, for this
    module only."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="module")
def chromium(_async_unsafe_allowed):
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(request, chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    page.shot = lambda name: _step_shot(page, request.node.name, name)
    try:
        yield page
    finally:
        failed = any(
            getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
            for when in ("setup", "call")
        )
        if failed:
            SCREENSHOTS.mkdir(exist_ok=True)
            path = SCREENSHOTS / f"{_safe(request.node.name)}-FAILED.png"
            try:
                page.screenshot(path=str(path), full_page=True, timeout=ACTION_TIMEOUT_MS)
                print(f"\nscreenshot of the failure: {path}  (page: {page.url})")
            except Exception as exc:  # the page may be gone; the failure itself is what matters
                print(f"\nno screenshot of the failure: {exc}")
        context.close()


def _step_shot(page, test_name: str, step: str) -> None:
    if os.environ.get("BROWSER_SCREENSHOTS") != "all":
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{_safe(test_name)}-{_safe(step)}.png"), full_page=True)
