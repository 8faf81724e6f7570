"""Staff actions on bookings are recorded by the booking services, in their transaction
(DOMAIN.md 18); a rider's own booking and cancel are not staff actions."""

from datetime import timedelta

import pytest

from bookings_app import services
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import give_credits, make_session, seat
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import staff_user
from spinning.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)


def log(booking_id) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(object_id=booking_id).order_by("created_at"))


def test_a_booking_made_at_the_desk_is_recorded_a_riders_own_is_not(org, layout, member, desk):
    give_credits(member, 4, now=NOW)
    evening = make_session(org, NOW + timedelta(hours=6), layout=layout)
    morning = make_session(org, NOW + timedelta(days=1), layout=layout)

    own = services.booking_create(
        organization=org, session_id=evening.pk, member_id=member.pk, booked_by=member.user, now=NOW
    )
    at_desk = services.booking_create(
        organization=org,
        session_id=morning.pk,
        member_id=member.pk,
        seat_id=seat(layout, "B2").pk,
        booked_by=desk,
        by_staff=True,
        now=NOW,
    )

    assert log(own.pk) == []
    (entry,) = log(at_desk.pk)
    assert (entry.action, entry.actor_id, entry.object_type) == ("booking.create", desk.pk, "booking")
    assert entry.changes["member"] == str(member.pk) and entry.changes["seat"] == "B2"


def test_a_refused_desk_booking_writes_nothing(org, layout, member, desk):
    session = make_session(org, NOW + timedelta(hours=6), layout=layout)
    with pytest.raises(DomainError):  # no credits
        services.booking_create(
            organization=org, session_id=session.pk, member_id=member.pk, booked_by=desk, by_staff=True, now=NOW
        )
    assert not AuditLogEntry.objects.exists()


def test_staff_cancel_without_refund_is_recorded_with_what_it_did(org, layout, member, desk):
    give_credits(member, 1, now=NOW)
    session = make_session(org, NOW + timedelta(days=2), layout=layout)
    booking = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)

    services.booking_cancel(
        organization=org, booking_id=booking.pk, cancelled_by=desk, by_staff=True, refund=False, now=NOW
    )

    (entry,) = log(booking.pk)
    assert entry.action == "booking.cancel" and entry.actor_id == desk.pk
    assert entry.changes["status"] == ["CONFIRMED", "CANCELLED"] and entry.changes["refund"] is False


def test_a_riders_own_cancel_is_not_a_staff_action(org, layout, member):
    give_credits(member, 1, now=NOW)
    session = make_session(org, NOW + timedelta(days=2), layout=layout)
    booking = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    services.booking_cancel(organization=org, booking_id=booking.pk, cancelled_by=member.user, member=member, now=NOW)
    assert log(booking.pk) == []


def test_check_in_undo_and_no_show_are_recorded(org, layout, member, desk):
    give_credits(member, 2, now=NOW)
    first = make_session(org, NOW + timedelta(minutes=30), layout=layout)
    second = make_session(org, NOW + timedelta(minutes=90), layout=layout)
    riding = services.booking_create(organization=org, session_id=first.pk, member_id=member.pk, now=NOW)
    missing = services.booking_create(organization=org, session_id=second.pk, member_id=member.pk, now=NOW)

    services.booking_check_in(organization=org, booking_id=riding.pk, performed_by=desk, now=NOW)
    services.booking_undo_check_in(organization=org, booking_id=riding.pk, performed_by=desk)
    services.booking_mark_no_show(
        organization=org, booking_id=missing.pk, performed_by=desk, now=second.starts_at + timedelta(minutes=5)
    )

    assert [e.action for e in log(riding.pk)] == ["booking.check_in", "booking.check_in_undo"]
    assert [e.action for e in log(missing.pk)] == ["booking.no_show"]
    assert {e.actor_id for e in AuditLogEntry.objects.all()} == {desk.pk}


def test_a_refused_check_in_writes_nothing(org, layout, member, desk):
    give_credits(member, 1, now=NOW)
    session = make_session(org, NOW + timedelta(days=2), layout=layout)
    booking = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    services.booking_cancel(organization=org, booking_id=booking.pk, member=member, now=NOW)
    with pytest.raises(DomainError):  # a cancelled booking is not checked in
        services.booking_check_in(organization=org, booking_id=booking.pk, performed_by=desk, now=NOW)
    assert not AuditLogEntry.objects.exists()
