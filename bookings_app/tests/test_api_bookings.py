"""API.md "Bookings": what a rider and the front desk see and do."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings_app import services
from bookings_app.models import Booking
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import all_access, elite_30, give_credits, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditTransaction, StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

pytestmark = pytest.mark.django_db

# What the booking path may cost, end to end through HTTP (auth, studio, locks, checks, payment,
# ledger, the response), in the test run (whose outer transaction turns the service's durable
# transaction into a SAVEPOINT / RELEASE pair). Written down in docs/bookings.md. The member's
# confirmation email is one INSERT into the outbox (sent after the commit, outside the count).
BOOKING_PATH_MAX_QUERIES = 18  # 19 before the studio was resolved in one query (spinning/tenancy.py)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield
    assert ledger_breaches() == []


@pytest.fixture
def session(org, layout):
    return make_session(org, datetime(2026, 3, 4, 18, 0, tzinfo=IST), layout=layout)


@pytest.fixture
def desk(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)


def post_booking(client, **body):
    return client.post(
        "/api/bookings", {k: (str(v) if v is not None else None) for k, v in body.items()}, format="json"
    )


def test_member_books_a_bike_with_credits(api, org, layout, session, member):
    give_credits(member, 5, now=NOW)
    response = post_booking(api(user=member.user, org=org), session_id=session.pk, seat_id=seat(layout, "B2").pk)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "session_id",
        "session",
        "member_id",
        "seat",
        "status",
        "payment_type",
        "credit_cost",
        "credits_used",
        "package_redemption_id",
        "all_access_usage_id",
        "is_guest",
        "guest_name",
        "host_booking_id",
        "refunded",
        "checked_in_at",
        "cancelled_at",
        "created_at",
    }
    assert body["seat"] == {"id": str(seat(layout, "B2").pk), "label": "B2", "credit_cost": 2}
    assert (body["status"], body["payment_type"], body["credit_cost"], body["credits_used"]) == (
        "CONFIRMED",
        "CREDIT",
        2,
        2,
    )
    assert (body["member_id"], body["session_id"]) == (str(member.pk), str(session.pk))
    # what a member app shows of the ride, in the studio's offset, without a second call
    assert body["session"] == {
        "starts_at": "2026-03-04T18:00:00+03:00",
        "ends_at": session.ends_at.astimezone(IST).isoformat(),
        "class_name": session.ride_class.name,
        "class_name_tr": session.ride_class.name_tr,
        "instructor_name": session.instructor.name,
        "location_name": session.location.name,
    }
    me = api(user=member.user, org=org).get("/api/members/me").json()
    assert me["credit_balance"] == 3


def test_all_access_booking_shows_its_usage(api, org, session, member):
    aa = all_access(member, starts_on=date(2026, 3, 1))
    body = post_booking(api(user=member.user, org=org), session_id=session.pk).json()
    assert (body["payment_type"], body["package_redemption_id"]) == ("ALL_ACCESS", str(aa.pk))
    assert body["all_access_usage_id"]
    usage = api(user=member.user, org=org).get(f"/api/redemptions/{aa.pk}/all-access-usage").json()
    assert usage == [
        {
            "id": body["all_access_usage_id"],
            "usage_date": "2026-03-04",
            "slot": 1,
            "booking_id": body["id"],
            "was_no_show": False,
        }
    ]
    # staff see it too; another member does not
    desk = staff_user(org, StaffRole.Role.FRONT_DESK)
    assert api(user=desk, org=org).get(f"/api/redemptions/{aa.pk}/all-access-usage/").status_code == 200
    other = MemberFactory(organization=org)
    assert api(user=other.user, org=org).get(f"/api/redemptions/{aa.pk}/all-access-usage").status_code == 404


def test_staff_cancelling_an_all_access_cancels_the_bookings_it_no_longer_covers(api, org, session, member, desk):
    aa = all_access(member, starts_on=date(2026, 3, 1))
    booking_id = post_booking(api(user=member.user, org=org), session_id=session.pk).json()["id"]
    # a dry run first: what the cancel takes, nothing changed
    preview = api(user=desk, org=org).post(f"/api/redemptions/{aa.pk}/cancel", {"dry_run": True}, format="json")
    assert preview.status_code == 200, preview.json()
    assert preview.json()["status"] == "ACTIVE"
    effects = {"credits_removed": 0, "all_access_ends_on": "2026-03-01", "booking_ids_cancelled": [booking_id]}
    assert preview.json()["cancel_effects"] == effects
    assert api(user=member.user, org=org).get(f"/api/bookings/{booking_id}").json()["status"] == "CONFIRMED"
    response = api(user=desk, org=org).post(f"/api/redemptions/{aa.pk}/cancel", {"reason": "refund"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "CANCELLED"
    assert response.json()["cancel_effects"] == effects
    # cancelled with nothing given back: the pass's day stays used (the pass is gone anyway)
    booking = api(user=member.user, org=org).get(f"/api/bookings/{booking_id}").json()
    assert (booking["status"], booking["refunded"]) == ("CANCELLED", False)
    usage = api(user=member.user, org=org).get(f"/api/redemptions/{aa.pk}/all-access-usage").json()
    assert [u["booking_id"] for u in usage] == [booking_id]
    me = api(user=member.user, org=org).get("/api/members/me").json()
    assert (me["has_all_access"], me["all_access_expires_at"]) == (False, None)
    listed = api(org=org).get(f"/api/sessions/{session.pk}").json()
    assert (listed["booked_count"], listed["available_spots"]) == (0, listed["capacity"])


@pytest.mark.parametrize(
    "setup, body, status, code",
    [
        ("none", {}, 409, "insufficient_credits"),
        ("credits", {"seat_id": "not-a-uuid"}, 400, "validation_error"),
        ("credits", {"seat_id": "00000000-0000-0000-0000-000000000000"}, 400, "validation_error"),
        ("credits", {"payment_method": "FREE"}, 403, "permission_denied"),
        ("credits", {"payment_method": "BARTER"}, 400, "validation_error"),
        ("credits", {"payment_method": "FRIEND_PASS", "guest_name": "Ayşe"}, 409, "host_booking_required"),
        ("credits", {"payment_method": "ALL_ACCESS"}, 409, "insufficient_credits"),
        ("aa_used", {}, 409, "daily_limit_reached"),
    ],
)
def test_refusals_through_the_api(api, org, session, member, setup, body, status, code):
    if setup == "credits":
        give_credits(member, 5, now=NOW)
    if setup == "aa_used":
        all_access(member, starts_on=date(2026, 3, 1))
        morning = make_session(org, datetime(2026, 3, 4, 8, 30, tzinfo=IST))
        services.booking_create(organization=org, session_id=morning.pk, member_id=member.pk, now=NOW)
    response = post_booking(api(user=member.user, org=org), session_id=session.pk, **body)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert Booking.objects.filter(session=session).count() == 0


def test_unknown_or_foreign_session_is_not_found(api, org, member):
    foreign = make_session(OrganizationFactory(), datetime(2026, 3, 4, 18, 0, tzinfo=IST))
    response = post_booking(api(user=member.user, org=org), session_id=foreign.pk)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_seat_taken_and_already_booked(api, org, layout, session, member):
    other = MemberFactory(organization=org)
    give_credits(member, 5, now=NOW)
    give_credits(other, 5, now=NOW)
    bike = seat(layout, "A1").pk
    assert post_booking(api(user=member.user, org=org), session_id=session.pk, seat_id=bike).status_code == 201
    taken = post_booking(api(user=other.user, org=org), session_id=session.pk, seat_id=bike)
    assert (taken.status_code, taken.json()["code"]) == (409, "seat_taken")
    twice = post_booking(api(user=member.user, org=org), session_id=session.pk)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_booked")


def test_idempotency_key_replays_the_first_booking(api, org, layout, session, member):
    give_credits(member, 5, now=NOW)
    client = api(user=member.user, org=org)
    client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_IDEMPOTENCY_KEY="k-1")
    first = post_booking(client, session_id=session.pk, seat_id=seat(layout, "A1").pk)
    again = post_booking(client, session_id=session.pk, seat_id=seat(layout, "A1").pk)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert CreditTransaction.objects.filter(member=member, type="BOOKING_PAYMENT").count() == 1
    different = post_booking(client, session_id=session.pk, seat_id=seat(layout, "A2").pk)
    assert (different.status_code, different.json()["code"]) == (409, "idempotency_key_reused")
    member.refresh_from_db()
    assert member.credit_balance == 4


def test_staff_book_for_a_member_who_then_sees_and_cancels_it(api, org, session, member, desk):
    give_credits(member, 1, now=NOW)
    staff_client = api(user=desk, org=org)
    response = post_booking(staff_client, session_id=session.pk, member_id=member.pk)
    assert response.status_code == 201
    booking_id = response.json()["id"]
    assert response.json()["member_id"] == str(member.pk)
    rider = api(user=member.user, org=org)
    assert [b["id"] for b in rider.get("/api/bookings").json()["results"]] == [booking_id]
    cancelled = rider.post(f"/api/bookings/{booking_id}/cancel")
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["refunded"]) == ("CANCELLED", True)
    # staff without a member record must name the member
    missing = post_booking(staff_client, session_id=session.pk)
    assert (missing.status_code, missing.json()["code"]) == (400, "validation_error")


def test_staff_comp_booking(api, org, session, member, desk):
    response = post_booking(api(user=desk, org=org), session_id=session.pk, member_id=member.pk, payment_method="FREE")
    assert response.status_code == 201
    assert (response.json()["payment_type"], response.json()["credits_used"]) == ("FREE", 0)


def test_a_member_cannot_book_for_someone_else(api, org, session, member):
    other = MemberFactory(organization=org)
    give_credits(other, 1, now=NOW)
    response = post_booking(api(user=member.user, org=org), session_id=session.pk, member_id=other.pk)
    assert response.status_code == 403


def test_members_see_only_their_own_bookings(api, org, session, member, desk):
    other = MemberFactory(organization=org)
    for rider in (member, other):
        give_credits(rider, 1, now=NOW)
    mine = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    theirs = services.booking_create(organization=org, session_id=session.pk, member_id=other.pk, now=NOW)
    rider = api(user=member.user, org=org)
    assert [b["id"] for b in rider.get("/api/bookings").json()["results"]] == [str(mine.pk)]
    assert rider.get(f"/api/bookings/{theirs.pk}").status_code == 404
    assert rider.post(f"/api/bookings/{theirs.pk}/cancel").status_code == 404
    assert rider.get(f"/api/members/{other.pk}/bookings").status_code == 404
    assert [b["id"] for b in rider.get(f"/api/members/{member.pk}/bookings").json()["results"]] == [str(mine.pk)]
    staff = api(user=desk, org=org)
    assert staff.get("/api/bookings").json()["count"] == 2
    assert staff.get(f"/api/bookings?member_id={other.pk}").json()["count"] == 1
    assert staff.get(f"/api/bookings?session_id={session.pk}&status=CONFIRMED").json()["count"] == 2
    assert staff.get("/api/bookings?from=2026-03-04&to=2026-03-04").json()["count"] == 2
    assert staff.get("/api/bookings?from=2026-03-05").json()["count"] == 0
    assert staff.get(f"/api/members/{other.pk}/bookings/").json()["count"] == 1
    # another studio's staff see none of it
    foreign_admin = staff_user(OrganizationFactory(slug="elsewhere"), StaffRole.Role.ADMIN)
    assert api(user=foreign_admin, org="elsewhere").get(f"/api/bookings/{mine.pk}").status_code == 404


def test_late_cancel_by_a_member_keeps_the_credits_even_if_asking_for_a_refund(api, org, member):
    give_credits(member, 1, now=NOW)
    soon = make_session(org, NOW + timedelta(hours=3))
    booking = services.booking_create(organization=org, session_id=soon.pk, member_id=member.pk, now=NOW)
    response = api(user=member.user, org=org).post(
        f"/api/bookings/{booking.pk}/cancel", {"refund": True}, format="json"
    )
    assert (response.json()["status"], response.json()["refunded"]) == ("LATE_CANCELLED", False)
    again = api(user=member.user, org=org).post(f"/api/bookings/{booking.pk}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


def test_staff_cancel_late_with_refund(api, org, member, desk):
    give_credits(member, 1, now=NOW)
    soon = make_session(org, NOW + timedelta(hours=3))
    booking = services.booking_create(organization=org, session_id=soon.pk, member_id=member.pk, now=NOW)
    response = api(user=desk, org=org).post(f"/api/bookings/{booking.pk}/cancel/", {"refund": True}, format="json")
    assert (response.json()["status"], response.json()["refunded"]) == ("CANCELLED", True)
    member.refresh_from_db()
    assert member.credit_balance == 1


def test_check_in_and_no_show_permissions(api, org, member, desk):
    give_credits(member, 2, now=NOW)
    first = make_session(org, NOW + timedelta(minutes=30))
    second = make_session(org, NOW + timedelta(minutes=40))
    a = services.booking_create(organization=org, session_id=first.pk, member_id=member.pk, now=NOW)
    b = services.booking_create(organization=org, session_id=second.pk, member_id=member.pk, now=NOW)
    instructor = staff_user(org, StaffRole.Role.INSTRUCTOR)
    assert api(user=member.user, org=org).post(f"/api/bookings/{a.pk}/check-in").status_code == 403
    checked = api(user=instructor, org=org).post(f"/api/bookings/{a.pk}/check-in")
    assert checked.status_code == 200 and checked.json()["checked_in_at"]
    assert api(user=instructor, org=org).post(f"/api/bookings/{b.pk}/no-show").status_code == 403
    early = api(user=desk, org=org).post(f"/api/bookings/{b.pk}/no-show")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_state")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        marked = api(user=desk, org=org).post(f"/api/bookings/{b.pk}/no-show/")
    assert (marked.status_code, marked.json()["status"]) == (200, "NO_SHOW")


def test_friend_pass_through_the_api(api, org, layout, session, member):
    elite_30(member, now=NOW)
    client = api(user=member.user, org=org)
    host = post_booking(client, session_id=session.pk, seat_id=seat(layout, "A1").pk).json()
    guest = post_booking(
        client,
        session_id=session.pk,
        seat_id=seat(layout, "A2").pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=host["id"],
    )
    assert guest.status_code == 201, guest.json()
    assert (guest.json()["is_guest"], guest.json()["host_booking_id"], guest.json()["payment_type"]) == (
        True,
        host["id"],
        "FRIEND_PASS",
    )
    assert client.get("/api/members/me").json()["friend_passes_available"] == 0
    client.post(f"/api/bookings/{host['id']}/cancel")
    assert client.get(f"/api/bookings/{guest.json()['id']}").json()["status"] == "CANCELLED"
    assert client.get("/api/members/me").json()["friend_passes_available"] == 1


def test_booking_path_uses_a_fixed_small_number_of_queries(
    api, org, layout, session, member, django_assert_max_num_queries
):
    give_credits(member, 5, now=NOW)
    give_credits(member, 5, now=NOW, expires_at=NOW + timedelta(days=3))
    client = api(user=member.user, org=org)
    exclusive, normal = seat(layout, "B2").pk, seat(layout, "A1").pk
    with CaptureQueriesContext(connection) as credits_path:
        assert post_booking(client, session_id=session.pk, seat_id=exclusive).status_code == 201
    other = make_session(org, datetime(2026, 3, 5, 18, 0, tzinfo=IST), layout=layout)
    all_access(member, starts_on=date(2026, 3, 1))
    with CaptureQueriesContext(connection) as all_access_path:
        assert post_booking(client, session_id=other.pk, seat_id=normal).status_code == 201
    print(f"booking path queries: credits {len(credits_path)}, all access {len(all_access_path)}")
    assert len(credits_path) <= BOOKING_PATH_MAX_QUERIES
    assert len(all_access_path) <= BOOKING_PATH_MAX_QUERIES
    # and it does not grow with the size of the session or the member's history
    for _ in range(10):
        rider = MemberFactory(organization=org)
        give_credits(rider, 1, now=NOW)
    third = make_session(org, datetime(2026, 3, 6, 18, 0, tzinfo=IST), layout=layout)
    for rider in list(org.members.exclude(pk=member.pk))[:5]:
        services.booking_create(organization=org, session_id=third.pk, member_id=rider.pk, now=NOW)
    with django_assert_max_num_queries(len(all_access_path)):
        assert post_booking(client, session_id=third.pk, seat_id=exclusive).status_code == 201


def test_a_new_booking_is_rendered_from_the_service_objects_exactly_as_read_back(api, org, layout, session, member):
    """POST renders the booking the service holds (no re-read); GET reads it from the database."""
    give_credits(member, 5, now=NOW)
    elite_30(member, now=NOW)
    client = api(user=member.user, org=org)
    other = make_session(org, datetime(2026, 3, 5, 18, 0, tzinfo=IST), layout=layout)
    third = make_session(org, datetime(2026, 3, 6, 18, 0, tzinfo=IST), layout=layout)
    answers = []
    with time_machine.travel(NOW + timedelta(microseconds=123456), tick=False):  # created_at keeps its µs
        host = post_booking(client, session_id=session.pk, seat_id=seat(layout, "B2").pk)  # credits, a bike
        answers.append(host)
        answers.append(  # a friend-pass guest
            post_booking(
                client,
                session_id=session.pk,
                seat_id=seat(layout, "A2").pk,
                payment_method="FRIEND_PASS",
                guest_name="Ayşe",
                host_booking_id=host.json()["id"],
            )
        )
        answers.append(post_booking(client, session_id=other.pk))  # no bike
        all_access(member, starts_on=date(2026, 3, 1))
        answers.append(post_booking(client, session_id=third.pk, seat_id=seat(layout, "A1").pk))  # All Access
    for answer in answers:
        assert answer.status_code == 201, answer.json()
        assert answer.json() == client.get(f"/api/bookings/{answer.json()['id']}").json()
    payments = [a.json()["payment_type"] for a in answers]
    assert payments == ["CREDIT", "FRIEND_PASS", "CREDIT", "ALL_ACCESS"]
    assert answers[3].json()["all_access_usage_id"] is not None
    assert answers[0].json()["created_at"].endswith(".123456+03:00")  # the studio's offset


# --- what a member app needs (issue 9) ---------------------------------------------------------------
def test_upcoming_lists_my_coming_rides_soonest_first(api, org, layout, member):
    # given rides on Thursday, Wednesday and Friday, one of them cancelled, one already over
    give_credits(member, 10, now=NOW)
    client = api(user=member.user, org=org)
    thursday = make_session(org, datetime(2026, 3, 5, 18, 0, tzinfo=IST), layout=layout)
    wednesday = make_session(org, datetime(2026, 3, 4, 7, 0, tzinfo=IST), layout=layout)
    friday = make_session(org, datetime(2026, 3, 6, 9, 0, tzinfo=IST), layout=layout)
    past = make_session(org, datetime(2026, 3, 2, 8, 0, tzinfo=IST), layout=layout)
    booked = {}
    for name, ride in (("thu", thursday), ("wed", wednesday), ("fri", friday)):
        booked[name] = services.booking_create(organization=org, session_id=ride.pk, member_id=member.pk, now=NOW)
    earlier = NOW - timedelta(days=1)
    services.booking_create(organization=org, session_id=past.pk, member_id=member.pk, now=earlier)
    services.booking_cancel(organization=org, booking_id=booked["fri"].pk, now=NOW)
    someone = MemberFactory(organization=org)
    give_credits(someone, 1, now=NOW)
    services.booking_create(organization=org, session_id=wednesday.pk, member_id=someone.pk, now=NOW)
    # when the member asks for what is coming
    upcoming = client.get("/api/bookings?upcoming=true").json()["results"]
    # then their confirmed rides not yet started, soonest first, with what the app shows
    assert [b["id"] for b in upcoming] == [str(booked["wed"].pk), str(booked["thu"].pk)]
    assert upcoming[0]["session"]["starts_at"] == "2026-03-04T07:00:00+03:00"
    assert upcoming[0]["session"]["class_name"] == wednesday.ride_class.name
    # and the plain list: every booking of theirs, by session start, latest first
    everything = client.get("/api/bookings").json()["results"]
    starts = [b["session"]["starts_at"] for b in everything]
    assert len(everything) == 4 and starts == sorted(starts, reverse=True)
    assert client.get("/api/bookings?upcoming=false").json()["count"] == 4
    assert client.get(f"/api/members/{member.pk}/bookings?upcoming=true").json()["count"] == 2


def test_booking_list_query_count_is_constant(api, org, layout, member, django_assert_max_num_queries):
    give_credits(member, 40, now=NOW)
    client = api(user=member.user, org=org)

    def book(count, day):
        for hour in range(count):
            ride = make_session(org, datetime(2026, 3, day, 6 + hour, 0, tzinfo=IST), layout=layout)
            services.booking_create(organization=org, session_id=ride.pk, member_id=member.pk, now=NOW)

    book(2, 4)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/bookings?upcoming=true").json()["count"] == 2
    book(12, 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/bookings?upcoming=true").json()["results"]) == 14


def test_the_ledger_names_the_ride_in_studio_time(api, org, layout, session, member):
    give_credits(member, 5, now=NOW)
    client = api(user=member.user, org=org)
    assert post_booking(client, session_id=session.pk).status_code == 201
    rows = client.get(f"/api/members/{member.pk}/credit-transactions").json()["results"]
    assert rows[0]["description"] == f"Booking: {session.ride_class.name} 2026-03-04 18:00 +03:00"
    assert rows[0]["created_at"].endswith("+03:00")


def test_upcoming_takes_only_true_or_false(api, org, member):
    response = api(user=member.user, org=org).get("/api/bookings?upcoming=yes")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and "upcoming" in response.json()["fields"]
