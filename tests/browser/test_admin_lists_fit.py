"""Every list of the back office fits a 1,366 x 768 laptop screen (issue 12 item 7), and no page
tells staff about "server time" (item 8): the admin runs in the studio's time zone.

A studio ADMIN (who sees every screen of the studio) opens each list linked from the admin's
home on a demo studio with a day of bookings, a waitlist and a generated month; the table must
not be wider than the window. The forms with dates and times must show no time-zone warning.

BROWSER_SCREENSHOTS=all keeps a screenshot of each list in tests/browser/screenshots/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from bookings_app import services
from bookings_app.models import Session
from members_app.models import Member, Organization
from spinning import clock

from .chromium import BROWSER_TEST
from .test_admin_flows import ADMIN_EMAIL, ADMIN_PASSWORD, expect, login

pytestmark = [*BROWSER_TEST, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 768}

#: the forms with date or time inputs staff fill in
FORMS_WITH_TIMES = [
    "/admin/bookings_app/session/add/",
    "/admin/bookings_app/timetableslot/add/",
    "/admin/packages_app/package/add/",
    "/admin/packages_app/coupon/add/",
]


@pytest.fixture
def studio(live_server) -> Organization:
    call_command("seed_demo", stdout=StringIO())
    studio = Organization.objects.get(slug="demo")
    today = clock.local_date(clock.now(), studio.timezone)
    services.sessions_generate(organization=studio, date_from=today, date_to=today + timedelta(days=30))
    return studio


def list_urls(page) -> list[str]:
    hrefs = page.locator("#content-main a, #nav-sidebar a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return sorted({h for h in hrefs if h and re.fullmatch(r"/admin/[a-z_]+/[a-z]+/", h)})


def overflow(page) -> int:
    """How many pixels the list is wider than its room (0 when it fits): the page against the
    window, and the table against its box (the admin scrolls a wide table inside `.results`,
    which hides its last columns)."""
    return page.evaluate(
        """() => {
            const box = document.querySelector('#changelist .results');
            const inside = box ? box.scrollWidth - box.clientWidth : 0;
            return Math.max(0, document.documentElement.scrollWidth - window.innerWidth, inside);
        }"""
    )


def test_every_list_fits_a_laptop_screen_and_no_page_speaks_of_server_time(page, studio):
    page.set_viewport_size(LAPTOP)
    login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto("/admin/")
    urls = list_urls(page)
    assert "/admin/bookings_app/session/" in urls and "/admin/members_app/member/" in urls

    too_wide = {}
    for url in urls:
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
        name = url.strip("/").replace("/", "-")
        page.shot(f"1366-{name}")
        if (wider := overflow(page)) > 0:
            too_wide[url] = wider
    assert too_wide == {}, f"lists wider than 1366 px (by px): {too_wide}"

    # The desk's own pages: Today, a roster with its map and waitlist, a member's page, the
    # timetable's generation preview.
    session = Session.objects.filter(organization=studio, booked_count__gt=0).order_by("starts_at").first()
    member = Member.objects.get(organization=studio, user__email="elif@example.com")
    pages = {
        "today": "/admin/",
        "roster": f"/admin/bookings_app/session/{session.pk}/roster/",
        "member": f"/admin/members_app/member/{member.pk}/change/",
        "generate": "/admin/bookings_app/timetableslot/generate/?date_from=2027-01-01&date_to=2027-01-31",
    }
    for name, url in pages.items():
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
        page.shot(f"1366-page-{name}")
        if (wider := overflow(page)) > 0:
            too_wide[url] = wider
    assert too_wide == {}, f"pages wider than 1366 px (by px): {too_wide}"

    for url in FORMS_WITH_TIMES:
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
        page.wait_for_load_state("load")
        assert "server time" not in page.locator("body").inner_text(), url
        if url.endswith("/session/add/"):  # the browser runs in UTC, the studio in Istanbul: the
            assert page.locator(".timezonewarning").count() > 0  # note is there, and not shown
        page.shot(f"1366-form-{url.strip('/').replace('/', '-')}")
