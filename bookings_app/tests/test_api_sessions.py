"""API.md "Schedule": the timetable, the seat map, the roster, staff writes, query budget."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from bookings_app import services
from bookings_app.models import Seat, Session
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import (
    InstructorFactory,
    RideClassFactory,
    elite_30,
    give_credits,
    make_layout,
    make_session,
    seat,
)
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=IST)


def test_anonymous_sees_the_timetable_with_availability(api, org, layout):
    session = make_session(org, local(4, 18), layout=layout)
    response = api(org=org).get("/api/sessions")
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["id"] == str(session.pk)
    assert row["class"] == {
        "id": str(session.ride_class_id),
        "name": session.ride_class.name,
        "name_tr": session.ride_class.name_tr,
    }
    assert row["instructor"]["name"] == session.instructor.name
    assert (row["capacity"], row["booked_count"], row["available_spots"]) == (6, 0, 6)
    assert row["status"] == "SCHEDULED"
    assert row["my_booking_id"] is None
    # opens 7 days before, same local time
    assert parse_datetime(row["booking_opens_at"]) == local(4, 18) - timedelta(days=7)
    assert parse_datetime(row["starts_at"]) == local(4, 18)


def test_sessions_need_the_studio_header_when_anonymous(api, org):
    assert api().get("/api/sessions").json()["code"] == "organization_required"


def test_booking_opens_earlier_for_priority_holders_and_my_booking_id(api, org, layout, member):
    elite_30(member, now=NOW)
    session = make_session(org, local(4, 18), layout=layout)
    booking = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    row = api(user=member.user, org=org).get("/api/sessions/").json()["results"][0]
    assert parse_datetime(row["booking_opens_at"]) == local(4, 18) - timedelta(days=8)
    assert row["my_booking_id"] == str(booking.pk)
    assert (row["booked_count"], row["available_spots"]) == (1, 5)
    # another member does not see it as theirs
    other = MemberFactory(organization=org)
    assert api(user=other.user, org=org).get("/api/sessions").json()["results"][0]["my_booking_id"] is None


def test_from_and_to_are_studio_local_dates_inclusive(api, org, layout):
    # Tuesday 3 March local: 00:30 and 23:30 (21:30 UTC on the 2nd, 20:30 UTC on the 3rd)
    just_after_midnight = make_session(org, local(3, 0, 30), layout=layout)
    late = make_session(org, local(3, 23, 30), layout=layout)
    make_session(org, local(2, 23, 59), layout=layout)
    make_session(org, local(4, 0, 0), layout=layout)
    response = api(org=org).get("/api/sessions?from=2026-03-03&to=2026-03-03")
    assert [r["id"] for r in response.json()["results"]] == [str(just_after_midnight.pk), str(late.pk)]


def test_from_and_to_accept_timestamps(api, org, layout):
    a = make_session(org, local(3, 10), layout=layout)
    make_session(org, local(3, 12), layout=layout)
    client = api(org=org)
    response = client.get("/api/sessions", {"from": "2026-03-03T09:00:00+03:00", "to": "2026-03-03T10:00:00+03:00"})
    assert [r["id"] for r in response.json()["results"]] == [str(a.pk)]
    # a timestamp without an offset is studio-local
    response = client.get("/api/sessions", {"from": "2026-03-03T11:00:00"})
    assert len(response.json()["results"]) == 1
    bad = client.get("/api/sessions", {"from": "next tuesday"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    assert "from" in bad.json()["fields"]


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/sessions?to=9999-12-31", "to"),
        ("/api/sessions?from=0001-01-01", "from"),
        ("/api/sessions?from=0001-01-01T00:00:00%2B14:00", "from"),
        ("/api/bookings?to=9999-12-31", "to"),
        ("/api/bookings?from=0001-01-01", "from"),
    ],
)
def test_from_and_to_past_the_calendar_are_a_field_error(api, org, member, url, field):
    response = api(user=member.user, org=org).get(url)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_sessions_filter_by_class_instructor_location(api, org, layout):
    a = make_session(org, local(3, 10), layout=layout)
    b = make_session(org, local(3, 12), layout=layout)
    client = api(org=org)
    assert [r["id"] for r in client.get(f"/api/sessions?class_id={a.ride_class_id}").json()["results"]] == [str(a.pk)]
    by_instructor = client.get(f"/api/sessions?instructor_id={b.instructor_id}").json()["results"]
    assert [r["id"] for r in by_instructor] == [str(b.pk)]
    assert len(client.get(f"/api/sessions?location_id={layout.location_id}").json()["results"]) == 2


def test_session_detail_has_the_seat_map(api, org, member):
    layout = make_layout(org, ["NPN", "CEX"])
    session = make_session(org, local(4, 18), layout=layout)
    give_credits(member, 2, now=NOW)
    services.booking_create(
        organization=org, session_id=session.pk, member_id=member.pk, seat_id=seat(layout, "A1").pk, now=NOW
    )
    data = api(org=org).get(f"/api/sessions/{session.pk}").json()
    seats = {s["label"]: s for s in data["seats"]}
    assert seats["A1"]["is_bookable"] and not seats["A1"]["is_available"]
    assert seats["A3"]["is_available"]
    assert not seats["A2"]["is_bookable"] and seats["A2"]["type"] == "PODIUM"
    assert seats["B1"]["type"] == "ARCHITECTURAL_COLUMN" and not seats["B1"]["is_available"]
    assert seats["B2"]["credit_cost"] == 2 and seats["B2"]["is_available"]
    assert not seats["B3"]["is_bookable"]  # out of order
    assert set(seats["A1"]) == {"id", "label", "row", "column", "type", "credit_cost", "is_bookable", "is_available"}


def test_another_studios_session_is_not_found(api, org):
    other = make_session(OrganizationFactory(), local(4, 18))
    assert api(org=org).get(f"/api/sessions/{other.pk}").status_code == 404


def test_admin_creates_a_session_with_default_capacity(api, org):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    layout = make_layout(org, ["NPN", "NNE"])
    body = {
        "class_id": str(RideClassFactory(organization=org).pk),
        "instructor_id": str(InstructorFactory(organization=org).pk),
        "location_id": str(layout.location_id),
        "seat_layout_id": str(layout.pk),
        "starts_at": "2026-03-05T18:00:00+03:00",
        "ends_at": "2026-03-05T18:50:00+03:00",
    }
    response = api(user=admin, org=org).post("/api/sessions", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["capacity"] == 5
    assert len(response.json()["seats"]) == 6
    too_many = api(user=admin, org=org).post("/api/sessions", {**body, "capacity": 9}, format="json")
    assert too_many.status_code == 400 and "capacity" in too_many.json()["fields"]
    # front desk and members may not
    desk = staff_user(org, StaffRole.Role.FRONT_DESK)
    assert api(user=desk, org=org).post("/api/sessions", body, format="json").status_code == 403
    member = MemberFactory(organization=org)
    assert api(user=member.user, org=org).post("/api/sessions", body, format="json").status_code == 403


@pytest.mark.parametrize(
    "starts_at, ends_at",
    [("9999-12-31T23:00:00Z", "9999-12-31T23:50:00Z"), ("0001-01-01T00:00:00Z", "0001-01-01T00:50:00Z")],
)
def test_a_session_past_the_calendar_is_refused_and_not_written(api, org, starts_at, ends_at):
    # its booking window, its closing time or its local date would be off the calendar
    admin = staff_user(org, StaffRole.Role.ADMIN)
    layout = make_layout(org)
    body = {
        "class_id": str(RideClassFactory(organization=org).pk),
        "instructor_id": str(InstructorFactory(organization=org).pk),
        "location_id": str(layout.location_id),
        "seat_layout_id": str(layout.pk),
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    response = api(user=admin, org=org).post("/api/sessions", body, format="json")
    assert response.status_code == 400, response.content
    assert "starts_at" in response.json()["fields"]
    assert not Session.objects.filter(organization=org).exists()


def test_staff_cancel_a_session_with_refunds(api, org, layout, member):
    give_credits(member, 1, now=NOW)
    session = make_session(org, local(2, 14), layout=layout)
    booking = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    assert api(user=member.user, org=org).post(f"/api/sessions/{session.pk}/cancel").status_code == 403
    desk = staff_user(org, StaffRole.Role.FRONT_DESK)
    response = api(user=desk, org=org).post(f"/api/sessions/{session.pk}/cancel/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["booked_count"]) == ("CANCELLED", 0)
    booking.refresh_from_db()
    member.refresh_from_db()
    assert (booking.status, booking.refunded, member.credit_balance) == ("CANCELLED", True, 1)
    again = api(user=desk, org=org).post(f"/api/sessions/{session.pk}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


def test_roster_for_staff_and_instructors(api, org, layout, member):
    elite_30(member, now=NOW)
    session = make_session(org, local(4, 18), layout=layout)
    host = services.booking_create(
        organization=org, session_id=session.pk, member_id=member.pk, seat_id=seat(layout, "A1").pk, now=NOW
    )
    services.booking_create(
        organization=org,
        session_id=session.pk,
        member_id=member.pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=host.pk,
        seat_id=seat(layout, "A2").pk,
        now=NOW,
    )
    instructor = staff_user(org, StaffRole.Role.INSTRUCTOR)
    response = api(user=instructor, org=org).get(f"/api/sessions/{session.pk}/roster")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["seat"]["label"], r["is_guest"], r["guest_name"]) for r in rows] == [
        ("A1", False, ""),
        ("A2", True, "Ayşe"),
    ]
    assert rows[0]["member_name"] == member.full_name and rows[0]["checked_in"] is False
    assert api(user=member.user, org=org).get(f"/api/sessions/{session.pk}/roster").status_code == 403


def test_reference_data_crud_is_admin_only_and_scoped(api, org):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    client = api(user=admin, org=org)
    location = client.post("/api/locations", {"name": "Nişantaşı", "address": "Istanbul"}, format="json")
    assert location.status_code == 201
    duplicate = client.post("/api/locations", {"name": "Nişantaşı"}, format="json")
    assert duplicate.status_code == 400
    ride_class = client.post(
        "/api/classes", {"name": "Wake & Ride", "name_tr": "Uyan & Sür", "music_genre": "House"}, format="json"
    )
    assert ride_class.status_code == 201 and ride_class.json()["name_tr"] == "Uyan & Sür"
    assert client.post("/api/instructors", {"name": "Deniz"}, format="json").status_code == 201
    layout = client.post(
        "/api/seat-layouts",
        {"location_id": location.json()["id"], "name": "Main", "rows": 2, "columns": 2},
        format="json",
    )
    assert layout.status_code == 201
    assert [s["label"] for s in layout.json()["seats"]] == ["A1", "A2", "B1", "B2"]
    seat_id = layout.json()["seats"][0]["id"]
    patched = client.patch(f"/api/seats/{seat_id}", {"type": "EXCLUSIVE", "credit_cost": 2}, format="json")
    assert patched.status_code == 200 and patched.json()["credit_cost"] == 2
    # public reads, staff-only writes, other studios see nothing
    assert api(org=org).get("/api/classes").json()["count"] == 1
    assert api(org=org).get(f"/api/seats/{seat_id}").status_code == 200
    assert api(org=OrganizationFactory()).get(f"/api/seats/{seat_id}").status_code == 404
    desk = staff_user(org, StaffRole.Role.FRONT_DESK)
    assert api(user=desk, org=org).post("/api/instructors", {"name": "X"}, format="json").status_code == 403
    # a location with sessions cannot be deleted
    make_session(org, local(4, 18), layout=make_layout(org, location=_location(org, location.json()["id"])))
    refused = client.delete(f"/api/locations/{location.json()['id']}")
    assert (refused.status_code, refused.json()["code"]) == (409, "in_use")


def _location(org, pk):
    from bookings_app.models import Location

    return Location.objects.get(organization=org, pk=pk)


def test_week_list_query_count_is_constant(api, org, django_assert_max_num_queries):
    """The week's timetable with bookings and my_booking_id: the same queries for 3 or 30 sessions."""
    member = MemberFactory(organization=org)
    give_credits(member, 100, now=NOW)
    layout = make_layout(org, ["NNNNNN"])

    def add_sessions(count, start_hour):
        for i in range(count):
            session = make_session(org, local(3 + i % 5, start_hour + i // 5), layout=layout)
            services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
            other = MemberFactory(organization=org)
            give_credits(other, 1, now=NOW)
            services.booking_create(organization=org, session_id=session.pk, member_id=other.pk, now=NOW)

    client = api(user=member.user, org=org)
    url = "/api/sessions?from=2026-03-02&to=2026-03-08"
    add_sessions(3, 6)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url).json()["results"]) == 3
    add_sessions(30, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        results = client.get(url).json()["results"]
    assert len(results) == 33 and all(r["my_booking_id"] for r in results)
    # 6 without the cache (the test settings): the member's own ids are one query of their own
    # since the rest of the page is shared (timetable_cache); a cache hit is 5 (test_timetable_cache)
    assert len(few.captured_queries) <= 6


def test_seat_map_query_count_is_constant(api, org, django_assert_max_num_queries):
    layout = make_layout(org, ["NNNNNN", "NNNNNN", "NNNNNN", "NNNNNN", "NNNNNN"])
    session = make_session(org, local(4, 18), layout=layout)
    for label in ("A1", "B2", "C3", "D4", "E5"):
        rider = MemberFactory(organization=org)
        give_credits(rider, 1, now=NOW)
        services.booking_create(
            organization=org, session_id=session.pk, member_id=rider.pk, seat_id=seat(layout, label).pk, now=NOW
        )
    with django_assert_max_num_queries(5):
        assert len(api(org=org).get(f"/api/sessions/{session.pk}").json()["seats"]) == 30


def test_session_statuses_show_in_the_list(api, org, layout):
    make_session(org, local(1, 18), layout=layout, status=Session.Status.COMPLETED)
    make_session(org, local(4, 18), layout=layout, status=Session.Status.CANCELLED)
    statuses = [r["status"] for r in api(org=org).get("/api/sessions").json()["results"]]
    assert statuses == ["COMPLETED", "CANCELLED"]
    assert api(org=org).get("/api/sessions?status=CANCELLED").json()["count"] == 1


def test_dates_in_a_daylight_saving_zone(api):
    org = OrganizationFactory(timezone="America/New_York")
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/New_York")
    saturday_late = make_session(org, datetime(2026, 3, 7, 23, 30, tzinfo=tz))
    sunday_early = make_session(org, datetime(2026, 3, 8, 0, 30, tzinfo=tz))
    sunday_late = make_session(org, datetime(2026, 3, 8, 23, 30, tzinfo=tz))  # EDT now
    ids = [r["id"] for r in api(org=org).get("/api/sessions?from=2026-03-08&to=2026-03-08").json()["results"]]
    assert ids == [str(sunday_early.pk), str(sunday_late.pk)]
    assert str(saturday_late.pk) not in ids
    assert date(2026, 3, 8)  # the 23-hour day is covered end to end


def test_a_seat_that_cannot_be_booked_shows_no_price(api, org):
    layout = make_layout(org, ["NEIX", "CPNN"])
    Seat.objects.filter(layout=layout, label="A4").update(is_active=False)
    session = make_session(org, local(4, 18), layout=layout)
    seats = {s["label"]: s for s in api(org=org).get(f"/api/sessions/{session.pk}").json()["seats"]}
    assert (seats["A1"]["credit_cost"], seats["A2"]["credit_cost"]) == (1, 2)
    for label in ("A3", "A4", "B1", "B2"):  # instructor, out of order, column, podium
        assert (seats[label]["credit_cost"], seats[label]["is_bookable"]) == (None, False), label


def test_times_are_in_the_studios_offset(api, org, layout):
    make_session(org, local(4, 18), layout=layout)
    (row,) = api(org=org).get("/api/sessions").json()["results"]
    assert row["starts_at"] == "2026-03-04T18:00:00+03:00"
    assert row["booking_opens_at"].endswith("+03:00")
    berlin = OrganizationFactory(timezone="Europe/Berlin")
    make_session(berlin, local(4, 18), layout=make_layout(berlin, ["NN"]))
    (row,) = api(org=berlin).get("/api/sessions").json()["results"]
    assert row["starts_at"] == "2026-03-04T16:00:00+01:00"
