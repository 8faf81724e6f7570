"""An ADMIN generating next month's timetable in a real browser (issue 12 item 6): the weekly
timetable (seeded by `seed_demo`), a new Monday class added with the slot form, a closed day
(New Year's Day style holiday on the first of next month), the preview of "Generate sessions"
with next month as the default range, generating, and a second preview with nothing left to
create.

BROWSER_SCREENSHOTS=all keeps a screenshot of each step in tests/browser/screenshots/.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from bookings_app import services
from bookings_app.models import ClosedDate, Session, TimetableSlot
from bookings_app.services.timetable import next_month
from members_app.models import AuditLogEntry, Organization
from spinning import clock

from .chromium import BROWSER_TEST
from .test_admin_flows import ADMIN_EMAIL, ADMIN_PASSWORD, expect, login, success_message

pytestmark = [*BROWSER_TEST, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def studio(live_server) -> Organization:
    call_command("seed_demo", stdout=StringIO())
    return Organization.objects.get(slug="demo")


def test_admin_generates_next_months_timetable(page, studio):
    first, last = next_month(clock.local_date(clock.now(), studio.timezone))
    login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("link", name="Weekly classes").first.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(17)  # DOMAIN.md 13: Tue-Sun, none on Monday
    page.shot("timetable-list")

    # A new class on Mondays, 19:00, 45 minutes, with the slot form.
    page.get_by_role("link", name=re.compile("Add weekly class")).click()
    page.select_option("#id_weekday", label="Monday")
    page.fill("#id_start_time", "19:00")
    page.select_option("#id_ride_class", label="Moonlight Ride")
    page.select_option("#id_instructor", label="Deniz Aksoy")
    page.select_option("#id_seat_layout", index=1)
    page.fill("#id_duration_minutes", "45")
    page.shot("timetable-slot-add")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(success_message(page)).to_contain_text("was added successfully")
    expect(page.locator("#result_list tbody tr")).to_have_count(18)

    # The first of next month is a holiday.
    page.locator("#content-main").get_by_role("link", name="Closed days").click()
    page.get_by_role("link", name=re.compile("Add closed day")).click()
    page.fill("#id_date", first.isoformat())
    page.fill("#id_reason", "Studio holiday")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(success_message(page)).to_contain_text("was added successfully")
    page.shot("closed-day-added")

    page.goto("/admin/bookings_app/timetableslot/")
    page.get_by_role("link", name="Generate sessions").click()
    expect(page.locator("#id_date_from")).to_have_value(first.isoformat())
    expect(page.locator("#id_date_to")).to_have_value(last.isoformat())
    page.get_by_role("button", name="Preview").click()
    plan = services.timetable_plan(organization=studio, date_from=first, date_to=last)
    to_create = len(plan.to_create)
    assert to_create > 50 and plan.count("closed") >= 1
    expect(page.locator("#plan-summary")).to_contain_text(f"{to_create} sessions will be created")
    expect(page.locator("#plan-summary")).to_contain_text("Studio holiday")
    expect(page.locator("#plan tbody tr.skip").first).to_contain_text("Skip: closed (Studio holiday)")
    expect(page.locator("#plan tbody tr", has_text="Moonlight Ride").filter(has_text="19:00–19:45")).not_to_have_count(
        0
    )
    assert Session.objects.filter(timetable_slot__isnull=False).count() == 0  # a preview writes nothing
    page.shot("generate-preview")

    page.get_by_role("button", name=f"Generate {to_create} sessions").click()
    expect(success_message(page)).to_contain_text(
        f"{to_create} sessions created for {first:%d.%m.%Y} – {last:%d.%m.%Y}."
    )
    expect(success_message(page)).to_contain_text("on closed days")
    expect(page.locator("#nothing-to-create")).to_be_visible()
    page.shot("generated-nothing-left")

    generated = Session.objects.filter(organization=studio, timetable_slot__isnull=False)
    assert generated.count() == to_create
    assert all(clock.local_date(s.starts_at, studio.timezone) != first for s in generated)  # the closed day
    monday = TimetableSlot.objects.get(organization=studio, weekday=0)
    assert {int((s.ends_at - s.starts_at).total_seconds() // 60) for s in monday.sessions.all()} == {45}
    assert ClosedDate.objects.filter(organization=studio, reason="Studio holiday").exists()
    (entry,) = AuditLogEntry.objects.filter(organization=studio, action="timetable.generate")
    assert entry.changes["created"] == to_create and entry.changes["skipped_closed"] == plan.count("closed")

    page.goto("/admin/bookings_app/session/")
    page.shot("sessions-list")
