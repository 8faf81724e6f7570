"""The weekly timetable in the admin (issue 12 item 6): slots and closed days saved through the
services, "Generate sessions" previews next month by default and creates once."""

from datetime import date, time

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from bookings_app import services
from bookings_app.models import ClosedDate, Session, TimetableSlot
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import InstructorFactory, RideClassFactory
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import staff_user
from spinning.errors import Busy

pytestmark = pytest.mark.django_db

GENERATE = "admin:bookings_app_timetableslot_generate"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):  # Monday 2 March 2026: next month is April
        yield


def client_for(org, role=StaffRole.Role.ADMIN) -> Client:
    client = Client()
    client.force_login(staff_user(org, role))
    return client


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def tuesday(org, layout):
    return services.timetable_slot_create(
        organization=org,
        data={
            "ride_class": RideClassFactory(organization=org, name="SunSet Pulse"),
            "instructor": InstructorFactory(organization=org, name="Selin Arı"),
            "seat_layout": layout,
            "weekday": 1,
            "start_time": time(18, 0),
        },
    )


def test_preview_defaults_to_next_month_and_writes_nothing(org, tuesday):
    ClosedDate.objects.create(organization=org, date=date(2026, 4, 14), reason="Studio holiday")
    client = client_for(org)
    page = client.get(reverse(GENERATE)).content.decode()
    assert 'value="2026-04-01"' in page and 'value="2026-04-30"' in page
    page = client.get(
        reverse(GENERATE), {"organization": org.pk, "date_from": "01.04.2026", "date_to": "30.04.2026"}
    ).content.decode()
    assert "3 sessions will be created" in page and "Skip: closed (Studio holiday)" in page
    assert "Tue 07.04.2026" in page and "18:00–18:50" in page
    assert not Session.objects.exists()


def test_generate_then_again_creates_once(org, tuesday):
    client = client_for(org)
    form = {"organization": org.pk, "date_from": "2026-04-01", "date_to": "2026-04-30"}
    response = client.post(reverse(GENERATE), form)
    assert said(response) == ["4 sessions created for 01.04.2026 – 30.04.2026."]
    assert Session.objects.filter(timetable_slot=tuesday).count() == 4
    page = client.get(reverse(GENERATE), form).content.decode()
    assert "Nothing to create" in page and page.count("Skip: already on the schedule") == 4
    response = client.post(reverse(GENERATE), form)
    assert said(response)[-1] == "0 sessions created for 01.04.2026 – 30.04.2026. Skipped: 4 already on the schedule."
    assert Session.objects.count() == 4
    assert AuditLogEntry.objects.filter(action="timetable.generate").count() == 2


def test_a_range_too_long_is_a_sentence(org, tuesday):
    page = client_for(org).get(
        reverse(GENERATE), {"organization": org.pk, "date_from": "2026-04-01", "date_to": "2026-12-31"}
    )
    assert "At most 92 days at a time." in page.content.decode()


def test_front_desk_reads_the_timetable_but_does_not_generate(org, tuesday):
    client = client_for(org, StaffRole.Role.FRONT_DESK)
    assert client.get(reverse("admin:bookings_app_timetableslot_changelist")).status_code == 200
    response = client.post(
        reverse(GENERATE), {"organization": org.pk, "date_from": "2026-04-01", "date_to": "2026-04-30"}
    )
    assert response.status_code == 302 and not Session.objects.exists()


def test_adding_a_slot_and_a_closed_day_in_the_admin_goes_through_the_services(org, layout):
    client = client_for(org)
    ride_class, instructor = RideClassFactory(organization=org), InstructorFactory(organization=org)
    response = client.post(
        reverse("admin:bookings_app_timetableslot_add"),
        {
            "organization": org.pk,
            "weekday": 3,
            "start_time": "08:30",
            "ride_class": ride_class.pk,
            "instructor": instructor.pk,
            "seat_layout": layout.pk,
            "duration_minutes": "",
            "is_active": "on",
            "valid_from": "",
            "valid_until": "31.12.2026",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    slot = TimetableSlot.objects.get(organization=org)
    assert (slot.weekday, slot.start_time, slot.valid_until) == (3, time(8, 30), date(2026, 12, 31))
    response = client.post(
        reverse("admin:bookings_app_closeddate_add"),
        {"organization": org.pk, "date": "01.05.2026", "reason": "Labour Day"},
    )
    assert response.status_code == 302
    assert ClosedDate.objects.get(organization=org).date == date(2026, 5, 1)
    assert set(AuditLogEntry.objects.values_list("action", flat=True)) == {
        "timetable_slot.create",
        "closed_date.create",
    }
    duplicate = client.post(
        reverse("admin:bookings_app_closeddate_add"), {"organization": org.pk, "date": "2026-05-01", "reason": ""}
    ).content.decode()
    assert "This day is already closed." in duplicate and "closed_date_unique_per_org" not in duplicate


def test_deleting_a_slot_or_a_closed_day_from_its_page_goes_through_the_service(org, tuesday):
    client = client_for(org)
    closed = services.closed_date_create(organization=org, day=date(2026, 4, 1), reason="Holiday")
    for model, row in (("closeddate", closed), ("timetableslot", tuesday)):
        response = client.post(reverse(f"admin:bookings_app_{model}_delete", args=[row.pk]), {"post": "yes"})
        assert response.status_code == 302, model  # was a 500: the service's durable block in the admin's atomic
    assert not ClosedDate.objects.filter(pk=closed.pk).exists()
    assert not TimetableSlot.objects.filter(pk=tuesday.pk).exists()


def test_the_preview_and_the_report_name_an_inactive_instructors_skipped_classes(org, tuesday):
    services.instructor_deactivate(organization=org, instructor_id=tuesday.instructor_id)
    client = client_for(org)
    form = {"organization": org.pk, "date_from": "2026-04-01", "date_to": "2026-04-30"}

    page = client.get(reverse(GENERATE), form).content.decode()
    assert "4 classes skipped: their instructor is inactive (Selin Arı)" in page
    assert page.count("Skip: the instructor is inactive") == 4 and "Nothing to create" in page

    response = client.post(reverse(GENERATE), form)
    assert said(response) == ["0 sessions created for 01.04.2026 – 30.04.2026. Skipped: 4 with an inactive instructor."]
    assert not Session.objects.exists()


def test_a_bulk_delete_refused_meanwhile_is_a_message_not_an_error_page(org, tuesday, monkeypatch):
    # e.g. the studio busy behind a long generation (the lock timed out), or the row gone already
    def busy(**kwargs):
        raise Busy()

    closed = services.closed_date_create(organization=org, day=date(2026, 4, 1), reason="Holiday")
    client = client_for(org)
    for model, row, name in (
        ("closeddate", closed, "closed_date_delete"),
        ("timetableslot", tuesday, "timetable_slot_delete"),
    ):
        monkeypatch.setattr(services, name, busy)
        response = client.post(
            reverse(f"admin:bookings_app_{model}_changelist"),
            {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
        )
        assert response.status_code == 302, model
        assert any("retry" in text for text in said(response)), said(response)
    assert ClosedDate.objects.filter(pk=closed.pk).exists() and TimetableSlot.objects.filter(pk=tuesday.pk).exists()


def test_closing_a_day_that_has_sessions_says_so(org, tuesday):
    services.sessions_generate(organization=org, date_from=date(2026, 4, 7), date_to=date(2026, 4, 7))
    client = client_for(org)

    response = client.post(
        reverse("admin:bookings_app_closeddate_add"), {"organization": org.pk, "date": "07.04.2026", "reason": ""}
    )

    assert response.status_code == 302
    assert "1 session is still scheduled on 07.04.2026: cancel it on the sessions list (its riders are refunded)." in (
        said(response)
    )
    assert Session.objects.get().status == Session.Status.SCHEDULED  # closing cancels nothing
