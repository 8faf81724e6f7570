"""One renderer per resource: timetable rows (list and detail) come from `.values()` through
`serializers.session_rows`, bookings from BookingSerializer. SessionSerializer only documents the
row: the rendered keys must be its fields, in order, and the values what the models hold."""

import json
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone as django_timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from bookings_app import selectors, services
from bookings_app.models import Session
from bookings_app.serializers import (
    BookingSerializer,
    SessionDetailSerializer,
    SessionSeatSerializer,
    SessionSerializer,
    time_renderer,
)
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import all_access, elite_30, give_credits, make_layout, make_session, seat
from members_app.tests.factories import MemberFactory, OrganizationFactory
from spinning import clock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=IST)


def _time(value):
    return serializers.DateTimeField().to_representation(value)


def serializer_json(organization, member, query: str = ""):
    """The rows as DRF fields would render them from the models, built independently of
    `session_rows` (what the list view rendered with a ModelSerializer before)."""
    queryset = selectors.session_list(organization=organization, member=member)
    if query:
        start, end = query.split("|")
        queryset = selectors.filter_starts_between(
            queryset, field="starts_at", organization=organization, start=start or None, end=end or None
        )
    priority = selectors.member_has_priority(member=member, now=clock.now())
    rows = []
    with django_timezone.override(organization.timezone):
        for session in queryset[:50]:
            opens = selectors.booking_opens_at(session=session, organization=organization, priority=priority)
            mine = getattr(session, "my_booking_id", None)
            entry = getattr(session, "my_waitlist_entry_id", None)
            rows.append(
                {
                    "id": str(session.pk),
                    "class": {
                        "id": str(session.ride_class.pk),
                        "name": session.ride_class.name,
                        "name_tr": session.ride_class.name_tr,
                    },
                    "instructor": {"id": str(session.instructor.pk), "name": session.instructor.name},
                    "location": {"id": str(session.location.pk), "name": session.location.name},
                    "seat_layout_id": str(session.seat_layout_id),
                    "starts_at": _time(session.starts_at),
                    "ends_at": _time(session.ends_at),
                    "status": session.status,
                    "capacity": session.capacity,
                    "booked_count": session.booked_count,
                    "available_spots": max(0, session.capacity - session.booked_count),
                    "booking_opens_at": _time(opens),
                    "my_booking_id": str(mine) if mine else None,
                    "waitlist_count": session.waitlist_count or 0,
                    "my_waitlist_entry_id": str(entry) if entry else None,
                }
            )
    return json.loads(JSONRenderer().render(rows))


def test_the_rendered_keys_are_the_documented_fields(api, org, layout, member):
    session = make_session(org, local(3, 18), layout=layout)
    for client in (api(user=member.user, org=org), api(org=org)):
        (row,) = client.get("/api/sessions").json()["results"]
        assert list(row) == list(SessionSerializer().fields)
        detail = client.get(f"/api/sessions/{session.pk}").json()
        assert list(detail) == list(SessionDetailSerializer().fields)
        assert list(detail["seats"][0]) == list(SessionSeatSerializer().fields)
        assert {key: value for key, value in detail.items() if key != "seats"} == row


def test_the_fast_rows_are_the_serializers_json(api, org, layout, member):
    # a priority holder with a booking, a plain member with a booking, an anonymous caller
    elite_30(member, now=NOW)
    plain = MemberFactory(organization=org)
    give_credits(plain, 5, now=NOW)
    sessions = [
        make_session(org, local(3, 7, 15), layout=layout),
        make_session(org, local(4, 18), layout=layout, capacity=2),
        make_session(org, local(5, 9, 30), layout=layout),
        make_session(org, local(6, 20), layout=make_layout(org, ["NNNN"])),
    ]
    # microseconds in a start time render as DRF renders them
    Session.objects.filter(pk=sessions[2].pk).update(
        starts_at=local(5, 9, 30) + timedelta(microseconds=250), ends_at=local(5, 10, 20)
    )
    services.booking_create(
        organization=org, session_id=sessions[1].pk, member_id=member.pk, seat_id=seat(layout, "A1").pk, now=NOW
    )
    services.booking_create(organization=org, session_id=sessions[1].pk, member_id=plain.pk, now=NOW)  # full
    services.booking_create(organization=org, session_id=sessions[0].pk, member_id=plain.pk, now=NOW)
    services.session_cancel(organization=org, session_id=sessions[3].pk)
    callers = [(member, api(user=member.user, org=org)), (plain, api(user=plain.user, org=org)), (None, api(org=org))]
    for who, client in callers:
        fast = client.get("/api/sessions").json()["results"]
        assert len(fast) == 4
        expected = serializer_json(org, who)
        assert fast == expected
        assert [list(row) for row in fast] == [list(row) for row in expected]  # key order too
    mine = {row["id"]: row["my_booking_id"] for row in callers[0][1].get("/api/sessions").json()["results"]}
    assert mine[str(sessions[1].pk)] is not None and mine[str(sessions[0].pk)] is None
    by_id = {row["id"]: row for row in callers[1][1].get("/api/sessions").json()["results"]}
    assert (by_id[str(sessions[1].pk)]["available_spots"], by_id[str(sessions[3].pk)]["status"]) == (0, "CANCELLED")
    # the priority holder sees booking open a day earlier than the plain member
    holder_rows = callers[0][1].get("/api/sessions").json()["results"]
    assert holder_rows[0]["booking_opens_at"] != by_id[holder_rows[0]["id"]]["booking_opens_at"]


def test_filters_and_pages_keep_the_serializers_json(api, org, layout, member):
    for day in range(2, 9):
        for hour in (7, 18):
            make_session(org, local(day, hour), layout=layout)
    client = api(user=member.user, org=org)
    fast = client.get("/api/sessions?from=2026-03-03&to=2026-03-05").json()["results"]
    assert len(fast) == 6
    assert fast == serializer_json(org, member, "2026-03-03|2026-03-05")
    first = client.get("/api/sessions?page_size=5&page=2").json()
    assert first["count"] == 14
    assert first["results"] == serializer_json(org, member)[5:10]


def test_a_studio_in_a_daylight_saving_zone_renders_the_same(api):
    org = OrganizationFactory(timezone="Europe/Berlin")
    layout = make_layout(org, ["NN"])
    make_session(org, datetime(2026, 3, 30, 8, 0, tzinfo=IST))  # opens across the change of 29 March
    make_session(org, datetime(2026, 3, 28, 18, 0, tzinfo=IST), layout=layout)
    with time_machine.travel(datetime(2026, 3, 25, 12, 0, tzinfo=IST), tick=False):
        fast = api(org=org).get("/api/sessions").json()["results"]
        assert fast == serializer_json(org, None)


# --- the POST /api/bookings answer and the timestamp renderer -----------------------------------------
def test_a_booking_renders_the_same_from_the_service_and_from_the_database(org, layout, member):
    """POST /api/bookings renders the objects the service returns; GET reads them back."""
    give_credits(member, 10, now=NOW)
    elite_30(member, now=NOW)
    sessions = [make_session(org, local(3 + i, 18), layout=layout) for i in range(4)]
    host = services.booking_create(
        organization=org, session_id=sessions[0].pk, member_id=member.pk, seat_id=seat(layout, "B2").pk, now=NOW
    )
    guest = services.booking_create(
        organization=org,
        session_id=sessions[0].pk,
        member_id=member.pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=host.pk,
        now=NOW,
    )
    plain = services.booking_create(organization=org, session_id=sessions[1].pk, member_id=member.pk, now=NOW)
    all_access(member, starts_on=date(2026, 3, 1))
    ridden = services.booking_create(
        organization=org, session_id=sessions[2].pk, member_id=member.pk, seat_id=seat(layout, "A1").pk, now=NOW
    )
    freed = services.booking_create(organization=org, session_id=sessions[3].pk, member_id=member.pk, now=NOW)
    fresh = [host, guest, plain, ridden, freed]  # as the service returned them
    with django_timezone.override("Europe/Istanbul"):
        as_created = [dict(BookingSerializer(b).data) for b in fresh]
    services.booking_cancel(organization=org, booking_id=freed.pk, now=NOW + timedelta(microseconds=7))
    arrival = sessions[2].starts_at - timedelta(minutes=5)
    services.booking_check_in(organization=org, booking_id=ridden.pk, now=arrival)
    stored = [selectors.booking_get(organization=org, booking_id=b.pk) for b in fresh]
    with django_timezone.override("Europe/Istanbul"):
        for created, booking in zip(as_created[:3], stored[:3], strict=True):
            assert created == dict(BookingSerializer(booking).data)
        read = dict(BookingSerializer(stored[3]).data)
        assert read["created_at"].endswith("+03:00") and read["checked_in_at"] is not None
        assert read["session"] == {
            "starts_at": "2026-03-05T18:00:00+03:00",
            "ends_at": read["session"]["ends_at"],
            "class_name": sessions[2].ride_class.name,
            "class_name_tr": sessions[2].ride_class.name_tr,
            "instructor_name": sessions[2].instructor.name,
            "location_name": sessions[2].location.name,
        }
        assert read["all_access_usage_id"] is not None
        assert dict(BookingSerializer(stored[4]).data)["all_access_usage_id"] is None  # freed by the cancel


def test_the_time_renderer_is_drfs_datetime_field():
    values = [
        None,
        NOW,
        NOW + timedelta(microseconds=1),
        local(29, 2, 30),
        datetime(2026, 10, 25, 0, 59, 59, 999999, tzinfo=IST),
        datetime(2026, 3, 4, 18, 0),  # naive: DRF makes it aware in the active zone
    ]
    for zone in ("UTC", "Europe/Istanbul", "America/New_York"):
        with django_timezone.override(zone):
            render = time_renderer()
            for value in values:
                assert render(value) == serializers.DateTimeField().to_representation(value)
