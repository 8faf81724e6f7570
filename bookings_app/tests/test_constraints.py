"""One test per database constraint of bookings_app: the backstops behind the services, and the
409 each one means when the booking path meets it."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from bookings_app.errors import AlreadyBooked, DailyLimitReached, SeatTaken
from bookings_app.models import AllAccessUsage, Booking, Seat, Session
from bookings_app.services import _insert
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import all_access, make_session, seat
from members_app.tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def refused(call):
    with pytest.raises(IntegrityError), transaction.atomic():
        call()


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
    with pytest.raises(SeatTaken):
        _insert(booking(session, MemberFactory(organization=org), seat=bike))
    # a cancelled booking does not hold the bike
    booking(session, MemberFactory(organization=org), seat=seat(layout, "A2"), status="CANCELLED").save()
    booking(session, MemberFactory(organization=org), seat=seat(layout, "A2")).save()


def test_one_live_booking_per_member_per_session(session, member):
    booking(session, member).save()
    refused(lambda: booking(session, member).save())
    with pytest.raises(AlreadyBooked):
        _insert(booking(session, member))
    booking(session, member, status="LATE_CANCELLED").save()


def test_one_live_guest_per_host_booking(session, member):
    host = booking(session, member)
    host.save()
    guest = {"is_guest": True, "payment_type": "FRIEND_PASS", "host_booking": host, "guest_name": "A"}
    booking(session, member, **guest).save()
    refused(lambda: booking(session, member, **guest).save())
    with pytest.raises(AlreadyBooked):
        _insert(booking(session, member, **guest))


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
    with pytest.raises(DailyLimitReached):
        _insert(usage(second))
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
