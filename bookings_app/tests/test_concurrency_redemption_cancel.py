"""A member cancelling a booking on time while staff cancel the redemption that paid for it
(PostgreSQL, threads): the credits never come back on the closed lot (DOMAIN.md 5, issue 8).

Both services lock the member first, so one waits for the other: either the member's refund lands
first and the cancel then takes it back with the rest, or the cancel lands first and the booking is
no longer the member's to cancel. The control switches the row locks off: the member's refund then
reads the lot while it is still open and writes after the cancel closed it, and only the database
(`lot_closed_holds_nothing`) stops the credit coming back: the race is real and the lock prevents it.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from bookings_app import services
from bookings_app.models import Booking
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import make_session
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditLot, CreditTransaction, Member
from members_app.tests.factories import MemberFactory, OrganizationFactory, UserFactory
from packages_app.services import redemption_cancel, redemption_create
from packages_app.tests.factories import PackageFactory
from spinning import locking
from spinning.errors import DomainError

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def _setup():
    org = OrganizationFactory(timezone="Europe/Istanbul")
    member = MemberFactory(organization=org)
    staff = UserFactory()
    package = PackageFactory(organization=org, code="EXPLORER-5", credits=5, credit_validity_days=60)
    redemption = redemption_create(
        organization=org, package_id=package.pk, member_id=member.pk, by_staff=True, performed_by=None, now=NOW
    )
    session = make_session(org, NOW + timedelta(days=2))
    booking = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    assert booking.payment_type == Booking.PaymentType.CREDIT
    return org, member, staff, redemption, booking


class Pauses:
    """Hold a named thread at a named point (widen the window a missing lock would leave open)."""

    def __init__(self, **by_thread_point: float):
        self.by_thread_point = by_thread_point
        self.reached = set()

    def __call__(self, point):
        key = f"{threading.current_thread().name}__{point}"
        if key in self.by_thread_point:
            self.reached.add(key)
            time.sleep(self.by_thread_point[key])


def _race(org, member, staff, redemption, booking):
    """The staff cancel starts first; the member cancels 0.2 s later. Returns {thread: outcome}."""
    barrier = threading.Barrier(2)
    results = {}

    def staff_cancels():
        return redemption_cancel(organization=org, redemption_id=redemption.pk, performed_by=staff, now=NOW)

    def member_cancels():
        time.sleep(0.2)
        return services.booking_cancel(
            organization=org, booking_id=booking.pk, cancelled_by=member.user, member=member, now=NOW
        )

    def run(name, call):
        try:
            barrier.wait(timeout=10)
            results[name] = ("ok", call())
        except DomainError as exc:
            results[name] = ("refused", exc.code)
        except Exception as exc:  # noqa: BLE001 - the control wants to see the database refuse
            results[name] = ("error", repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("staff", staff_cancels), name="staff"),
        threading.Thread(target=run, args=("member", member_cancels), name="member"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _credits_back_after_close(lot: CreditLot) -> int:
    return sum(
        CreditTransaction.objects.filter(lot=lot, amount__gt=0, created_at__gte=lot.closed_at)
        .exclude(type__in=[CreditTransaction.Type.PURCHASE])
        .values_list("amount", flat=True)
    )


def test_member_cancelling_while_staff_cancel_the_redemption_never_gets_credits_back():
    org, member, staff, redemption, booking = _setup()
    pauses = Pauses(staff__redemption_locked=0.5, member__refund_lots_read=1.0)
    with locking.pause_hook(pauses):
        results = _race(org, member, staff, redemption, booking)
    # the staff cancel wins the member lock; the member then finds the booking already cancelled
    assert results["staff"][0] == "ok", results
    assert results["member"] == ("refused", "invalid_state"), results
    booking.refresh_from_db()
    assert (booking.status, booking.refunded) == (Booking.Status.CANCELLED, False)
    lot = CreditLot.objects.get(pk=redemption.credit_lot_id)
    assert lot.closed_at is not None and lot.remaining == 0
    assert _credits_back_after_close(lot) == 0
    assert Member.objects.get(pk=member.pk).credit_balance == 0
    assert ledger_breaches() == []


def test_member_first_then_staff_the_refund_is_taken_back_with_the_rest():
    # the other order: the member holds the lock (refund into the still-open lot), then the cancel
    org, member, staff, redemption, booking = _setup()
    barrier_free = Pauses(member__refund_lots_read=0.5)
    with locking.pause_hook(barrier_free):
        member_first = services.booking_cancel(
            organization=org, booking_id=booking.pk, cancelled_by=member.user, member=member, now=NOW
        )
    assert member_first.refunded is True
    outcome = redemption_cancel(organization=org, redemption_id=redemption.pk, performed_by=staff, now=NOW)
    assert outcome.effects.credits_removed == 5
    assert Member.objects.get(pk=member.pk).credit_balance == 0
    assert ledger_breaches() == []


def test_control_without_locks_the_refund_reaches_the_closed_lot_and_only_the_database_stops_it():
    org, member, staff, redemption, booking = _setup()
    pauses = Pauses(staff__redemption_locked=0.5, member__refund_lots_read=1.5)
    with locking.locks_disabled(), locking.pause_hook(pauses):
        results = _race(org, member, staff, redemption, booking)
    # the member's refund read the lot open, slept past the cancel, then tried to put the credit
    # back into the now-closed lot: the check constraint refused it (a 500 were it not for the lock)
    assert "member__refund_lots_read" in pauses.reached
    assert results["staff"][0] == "ok", results
    assert results["member"][0] == "error" and "lot_closed_holds_nothing" in results["member"][1], results
    lot = CreditLot.objects.get(pk=redemption.credit_lot_id)
    assert lot.remaining == 0 and _credits_back_after_close(lot) == 0
    assert ledger_breaches() == []
