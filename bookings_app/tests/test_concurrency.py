"""Races on PostgreSQL (DOMAIN.md 9: "under any number of concurrent requests").

Each race starts N threads behind a Barrier, each with its own connection (closed at the end).
The real test widens the window between check and write (`pause_hook`) and shows the locks hold.
Each control test switches the row locks off (`locks_disabled`): then more requests get past the
Python checks than may win, and it is the database (a conditional update or a constraint) that
stops the extra ones — proof that the race is real and that the lock is what prevents it.
"""

import threading
import time
from datetime import date, timedelta

import pytest
from django.db import connection

from bookings_app import services
from bookings_app.models import LIVE, AllAccessUsage, Booking, Session
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import all_access, give_credits, make_layout, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditTransaction
from members_app.tests.factories import MemberFactory, OrganizationFactory
from spinning import locking
from spinning.errors import DomainError

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

N = 6


def race(calls):
    """Run the callables at once; return [("ok", value) | ("refused", code) | ("error", repr)]."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except DomainError as exc:
            results[index] = ("refused", exc.code)
        except Exception as exc:  # noqa: BLE001 - a 500 in production; the test reports it
            results[index] = ("error", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


class Window:
    """A pause hook that counts who got past a check and holds them there a moment."""

    def __init__(self, point: str, seconds: float):
        self.point, self.seconds, self.passed = point, seconds, 0
        self._lock = threading.Lock()

    def __call__(self, point):
        if point == self.point:
            with self._lock:
                self.passed += 1
            time.sleep(self.seconds)


def outcome(results):
    oks = [r for r in results if r[0] == "ok"]
    refused = sorted(r[1] for r in results if r[0] == "refused")
    errors = [r for r in results if r[0] == "error"]
    return oks, refused, errors


def book(org, session, member, **kwargs):
    return lambda: services.booking_create(
        organization=org, session_id=session.pk, member_id=member.pk, now=NOW, **kwargs
    )


# --- capacity ---------------------------------------------------------------------------------------
def _capacity_setup(capacity=2):
    org = OrganizationFactory()
    session = make_session(org, NOW + timedelta(days=1), layout=make_layout(org, ["NNNNNN"]), capacity=capacity)
    riders = [MemberFactory(organization=org) for _ in range(N)]
    for rider in riders:
        give_credits(rider, 1, now=NOW)
    return org, session, riders


def test_capacity_holds_under_concurrent_bookings():
    org, session, riders = _capacity_setup()
    window = Window("capacity_checked", 0.05)
    with locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, session, r) for r in riders]))
    assert errors == []
    assert len(oks) == 2 and refused == ["session_full"] * (N - 2)
    assert window.passed == 2  # the session lock made every later request re-count and stop
    session.refresh_from_db()
    assert session.booked_count == 2 == Booking.objects.filter(LIVE, session=session).count()
    assert ledger_breaches() == []


def test_capacity_control_without_locks_the_conditional_update_stops_the_oversell():
    org, session, riders = _capacity_setup()
    window = Window("capacity_checked", 0.3)
    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, session, r) for r in riders]))
    assert window.passed > 2  # the race is real: more than capacity got past the Python re-count
    assert errors == []
    assert len(oks) == 2 and refused == ["session_full"] * (N - 2)
    session.refresh_from_db()
    assert session.booked_count == 2 == Booking.objects.filter(LIVE, session=session).count()


# --- same bike ----------------------------------------------------------------------------------------
def _bike_setup():
    org = OrganizationFactory()
    layout = make_layout(org, ["NNNNNN", "NNNNNN"])
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    riders = [MemberFactory(organization=org) for _ in range(N)]
    for rider in riders:
        give_credits(rider, 1, now=NOW)
    return org, session, riders, seat(layout, "A3")


def test_one_bike_one_rider_under_concurrent_bookings():
    org, session, riders, bike = _bike_setup()
    window = Window("seat_checked", 0.05)
    with locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, session, r, seat_id=bike.pk) for r in riders]))
    assert errors == []
    assert len(oks) == 1 and refused == ["seat_taken"] * (N - 1)
    assert window.passed == 1
    assert Booking.objects.filter(LIVE, session=session, seat=bike).count() == 1
    session.refresh_from_db()
    assert session.booked_count == 1
    assert ledger_breaches() == []


def test_one_bike_control_without_locks_the_unique_constraint_stops_the_second_rider():
    org, session, riders, bike = _bike_setup()
    window = Window("seat_checked", 0.3)
    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, session, r, seat_id=bike.pk) for r in riders]))
    assert window.passed > 1
    assert errors == []
    assert len(oks) == 1 and refused == ["seat_taken"] * (N - 1)  # booking_one_live_per_seat, mapped
    assert Booking.objects.filter(LIVE, session=session, seat=bike).count() == 1
    session.refresh_from_db()
    assert session.booked_count == 1  # the losers' counter moves rolled back with them
    assert ledger_breaches() == []


# --- same member twice ------------------------------------------------------------------------------
def _twice_setup():
    org = OrganizationFactory()
    layout = make_layout(org, ["NNNNNN", "NNNNNN"])
    session = make_session(org, NOW + timedelta(days=1), layout=layout)
    member = MemberFactory(organization=org)
    give_credits(member, 10, now=NOW)
    bikes = list(layout.seats.order_by("row", "column"))[:N]
    return org, session, member, bikes


def test_one_live_booking_per_member_under_concurrent_bookings():
    org, session, member, bikes = _twice_setup()
    window = Window("capacity_checked", 0.05)
    with locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, session, member, seat_id=b.pk) for b in bikes]))
    assert errors == []
    assert len(oks) == 1 and refused == ["already_booked"] * (N - 1)
    assert window.passed == 1
    assert Booking.objects.filter(LIVE, session=session, member=member).count() == 1
    member.refresh_from_db()
    assert member.credit_balance == 9
    assert ledger_breaches() == []


def test_one_booking_per_member_control_without_locks_the_unique_constraint_stops_the_twin():
    org, session, member, bikes = _twice_setup()
    window = Window("capacity_checked", 0.3)
    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, session, member, seat_id=b.pk) for b in bikes]))
    assert window.passed > 1
    assert errors == []
    assert len(oks) == 1 and refused == ["already_booked"] * (N - 1)  # booking_one_live_per_member
    assert Booking.objects.filter(LIVE, session=session, member=member).count() == 1
    member.refresh_from_db()
    assert member.credit_balance == 9
    assert ledger_breaches() == []


# --- the last credit --------------------------------------------------------------------------------
def _last_credit_setup():
    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    give_credits(member, 1, now=NOW)
    sessions = [make_session(org, NOW + timedelta(days=1, hours=i)) for i in range(N)]
    return org, member, sessions


def test_the_last_credit_pays_for_one_ride_only():
    org, member, sessions = _last_credit_setup()
    window = Window("credits_checked", 0.05)
    with locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, s, member) for s in sessions]))
    assert errors == []
    assert len(oks) == 1 and refused == ["insufficient_credits"] * (N - 1)
    assert window.passed == 1
    member.refresh_from_db()
    assert member.credit_balance == 0
    assert CreditTransaction.objects.filter(member=member, type="BOOKING_PAYMENT").count() == 1
    assert Booking.objects.filter(LIVE, member=member).count() == 1
    assert sum(Session.objects.filter(pk__in=[s.pk for s in sessions]).values_list("booked_count", flat=True)) == 1
    assert ledger_breaches() == []


def test_last_credit_control_without_locks_the_lot_update_stops_the_double_spend():
    org, member, sessions = _last_credit_setup()
    window = Window("credits_checked", 0.3)
    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, s, member) for s in sessions]))
    assert window.passed > 1  # several saw "balance 1 >= 1"
    assert errors == []
    assert len(oks) == 1 and refused == ["insufficient_credits"] * (N - 1)  # conditional lot decrement
    member.refresh_from_db()
    assert member.credit_balance == 0
    assert Booking.objects.filter(LIVE, member=member).count() == 1
    assert ledger_breaches() == []


# --- one All Access ride a day ------------------------------------------------------------------------
def _all_access_setup():
    org = OrganizationFactory(timezone="Europe/Istanbul")
    member = MemberFactory(organization=org)
    pass_ = all_access(member, starts_on=date(2026, 3, 1))
    # six sessions on Tuesday 3 March, studio time
    sessions = [make_session(org, NOW + timedelta(days=1, hours=i)) for i in range(N)]
    return org, member, pass_, sessions


def test_one_all_access_ride_a_day_under_concurrent_bookings():
    org, member, pass_, sessions = _all_access_setup()
    window = Window("all_access_checked", 0.05)
    with locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, s, member) for s in sessions]))
    assert errors == []
    assert len(oks) == 1 and refused == ["daily_limit_reached"] * (N - 1)
    assert window.passed == 1
    assert AllAccessUsage.objects.filter(redemption=pass_, usage_date=date(2026, 3, 3)).count() == 1
    assert Booking.objects.filter(LIVE, member=member).count() == 1


def test_all_access_control_without_locks_the_unique_usage_stops_the_second_ride():
    org, member, pass_, sessions = _all_access_setup()
    window = Window("all_access_checked", 0.3)
    with locking.locks_disabled(), locking.pause_hook(window):
        oks, refused, errors = outcome(race([book(org, s, member) for s in sessions]))
    assert window.passed > 1  # several found slot 1 free
    assert errors == []
    assert len(oks) == 1 and refused == ["daily_limit_reached"] * (N - 1)  # all_access_one_use_per_date_slot
    assert AllAccessUsage.objects.filter(redemption=pass_, usage_date=date(2026, 3, 3)).count() == 1
    assert Booking.objects.filter(LIVE, member=member).count() == 1


# --- jobs beside traffic ----------------------------------------------------------------------------
def test_close_sessions_beside_itself_closes_each_session_once():
    org = OrganizationFactory()
    sessions = [make_session(org, NOW - timedelta(hours=3, minutes=i)) for i in range(4)]
    for s in sessions:
        rider = MemberFactory(organization=org)
        Booking.objects.create(
            organization=org, session=s, member=rider, payment_type="FREE", status="CONFIRMED", created_at=NOW
        )
        Session.objects.filter(pk=s.pk).update(booked_count=1)
    results = race([lambda: services.sessions_close(now=NOW) for _ in range(4)])
    oks, refused, errors = outcome(results)
    assert errors == [] and refused == []
    assert sum(len(report.closed) for _, report in oks) == 4
    assert Booking.objects.filter(status="NO_SHOW").count() == 4
