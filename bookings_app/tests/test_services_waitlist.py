"""DOMAIN.md 14: joining, leaving, promotion when a spot frees, expiry (services).

Promotion runs right after the freeing transaction commits; these tests run inside a test
transaction, so they collect the on-commit callbacks and run them (`promoting`) where the
request would have run them.
"""

from datetime import date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from bookings_app import services
from bookings_app.models import LIVE, AllAccessUsage, Booking, WaitlistEntry
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import all_access, elite_30, give_credits, make_layout, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditTransaction, Member, StaffRole
from members_app.tests.factories import MemberFactory, staff_user
from packages_app.services import redemption_cancel
from spinning.errors import DomainError

pytestmark = pytest.mark.django_db

W = WaitlistEntry.Status
START = datetime(2026, 3, 4, 18, 0, tzinfo=IST)  # Wednesday 18:00, two and a half days after NOW


@pytest.fixture(autouse=True)
def ledger_stays_true():
    yield
    assert ledger_breaches() == []


@pytest.fixture
def promoting(django_capture_on_commit_callbacks):
    """Run what the code defers to after its commit (the waitlist's promotion) as it would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def full(org, layout):
    """A session of capacity 2, both spots taken by riders on A1 and A2."""
    session = make_session(org, START, layout=layout, capacity=2)
    riders = [MemberFactory(organization=org) for _ in range(2)]
    bookings = []
    for rider, label in zip(riders, ["A1", "A2"], strict=True):
        give_credits(rider, 3, now=NOW)
        bookings.append(
            services.booking_create(
                organization=org, session_id=session.pk, member_id=rider.pk, seat_id=seat(layout, label).pk, now=NOW
            )
        )
    session.refresh_from_db()
    return session, bookings


def waiting_member(org, credits=3):
    member = MemberFactory(organization=org)
    if credits:
        give_credits(member, credits, now=NOW)
    return member


def join(org, session, member, **kwargs):
    return services.waitlist_join(organization=org, session_id=session.pk, member_id=member.pk, now=NOW, **kwargs)


def refusal(call) -> str:
    with pytest.raises(DomainError) as info:
        call()
    return info.value.code


def positions(org, session):
    from bookings_app import selectors

    return [
        (e.member_id, e.status, e.position)
        for e in selectors.waitlist_list(organization=org).filter(session=session).order_by("sequence")
    ]


# --- joining ------------------------------------------------------------------------------------------
def test_members_join_first_come_first_served_and_joining_takes_nothing(org, full):
    session, _ = full
    first, second = waiting_member(org), waiting_member(org)
    rows_before = CreditTransaction.objects.count()
    e1, e2 = join(org, session, first), join(org, session, second)
    assert (e1.status, e1.sequence, e2.sequence) == (W.WAITING, 1, 2)
    assert positions(org, session) == [(first.pk, W.WAITING, 1), (second.pk, W.WAITING, 2)]
    first.refresh_from_db()
    assert first.credit_balance == 3 and CreditTransaction.objects.count() == rows_before


def test_join_refusals_each_with_its_code(org, layout, full):
    session, bookings = full
    member = waiting_member(org)
    join(org, session, member)
    assert refusal(lambda: join(org, session, member)) == "already_waitlisted"
    assert refusal(lambda: join(org, session, Member.objects.get(pk=bookings[0].member_id))) == "already_booked"
    inactive = waiting_member(org)
    Member.objects.filter(pk=inactive.pk).update(status=Member.Status.SUSPENDED)
    assert refusal(lambda: join(org, session, inactive)) == "member_inactive"
    broke = waiting_member(org, credits=0)
    assert refusal(lambda: join(org, session, broke)) == "insufficient_credits"
    roomy = make_session(org, START + timedelta(hours=2), layout=layout)
    assert refusal(lambda: join(org, roomy, waiting_member(org))) == "session_not_full"
    far = make_session(org, START + timedelta(days=10), layout=layout, capacity=1)
    assert refusal(lambda: join(org, far, waiting_member(org))) == "booking_not_open"
    past = make_session(org, NOW - timedelta(hours=1), layout=layout, capacity=1)
    assert refusal(lambda: join(org, past, waiting_member(org))) == "session_not_bookable"


def test_join_refusal_order_follows_booking(org, layout):
    # A suspended member asking for a session that has room: member_inactive comes first
    # (DOMAIN.md 9's order), session_not_full only after the booking's own refusals.
    session = make_session(org, START, layout=layout)
    member = waiting_member(org)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.INACTIVE)
    assert refusal(lambda: join(org, session, member)) == "member_inactive"


def test_waitlist_full_at_max_size(org, full):
    session, _ = full
    org.waitlist_max_size = 1
    org.save()
    join(org, session, waiting_member(org))
    assert refusal(lambda: join(org, session, waiting_member(org))) == "waitlist_full"


def test_join_needs_the_cheapest_bike_paid_now(org):
    # Only exclusive bikes (2 credits): one credit is not enough to wait.
    layout = make_layout(org, ["EE"])
    session = make_session(org, START, layout=layout, capacity=1)
    rider = waiting_member(org)
    services.booking_create(organization=org, session_id=session.pk, member_id=rider.pk, now=NOW)
    assert refusal(lambda: join(org, session, waiting_member(org, credits=1))) == "insufficient_credits"
    assert join(org, session, waiting_member(org, credits=2)).status == W.WAITING


def test_join_with_all_access_and_its_day_used_up(org, layout, full):
    session, _ = full
    member = waiting_member(org, credits=0)
    all_access(member, starts_on=date(2026, 3, 1), now=NOW)
    other = make_session(org, START - timedelta(hours=5), layout=layout)
    services.booking_create(organization=org, session_id=other.pk, member_id=member.pk, now=NOW)
    assert refusal(lambda: join(org, session, member)) == "daily_limit_reached"
    fresh = waiting_member(org, credits=0)
    all_access(fresh, starts_on=date(2026, 3, 1), now=NOW)
    assert join(org, session, fresh).status == W.WAITING


# --- leaving, removing --------------------------------------------------------------------------------
def test_member_leaves_and_staff_remove(org, full):
    session, _ = full
    a, b, c = (waiting_member(org) for _ in range(3))
    ea, eb, _ec = join(org, session, a), join(org, session, b), join(org, session, c)
    left = services.waitlist_leave(organization=org, entry_id=ea.pk, member=a, now=NOW)
    assert left.status == W.LEFT
    removed = services.waitlist_leave(organization=org, entry_id=eb.pk, by_staff=True, now=NOW)
    assert removed.status == W.REMOVED
    assert positions(org, session) == [(a.pk, W.LEFT, None), (b.pk, W.REMOVED, None), (c.pk, W.WAITING, 1)]
    assert refusal(lambda: services.waitlist_leave(organization=org, entry_id=ea.pk, member=a)) == "invalid_state"
    # Another member's entry is not found; the member may join again after leaving.
    assert refusal(lambda: services.waitlist_leave(organization=org, entry_id=eb.pk, member=a)) == "not_found"
    assert join(org, session, a).sequence == 4


# --- promotion ----------------------------------------------------------------------------------------
def test_on_time_cancel_promotes_the_first_onto_the_freed_bike(org, layout, full, promoting):
    session, bookings = full
    first, second = waiting_member(org), waiting_member(org)
    e1, _ = join(org, session, first), join(org, session, second)
    with promoting():
        services.booking_cancel(organization=org, booking_id=bookings[1].pk, now=NOW)
    e1.refresh_from_db()
    assert e1.status == W.PROMOTED and e1.booking is not None
    booking = e1.booking
    assert (booking.member_id, booking.seat, booking.status, booking.payment_type) == (
        first.pk,
        seat(layout, "A2"),
        "CONFIRMED",
        "CREDIT",
    )
    first.refresh_from_db()
    assert first.credit_balance == 2  # the same ledger row a booking writes
    assert CreditTransaction.objects.filter(member=first, booking_id=booking.pk, type="BOOKING_PAYMENT").count() == 1
    assert positions(org, session)[1] == (second.pk, W.WAITING, 1)
    session.refresh_from_db()
    assert session.booked_count == 2 == Booking.objects.filter(LIVE, session=session).count()


def test_late_cancel_by_staff_promotes_too(org, full, promoting):
    session, bookings = full
    entry = join(org, session, waiting_member(org))
    late = START - timedelta(hours=3)  # inside the 12 h cancellation window, outside the 60 min cutoff
    with promoting():
        services.booking_cancel(organization=org, booking_id=bookings[0].pk, by_staff=True, refund=False, now=late)
    bookings[0].refresh_from_db()
    entry.refresh_from_db()
    assert bookings[0].status == "LATE_CANCELLED" and entry.status == W.PROMOTED


def test_an_entry_that_cannot_pay_is_skipped_and_the_next_promoted(org, layout, full, promoting):
    session, bookings = full
    poor, rich = waiting_member(org, credits=1), waiting_member(org)
    e_poor, e_rich = join(org, session, poor), join(org, session, rich)
    # The poor rider spends their credit elsewhere after joining.
    elsewhere = make_session(org, START + timedelta(hours=3), layout=layout)
    services.booking_create(organization=org, session_id=elsewhere.pk, member_id=poor.pk, now=NOW)
    with promoting():
        services.booking_cancel(organization=org, booking_id=bookings[0].pk, now=NOW)
    e_poor.refresh_from_db()
    e_rich.refresh_from_db()
    assert (e_poor.status, e_poor.reason, e_poor.booking) == (W.SKIPPED, "insufficient_credits", None)
    assert e_rich.status == W.PROMOTED and e_rich.booking.seat == seat(layout, "A1")


def test_promotion_pays_with_all_access_like_a_booking(org, full, promoting):
    session, bookings = full
    member = waiting_member(org, credits=0)
    pass_ = all_access(member, starts_on=date(2026, 3, 1), now=NOW)
    entry = join(org, session, member)
    with promoting():
        services.booking_cancel(organization=org, booking_id=bookings[0].pk, now=NOW)
    entry.refresh_from_db()
    assert entry.booking.payment_type == "ALL_ACCESS" and entry.booking.redemption == pass_
    assert AllAccessUsage.objects.filter(booking=entry.booking, usage_date=date(2026, 3, 4)).exists()


def test_no_promotion_inside_the_cutoff(org, full, promoting):
    session, bookings = full
    entry = join(org, session, waiting_member(org))
    inside = START - timedelta(minutes=59)
    with promoting():
        services.booking_cancel(organization=org, booking_id=bookings[0].pk, by_staff=True, now=inside)
    entry.refresh_from_db()
    assert entry.status == W.WAITING
    session.refresh_from_db()
    assert session.booked_count == 1


def test_friend_pass_guest_cancelled_frees_a_spot(org, layout, promoting):
    session = make_session(org, START, layout=layout, capacity=2)
    host = waiting_member(org)
    elite_30(host, now=NOW)
    own = services.booking_create(
        organization=org, session_id=session.pk, member_id=host.pk, seat_id=seat(layout, "A1").pk, now=NOW
    )
    guest = services.booking_create(
        organization=org,
        session_id=session.pk,
        seat_id=seat(layout, "A3").pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=own.pk,
        now=NOW,
    )
    entry = join(org, session, waiting_member(org))
    with promoting():
        services.booking_cancel(organization=org, booking_id=guest.pk, now=NOW)
    entry.refresh_from_db()
    assert entry.status == W.PROMOTED and entry.booking.seat == seat(layout, "A3")


def test_cancelling_the_host_frees_two_spots_for_two_riders(org, layout, promoting):
    session = make_session(org, START, layout=layout, capacity=2)
    host = waiting_member(org)
    elite_30(host, now=NOW)
    own = services.booking_create(organization=org, session_id=session.pk, member_id=host.pk, now=NOW)
    services.booking_create(
        organization=org,
        session_id=session.pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=own.pk,
        now=NOW,
    )
    entries = [join(org, session, waiting_member(org)) for _ in range(3)]
    with promoting():
        services.booking_cancel(organization=org, booking_id=own.pk, now=NOW)
    assert [WaitlistEntry.objects.get(pk=e.pk).status for e in entries] == [W.PROMOTED, W.PROMOTED, W.WAITING]


def test_cancelled_redemption_frees_its_bookings_spots(org, layout, promoting):
    session = make_session(org, START, layout=layout, capacity=1)
    holder = waiting_member(org, credits=0)
    pass_ = all_access(holder, starts_on=date(2026, 3, 1), now=NOW)
    services.booking_create(organization=org, session_id=session.pk, member_id=holder.pk, now=NOW)
    entry = join(org, session, waiting_member(org))
    with promoting():
        redemption_cancel(organization=org, redemption_id=pass_.pk, performed_by=None, now=NOW)
    entry.refresh_from_db()
    assert entry.status == W.PROMOTED


def test_raising_capacity_promotes_onto_any_free_bikes(org, layout, full, promoting):
    session, _ = full
    entries = [join(org, session, waiting_member(org)) for _ in range(3)]
    with promoting():
        services.session_update(organization=org, session_id=session.pk, data={"capacity": 4}, now=NOW)
    statuses = [WaitlistEntry.objects.get(pk=e.pk) for e in entries]
    assert [e.status for e in statuses] == [W.PROMOTED, W.PROMOTED, W.WAITING]
    # The cheapest free bikes, row by row: A3 then B1 (B2 is the 2-credit exclusive).
    assert [e.booking.seat.label for e in statuses[:2]] == ["A3", "B1"]
    session.refresh_from_db()
    assert session.booked_count == 4


def test_capacity_below_the_live_bookings_is_refused(org, full):
    session, _ = full
    assert refusal(lambda: services.session_update(organization=org, session_id=session.pk, data={"capacity": 1})) == (
        "capacity_below_bookings"
    )


def test_staff_promote_by_hand(org, layout, full):
    session, _ = full
    entry = join(org, session, waiting_member(org))
    # A spot opens without the automatic promotion (its after-commit run is not executed here).
    services.session_update(organization=org, session_id=session.pk, data={"capacity": 3})
    admin = staff_user(org, StaffRole.Role.ADMIN)
    booking = services.waitlist_entry_promote(organization=org, entry_id=entry.pk, booked_by=admin, now=NOW)
    entry.refresh_from_db()
    assert entry.status == W.PROMOTED and entry.booking == booking and booking.booked_by == admin
    assert refusal(lambda: services.waitlist_entry_promote(organization=org, entry_id=entry.pk, booked_by=admin)) == (
        "invalid_state"
    )


def test_staff_promote_by_hand_into_a_full_session_is_refused(org, full):
    session, _ = full
    entry = join(org, session, waiting_member(org))
    assert refusal(lambda: services.waitlist_entry_promote(organization=org, entry_id=entry.pk, booked_by=None)) == (
        "session_full"
    )


# --- expiry -------------------------------------------------------------------------------------------
def test_cancelling_the_session_expires_the_waitlist(org, full):
    session, _ = full
    entry = join(org, session, waiting_member(org))
    services.session_cancel(organization=org, session_id=session.pk, now=NOW)
    entry.refresh_from_db()
    assert entry.status == W.EXPIRED


def test_the_sweep_expires_started_sessions_and_gives_away_lost_spots(org, layout, full):
    session, bookings = full
    entry = join(org, session, waiting_member(org))
    # A cancel whose after-commit promotion never ran (a crash): the sweep gives the spot away.
    services.booking_cancel(organization=org, booking_id=bookings[0].pk, now=NOW)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == W.WAITING
    sweep = services.waitlists_sweep(now=NOW)
    assert (sweep.promoted, WaitlistEntry.objects.get(pk=entry.pk).status) == (1, W.PROMOTED)
    # At the start, whoever still waits expires (close_sessions runs the sweep).
    later = join(org, session, waiting_member(org))
    sweep = services.waitlists_sweep(now=START)
    assert sweep.expired == 1 and WaitlistEntry.objects.get(pk=later.pk).status == W.EXPIRED
    assert services.waitlists_sweep(now=START).expired == 0  # idempotent


def test_leaving_entry_is_never_promoted(org, full, promoting):
    session, bookings = full
    a, b = waiting_member(org), waiting_member(org)
    ea, eb = join(org, session, a), join(org, session, b)
    services.waitlist_leave(organization=org, entry_id=ea.pk, member=a, now=NOW)
    with promoting():
        services.booking_cancel(organization=org, booking_id=bookings[0].pk, now=NOW)
    assert WaitlistEntry.objects.get(pk=ea.pk).status == W.LEFT
    assert WaitlistEntry.objects.get(pk=eb.pk).status == W.PROMOTED


def test_an_entry_gone_while_booking_rolls_the_booking_back(org, full, monkeypatch):
    session, bookings = full
    member = waiting_member(org)
    entry = join(org, session, member)
    services.booking_cancel(organization=org, booking_id=bookings[0].pk, now=NOW)

    # The rider leaves between the promotion's booking and its entry update (what a concurrent
    # leave looks like from inside the promotion's transaction).
    def leave_now(point):
        if point == "waitlist_booked":
            WaitlistEntry.objects.filter(pk=entry.pk).update(status=W.LEFT)

    from spinning import locking

    with locking.pause_hook(leave_now):
        report = services.waitlist_promote(organization=org, session_id=session.pk, now=NOW)
    assert report.promoted == []
    assert not Booking.objects.filter(LIVE, session=session, member=member).exists()
    member.refresh_from_db()
    assert member.credit_balance == 3


# --- the database refuses the impossible ----------------------------------------------------------------
def _entry(org, session, member, **kwargs):
    defaults = {"sequence": 1, "joined_at": NOW, "updated_at": NOW}
    return WaitlistEntry(organization=org, session=session, member=member, **{**defaults, **kwargs})


def test_constraint_one_waiting_entry_per_member_per_session(org, full):
    session, _ = full
    member = waiting_member(org)
    _entry(org, session, member, sequence=1).save()
    _entry(org, session, member, sequence=2, status=W.LEFT).save()  # a finished one may repeat
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(org, session, member, sequence=3).save()


def test_constraint_one_place_per_sequence(org, full):
    session, _ = full
    _entry(org, session, waiting_member(org), sequence=1).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(org, session, waiting_member(org), sequence=1).save()


def test_constraint_promoted_has_its_booking_and_nothing_else_has_one(org, full):
    session, bookings = full
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(org, session, waiting_member(org), status=W.PROMOTED).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(org, session, waiting_member(org), status=W.WAITING, booking=bookings[0]).save()


def test_constraint_one_booking_promotes_one_entry(org, full):
    session, bookings = full
    _entry(org, session, waiting_member(org), sequence=1, status=W.PROMOTED, booking=bookings[0]).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(org, session, waiting_member(org), sequence=2, status=W.PROMOTED, booking=bookings[0]).save()


def test_constraint_sequence_starts_at_one(org, full):
    session, _ = full
    with pytest.raises(IntegrityError), transaction.atomic():
        _entry(org, session, waiting_member(org), sequence=0).save()
