"""A hypothesis state machine drives one studio through random days (issue 5, item 3).

Steps: staff credit grants (some expiring soon) and deducts, desk sales with and without a coupon,
a member's request confirmed or rejected, sessions scheduled, bookings (AUTO, by credits, by All
Access, a friend's guest), on-time and late cancellations (by moving `now`), check-ins, the
studio cancelling a session, no-shows and completions (`sessions_close`), redemption refunds,
and the expiry job (`packages_expire`, which also expires overdue manual lots). Every step calls the services
with an explicit `now=` that the machine advances.

After every step, DOMAIN.md 6 and 9 hold: `ledger_breaches()` is empty (cached balance = ledger
sum = last balance_after = lots remaining, an unbroken chain, lots match their rows), no balance
is negative, no session is over capacity, no bike is taken twice, every live credit booking has
its payment rows and every live All Access booking its daily usage. A refusal is fine (that is
the rules working) as long as it is a DomainError; a deduct is refused exactly when the unexpired
balance is short.

Each example builds its own studio (new slug), so examples never see each other's rows. The
clock starts at a fixed instant (a failing example must replay exactly), in Europe/Berlin two
days before the spring-forward, so the studio's days include a 23-hour one.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Q, Sum
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from bookings_app import services as booking_services
from bookings_app.models import AllAccessUsage, Booking, Seat, Session
from members_app import services as member_services
from members_app.errors import InsufficientCredits
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditLot, CreditTransaction, Member, Organization, StaffRole, User
from packages_app import services as package_services
from packages_app.models import Package, Redemption
from packages_app.seeds import seed_catalog
from spinning.errors import DomainError
from tests.seed import make_room

START = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
_studio_numbers = itertools.count()
OUTCOMES: Counter[str] = Counter()  # what the random runs reached, e.g. "book: ok (CREDIT)"


def _note(outcome: str) -> None:
    OUTCOMES[outcome] += 1
    if currently_in_test_context():
        event(outcome)


CODES = ["SINGLE-RIDE", "EXPLORER-5", "ELITE-30", "ALL-ACCESS-30", "SHORT-3", "AA-3"]
COUPONS = [None, None, "SUMMER2024", "NEWMEMBER2024"]
LIVE = [Booking.Status.CONFIRMED, Booking.Status.NO_SHOW, Booking.Status.COMPLETED]


class StudioDays(RuleBasedStateMachine):
    members = Bundle("members")
    sessions = Bundle("sessions")
    bookings = Bundle("bookings")
    redemptions = Bundle("redemptions")
    pending = Bundle("pending")

    def __init__(self):
        super().__init__()
        # A fixed start, so that a failing example replays and shrinks exactly (outcomes depend
        # on the time). Two days before Europe's spring-forward: the studio's days include a
        # 23-hour one.
        self.now = START
        number = next(_studio_numbers)
        self.org = Organization.objects.create(
            slug=f"ledger-{number}", name=f"Ledger {number}", timezone="Europe/Berlin", currency="EUR"
        )
        self.admin = User.objects.create_user(email=f"admin-{number}@example.com", password="x-admin-pass-2026")
        member_services.staff_role_set(organization=self.org, user=self.admin, role=StaffRole.Role.ADMIN)
        seed_catalog(organization=self.org, now=self.now)
        for data in (
            {"code": "SHORT-3", "type": Package.Type.CREDIT_PACK, "credits": 3, "credit_validity_days": 2},
            {"code": "AA-3", "type": Package.Type.ALL_ACCESS, "all_access_days": 3, "daily_ride_limit": 1},
        ):
            package_services.package_create(
                organization=self.org, data={"name": data["code"], "price": Decimal("900.00"), **data}
            )
        self.room = make_room(self.org)
        self.rider_ids = []
        for i in range(3):
            rider = member_services.member_create(
                organization=self.org, email=f"rider{i}-{self.org.slug}@example.com", first_name="R", last_name=str(i)
            )
            # A welcome gift, so that the first bookings can be paid.
            member_services.credit_adjustment_create(
                organization=self.org, member_id=rider.pk, amount=4, reason="welcome", now=self.now
            )
            self.rider_ids.append(rider.pk)
        self.bookable_seats = list(
            Seat.objects.filter(layout_id=self.room["seat_layout_id"], is_active=True)
            .exclude(type__in=[Seat.Type.PODIUM, Seat.Type.INSTRUCTOR, Seat.Type.ARCHITECTURAL_COLUMN])
            .values_list("pk", flat=True)
        )

    # --- people, time -------------------------------------------------------------------------
    @initialize(target=members)
    def riders(self):
        return multiple(*self.rider_ids)

    @initialize(target=redemptions)
    def first_sales(self):
        """One rider starts with an All Access (30 days), one with an Elite 30 (a friend pass)."""
        return multiple(
            self.desk_sale(self.rider_ids[0], "ALL-ACCESS-30", None),
            self.desk_sale(self.rider_ids[1], "ELITE-30", None),
        )

    @initialize(target=sessions)
    def first_sessions(self):
        return multiple(self.schedule(20, 3), self.schedule(40, 2))

    @rule(hours=st.sampled_from([1, 3, 11, 13, 25, 49]))
    def time_passes(self, hours):
        self.now += timedelta(hours=hours)

    # --- credits --------------------------------------------------------------------------------
    @rule(member=members, amount=st.integers(1, 5), expires_in_hours=st.none() | st.integers(1, 96))
    def staff_grant(self, member, amount, expires_in_hours):
        expires_at = self.now + timedelta(hours=expires_in_hours) if expires_in_hours else None
        member_services.credit_adjustment_create(
            organization=self.org,
            member_id=member,
            amount=amount,
            reason="fuzz grant",
            expires_at=expires_at,
            performed_by=self.admin,
            now=self.now,
        )

    @rule(member=members, amount=st.integers(1, 6))
    def staff_deduct(self, member, amount):
        spendable = (
            CreditLot.objects.filter(member_id=member, remaining__gt=0)
            .exclude(expires_at__lte=self.now)
            .aggregate(total=Sum("remaining"))["total"]
            or 0
        )
        try:
            member_services.credit_adjustment_create(
                organization=self.org,
                member_id=member,
                amount=-amount,
                reason="fuzz deduct",
                performed_by=self.admin,
                now=self.now,
            )
        except InsufficientCredits:
            assert spendable < amount, f"deduct of {amount} refused with {spendable} unexpired credits"
        else:
            assert spendable >= amount, f"deduct of {amount} allowed with only {spendable} unexpired credits"

    # --- sales ----------------------------------------------------------------------------------
    def _package_id(self, code):
        return Package.objects.get(organization=self.org, code=code).pk

    @rule(target=redemptions, member=members, code=st.sampled_from(CODES), coupon=st.sampled_from(COUPONS))
    def desk_sale(self, member, code, coupon):
        try:
            redemption = package_services.redemption_create(
                organization=self.org,
                package_id=self._package_id(code),
                member_id=member,
                by_staff=True,
                performed_by=self.admin,
                coupon_code=coupon,
                payment_method="CARD",
                now=self.now,
            )
        except DomainError as exc:
            _note(f"desk_sale: {exc.code}")
            return multiple()
        _note(f"desk_sale: ok ({code})")
        return redemption.pk

    @rule(target=pending, member=members, code=st.sampled_from(CODES), coupon=st.sampled_from(COUPONS))
    def member_request(self, member, code, coupon):
        try:
            redemption = package_services.redemption_create(
                organization=self.org,
                package_id=self._package_id(code),
                member_id=member,
                by_staff=False,
                performed_by=Member.objects.get(pk=member).user,
                coupon_code=coupon,
                now=self.now,
            )
        except DomainError as exc:
            _note(f"member_request: {exc.code}")
            return multiple()
        assert redemption.status == Redemption.Status.PENDING
        _note("member_request: ok")
        return redemption.pk

    @rule(target=redemptions, redemption=consumes(pending))
    def staff_confirm(self, redemption):
        try:
            package_services.redemption_confirm(
                organization=self.org, redemption_id=redemption, performed_by=self.admin, now=self.now
            )
        except DomainError as exc:
            _note(f"staff_confirm: {exc.code}")
            return multiple()
        _note("staff_confirm: ok")
        return redemption

    @rule(redemption=consumes(pending))
    def staff_reject(self, redemption):
        try:
            package_services.redemption_reject(
                organization=self.org, redemption_id=redemption, performed_by=self.admin, now=self.now
            )
        except DomainError as exc:
            # the expiry job got there first: a request left unpaid past pending_request_hours
            _note(f"staff_reject: {exc.code}")
            request = Redemption.objects.get(pk=redemption)
            assert (request.status, request.cancel_reason) == (Redemption.Status.CANCELLED, "not paid in time")

    @rule(redemption=consumes(redemptions))
    def staff_refund(self, redemption):
        try:
            package_services.redemption_cancel(
                organization=self.org, redemption_id=redemption, performed_by=self.admin, now=self.now
            )
        except DomainError as exc:
            _note(f"staff_refund: {exc.code}")
            status = Redemption.objects.get(pk=redemption).status
            assert status != Redemption.Status.ACTIVE, f"refund of an ACTIVE redemption refused: {exc.code}"

    # --- schedule and bookings ------------------------------------------------------------------
    @rule(target=sessions, hours_ahead=st.integers(2, 24 * 6), capacity=st.integers(1, 4))
    def schedule(self, hours_ahead, capacity):
        starts_at = self.now + timedelta(hours=hours_ahead)
        session = booking_services.session_create(
            organization=self.org,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=50),
            capacity=capacity,
            **self.room,
        )
        return session.pk

    def _book(self, member, session, seat_id, method):
        try:
            booking = booking_services.booking_create(
                organization=self.org,
                session_id=session,
                member_id=member,
                seat_id=seat_id,
                payment_method=method,
                booked_by=self.admin,
                by_staff=True,
                now=self.now,
            )
        except DomainError as exc:
            _note(f"book: {exc.code}")
            return multiple()
        _note(f"book: ok ({booking.payment_type})")
        return booking.pk

    @rule(target=bookings, member=members, session=sessions, method=st.sampled_from(["AUTO", "CREDIT", "ALL_ACCESS"]))
    def book(self, member, session, method):
        return self._book(member, session, None, method)

    @rule(target=bookings, member=members, session=sessions, seat=st.integers(0, 8))
    def book_a_bike(self, member, session, seat):
        return self._book(member, session, self.bookable_seats[seat % len(self.bookable_seats)], "AUTO")

    @rule(target=bookings, host=bookings)
    def bring_a_friend(self, host):
        booking = Booking.objects.get(pk=host)
        try:
            guest = booking_services.booking_create(
                organization=self.org,
                session_id=booking.session_id,
                member_id=booking.member_id,
                payment_method="FRIEND_PASS",
                guest_name="A friend",
                host_booking_id=host,
                booked_by=self.admin,
                by_staff=True,
                now=self.now,
            )
        except DomainError as exc:
            _note(f"bring_a_friend: {exc.code}")
            return multiple()
        _note("bring_a_friend: ok")
        return guest.pk

    @rule(booking=bookings, as_staff=st.booleans(), refund=st.none() | st.booleans())
    def cancel(self, booking, as_staff, refund):
        owner = Member.objects.get(pk=Booking.objects.get(pk=booking).member_id)
        try:
            cancelled = booking_services.booking_cancel(
                organization=self.org,
                booking_id=booking,
                cancelled_by=self.admin if as_staff else owner.user,
                by_staff=as_staff,
                refund=refund if as_staff else None,
                member=None if as_staff else owner,
                now=self.now,
            )
        except DomainError as exc:
            _note(f"cancel: {exc.code}")
        else:
            _note(f"cancel: ok ({cancelled.status})")

    @rule(booking=bookings)
    def check_in(self, booking):
        try:
            booking_services.booking_check_in(organization=self.org, booking_id=booking, now=self.now)
        except DomainError as exc:
            _note(f"check_in: {exc.code}")
        else:
            _note("check_in: ok")

    @rule(session=sessions)
    def studio_cancels_session(self, session):
        try:
            booking_services.session_cancel(
                organization=self.org, session_id=session, cancelled_by=self.admin, now=self.now
            )
        except DomainError as exc:
            _note(f"studio_cancels_session: {exc.code}")
        else:
            _note("studio_cancels_session: ok")

    # --- jobs -----------------------------------------------------------------------------------
    @rule()
    def close_sessions(self):
        report = booking_services.sessions_close(organization=self.org, now=self.now)
        if any(closed.no_shows for closed in report.closed):
            _note("close_sessions: no-shows")

    @rule()
    def expire(self):
        package_services.packages_expire(organization=self.org, now=self.now)

    # --- DOMAIN.md 6 and 9, after every step ----------------------------------------------------
    @invariant()
    def ledger_is_whole(self):
        breaches = ledger_breaches(organization=self.org)
        assert not breaches, "\n".join(str(b) for b in breaches)

    @invariant()
    def balances_never_negative(self):
        assert not Member.objects.filter(organization=self.org, credit_balance__lt=0).exists()
        assert not CreditLot.objects.filter(organization=self.org, remaining__lt=0).exists()

    @invariant()
    def sessions_never_over_capacity(self):
        for session in Session.objects.filter(organization=self.org).annotate(
            live=Count("bookings", filter=Q(bookings__status__in=LIVE))
        ):
            assert session.live <= session.capacity, f"{session.live} riders on {session.capacity} places"
            assert session.booked_count == session.live, f"booked_count {session.booked_count} != {session.live}"

    @invariant()
    def no_bike_twice(self):
        twice = (
            Booking.objects.filter(organization=self.org, status__in=LIVE, seat__isnull=False)
            .values("session_id", "seat_id")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
        )
        assert not twice.exists(), list(twice)

    @invariant()
    def every_booking_paid(self):
        live = Booking.objects.filter(organization=self.org, status__in=LIVE)
        for booking in live.filter(payment_type=Booking.PaymentType.CREDIT):
            paid = -(
                CreditTransaction.objects.filter(
                    booking_id=booking.pk, type=CreditTransaction.Type.BOOKING_PAYMENT
                ).aggregate(total=Sum("amount"))["total"]
                or 0
            )
            assert paid == booking.credits_used == booking.credit_cost, (
                f"booking {booking.pk}: paid {paid}, used {booking.credits_used}, cost {booking.credit_cost}"
            )
        for booking in live.filter(payment_type=Booking.PaymentType.ALL_ACCESS):
            assert AllAccessUsage.objects.filter(booking=booking).exists(), f"booking {booking.pk} has no daily usage"


STATEFUL_SETTINGS = settings(
    # Bounded for CI; raise them locally for a deeper search (e.g. LEDGER_MAX_EXAMPLES=500).
    max_examples=int(os.environ.get("LEDGER_MAX_EXAMPLES", "40")),
    stateful_step_count=int(os.environ.get("LEDGER_STEPS", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@pytest.mark.django_db
def test_studio_days_keep_the_ledger_whole():
    OUTCOMES.clear()
    run_state_machine_as_test(StudioDays, settings=STATEFUL_SETTINGS)
    print("outcomes:", dict(sorted(OUTCOMES.items())))
    # The random days did get past the refusals (a machine that is only ever refused proves
    # nothing). Rarer outcomes (All Access rides, friends, no-shows) vary from run to run: the
    # fixed walk below pins them; `pytest -s` prints the tally.
    assert OUTCOMES["book: ok (CREDIT)"] > 0, dict(OUTCOMES)
    assert OUTCOMES["desk_sale: ok (ELITE-30)"] > 0, dict(OUTCOMES)


@pytest.mark.django_db
def test_the_machine_reaches_the_interesting_states():
    """Guard against a machine that only ever gets refused: a fixed walk through the main rules
    leaves credits spent, refunded and expired, an All Access ride, a no-show and a refund."""
    machine = StudioDays()
    rider, other, _ = machine.riders().values
    machine.staff_deduct(rider, 4)  # the welcome credits, so that the story below counts from 0
    machine.staff_grant(rider, 5, 30)
    sale = machine.desk_sale(rider, "AA-3", None)
    soon = machine.schedule(20, 2)
    later = machine.schedule(30, 3)
    credit_booking = machine.book(rider, later, "CREDIT")
    aa_booking = machine.book_a_bike(rider, soon, 0)
    assert not machine.book_a_bike(other, soon, 0).values  # the same bike: refused
    machine.cancel(credit_booking, False, None)  # on time: refunded
    machine.time_passes(25)
    machine.close_sessions()  # `soon` is over: its All Access ride is a no-show
    machine.time_passes(11)
    machine.expire()  # the grant expired after 30 hours
    machine.staff_refund(sale)
    for check in (
        machine.ledger_is_whole,
        machine.balances_never_negative,
        machine.sessions_never_over_capacity,
        machine.no_bike_twice,
        machine.every_booking_paid,
    ):
        check()
    types = set(CreditTransaction.objects.filter(member_id=rider).values_list("type", flat=True))
    assert {"MANUAL_ADD", "BOOKING_PAYMENT", "BOOKING_REFUND", "EXPIRATION"} <= types, types
    assert Booking.objects.get(pk=aa_booking).status == Booking.Status.NO_SHOW
    assert AllAccessUsage.objects.get(booking_id=aa_booking).was_no_show
    assert Redemption.objects.get(pk=sale).status == Redemption.Status.CANCELLED
    assert Member.objects.get(pk=rider).credit_balance == 0
