"""The API docs in a real browser, offline (issue 9): Swagger UI (/api/docs/) and ReDoc
(/api/redoc/) load only from this server — every request to another host is blocked and
recorded — and show the operations. Screenshots: tests/browser/screenshots/api-docs-*.png."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from .chromium import BROWSER_TEST, SCREENSHOTS

pytestmark = [*BROWSER_TEST, pytest.mark.django_db(transaction=True)]

LOCAL_HOSTS = {"localhost", "127.0.0.1"}
# ReDoc's "API docs by Redocly" link in its side menu shows a logo from its CDN (an <img> in the
# bundle, no setting turns it off). Blocked like the rest; nothing else is asked for.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def offline(page) -> list[str]:
    """Abort every request that leaves this machine; return the list of what was tried."""
    tried: list[str] = []

    def route(route):
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            tried.append(url)
            route.abort()

    page.route("**/*", route)
    return tried


def test_swagger_ui_renders_the_operations_offline(page):
    tried = offline(page)
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/bookings" in text for text in paths)
    assert page.locator(".opblock").count() > 50
    page.get_by_text("Book a bike").first.wait_for()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs-swagger.png"))
    assert tried == []


def test_redoc_renders_the_operations_offline(page):
    tried = offline(page)
    page.goto("/api/redoc/")
    page.locator("h2", has_text="Book a bike").first.wait_for(timeout=30000)
    page.locator("h2", has_text="Cancel a booking").first.wait_for()
    assert page.locator("h2").count() > 50  # one per operation
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs-redoc.png"))
    assert set(tried) <= {REDOC_LOGO}
