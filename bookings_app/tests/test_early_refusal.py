"""The schedule-drop rush: a taken bike or a full session is refused from the unlocked read,
before the member and session locks, and only when the locked path would give the same answer
(DOMAIN.md 9's order: nothing that comes first may be answered by `seat_taken`)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from bookings_app import services
from bookings_app.errors import (
    AlreadyBooked,
    BookingNotOpen,
    MemberInactive,
    SeatTaken,
    SeatUnavailable,
    SessionFull,
    SessionNotBookable,
)
from bookings_app.models import Booking, Seat, Session
from bookings_app.services import booking as booking_service
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import elite_30, give_credits, make_layout, make_session, seat
from members_app.models import Member
from members_app.tests.factories import MemberFactory, OrganizationFactory
from spinning.errors import Invalid

pytestmark = pytest.mark.django_db


def book(member, session, now=NOW, **kwargs):
    return services.booking_create(
        organization=member.organization, session_id=session.pk, member_id=member.pk, now=now, **kwargs
    )


def held(session, member, bike=None):
    """A live booking written directly (a rider who got there first, however)."""
    return Booking.objects.create(
        organization=session.organization,
        session=session,
        member=member,
        seat=bike,
        payment_type="FREE",
        status="CONFIRMED",
        created_at=NOW,
    )


@pytest.fixture
def no_locks_taken(monkeypatch):
    """Fail if the booking reaches the member lock: the refusal must come before it."""

    def member_lock(**_):
        raise AssertionError("the refusal queued on the member lock")

    monkeypatch.setattr(booking_service, "member_lock", member_lock)


@pytest.fixture
def rider(org):
    member = MemberFactory(organization=org)
    give_credits(member, 5, now=NOW)
    return member


def test_a_taken_bike_is_refused_before_any_lock(org, layout, member, rider, no_locks_taken):
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    held(session, member, seat(layout, "A1"))
    with pytest.raises(SeatTaken):
        book(rider, session, seat_id=seat(layout, "A1").pk)


def test_a_full_session_is_refused_before_any_lock_with_or_without_a_bike(org, layout, member, rider, no_locks_taken):
    session = make_session(org, NOW + timedelta(days=1), layout=layout, capacity=1)
    held(session, member)
    Session.objects.filter(pk=session.pk).update(booked_count=1)
    with pytest.raises(SessionFull):
        book(rider, session)
    with pytest.raises(SessionFull):
        book(rider, session, seat_id=seat(layout, "A2").pk)


def test_a_free_bike_goes_through_the_locks_and_is_booked(org, layout, member, rider):
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    held(session, member, seat(layout, "A1"))
    assert book(rider, session, seat_id=seat(layout, "A2").pk).seat.label == "A2"


# --- what comes before seat_taken in DOMAIN.md 9 keeps its answer ------------------------------------
def test_the_member_asking_again_for_their_own_bike_is_already_booked(org, layout, rider):
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    book(rider, session, seat_id=seat(layout, "A1").pk)
    with pytest.raises(AlreadyBooked):
        book(rider, session, seat_id=seat(layout, "A1").pk)
    with pytest.raises(AlreadyBooked):  # already booked also beats a taken other bike
        held(session, MemberFactory(organization=org), seat(layout, "A2"))
        book(rider, session, seat_id=seat(layout, "A2").pk)


def test_an_inactive_member_is_member_inactive_not_seat_taken(org, layout, member, rider):
    session = make_session(org, NOW + timedelta(days=1), layout=layout, capacity=1)
    held(session, member, seat(layout, "A1"))
    Session.objects.filter(pk=session.pk).update(booked_count=1)
    Member.objects.filter(pk=rider.pk).update(status=Member.Status.INACTIVE)
    with pytest.raises(MemberInactive):
        book(rider, session, seat_id=seat(layout, "A1").pk)
    with pytest.raises(MemberInactive):
        book(rider, session)


def test_before_the_window_opens_it_is_booking_not_open(org, layout, member, rider):
    session = make_session(org, NOW + timedelta(days=10), layout=layout, capacity=1)
    held(session, member, seat(layout, "A1"))
    Session.objects.filter(pk=session.pk).update(booked_count=1)
    with pytest.raises(BookingNotOpen):
        book(rider, session, seat_id=seat(layout, "A1").pk)
    with pytest.raises(BookingNotOpen):
        book(rider, session)


def test_a_priority_holder_in_the_early_window_still_learns_the_bike_is_taken(org, layout, member):
    holder = MemberFactory(organization=org)
    elite_30(holder, now=NOW)
    # opens for everyone 7 days before, for a priority holder 24 hours before that
    session = make_session(org, NOW + timedelta(days=7, hours=12), layout=layout)
    held(session, member, seat(layout, "A1"))
    with pytest.raises(SeatTaken):
        book(holder, session, seat_id=seat(layout, "A1").pk)


def test_a_started_or_cancelled_session_is_not_bookable(org, layout, member, rider):
    session = make_session(org, NOW + timedelta(days=1), layout=layout, capacity=1)
    held(session, member, seat(layout, "A1"))
    Session.objects.filter(pk=session.pk).update(booked_count=1)
    with pytest.raises(SessionNotBookable):
        book(rider, session, now=session.starts_at + timedelta(minutes=1), seat_id=seat(layout, "A1").pk)
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    with pytest.raises(SessionNotBookable):
        book(rider, session, seat_id=seat(layout, "A1").pk)


def test_an_out_of_order_or_foreign_bike_is_seat_unavailable_and_a_non_seat_invalid(org, layout, member, rider):
    session = make_session(org, NOW + timedelta(days=1), layout=layout, capacity=1)
    bike = seat(layout, "A1")
    held(session, member, bike)
    Session.objects.filter(pk=session.pk).update(booked_count=1)
    Seat.objects.filter(pk=bike.pk).update(is_active=False)  # taken, then out of order
    with pytest.raises(SeatUnavailable):
        book(rider, session, seat_id=bike.pk)
    other_layout = make_layout(org, ["NN"])
    with pytest.raises(SeatUnavailable):  # full, but the bike is not of this room
        book(rider, session, seat_id=seat(other_layout, "A1").pk)
    with pytest.raises(Invalid):
        book(rider, session, seat_id=session.pk)


# --- PostgreSQL: the loser does not wait for the session lock ----------------------------------------
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_loser_is_answered_while_the_session_row_is_held():
    org = OrganizationFactory()
    layout = make_layout(org, ["NNNNNN"])
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    winner, loser = MemberFactory(organization=org), MemberFactory(organization=org)
    for rider in (winner, loser):
        give_credits(rider, 1, now=NOW)
    book(winner, session, seat_id=seat(layout, "A1").pk)
    holding, release = threading.Event(), threading.Event()

    def hold_the_session_row():
        try:
            with transaction.atomic():
                list(Session.objects.select_for_update().filter(pk=session.pk))
                holding.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_session_row)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        started = time.monotonic()
        with pytest.raises(SeatTaken):
            book(loser, session, seat_id=seat(layout, "A1").pk)
        assert time.monotonic() - started < 1.0  # the lock timeout is 3 s: it did not queue
    finally:
        release.set()
        holder.join(timeout=10)


# --- outside the transaction (issue 14: the rush's losers pay one read, not a transaction) ------------
def test_a_taken_bike_is_refused_without_opening_a_transaction(
    org, layout, member, rider, no_locks_taken, django_assert_max_num_queries
):
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    bike = seat(layout, "A1")
    held(session, member, bike)
    organization = rider.organization
    # then one read: the session with the bike's holder, the member active?, holding a booking?, the seat
    with django_assert_max_num_queries(1) as captured, pytest.raises(SeatTaken):
        services.booking_create(
            organization=organization, session_id=session.pk, member_id=rider.pk, seat_id=bike.pk, now=NOW
        )
    statements = " ".join(q["sql"].upper() for q in captured.captured_queries)
    assert "INSERT" not in statements and "FOR UPDATE" not in statements  # no key claimed, no lock


def test_a_retry_of_a_booking_that_went_through_replays_it_even_once_the_bike_is_taken(org, layout, member, rider):
    from members_app.idempotency import IdempotencyRequest, IdempotentReplay

    # given a booking made with an Idempotency-Key, then cancelled, and the bike taken by another
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    idem = IdempotencyRequest(user_id=rider.user_id, scope="booking", key="retry-1", request_hash="h")
    first = book(rider, session, seat_id=seat(layout, "A1").pk, idem=idem)
    services.booking_cancel(organization=org, booking_id=first.pk, now=NOW)
    held(session, member, seat(layout, "A1"))
    # when the rider's app retries the same request with the same key
    with pytest.raises(IdempotentReplay) as replay:
        book(rider, session, seat_id=seat(layout, "A1").pk, idem=idem)
    # then it is told about its own booking, not that the bike is taken
    assert replay.value.resource_id == first.pk


def test_a_rider_with_a_fresh_key_is_refused_in_the_same_one_read(
    org, layout, member, rider, no_locks_taken, django_assert_max_num_queries
):
    from members_app.idempotency import IdempotencyRequest

    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    bike = seat(layout, "A1")
    held(session, member, bike)
    organization = rider.organization
    idem = IdempotencyRequest(user_id=rider.user_id, scope="booking", key="rush-7", request_hash="h")
    # the key's look-up rides in the session's read: a key never used costs nothing more
    with django_assert_max_num_queries(1), pytest.raises(SeatTaken):
        services.booking_create(
            organization=organization, session_id=session.pk, member_id=rider.pk, seat_id=bike.pk, now=NOW, idem=idem
        )
