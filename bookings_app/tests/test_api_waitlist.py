"""API.md "Waitlist", the session's `waitlist_count` / `my_waitlist_entry_id`, and
`PATCH /api/sessions/{id}` capacity: what riders and staff see and do over HTTP."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from bookings_app import services
from bookings_app.models import LIVE, Booking, WaitlistEntry
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import give_credits, make_layout, make_session, seat
from bookings_app.tests.test_api_bookings import BOOKING_PATH_MAX_QUERIES
from members_app.ledger_check import ledger_breaches
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

pytestmark = pytest.mark.django_db

W = WaitlistEntry.Status
START = datetime(2026, 3, 4, 18, 0, tzinfo=IST)

# What a member's cancel costs over HTTP (auth, studio, locks, refund, ledger, the answer) inside
# the test transaction; with a waitlist it may cost one booking more (the promotion that runs
# right after the commit). docs/ARCHITECTURE.md "Query budgets".
# + the cancel email: one read of its facts, one outbox INSERT (docs/bookings.md)
CANCEL_PATH_MAX_QUERIES = 26


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield
    assert ledger_breaches() == []


@pytest.fixture
def desk(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)


@pytest.fixture
def admin(org):
    return staff_user(org, StaffRole.Role.ADMIN)


@pytest.fixture
def full(org, layout):
    """Capacity 2, riders on A1 and A2."""
    session = make_session(org, START, layout=layout, capacity=2)
    bookings = []
    for label in ("A1", "A2"):
        rider = MemberFactory(organization=org)
        give_credits(rider, 2, now=NOW)
        bookings.append(
            services.booking_create(
                organization=org, session_id=session.pk, member_id=rider.pk, seat_id=seat(layout, label).pk, now=NOW
            )
        )
    return session, bookings


def rider(org, credits=3):
    member = MemberFactory(organization=org)
    if credits:
        give_credits(member, credits, now=NOW)
    return member


ENTRY_KEYS = {"id", "session_id", "member_id", "status", "position", "booking_id", "joined_at", "updated_at"}


def test_member_joins_and_sees_their_entry(api, org, full):
    session, _ = full
    member = rider(org)
    client = api(user=member.user, org=org)
    response = client.post(f"/api/sessions/{session.pk}/waitlist", {}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == ENTRY_KEYS
    assert (body["status"], body["position"], body["booking_id"]) == ("WAITING", 1, None)
    assert (body["session_id"], body["member_id"]) == (str(session.pk), str(member.pk))
    assert body["joined_at"].endswith("+03:00") or body["joined_at"].endswith("Z")
    # The same entry by id and in the member's list; trailing slash works too.
    assert client.get(f"/api/waitlist/{body['id']}").json() == body
    assert client.get("/api/waitlist/").json()["results"] == [body]
    # Joining twice: 409 already_waitlisted.
    again = client.post(f"/api/sessions/{session.pk}/waitlist/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_waitlisted")


def test_join_refusals_are_409_with_their_codes(api, org, layout, full):
    session, bookings = full
    broke = rider(org, credits=0)
    response = api(user=broke.user, org=org).post(f"/api/sessions/{session.pk}/waitlist", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "insufficient_credits")
    roomy = make_session(org, START + timedelta(hours=1), layout=layout)
    response = api(user=rider(org).user, org=org).post(f"/api/sessions/{roomy.pk}/waitlist", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "session_not_full")
    booked = bookings[0].member
    response = api(user=booked.user, org=org).post(f"/api/sessions/{session.pk}/waitlist", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "already_booked")


def test_staff_add_a_member_and_members_cannot_add_others(api, org, full, desk):
    session, _ = full
    member, other = rider(org), rider(org)
    refused = api(user=other.user, org=org).post(
        f"/api/sessions/{session.pk}/waitlist", {"member_id": str(member.pk)}, format="json"
    )
    assert refused.status_code == 403
    added = api(user=desk, org=org).post(
        f"/api/sessions/{session.pk}/waitlist", {"member_id": str(member.pk)}, format="json"
    )
    assert added.status_code == 201 and added.json()["member_id"] == str(member.pk)
    assert WaitlistEntry.objects.get(pk=added.json()["id"]).added_by == desk


def test_session_waitlist_is_for_staff_first_come_first(api, org, full, desk):
    session, _ = full
    members = [rider(org) for _ in range(3)]
    entries = [
        services.waitlist_join(organization=org, session_id=session.pk, member_id=m.pk, now=NOW) for m in members
    ]
    services.waitlist_leave(organization=org, entry_id=entries[0].pk, member=members[0], now=NOW)
    assert api(user=members[1].user, org=org).get(f"/api/sessions/{session.pk}/waitlist").status_code == 403
    rows = api(user=desk, org=org).get(f"/api/sessions/{session.pk}/waitlist").json()["results"]
    assert [(r["member_id"], r["status"], r["position"]) for r in rows] == [
        (str(members[0].pk), "LEFT", None),
        (str(members[1].pk), "WAITING", 1),
        (str(members[2].pk), "WAITING", 2),
    ]


def test_waitlist_list_filters_and_scoping(api, org, layout, full, desk):
    session, _ = full
    a, b = rider(org), rider(org)
    ea = services.waitlist_join(organization=org, session_id=session.pk, member_id=a.pk, now=NOW)
    eb = services.waitlist_join(organization=org, session_id=session.pk, member_id=b.pk, now=NOW)
    services.waitlist_leave(organization=org, entry_id=eb.pk, member=b, now=NOW)
    staff = api(user=desk, org=org)
    ids = lambda query: [r["id"] for r in staff.get(f"/api/waitlist?{query}").json()["results"]]  # noqa: E731
    assert set(ids(f"session_id={session.pk}")) == {str(ea.pk), str(eb.pk)}
    assert ids(f"member_id={a.pk}") == [str(ea.pk)]
    assert ids("status=LEFT") == [str(eb.pk)]
    bad = staff.get("/api/waitlist?status=NOPE")
    assert bad.status_code == 400
    # A member sees only their own; another's entry is 404; another studio's too.
    assert [r["id"] for r in api(user=a.user, org=org).get("/api/waitlist").json()["results"]] == [str(ea.pk)]
    assert api(user=a.user, org=org).get(f"/api/waitlist/{eb.pk}").status_code == 404
    stranger = staff_user(OrganizationFactory(), StaffRole.Role.ADMIN)
    assert api(user=stranger).get(f"/api/waitlist/{ea.pk}").status_code == 404


def test_leave_by_member_is_left_by_staff_removed_then_invalid_state(api, org, full, desk):
    session, _ = full
    a, b = rider(org), rider(org)
    ea = services.waitlist_join(organization=org, session_id=session.pk, member_id=a.pk, now=NOW)
    eb = services.waitlist_join(organization=org, session_id=session.pk, member_id=b.pk, now=NOW)
    left = api(user=a.user, org=org).post(f"/api/waitlist/{ea.pk}/leave")
    assert (left.status_code, left.json()["status"], left.json()["position"]) == (200, "LEFT", None)
    assert api(user=a.user, org=org).post(f"/api/waitlist/{eb.pk}/leave").status_code == 404
    removed = api(user=desk, org=org).post(f"/api/waitlist/{eb.pk}/leave")
    assert (removed.status_code, removed.json()["status"]) == (200, "REMOVED")
    again = api(user=a.user, org=org).post(f"/api/waitlist/{ea.pk}/leave")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


def test_sessions_show_waitlist_count_and_my_entry(api, org, full):
    session, _ = full
    a, b = rider(org), rider(org)
    entry = services.waitlist_join(organization=org, session_id=session.pk, member_id=a.pk, now=NOW)
    services.waitlist_join(organization=org, session_id=session.pk, member_id=b.pk, now=NOW)
    mine = api(user=a.user, org=org)
    row = mine.get("/api/sessions").json()["results"][0]
    assert (row["waitlist_count"], row["my_waitlist_entry_id"]) == (2, str(entry.pk))
    detail = mine.get(f"/api/sessions/{session.pk}").json()
    assert (detail["waitlist_count"], detail["my_waitlist_entry_id"]) == (2, str(entry.pk))
    anonymous = api(org=org).get("/api/sessions").json()["results"][0]
    assert (anonymous["waitlist_count"], anonymous["my_waitlist_entry_id"]) == (2, None)
    services.waitlist_leave(organization=org, entry_id=entry.pk, member=a, now=NOW)
    row = mine.get("/api/sessions").json()["results"][0]
    assert (row["waitlist_count"], row["my_waitlist_entry_id"]) == (1, None)


def test_a_members_cancel_promotes_the_first_rider(api, org, layout, full, django_capture_on_commit_callbacks):
    session, bookings = full
    waiting = rider(org)
    entry = services.waitlist_join(organization=org, session_id=session.pk, member_id=waiting.pk, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = api(user=bookings[1].member.user, org=org).post(f"/api/bookings/{bookings[1].pk}/cancel")
    assert cancelled.status_code == 200
    body = api(user=waiting.user, org=org).get(f"/api/waitlist/{entry.pk}").json()
    assert (body["status"], body["position"]) == ("PROMOTED", None)
    booking = api(user=waiting.user, org=org).get(f"/api/bookings/{body['booking_id']}").json()
    assert (booking["seat"]["label"], booking["payment_type"], booking["status"]) == ("A2", "CREDIT", "CONFIRMED")


def test_patch_capacity_refuses_below_bookings_and_raising_promotes(
    api, org, full, admin, desk, django_capture_on_commit_callbacks
):
    session, _ = full
    entries = [
        services.waitlist_join(organization=org, session_id=session.pk, member_id=rider(org).pk, now=NOW)
        for _ in range(2)
    ]
    client = api(user=admin, org=org)
    below = client.patch(f"/api/sessions/{session.pk}", {"capacity": 1}, format="json")
    assert (below.status_code, below.json()["code"]) == (409, "capacity_below_bookings")
    too_many = client.patch(f"/api/sessions/{session.pk}", {"capacity": 99}, format="json")
    assert (too_many.status_code, too_many.json()["code"]) == (400, "validation_error")
    assert api(user=desk, org=org).patch(f"/api/sessions/{session.pk}", {"capacity": 3}, format="json").status_code == (
        403
    )
    with django_capture_on_commit_callbacks(execute=True):
        raised = client.patch(f"/api/sessions/{session.pk}", {"capacity": 3}, format="json")
    assert raised.status_code == 200
    assert [WaitlistEntry.objects.get(pk=e.pk).status for e in entries] == [W.PROMOTED, W.WAITING]
    assert raised.json()["capacity"] == 3


def test_patch_instructor(api, org, full, admin):
    from bookings_app.tests.factories import InstructorFactory

    session, _ = full
    coach = InstructorFactory(organization=org)
    response = api(user=admin, org=org).patch(
        f"/api/sessions/{session.pk}", {"instructor_id": str(coach.pk)}, format="json"
    )
    assert (response.status_code, response.json()["instructor"]["id"]) == (200, str(coach.pk))


# --- query budget ---------------------------------------------------------------------------------------
def _cancel_queries(api, org, booking, capture) -> int:
    client = api(user=booking.member.user, org=org)
    client.get("/api/organization")  # warm the token and studio lookups like any other request
    # Delivery is the background thread's (or Celery's) in production, not the request's: off here.
    with override_settings(NOTIFY_DELIVERY="off"), CaptureQueriesContext(connection) as queries, capture(execute=True):
        assert client.post(f"/api/bookings/{booking.pk}/cancel").status_code == 200
    return len(queries.captured_queries)


def test_a_cancel_with_a_waitlist_costs_at_most_one_booking_more(api, org, django_capture_on_commit_callbacks):
    layout = make_layout(org, ["NNNNNN"])
    plain = make_session(org, START, layout=layout, capacity=2)
    waited = make_session(org, START + timedelta(hours=2), layout=layout, capacity=2)
    made = {}
    for session in (plain, waited):
        made[session.pk] = [
            services.booking_create(
                organization=org, session_id=session.pk, member_id=rider(org).pk, seat_id=seat(layout, lbl).pk, now=NOW
            )
            for lbl in ("A1", "A2")
        ]
    for _ in range(15):  # a long waitlist: the cost must not grow with it
        services.waitlist_join(organization=org, session_id=waited.pk, member_id=rider(org).pk, now=NOW)
    without = _cancel_queries(api, org, made[plain.pk][0], django_capture_on_commit_callbacks)
    with_waitlist = _cancel_queries(api, org, made[waited.pk][0], django_capture_on_commit_callbacks)
    assert Booking.objects.filter(LIVE, session=waited).count() == 2  # promoted
    assert without <= CANCEL_PATH_MAX_QUERIES, without
    assert with_waitlist <= CANCEL_PATH_MAX_QUERIES + BOOKING_PATH_MAX_QUERIES, with_waitlist
    print(f"cancel: {without} queries; with a waitlist of 15 and a promotion: {with_waitlist}")


def test_waitlist_list_query_count_is_constant(api, org, layout, full, desk, django_assert_max_num_queries):
    session, _ = full
    client = api(user=desk, org=org)
    for _ in range(3):
        services.waitlist_join(organization=org, session_id=session.pk, member_id=rider(org).pk, now=NOW)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/waitlist")
    for _ in range(17):  # up to the default waitlist_max_size of 20
        services.waitlist_join(organization=org, session_id=session.pk, member_id=rider(org).pk, now=NOW)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/api/waitlist").json()["count"] == 20
