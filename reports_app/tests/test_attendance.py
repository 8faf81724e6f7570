"""Attendance report on a small studio (DOMAIN.md 17): a no-show and a late cancel, by hand."""

import csv
import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings_app.models import Booking, Session
from bookings_app.tests.factories import InstructorFactory, RideClassFactory, make_layout, make_session
from members_app.tests.factories import MemberFactory
from reports_app.selectors import Period, attendance_report
from reports_app.tests.conftest import local

pytestmark = pytest.mark.django_db


def book(session, member, status, checked_in=False):
    return Booking.objects.create(
        organization=session.organization,
        session=session,
        member=member,
        status=status,
        payment_type=Booking.PaymentType.FREE,
        checked_in_at=session.starts_at if checked_in else None,
    )


@pytest.fixture
def studio(org, members):
    """2-4 March 2026, Istanbul:
    - Mon 2nd 19:00 Rhythm / Ayla, 6 bikes: completed (checked in), no-show, late cancel, on-time cancel
    - Wed 4th 07:00 Climb / Burak, 4 bikes: one checked in, one confirmed (not yet closed)
    - Wed 4th 23:30 Rhythm / Burak, 6 bikes: nobody (20:30 UTC: still the 4th in the studio)
    - Tue 3rd 19:00 Rhythm / Ayla, cancelled by the studio: left out, with its bookings
    - Thu 5th 00:30 Climb / Ayla (21:30 UTC on the 4th): after the range
    """
    layout = make_layout(org, ["NNN", "NNN"])
    rhythm, climb = RideClassFactory(organization=org, name="Rhythm"), RideClassFactory(organization=org, name="Climb")
    ayla, burak = InstructorFactory(organization=org, name="Ayla"), InstructorFactory(organization=org, name="Burak")

    def session(when, ride_class, instructor, capacity=6, **extra):
        return make_session(
            org, when, layout=layout, capacity=capacity, ride_class=ride_class, instructor=instructor, **extra
        )

    monday = session(local(2026, 3, 2, 19), rhythm, ayla, status=Session.Status.COMPLETED)
    book(monday, members[0], Booking.Status.COMPLETED, checked_in=True)
    book(monday, members[1], Booking.Status.NO_SHOW)
    book(monday, members[2], Booking.Status.LATE_CANCELLED)
    book(monday, members[3], Booking.Status.CANCELLED)
    morning = session(local(2026, 3, 4, 7), climb, burak, capacity=4)
    book(morning, members[0], Booking.Status.CONFIRMED, checked_in=True)
    book(morning, members[1], Booking.Status.CONFIRMED)
    session(local(2026, 3, 4, 23, 30), rhythm, burak)
    cancelled = session(local(2026, 3, 3, 19), rhythm, ayla, status=Session.Status.CANCELLED)
    book(cancelled, members[4], Booking.Status.CANCELLED)
    after = session(local(2026, 3, 5, 0, 30), climb, ayla)
    book(after, members[5], Booking.Status.CONFIRMED)
    return {"rhythm": rhythm, "climb": climb, "ayla": ayla, "burak": burak, "layout": layout}


def report(org, group_by):
    return attendance_report(
        period=Period(organization=org, first=date(2026, 3, 2), last=date(2026, 3, 4)), group_by=group_by
    )


def figures(rows):
    return [
        (
            r["key"],
            r["label"],
            r["sessions"],
            r["capacity"],
            r["bookings"],
            r["check_ins"],
            r["no_shows"],
            r["late_cancels"],
            r["fill_rate"],
        )
        for r in rows
    ]


def test_by_class(org, studio):
    assert figures(report(org, "class")["rows"]) == [
        (str(studio["climb"].pk), "Climb", 1, 4, 2, 1, 0, 0, "50.00"),
        (str(studio["rhythm"].pk), "Rhythm", 2, 12, 2, 1, 1, 1, "16.67"),
    ]


def test_by_instructor(org, studio):
    assert figures(report(org, "instructor")["rows"]) == [
        (str(studio["ayla"].pk), "Ayla", 1, 6, 2, 1, 1, 1, "33.33"),
        (str(studio["burak"].pk), "Burak", 2, 10, 2, 1, 0, 0, "20.00"),
    ]


def test_by_studio_local_weekday_and_hour(org, studio):
    assert figures(report(org, "weekday")["rows"]) == [
        ("1", "Monday", 1, 6, 2, 1, 1, 1, "33.33"),
        ("3", "Wednesday", 2, 10, 2, 1, 0, 0, "20.00"),
    ]
    assert figures(report(org, "hour")["rows"]) == [
        ("07", "07:00", 1, 4, 2, 1, 0, 0, "50.00"),
        ("19", "19:00", 1, 6, 2, 1, 1, 1, "33.33"),
        ("23", "23:00", 1, 6, 0, 0, 0, 0, "0.00"),
    ]


def test_csv_parses_back(api, org, admin, studio):
    client = api(admin, org)
    url = "/api/reports/attendance?from=2026-03-02&to=2026-03-04&group_by=instructor"
    json_rows = client.get(url).json()["rows"]
    response = client.get(url + "&format=csv")
    assert response.status_code == 200
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert lines == [{k: str(v) for k, v in row.items()} for row in json_rows]
    assert lines[0]["no_shows"] == "1" and lines[0]["late_cancels"] == "1"


def test_query_count_does_not_grow_with_sessions_and_bookings(org, studio):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            for group_by in ("class", "instructor", "weekday", "hour"):
                report(org, group_by)
        return len(ctx.captured_queries)

    before = count()
    for day in (2, 3, 4):
        extra = make_session(org, local(2026, 3, day, 12), layout=studio["layout"], capacity=6)
        for _ in range(3):
            book(extra, MemberFactory(organization=org), Booking.Status.COMPLETED, checked_in=True)
    assert count() == before == 8
