"""Waitlist races on PostgreSQL (DOMAIN.md 14: "each freed spot goes to exactly one entry, under
any concurrency, and promotion never oversells").

As in test_concurrency.py: N threads behind a Barrier, each closing its connection; a pause hook
widens the window between a check and its write. Each control switches the row locks off and
shows that more requests get past the Python checks than may win, and that the database (the
conditional capacity update, the one-rider-per-bike and one-booking-per-member constraints, the
entry's conditional UPDATE) still lets only the allowed number through.
"""

import threading
import time
from contextlib import nullcontext
from datetime import datetime, timedelta

import pytest

from bookings_app import services
from bookings_app.models import LIVE, Booking, WaitlistEntry
from bookings_app.services import waitlist as waitlist_services
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import give_credits, make_layout, make_session, seat
from bookings_app.tests.test_concurrency import Window, outcome, race
from members_app.ledger_check import ledger_breaches
from members_app.tests.factories import MemberFactory, OrganizationFactory
from spinning import locking

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

W = WaitlistEntry.Status
START = datetime(2026, 3, 4, 18, 0, tzinfo=IST)
INSIDE_CUTOFF = START - timedelta(minutes=30)  # a cancel here frees a spot without promoting


def _rider(org, credits=3):
    member = MemberFactory(organization=org)
    give_credits(member, credits, now=NOW)
    return member


def _setup(capacity=2, waiting=4):
    """A full session (riders on A1, A2, ...) and `waiting` riders on its waitlist."""
    org = OrganizationFactory(timezone="Europe/Istanbul")
    layout = make_layout(org, ["NNNNNN"])
    session = make_session(org, START, layout=layout, capacity=capacity)
    bookings = [
        services.booking_create(
            organization=org, session_id=session.pk, member_id=_rider(org).pk, seat_id=seat(layout, f"A{i}").pk, now=NOW
        )
        for i in range(1, capacity + 1)
    ]
    entries = [
        services.waitlist_join(organization=org, session_id=session.pk, member_id=_rider(org).pk, now=NOW)
        for _ in range(waiting)
    ]
    return org, layout, session, bookings, entries


def _assert_consistent(session):
    session.refresh_from_db()
    live = Booking.objects.filter(LIVE, session=session)
    assert session.booked_count == live.count() <= session.capacity
    seats = [b.seat_id for b in live if b.seat_id]
    assert len(seats) == len(set(seats))  # no bike held twice
    members = [b.member_id for b in live]
    assert len(members) == len(set(members))
    for entry in WaitlistEntry.objects.filter(session=session, status=W.PROMOTED):
        assert entry.booking.status == "CONFIRMED" and entry.booking.member_id == entry.member_id
    assert ledger_breaches() == []


def _promote(org, session):
    return lambda: services.waitlist_promote(organization=org, session_id=session.pk, now=NOW)


# --- one freed spot, many promotions at once --------------------------------------------------------------
def _one_spot_freed():
    org, layout, session, bookings, entries = _setup(capacity=2, waiting=4)
    services.booking_cancel(organization=org, booking_id=bookings[0].pk, by_staff=True, now=INSIDE_CUTOFF)
    return org, session, entries


def test_a_freed_spot_goes_to_exactly_one_entry():
    org, session, entries = _one_spot_freed()
    window = Window("capacity_checked", 0.05)
    with locking.pause_hook(window):
        oks, refused, errors = outcome(race([_promote(org, session) for _ in range(6)]))
    assert errors == [] and refused == []
    assert sum(len(report.promoted) for _, report in oks) == 1
    assert window.passed == 1  # the member and session locks made every other round re-check and stop
    assert [WaitlistEntry.objects.get(pk=e.pk).status for e in entries] == [W.PROMOTED, W.WAITING, W.WAITING, W.WAITING]
    _assert_consistent(session)


def test_a_freed_spot_control_without_locks_the_database_stops_the_oversell():
    org, session, entries = _one_spot_freed()
    window = Window("capacity_checked", 0.3)
    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([_promote(org, session) for _ in range(6)]))
    assert window.passed > 1  # the race is real: several rounds got past the Python re-count
    assert errors == []
    assert sum(len(report.promoted) for _, report in oks) == 1
    assert WaitlistEntry.objects.filter(session=session, status=W.PROMOTED).count() == 1
    _assert_consistent(session)


# --- two cancels at once ------------------------------------------------------------------------------------
def _cancel(org, booking):
    return lambda: services.booking_cancel(organization=org, booking_id=booking.pk, now=NOW)


def test_two_cancels_at_once_promote_two_different_riders():
    org, layout, session, bookings, entries = _setup(capacity=2, waiting=4)
    window = Window("capacity_checked", 0.05)
    with locking.pause_hook(window):
        oks, refused, errors = outcome(race([_cancel(org, b) for b in bookings]))
    assert errors == [] and refused == [] and len(oks) == 2
    assert window.passed == 2  # one booking per promotion; nobody got past the checks twice
    statuses = [WaitlistEntry.objects.get(pk=e.pk) for e in entries]
    assert [e.status for e in statuses] == [W.PROMOTED, W.PROMOTED, W.WAITING, W.WAITING]
    assert statuses[0].member_id != statuses[1].member_id
    assert {e.booking.seat.label for e in statuses[:2]} == {"A1", "A2"}
    _assert_consistent(session)


def test_two_cancels_control_without_locks_the_database_keeps_one_booking_per_rider():
    org, layout, session, bookings, entries = _setup(capacity=2, waiting=4)
    window = Window("capacity_checked", 0.3)
    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([_cancel(org, b) for b in bookings]))
    assert errors == [] and len(oks) == 2
    assert window.passed > 2  # both promotions went for the first rider; the database refused one
    promoted = WaitlistEntry.objects.filter(session=session, status=W.PROMOTED)
    assert promoted.count() == 2 and len({e.member_id for e in promoted}) == 2
    _assert_consistent(session)


# --- a cancel racing a new booking for the same bike ------------------------------------------------------
def _cancel_against_booking(locks: bool):
    org, layout, session, bookings, entries = _setup(capacity=2, waiting=1)
    newcomer = _rider(org)
    bike = seat(layout, "A1")
    started = threading.Event()

    def hook(point):
        if point == "waitlist_promotion_starting":
            started.set()  # the cancel has committed; its promotion starts now

    def book_the_bike():
        started.wait(timeout=10)
        return services.booking_create(
            organization=org, session_id=session.pk, member_id=newcomer.pk, seat_id=bike.pk, now=NOW
        )

    with locking.pause_hook(hook):
        if locks:
            results = race([_cancel(org, bookings[0]), book_the_bike])
        else:
            with locking.locks_disabled():
                results = race([_cancel(org, bookings[0]), book_the_bike])
    oks, refused, errors = outcome(results)
    assert errors == []
    holders = list(Booking.objects.filter(LIVE, session=session, seat=bike).values_list("member_id", flat=True))
    assert len(holders) == 1  # the bike went to one of them
    entry = WaitlistEntry.objects.get(pk=entries[0].pk)
    if holders[0] == newcomer.pk:
        assert entry.status == W.WAITING and len(oks) == 2
    else:
        assert holders[0] == entry.member_id and entry.status == W.PROMOTED
        assert refused in (["seat_taken"], ["session_full"])
    _assert_consistent(session)


def test_a_cancel_racing_a_new_booking_for_the_same_bike_gives_it_to_one():
    _cancel_against_booking(locks=True)


def test_a_cancel_racing_a_new_booking_control_without_locks_the_bike_constraint_decides():
    _cancel_against_booking(locks=False)


def test_the_database_refuses_one_freed_bike_given_to_two_waiting_riders():
    # Two promotions of two different entries onto the same bike, with every lock off: the
    # partial unique constraint on live bookings per bike refuses the second.
    org, layout, session, bookings, entries = _setup(capacity=2, waiting=2)
    services.session_update(organization=org, session_id=session.pk, data={"capacity": 4}, now=INSIDE_CUTOFF)
    bike = seat(layout, "A3")
    window = Window("capacity_checked", 0.3)

    def book(entry):
        return lambda: waitlist_services._book_entry(
            organization=org, entry=entry, seat_id=bike.pk, booked_by=None, now=NOW
        )

    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(e) for e in entries]))
    assert window.passed == 2 and errors == []
    assert len(oks) == 1 and refused == ["seat_taken"]
    assert Booking.objects.filter(LIVE, session=session, seat=bike).count() == 1
    _assert_consistent(session)


# --- leaving while being promoted ---------------------------------------------------------------------------
def _leave_against_promotion(locks: bool):
    org, session, entries = _one_spot_freed()
    first = entries[0]
    # Only the first rider waits: the race is about that one entry.
    for other in entries[1:]:
        services.waitlist_leave(organization=org, entry_id=other.pk, by_staff=True, now=NOW)
    booked, checked = Window("waitlist_booked", 0.3), Window("waitlist_leave_checked", 0.3)

    def hook(point):
        booked(point)
        checked(point)

    def leave():
        return services.waitlist_leave(organization=org, entry_id=first.pk, member=first.member, now=NOW)

    with locking.pause_hook(hook):
        if locks:
            results = race([_promote(org, session), leave])
        else:
            with locking.locks_disabled():
                results = race([_promote(org, session), leave])
    oks, refused, errors = outcome(results)
    assert errors == []
    entry = WaitlistEntry.objects.get(pk=first.pk)
    live = Booking.objects.filter(LIVE, session=session, member=first.member)
    if entry.status == W.LEFT:
        assert not live.exists() and entry.booking is None
        first.member.refresh_from_db()
        assert first.member.credit_balance == 3  # the rolled-back booking took nothing
    else:
        assert entry.status == W.PROMOTED and live.count() == 1 and refused == ["invalid_state"]
    _assert_consistent(session)
    return booked.passed + checked.passed


def test_a_rider_leaving_while_being_promoted_ends_left_or_promoted():
    _leave_against_promotion(locks=True)


def test_leaving_while_promoted_control_without_locks_the_conditional_update_decides():
    passed = _leave_against_promotion(locks=False)
    assert passed == 2  # both got past their checks; one conditional UPDATE found the entry moved


# --- staff promoting by hand while a rider books --------------------------------------------------------
def _hand_promotion_against_booking(locks: bool):
    """A spot opened (capacity 2 -> 4, no automatic promotion); staff promote the waiting rider by
    hand while another rider books A3, the cheapest free bike, the one the promotion picks."""
    org, layout, session, _, (entry,) = _setup(capacity=2, waiting=1)
    type(session).objects.filter(pk=session.pk).update(capacity=4)
    rider = _rider(org)
    picked = threading.Event()

    def hook(point):
        if point == "waitlist_bike_picked":
            picked.set()
            time.sleep(0.5)

    def promote():
        return services.waitlist_entry_promote(organization=org, entry_id=entry.pk, booked_by=None, now=NOW)

    def book():
        picked.wait(timeout=10)
        return services.booking_create(
            organization=org, session_id=session.pk, member_id=rider.pk, seat_id=seat(layout, "A3").pk, now=NOW
        )

    with locking.pause_hook(hook), locking.locks_disabled() if not locks else nullcontext():
        results = race([promote, book])
    assert picked.is_set()
    _assert_consistent(session)
    return results, entry


def test_a_hand_promotion_picks_its_bike_under_the_locks():
    (promoted, booked), entry = _hand_promotion_against_booking(locks=True)
    # The rider's booking waited for the promotion, which kept the bike it chose.
    assert promoted[0] == "ok" and promoted[1].seat.label == "A3"
    assert booked == ("refused", "seat_taken")
    entry.refresh_from_db()
    assert entry.status == W.PROMOTED


def test_a_hand_promotion_control_without_locks_the_bike_is_lost_between_choice_and_insert():
    (promoted, booked), entry = _hand_promotion_against_booking(locks=False)
    # The race is real: the rider took A3 while the promotion held its choice; the bike
    # constraint refused the promotion (staff saw seat_taken for a bike they never chose).
    assert booked[0] == "ok" and booked[1].seat.label == "A3"
    assert promoted == ("refused", "seat_taken")
    entry.refresh_from_db()
    assert entry.status == W.WAITING
