"""DOMAIN.md 9-10 told through the services: every refusal code, payment resolution, friend
passes, cancellations, no-shows. The last test checks the ledger after the whole module."""

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from bookings_app import services
from bookings_app.errors import (
    AlreadyBooked,
    BookingNotOpen,
    DailyLimitReached,
    FriendPassUnavailable,
    HostBookingRequired,
    InsufficientCredits,
    MemberInactive,
    SeatTaken,
    SeatUnavailable,
    SessionFull,
    SessionNotBookable,
)
from bookings_app.models import AllAccessUsage, Booking, Session
from bookings_app.tests.conftest import IST, NOW, UTC
from bookings_app.tests.factories import all_access, elite_30, give_credits, make_layout, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditTransaction, Member
from members_app.tests.factories import MemberFactory, OrganizationFactory
from members_app.tests.utils import ledger_sum
from packages_app.models import Redemption
from spinning.errors import Forbidden, Invalid, InvalidState

pytestmark = pytest.mark.django_db
T = CreditTransaction.Type
S = Booking.Status
P = Booking.PaymentType


@pytest.fixture(autouse=True)
def _ledger_stays_sound():
    """check_ledger after every story of this module (each test rolls back its own data)."""
    yield
    assert ledger_breaches() == []


def book(member, session, now=NOW, **kwargs):
    return services.booking_create(
        organization=member.organization, session_id=session.pk, member_id=member.pk, now=now, **kwargs
    )


def cancel(booking, now=NOW, **kwargs):
    return services.booking_cancel(organization=booking.organization, booking_id=booking.pk, now=now, **kwargs)


def balance(member) -> int:
    member.refresh_from_db()
    assert member.credit_balance == ledger_sum(member)
    return member.credit_balance


def in_days(days, hour=18, minute=0, day=None):
    """A studio-local time `days` after NOW's local date."""
    base = day or NOW.astimezone(IST).date()
    return datetime.combine(base + timedelta(days=days), datetime.min.time(), tzinfo=IST).replace(
        hour=hour, minute=minute
    )


# --- payment -------------------------------------------------------------------------------------
def test_credit_booking_spends_the_seat_cost_from_the_soonest_expiring_lot(org, layout, member):
    # given 3 never-expiring credits and 2 expiring in 10 days
    forever = give_credits(member, 3, now=NOW)
    soon = give_credits(member, 2, now=NOW, expires_at=NOW + timedelta(days=10))
    session = make_session(org, in_days(2), layout=layout)
    # when the member books the 2-credit exclusive bike
    booking = book(member, session, seat_id=seat(layout, "B2").pk)
    # then 2 credits come from the lot that expires first, and the booking says so
    assert (booking.payment_type, booking.credit_cost, booking.credits_used) == (P.CREDIT, 2, 2)
    assert booking.credit_lot_id == soon.pk
    assert Booking.objects.get(pk=booking.pk).credit_lot_id == soon.pk  # stored with the insert
    row = CreditTransaction.objects.get(booking_id=booking.pk)
    assert (row.type, row.amount, row.lot_id) == (T.BOOKING_PAYMENT, -2, soon.pk)
    assert balance(member) == 3
    forever.refresh_from_db()
    assert forever.remaining == 3
    session.refresh_from_db()
    assert session.booked_count == 1


def test_booking_without_a_seat_costs_one_credit(org, layout, member):
    give_credits(member, 1, now=NOW)
    booking = book(member, make_session(org, in_days(1), layout=layout))
    assert (booking.seat, booking.credit_cost, booking.credits_used) == (None, 1, 1)
    assert balance(member) == 0


def test_all_access_pays_first_and_covers_an_exclusive_bike(org, layout, member):
    give_credits(member, 5, now=NOW)
    aa = all_access(member, starts_on=date(2026, 3, 1))
    session = make_session(org, in_days(1), layout=layout)
    booking = book(member, session, seat_id=seat(layout, "B2").pk)
    assert (booking.payment_type, booking.credit_cost, booking.credits_used) == (P.ALL_ACCESS, 2, 0)
    assert booking.redemption_id == aa.pk
    usage = AllAccessUsage.objects.get(booking=booking)
    assert (usage.redemption_id, usage.usage_date, usage.slot) == (aa.pk, date(2026, 3, 3), 1)
    assert balance(member) == 5


def test_second_ride_on_one_all_access_day_is_paid_by_credits(org, member):
    give_credits(member, 2, now=NOW)
    all_access(member, starts_on=date(2026, 3, 1))
    morning = make_session(org, in_days(1, hour=8, minute=30))
    evening = make_session(org, in_days(1, hour=18))
    assert book(member, morning).payment_type == P.ALL_ACCESS
    second = book(member, evening)
    assert (second.payment_type, second.credits_used) == (P.CREDIT, 1)
    assert balance(member) == 1


def test_second_ride_on_one_all_access_day_without_credits_is_daily_limit_reached(org, member):
    all_access(member, starts_on=date(2026, 3, 1))
    book(member, make_session(org, in_days(1, hour=8, minute=30)))
    with pytest.raises(DailyLimitReached):
        book(member, make_session(org, in_days(1, hour=18)))
    # and forcing ALL_ACCESS says the same even with credits at hand
    give_credits(member, 3, now=NOW)
    with pytest.raises(DailyLimitReached):
        book(member, make_session(org, in_days(1, hour=20)), payment_method="ALL_ACCESS")


def test_a_daily_limit_of_two_fills_slots_one_and_two(org, member):
    aa = all_access(member, starts_on=date(2026, 3, 1), daily_ride_limit=2)
    first = book(member, make_session(org, in_days(1, hour=8)))
    second = book(member, make_session(org, in_days(1, hour=12)))
    assert [first.all_access_usage.slot, second.all_access_usage.slot] == [1, 2]
    with pytest.raises(DailyLimitReached):
        book(member, make_session(org, in_days(1, hour=18)))
    # an on-time cancel of the first frees slot 1, which the next ride takes
    cancel(first)
    third = book(member, make_session(org, in_days(1, hour=20)))
    assert third.all_access_usage.slot == 1
    assert AllAccessUsage.objects.filter(redemption=aa).count() == 2


def test_all_access_day_is_the_studio_local_date_of_the_session_start(org, member):
    # 23:30 on Tuesday and 00:30 on Wednesday in Istanbul are both 2026-03-03 in UTC,
    # but two different studio days: both are All Access rides.
    all_access(member, starts_on=date(2026, 3, 1))
    late = make_session(org, in_days(1, hour=23, minute=30))
    early = make_session(org, in_days(2, hour=0, minute=30))
    assert late.starts_at.astimezone(UTC).date() == early.starts_at.astimezone(UTC).date()
    a, b = book(member, late), book(member, early)
    assert (a.payment_type, b.payment_type) == (P.ALL_ACCESS, P.ALL_ACCESS)
    assert [a.all_access_usage.usage_date, b.all_access_usage.usage_date] == [date(2026, 3, 3), date(2026, 3, 4)]


def test_all_access_covers_its_first_and_last_local_day_only(org, member):
    all_access(member, starts_on=date(2026, 3, 3), days=2)  # Tue 3 and Wed 4 March
    before = make_session(org, in_days(0, hour=23, minute=59))  # Mon 23:59
    first = make_session(org, in_days(1, hour=0, minute=0))  # Tue 00:00
    last = make_session(org, in_days(2, hour=23, minute=30))  # Wed 23:30
    after = make_session(org, in_days(3, hour=0, minute=0))  # Thu 00:00
    with pytest.raises(InsufficientCredits):
        book(member, before)
    assert book(member, first).payment_type == P.ALL_ACCESS
    assert book(member, last).payment_type == P.ALL_ACCESS
    with pytest.raises(InsufficientCredits):
        book(member, after)


def test_all_access_day_in_a_daylight_saving_zone(member):
    # New York springs forward on Sunday 8 March 2026: 23:30 Saturday and 00:30 Sunday local
    # are different days, on one UTC date (04:30 / 05:30 UTC on 8 March).
    org = OrganizationFactory(timezone="America/New_York")
    rider = MemberFactory(organization=org)
    all_access(rider, starts_on=date(2026, 3, 7), days=2)
    ny = org.timezone
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(ny)
    saturday = make_session(org, datetime(2026, 3, 7, 23, 30, tzinfo=tz))
    sunday = make_session(org, datetime(2026, 3, 8, 0, 30, tzinfo=tz))
    now = datetime(2026, 3, 5, 12, tzinfo=UTC)
    a = book(rider, saturday, now=now)
    b = book(rider, sunday, now=now)
    assert [a.all_access_usage.usage_date, b.all_access_usage.usage_date] == [date(2026, 3, 7), date(2026, 3, 8)]


def test_cancelled_all_access_redemption_does_not_pay(org, member):
    aa = all_access(member, starts_on=date(2026, 3, 1))
    Redemption.objects.filter(pk=aa.pk).update(status=Redemption.Status.CANCELLED)
    with pytest.raises(InsufficientCredits):
        book(member, make_session(org, in_days(1)))


def test_forced_credit_payment_skips_all_access(org, member):
    give_credits(member, 1, now=NOW)
    all_access(member, starts_on=date(2026, 3, 1))
    booking = book(member, make_session(org, in_days(1)), payment_method="CREDIT")
    assert booking.payment_type == P.CREDIT
    with pytest.raises(InsufficientCredits):
        book(member, make_session(org, in_days(2)), payment_method="CREDIT")


def test_forced_all_access_without_a_pass_is_refused(org, member):
    give_credits(member, 5, now=NOW)
    with pytest.raises(InsufficientCredits):
        book(member, make_session(org, in_days(1)), payment_method="ALL_ACCESS")


def test_expired_credits_do_not_pay(org, member):
    give_credits(member, 2, now=NOW - timedelta(days=40), expires_at=NOW - timedelta(days=1))
    with pytest.raises(InsufficientCredits):
        book(member, make_session(org, in_days(1)))
    assert balance(member) == 2  # the refused booking wrote nothing (its expiry rows rolled back)


def test_free_comp_is_staff_only(org, member):
    session = make_session(org, in_days(1))
    with pytest.raises(Forbidden):
        book(member, session, payment_method="FREE")
    booking = book(member, session, payment_method="FREE", by_staff=True)
    assert (booking.payment_type, booking.credits_used) == (P.FREE, 0)
    assert balance(member) == 0


# --- refusals -----------------------------------------------------------------------------------
def test_session_not_bookable_when_cancelled_completed_or_started(org, member):
    give_credits(member, 5, now=NOW)
    for status in (Session.Status.CANCELLED, Session.Status.COMPLETED):
        with pytest.raises(SessionNotBookable):
            book(member, make_session(org, in_days(1), status=status))
    started = make_session(org, NOW - timedelta(minutes=5))
    with pytest.raises(SessionNotBookable):
        book(member, started)
    with pytest.raises(SessionNotBookable):
        book(member, make_session(org, NOW))  # starting right now counts as started


@pytest.mark.parametrize("status", [Member.Status.INACTIVE, Member.Status.SUSPENDED])
def test_member_inactive(org, member, status):
    give_credits(member, 5, now=NOW)
    Member.objects.filter(pk=member.pk).update(status=status)
    with pytest.raises(MemberInactive):
        book(member, make_session(org, in_days(1)))


def test_refusals_follow_the_order_of_domain_9_window_before_member_status(org, member):
    # DOMAIN.md 9 (and API.md) list the refusals: session, booking window, member status, ...
    give_credits(member, 5, now=NOW)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    not_open_yet = make_session(org, NOW + timedelta(days=9))
    with pytest.raises(BookingNotOpen):
        book(member, not_open_yet)
    with pytest.raises(MemberInactive):
        book(member, make_session(org, in_days(1)))


def test_booking_window_opens_seven_days_before_start(org, member):
    give_credits(member, 5, now=NOW)
    session = make_session(org, NOW + timedelta(days=7, minutes=1))
    with pytest.raises(BookingNotOpen):
        book(member, session)
    assert book(member, session, now=NOW + timedelta(minutes=1)).status == S.CONFIRMED


def test_priority_holders_book_24_hours_earlier(org, member):
    elite_30(member, now=NOW)
    plain = MemberFactory(organization=org)
    give_credits(plain, 5, now=NOW)
    session = make_session(org, NOW + timedelta(days=8) - timedelta(minutes=1))  # 7 days 23:59 ahead
    with pytest.raises(BookingNotOpen):
        book(plain, session)
    assert book(member, session).status == S.CONFIRMED
    # and no earlier than 8 days
    too_early = make_session(org, NOW + timedelta(days=8, minutes=1))
    with pytest.raises(BookingNotOpen):
        book(member, too_early)


def test_priority_ends_with_the_redemption(org, member):
    elite = elite_30(member, now=NOW)
    Redemption.objects.filter(pk=elite.pk).update(status=Redemption.Status.CANCELLED)
    with pytest.raises(BookingNotOpen):
        book(member, make_session(org, NOW + timedelta(days=7, hours=1)))


def test_booking_window_keeps_the_local_wall_clock_across_daylight_saving():
    # New York, session Sunday 15 March 2026 09:00 EDT; 7 days earlier is Sunday 8 March
    # 09:00 EDT (the clocks changed at 02:00 that day) = 13:00 UTC, not 14:00 UTC.
    from zoneinfo import ZoneInfo

    from bookings_app import selectors

    org = OrganizationFactory(timezone="America/New_York")
    session = make_session(org, datetime(2026, 3, 15, 9, 0, tzinfo=ZoneInfo("America/New_York")))
    opens = selectors.booking_opens_at(session=session, organization=org, priority=False)
    assert opens.astimezone(UTC) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    early = selectors.booking_opens_at(session=session, organization=org, priority=True)
    assert early.astimezone(UTC) == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)


def test_already_booked(org, layout, member):
    give_credits(member, 5, now=NOW)
    session = make_session(org, in_days(1), layout=layout)
    book(member, session, seat_id=seat(layout, "A1").pk)
    with pytest.raises(AlreadyBooked):
        book(member, session, seat_id=seat(layout, "A2").pk)
    assert balance(member) == 4


def test_seat_unavailable_taken_and_not_a_seat(org, member):
    give_credits(member, 5, now=NOW)
    layout = make_layout(org, ["NPN", "CXN"])
    other_layout = make_layout(org)
    session = make_session(org, in_days(1), layout=layout)
    for label in ("A2", "B1", "B2"):  # podium, column, out of order
        with pytest.raises(SeatUnavailable):
            book(member, session, seat_id=seat(layout, label).pk)
    with pytest.raises(SeatUnavailable):
        book(member, session, seat_id=seat(other_layout, "A1").pk)
    with pytest.raises(Invalid) as not_a_seat:
        book(member, session, seat_id="00000000-0000-0000-0000-000000000000")
    assert "seat_id" in not_a_seat.value.fields
    other = MemberFactory(organization=org)
    give_credits(other, 1, now=NOW)
    book(other, session, seat_id=seat(layout, "A1").pk)
    with pytest.raises(SeatTaken):
        book(member, session, seat_id=seat(layout, "A1").pk)
    assert balance(member) == 5


def test_session_full_counts_riders_with_and_without_bikes(org, layout):
    session = make_session(org, in_days(1), layout=layout, capacity=2)
    riders = [MemberFactory(organization=org) for _ in range(3)]
    for rider in riders:
        give_credits(rider, 1, now=NOW)
    book(riders[0], session, seat_id=seat(layout, "A1").pk)
    book(riders[1], session)
    with pytest.raises(SessionFull):
        book(riders[2], session, seat_id=seat(layout, "A3").pk)
    session.refresh_from_db()
    assert session.booked_count == 2
    assert balance(riders[2]) == 1


def test_insufficient_credits_for_an_exclusive_bike(org, layout, member):
    give_credits(member, 1, now=NOW)
    session = make_session(org, in_days(1), layout=layout)
    with pytest.raises(InsufficientCredits):
        book(member, session, seat_id=seat(layout, "B2").pk)
    assert book(member, session, seat_id=seat(layout, "B1").pk).credits_used == 1


def test_refused_booking_writes_nothing(org, layout, member):
    session = make_session(org, in_days(1), layout=layout)
    with pytest.raises(InsufficientCredits):
        book(member, session, seat_id=seat(layout, "A1").pk)
    session.refresh_from_db()
    assert session.booked_count == 0
    assert not Booking.objects.exists()


def test_another_studios_session_and_member_are_not_found(org, member):
    from spinning.errors import NotFound

    other = OrganizationFactory()
    with pytest.raises(NotFound):
        book(member, make_session(other, in_days(1)))
    stranger = MemberFactory(organization=other)
    with pytest.raises(NotFound):
        services.booking_create(
            organization=org, session_id=make_session(org, in_days(1)).pk, member_id=stranger.pk, now=NOW
        )


# --- cancellation ---------------------------------------------------------------------------------
def test_on_time_cancel_refunds_credits_to_their_lot(org, layout, member):
    lot = give_credits(member, 3, now=NOW, expires_at=NOW + timedelta(days=30))
    session = make_session(org, NOW + timedelta(hours=12), layout=layout)
    booking = book(member, session, seat_id=seat(layout, "B2").pk)
    cancelled = cancel(booking)  # exactly 12 hours before: on time
    assert (cancelled.status, cancelled.refunded) == (S.CANCELLED, True)
    refund = CreditTransaction.objects.get(booking_id=booking.pk, type=T.BOOKING_REFUND)
    assert (refund.amount, refund.lot_id) == (2, lot.pk)
    assert balance(member) == 3
    session.refresh_from_db()
    assert session.booked_count == 0
    # the bike is free again
    assert book(member, session, seat_id=seat(layout, "B2").pk).status == S.CONFIRMED


def test_late_cancel_keeps_the_credits(org, member):
    give_credits(member, 2, now=NOW)
    session = make_session(org, NOW + timedelta(hours=12) - timedelta(seconds=1))
    booking = book(member, session)
    cancelled = cancel(booking)
    assert (cancelled.status, cancelled.refunded) == (S.LATE_CANCELLED, False)
    assert balance(member) == 1
    assert not CreditTransaction.objects.filter(type=T.BOOKING_REFUND).exists()
    session.refresh_from_db()
    assert session.booked_count == 0


def test_on_time_cancel_frees_the_all_access_day(org, member):
    all_access(member, starts_on=date(2026, 3, 1))
    first = book(member, make_session(org, in_days(2, hour=9)))
    cancel(first)
    assert not AllAccessUsage.objects.exists()
    second = book(member, make_session(org, in_days(2, hour=18)))
    assert second.payment_type == P.ALL_ACCESS


def test_late_cancel_burns_the_all_access_day(org, member):
    all_access(member, starts_on=date(2026, 3, 1))
    morning = make_session(org, NOW + timedelta(hours=2))  # today 14:00 local
    booking = book(member, morning)
    assert cancel(booking).status == S.LATE_CANCELLED
    usage = AllAccessUsage.objects.get(booking=booking)
    assert not usage.was_no_show
    with pytest.raises(DailyLimitReached):
        book(member, make_session(org, NOW + timedelta(hours=6)))


def test_no_show_burns_the_all_access_day_and_keeps_credits(org, member):
    all_access(member, starts_on=date(2026, 3, 1))
    give_credits(member, 1, now=NOW)
    session = make_session(org, NOW + timedelta(hours=1))
    aa_booking = book(member, session)
    other = make_session(org, NOW + timedelta(hours=2))
    credit_booking = book(member, other)
    assert credit_booking.payment_type == P.CREDIT
    later = NOW + timedelta(hours=3)
    for b in (aa_booking, credit_booking):
        marked = services.booking_mark_no_show(organization=org, booking_id=b.pk, now=later)
        assert marked.status == S.NO_SHOW
    assert AllAccessUsage.objects.get(booking=aa_booking).was_no_show
    assert balance(member) == 0
    with pytest.raises(InvalidState):
        cancel(credit_booking, now=later, by_staff=True)


def test_no_show_before_the_start_or_after_check_in_is_refused(org, member):
    give_credits(member, 2, now=NOW)
    session = make_session(org, NOW + timedelta(hours=1))
    booking = book(member, session)
    with pytest.raises(InvalidState):
        services.booking_mark_no_show(organization=org, booking_id=booking.pk, now=NOW)
    services.booking_check_in(organization=org, booking_id=booking.pk, now=NOW + timedelta(minutes=50))
    with pytest.raises(InvalidState):
        services.booking_mark_no_show(organization=org, booking_id=booking.pk, now=NOW + timedelta(hours=2))


def test_check_in_is_idempotent_and_only_for_confirmed_bookings(org, member):
    give_credits(member, 1, now=NOW)
    booking = book(member, make_session(org, NOW + timedelta(hours=1)))
    first = services.booking_check_in(organization=org, booking_id=booking.pk, now=NOW)
    again = services.booking_check_in(organization=org, booking_id=booking.pk, now=NOW + timedelta(minutes=5))
    assert first.checked_in_at == again.checked_in_at == NOW
    other = MemberFactory(organization=org)
    give_credits(other, 1, now=NOW)
    late = book(other, make_session(org, NOW + timedelta(hours=20)))
    cancel(late)
    with pytest.raises(InvalidState):
        services.booking_check_in(organization=org, booking_id=late.pk, now=NOW)


def test_cancel_twice_is_invalid_state_and_refunds_once(org, member):
    give_credits(member, 1, now=NOW)
    booking = book(member, make_session(org, in_days(2)))
    cancel(booking)
    with pytest.raises(InvalidState):
        cancel(booking)
    with pytest.raises(InvalidState):
        cancel(booking, by_staff=True, refund=True)
    assert balance(member) == 1
    assert CreditTransaction.objects.filter(type=T.BOOKING_REFUND).count() == 1


def test_member_cannot_cancel_after_the_start_staff_can(org, member):
    give_credits(member, 2, now=NOW)
    booking = book(member, make_session(org, NOW + timedelta(minutes=30)))
    later = NOW + timedelta(minutes=40)
    with pytest.raises(InvalidState):
        cancel(booking, now=later, member=member)
    staff_cancel = cancel(booking, now=later, by_staff=True, refund=True)
    assert (staff_cancel.status, staff_cancel.refunded) == (S.CANCELLED, True)
    assert balance(member) == 2


def test_staff_cancel_without_refund_on_time(org, member):
    give_credits(member, 1, now=NOW)
    booking = book(member, make_session(org, in_days(3)))
    cancelled = cancel(booking, by_staff=True, refund=False)
    assert (cancelled.status, cancelled.refunded) == (S.CANCELLED, False)
    assert balance(member) == 0


def test_staff_cancel_with_refund_when_late(org, member):
    all_access(member, starts_on=date(2026, 3, 1))
    booking = book(member, make_session(org, NOW + timedelta(hours=1)))
    cancelled = cancel(booking, by_staff=True, refund=True)
    assert (cancelled.status, cancelled.refunded) == (S.CANCELLED, True)
    assert not AllAccessUsage.objects.exists()


def test_a_member_can_only_cancel_their_own_booking(org, member):
    from spinning.errors import NotFound

    give_credits(member, 1, now=NOW)
    booking = book(member, make_session(org, in_days(2)))
    with pytest.raises(NotFound):
        cancel(booking, member=MemberFactory(organization=org))


def test_cancel_and_rebook_loop_leaves_the_balance_exactly_right(org, layout, member):
    """The old system minted credits this way: book, cancel, rebook, cancel late, ..."""
    lot_a = give_credits(member, 3, now=NOW, expires_at=NOW + timedelta(days=5))
    give_credits(member, 2, now=NOW)
    session = make_session(org, in_days(3), layout=layout)
    exclusive = seat(layout, "B2").pk
    for _ in range(5):
        booking = book(member, session, seat_id=exclusive)
        assert balance(member) == 3
        cancel(booking)
        assert balance(member) == 5
    # the refunds went back to the lot they came from
    lot_a.refresh_from_db()
    assert lot_a.remaining == 3
    # a late cancel keeps the credits: book 2, cancel late, book again pays again
    late_now = session.starts_at - timedelta(hours=1)
    booking = book(member, session, seat_id=exclusive, now=late_now)
    cancel(booking, now=late_now)
    assert balance(member) == 3
    book(member, session, seat_id=exclusive, now=late_now)
    assert balance(member) == 1
    payments = CreditTransaction.objects.filter(member=member, type=T.BOOKING_PAYMENT)
    refunds = CreditTransaction.objects.filter(member=member, type=T.BOOKING_REFUND)
    assert sum(r.amount for r in payments) == -14
    assert sum(r.amount for r in refunds) == 10
    assert ledger_breaches(organization=org) == []


# --- friend pass ----------------------------------------------------------------------------------
def bring_guest(host_booking, now=NOW, **kwargs):
    return services.booking_create(
        organization=host_booking.organization,
        session_id=host_booking.session_id,
        member_id=host_booking.member_id,
        payment_method="FRIEND_PASS",
        guest_name=kwargs.pop("guest_name", "Ayşe"),
        host_booking_id=host_booking.pk,
        now=now,
        **kwargs,
    )


def test_friend_pass_guest_rides_on_the_hosts_booking(org, layout, member):
    elite = elite_30(member, now=NOW)
    session = make_session(org, in_days(2), layout=layout)
    host = book(member, session, seat_id=seat(layout, "A1").pk)
    guest = bring_guest(host, seat_id=seat(layout, "B2").pk)
    assert (guest.payment_type, guest.is_guest, guest.guest_name, guest.host_booking_id) == (
        P.FRIEND_PASS,
        True,
        "Ayşe",
        host.pk,
    )
    assert (guest.member_id, guest.credits_used, guest.redemption_id) == (member.pk, 0, elite.pk)
    elite.refresh_from_db()
    assert elite.friend_pass_used_at == NOW and elite.friend_pass_booking_id == guest.pk
    member.refresh_from_db()
    assert member.friend_passes_available == 0
    session.refresh_from_db()
    assert session.booked_count == 2
    assert balance(member) == 29  # only the host paid


def test_friend_pass_is_used_once(org, member):
    elite_30(member, now=NOW)
    host = book(member, make_session(org, in_days(2)))
    bring_guest(host)
    other_host = book(member, make_session(org, in_days(3)))
    with pytest.raises(FriendPassUnavailable):
        bring_guest(other_host)


def test_a_used_or_expired_pass_answers_before_the_hosts_guest(org, member):
    """API.md bookings: friend_pass_unavailable before "this booking already has a guest" (it
    used to answer already_booked for a used pass on a host that has its guest)."""
    elite = elite_30(member, now=NOW)
    host = book(member, make_session(org, in_days(2)))
    bring_guest(host)
    with pytest.raises(FriendPassUnavailable):  # used
        bring_guest(host, guest_name="Second")
    Redemption.objects.filter(pk=elite.pk).update(friend_pass_used_at=None, friend_pass_expires_at=NOW)
    with pytest.raises(FriendPassUnavailable):  # expired (and the host still has its guest)
        bring_guest(host, guest_name="Second")


def test_a_second_pass_still_meets_the_one_guest_per_booking_rule(org, member):
    elite_30(member, now=NOW)
    elite_30(member, now=NOW)
    host = book(member, make_session(org, in_days(2)))
    bring_guest(host)
    with pytest.raises(AlreadyBooked, match="already has a guest"):
        bring_guest(host, guest_name="Second")


def test_friend_pass_refusals(org, member):
    elite = elite_30(member, now=NOW)
    session = make_session(org, in_days(2))
    # no host booking
    with pytest.raises(HostBookingRequired):
        services.booking_create(
            organization=org,
            session_id=session.pk,
            member_id=member.pk,
            payment_method="FRIEND_PASS",
            guest_name="Ayşe",
            now=NOW,
        )
    host = book(member, session)
    # the host booking is on another session
    with pytest.raises(HostBookingRequired):
        services.booking_create(
            organization=org,
            session_id=make_session(org, in_days(3)).pk,
            member_id=member.pk,
            payment_method="FRIEND_PASS",
            guest_name="Ayşe",
            host_booking_id=host.pk,
            now=NOW,
        )
    # another member's booking is not a host for me
    other = MemberFactory(organization=org)
    elite_30(other, now=NOW)
    with pytest.raises(HostBookingRequired):
        services.booking_create(
            organization=org,
            session_id=session.pk,
            member_id=other.pk,
            payment_method="FRIEND_PASS",
            guest_name="Ayşe",
            host_booking_id=host.pk,
            now=NOW,
        )
    # a guest needs a name
    with pytest.raises(Invalid):
        bring_guest(host, guest_name=" ")
    # an expired pass
    Redemption.objects.filter(pk=elite.pk).update(friend_pass_expires_at=NOW)
    with pytest.raises(FriendPassUnavailable):
        bring_guest(host)
    # a member without a pass
    plain = MemberFactory(organization=org)
    give_credits(plain, 1, now=NOW)
    with pytest.raises(FriendPassUnavailable):
        bring_guest(book(plain, session))


def test_friend_pass_guest_counts_toward_capacity(org, layout, member):
    elite_30(member, now=NOW)
    session = make_session(org, in_days(2), layout=layout, capacity=1)
    host = book(member, session)
    with pytest.raises(SessionFull):
        bring_guest(host)


def test_cancelling_the_host_cancels_the_guest_and_gives_the_pass_back(org, member):
    elite = elite_30(member, now=NOW)
    session = make_session(org, in_days(2))
    host = book(member, session)
    guest = bring_guest(host)
    cancel(host)
    guest.refresh_from_db()
    assert (guest.status, guest.refunded) == (S.CANCELLED, True)
    elite.refresh_from_db()
    assert elite.friend_pass_used_at is None and elite.friend_pass_booking_id is None
    member.refresh_from_db()
    assert member.friend_passes_available == 1
    session.refresh_from_db()
    assert session.booked_count == 0
    assert balance(member) == 30


def test_late_host_cancel_burns_the_friend_pass(org, member):
    elite = elite_30(member, now=NOW)
    host = book(member, make_session(org, NOW + timedelta(hours=3)))
    guest = bring_guest(host)
    cancel(host)
    guest.refresh_from_db()
    assert (guest.status, guest.refunded) == (S.LATE_CANCELLED, False)
    elite.refresh_from_db()
    assert elite.friend_pass_booking_id == guest.pk


def test_guest_cancelled_alone_on_time_frees_the_pass_for_another_ride(org, member):
    elite_30(member, now=NOW)
    host = book(member, make_session(org, in_days(2)))
    guest = bring_guest(host)
    cancel(guest)
    host.refresh_from_db()
    assert host.status == S.CONFIRMED
    another = book(member, make_session(org, in_days(3)))
    assert bring_guest(another).status == S.CONFIRMED


def test_a_pass_that_expired_meanwhile_does_not_come_back(org, member):
    elite = elite_30(member, now=NOW, friend_pass_days=1)  # valid to the end of today, local
    host = book(member, make_session(org, in_days(3)))
    guest = bring_guest(host)
    cancelled = cancel(guest, now=NOW + timedelta(days=1))
    assert (cancelled.status, cancelled.refunded) == (S.CANCELLED, False)
    elite.refresh_from_db()
    assert elite.friend_pass_booking_id == guest.pk


def test_a_pass_of_a_cancelled_package_does_not_come_back(org, member):
    from packages_app.services import redemption_cancel

    # given a guest booked on the friend pass of an Elite 30 that staff then refund (pass void)
    elite = elite_30(member, now=NOW)
    host = book(member, make_session(org, in_days(3)), payment_method="FREE", by_staff=True)
    guest = bring_guest(host)
    redemption_cancel(organization=org, redemption_id=elite.pk, performed_by=None, now=NOW)
    # when the guest is cancelled on time
    cancelled = cancel(guest)
    # then nothing went back: the void pass is not usable again, and the booking says so
    assert (cancelled.status, cancelled.refunded) == (S.CANCELLED, False)
    elite.refresh_from_db()
    assert elite.friend_pass_booking_id == guest.pk
    member.refresh_from_db()
    assert member.friend_passes_available == 0


# --- staff cancel (refund) the All Access that paid ---------------------------------------------------
def test_cancelling_an_all_access_cancels_its_bookings_from_now_on_and_keeps_rides_taken(org, layout, member):
    from packages_app.services import redemption_cancel

    # given an All Access (1..30 March, 2 rides a day) that paid for this morning's ride (taken),
    # tonight's and tomorrow's, and tomorrow the member brings a friend-pass guest (Elite 30)
    aa = all_access(member, starts_on=date(2026, 3, 1), daily_ride_limit=2)
    elite = elite_30(member, now=NOW)
    earlier = NOW - timedelta(hours=4)
    this_morning = book(member, make_session(org, in_days(0, hour=10)), now=earlier)
    tonight = book(member, make_session(org, in_days(0, hour=19)))
    tomorrow_session = make_session(org, in_days(1), layout=layout)
    tomorrow = book(member, tomorrow_session, seat_id=seat(layout, "A1").pk)
    guest = bring_guest(tomorrow, seat_id=seat(layout, "A2").pk)
    assert {b.payment_type for b in (this_morning, tonight, tomorrow)} == {P.ALL_ACCESS}
    # when the front desk refunds the pass (it "ends its All Access from today on")
    redemption_cancel(organization=org, redemption_id=aa.pk, performed_by=None, now=NOW)
    # then the ride already taken stays, with its day used
    this_morning.refresh_from_db()
    assert this_morning.status == S.CONFIRMED
    assert AllAccessUsage.objects.filter(booking=this_morning).exists()
    # and the bookings the pass paid for are cancelled giving nothing back (the pass's days stay
    # used), bike and place released; the guest gets its own pass (another package) back
    for booking in (tonight, tomorrow):
        booking.refresh_from_db()
        assert (booking.status, booking.refunded, booking.cancelled_at) == (S.CANCELLED, False, NOW)
    assert AllAccessUsage.objects.filter(booking__in=[tonight, tomorrow]).count() == 2
    guest.refresh_from_db()
    assert (guest.status, guest.refunded, guest.cancelled_at) == (S.CANCELLED, True, NOW)
    tomorrow_session.refresh_from_db()
    assert tomorrow_session.booked_count == 0
    other = MemberFactory(organization=org)
    give_credits(other, 1, now=NOW)
    assert book(other, tomorrow_session, seat_id=seat(layout, "A1").pk).status == S.CONFIRMED
    # the guest's friend pass (not the cancelled pass's) comes back; the flags are true
    elite.refresh_from_db()
    assert elite.friend_pass_used_at is None
    member.refresh_from_db()
    assert (member.has_all_access, member.all_access_expires_at, member.friend_passes_available) == (False, None, 1)
    assert balance(member) == 30
    # and the member now pays tomorrow with credits, as for any day without a pass
    assert book(member, make_session(org, in_days(1, hour=9))).payment_type == P.CREDIT


def test_cancelling_a_credit_pack_cancels_its_booked_rides_giving_nothing_back(org, member):
    from packages_app.services import redemption_cancel

    # given 5 credits of an Elite 30, one ride taken this morning and one booked in two days
    elite = elite_30(member, now=NOW, credits=5)
    taken = book(member, make_session(org, in_days(0, hour=10)), now=NOW - timedelta(hours=4))
    booking = book(member, make_session(org, in_days(2)))
    # when staff cancel (refund) the package
    outcome = redemption_cancel(organization=org, redemption_id=elite.pk, performed_by=None, now=NOW)
    # then the future ride is cancelled with nothing given back, the ride taken stays
    assert outcome.effects.booking_ids_cancelled == [booking.pk]
    assert outcome.effects.credits_removed == 3
    booking.refresh_from_db()
    assert (booking.status, booking.refunded, booking.credits_used) == (S.CANCELLED, False, 1)
    taken.refresh_from_db()
    assert taken.status == S.CONFIRMED
    assert balance(member) == 0
    # and staff cancelling the ride taken, with a refund, return nothing to the closed lot
    refunded = services.booking_cancel(organization=org, booking_id=taken.pk, by_staff=True, refund=True, now=NOW)
    assert (refunded.status, refunded.refunded) == (S.CANCELLED, False)
    assert balance(member) == 0


# --- the studio cancels a session -------------------------------------------------------------------
def test_studio_cancelling_a_session_refunds_everyone(org, layout):
    session = make_session(org, NOW + timedelta(hours=2), layout=layout)
    credit_rider, aa_rider, elite_rider, comp_rider = (MemberFactory(organization=org) for _ in range(4))
    give_credits(credit_rider, 2, now=NOW)
    all_access(aa_rider, starts_on=date(2026, 3, 1))
    elite = elite_30(elite_rider, now=NOW)
    bookings = [
        book(credit_rider, session, seat_id=seat(layout, "B2").pk),
        book(aa_rider, session),
        book(elite_rider, session, payment_method="CREDIT"),
        book(comp_rider, session, payment_method="FREE", by_staff=True),
    ]
    guest = bring_guest(bookings[2])
    # when the studio cancels it (late, by the members' rule: the studio refunds anyway)
    cancelled = services.session_cancel(organization=org, session_id=session.pk, now=NOW + timedelta(hours=1))
    assert cancelled.status == Session.Status.CANCELLED
    for b in [*bookings, guest]:
        b.refresh_from_db()
        assert b.status == S.CANCELLED
    assert [b.refunded for b in bookings] == [True, True, True, False]
    assert balance(credit_rider) == 2 and balance(elite_rider) == 30
    assert not AllAccessUsage.objects.exists()
    elite.refresh_from_db()
    assert elite.friend_pass_used_at is None
    session.refresh_from_db()
    assert session.booked_count == 0
    with pytest.raises(InvalidState):
        services.session_cancel(organization=org, session_id=session.pk, now=NOW)
    with pytest.raises(SessionNotBookable):
        book(credit_rider, session)


def test_studio_cancelling_a_session_gives_back_what_late_cancels_kept(org, layout):
    # given two riders who cancelled late (credits and the All Access day kept by the rule)
    session = make_session(org, NOW + timedelta(hours=6), layout=layout)
    credit_rider, aa_rider = MemberFactory(organization=org), MemberFactory(organization=org)
    give_credits(credit_rider, 2, now=NOW)
    all_access(aa_rider, starts_on=date(2026, 3, 1))
    late = [book(credit_rider, session), book(aa_rider, session)]
    for b in late:
        cancel(b, now=NOW + timedelta(hours=1))
        b.refresh_from_db()
        assert (b.status, b.refunded) == (S.LATE_CANCELLED, False)
    assert balance(credit_rider) == 1 and AllAccessUsage.objects.count() == 1
    # when the studio cancels the class, nobody rode: the penalty goes back too
    services.session_cancel(organization=org, session_id=session.pk, now=NOW + timedelta(hours=2))
    for b in late:
        b.refresh_from_db()
        assert (b.status, b.refunded) == (S.LATE_CANCELLED, True)
    assert balance(credit_rider) == 2
    assert not AllAccessUsage.objects.exists()
    session.refresh_from_db()
    assert session.booked_count == 0


def test_session_create_defaults_capacity_to_bookable_bikes(org):
    from bookings_app.tests.factories import InstructorFactory, RideClassFactory

    layout = make_layout(org, ["NPN", "ECX"])  # 3 bookable
    kwargs = {
        "organization": org,
        "class_id": RideClassFactory(organization=org).pk,
        "instructor_id": InstructorFactory(organization=org).pk,
        "location_id": layout.location_id,
        "seat_layout_id": layout.pk,
        "starts_at": in_days(1),
        "ends_at": in_days(1) + timedelta(minutes=50),
    }
    assert services.session_create(**kwargs).capacity == 3
    assert services.session_create(**kwargs, capacity=2).capacity == 2
    with pytest.raises(Invalid):
        services.session_create(**kwargs, capacity=4)
    with pytest.raises(Invalid):
        services.session_create(**{**kwargs, "ends_at": kwargs["starts_at"]})
    with pytest.raises(Invalid):
        services.session_create(**{**kwargs, "location_id": make_layout(org).location_id})
    with pytest.raises(Invalid):
        services.session_create(**{**kwargs, "class_id": RideClassFactory().pk})  # another studio's class


def test_ledger_is_sound_after_the_whole_module():
    """Runs last in this module: every story above left a sound ledger (each in its own
    transaction; this one builds a mixed day and checks the whole database)."""
    org = OrganizationFactory()
    layout = make_layout(org)
    session = make_session(org, in_days(2), layout=layout)
    riders = [MemberFactory(organization=org) for _ in range(3)]
    for rider in riders:
        give_credits(rider, 4, now=NOW)
    a = book(riders[0], session, seat_id=seat(layout, "B2").pk)
    book(riders[1], session)
    cancel(a)
    book(riders[0], session)
    services.session_cancel(organization=org, session_id=session.pk, now=NOW)
    call_command("check_ledger", stdout=StringIO())  # exits non-zero (CommandError) on a breach
