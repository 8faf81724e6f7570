"""One test per database constraint of bookings_app: the backstops behind the services, and the
409 each one means when the booking path meets it."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from bookings_app import services
from bookings_app.errors import AlreadyBooked, DailyLimitReached, SeatTaken
from bookings_app.models import AllAccessUsage, Booking, Seat, Session
from bookings_app.services._common import _domain_error_for
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import all_access, give_credits, make_session, seat
from members_app.models import CreditTransaction
from members_app.tests.factories import MemberFactory
from spinning import locking

pytestmark = pytest.mark.django_db


def refused(call):
    with pytest.raises(IntegrityError), transaction.atomic():
        call()


def mapped(obj):
    """The 409 the booking path answers when this insert meets its constraint."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        obj.save(force_insert=True)
    return _domain_error_for(caught.value)


def booking(session, member, **extra):
    values = {
        "organization": session.organization,
        "session": session,
        "member": member,
        "payment_type": "FREE",
        "status": "CONFIRMED",
        "created_at": NOW,
    }
    values.update(extra)
    return Booking(**values)


@pytest.fixture
def session(org, layout):
    return make_session(org, NOW + timedelta(days=1), layout=layout, capacity=2)


def test_session_not_over_capacity(session):
    refused(lambda: Session.objects.filter(pk=session.pk).update(booked_count=F("capacity") + 1))


def test_session_ends_after_start(session):
    refused(lambda: Session.objects.filter(pk=session.pk).update(ends_at=F("starts_at")))


def test_one_live_booking_per_seat(session, layout, org):
    bike = seat(layout, "A1")
    booking(session, MemberFactory(organization=org), seat=bike).save()
    refused(lambda: booking(session, MemberFactory(organization=org), seat=bike).save())
    assert isinstance(mapped(booking(session, MemberFactory(organization=org), seat=bike)), SeatTaken)
    # a cancelled booking does not hold the bike
    booking(session, MemberFactory(organization=org), seat=seat(layout, "A2"), status="CANCELLED").save()
    booking(session, MemberFactory(organization=org), seat=seat(layout, "A2")).save()


def test_one_live_booking_per_member_per_session(session, member):
    booking(session, member).save()
    refused(lambda: booking(session, member).save())
    assert isinstance(mapped(booking(session, member)), AlreadyBooked)
    booking(session, member, status="LATE_CANCELLED").save()


def test_one_live_guest_per_host_booking(session, member):
    host = booking(session, member)
    host.save()
    guest = {"is_guest": True, "payment_type": "FRIEND_PASS", "host_booking": host, "guest_name": "A"}
    booking(session, member, **guest).save()
    refused(lambda: booking(session, member, **guest).save())
    assert isinstance(mapped(booking(session, member, **guest)), AlreadyBooked)


def test_a_guest_has_a_host_and_rides_on_a_friend_pass(session, member):
    refused(lambda: booking(session, member, is_guest=True, payment_type="FRIEND_PASS").save())
    host = booking(session, member)
    host.save()
    refused(lambda: booking(session, member, is_guest=True, payment_type="FREE", host_booking=host).save())


def test_credits_used_never_exceed_the_cost(session, member):
    refused(lambda: booking(session, member, payment_type="CREDIT", credit_cost=1, credits_used=2).save())


def test_one_all_access_use_per_pass_date_and_slot(session, org, member):
    pass_ = all_access(member, starts_on=date(2026, 3, 1))
    other_session = make_session(org, NOW + timedelta(days=1, hours=2))
    first, second = booking(session, member), booking(other_session, member)
    first.save()
    second.save()

    def usage(b, slot=1):
        return AllAccessUsage(
            organization=org, redemption=pass_, member=member, usage_date=date(2026, 3, 3), slot=slot, booking=b
        )

    usage(first).save()
    refused(lambda: usage(second).save())
    assert isinstance(mapped(usage(second)), DailyLimitReached)
    usage(second, slot=2).save()  # a second slot is what a daily limit of 2 uses


def test_all_access_slot_starts_at_one(session, org, member):
    pass_ = all_access(member, starts_on=date(2026, 3, 1))
    b = booking(session, member)
    b.save()
    refused(
        lambda: AllAccessUsage.objects.create(
            organization=org, redemption=pass_, member=member, usage_date=date(2026, 3, 3), slot=0, booking=b
        )
    )


def test_seat_cost_position_and_label(layout, org):
    existing = seat(layout, "A1")
    refused(lambda: Seat.objects.filter(pk=existing.pk).update(credit_cost=0))
    refused(lambda: Seat.objects.create(organization=org, layout=layout, label="Z9", row=1, column=1))
    refused(lambda: Seat.objects.create(organization=org, layout=layout, label="A1", row=9, column=9))


# --- the booking path meets a constraint: no savepoint, the durable transaction maps it ----------------
def _booking_meets(point, conflicting_write, **booking_args):
    """Run booking_create; at `point` (after the Python check passed) write the row that makes the
    booking's own INSERT break a constraint, as a racing request would have."""

    def hook(name):
        if name == point:
            conflicting_write()

    with locking.pause_hook(hook):
        services.booking_create(now=NOW, **booking_args)


def test_booking_path_maps_a_seat_constraint_to_seat_taken_and_writes_nothing(session, layout, org, member):
    give_credits(member, 5, now=NOW)
    bike = seat(layout, "A1")
    rival = MemberFactory(organization=org)
    with pytest.raises(SeatTaken):
        _booking_meets(
            "seat_checked",
            lambda: booking(session, rival, seat=bike).save(),
            organization=org,
            session_id=session.pk,
            member_id=member.pk,
            seat_id=bike.pk,
        )
    member.refresh_from_db()
    session.refresh_from_db()
    assert member.credit_balance == 5 and session.booked_count == 0
    assert not Booking.objects.filter(session=session).exists()
    assert not CreditTransaction.objects.filter(member=member, type="BOOKING_PAYMENT").exists()
    # the connection is usable and the bike can be booked afterwards
    services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, seat_id=bike.pk, now=NOW)


def test_booking_path_maps_a_member_constraint_to_already_booked(session, org, member):
    give_credits(member, 5, now=NOW)
    with pytest.raises(AlreadyBooked):
        _booking_meets(
            "capacity_checked",
            lambda: booking(session, member).save(),
            organization=org,
            session_id=session.pk,
            member_id=member.pk,
        )
    member.refresh_from_db()
    assert member.credit_balance == 5 and not Booking.objects.filter(session=session).exists()


def test_booking_path_maps_an_all_access_day_constraint_to_daily_limit_reached(session, org, member):
    pass_ = all_access(member, starts_on=date(2026, 3, 1))
    other_session = make_session(org, NOW + timedelta(days=1, hours=2))

    def ride_taken_meanwhile():
        other = booking(other_session, member)
        other.save()
        AllAccessUsage(
            organization=org, redemption=pass_, member=member, usage_date=date(2026, 3, 3), slot=1, booking=other
        ).save()

    with pytest.raises(DailyLimitReached):
        _booking_meets(
            "all_access_checked", ride_taken_meanwhile, organization=org, session_id=session.pk, member_id=member.pk
        )
    assert not Booking.objects.filter(member=member).exists()
    assert not AllAccessUsage.objects.filter(member=member).exists()
