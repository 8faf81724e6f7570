"""The studio's admin for sessions and bookings: scoped to the studio, actions through services."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from bookings_app import services
from bookings_app.models import Booking, Session
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import give_credits, make_layout, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield
    assert ledger_breaches() == []


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def booked(org, layout, member):
    give_credits(member, 3, now=NOW)
    session = make_session(org, NOW + timedelta(days=2), layout=layout)
    booking = services.booking_create(
        organization=org, session_id=session.pk, member_id=member.pk, seat_id=seat(layout, "A1").pk, now=NOW
    )
    return session, booking


def test_sessions_by_day_with_booked_over_capacity(org, booked):
    session, _ = booked
    foreign = make_session(OrganizationFactory(), NOW + timedelta(days=2))
    for role in (StaffRole.Role.ADMIN, StaffRole.Role.FRONT_DESK, StaffRole.Role.INSTRUCTOR):
        response = logged_in(staff_user(org, role)).get(url("bookings_app_session_changelist"), {"day": "2026-03-04"})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [session]
        assert "1 / 6" in response.content.decode()
    admin = staff_user(org, StaffRole.Role.ADMIN)
    assert logged_in(admin).get(url("bookings_app_session_change", foreign.pk)).status_code == 302
    other_day = logged_in(admin).get(url("bookings_app_session_changelist"), {"day": "2026-03-05"})
    assert list(other_day.context["cl"].result_list) == []


def test_session_page_shows_the_roster_inline(org, booked, member):
    session, _ = booked
    response = logged_in(staff_user(org, StaffRole.Role.INSTRUCTOR)).get(url("bookings_app_session_change", session.pk))
    assert response.status_code == 200
    assert member.full_name in response.content.decode()


def test_instructor_checks_in_from_the_roster_but_cannot_cancel(org, booked):
    session, booking = booked
    client = logged_in(staff_user(org, StaffRole.Role.INSTRUCTOR))
    arrival = session.starts_at - timedelta(minutes=10)
    with time_machine.travel(arrival, tick=False):
        roster = client.get(url("bookings_app_session_roster", session.pk))
        assert roster.status_code == 200 and "Check in" in roster.content.decode()
        assert "Cancel, refund" not in roster.content.decode()
        client.post(url("bookings_app_session_roster", session.pk), {"op": "check_in", "booking": str(booking.pk)})
    booking.refresh_from_db()
    assert booking.checked_in_at == arrival
    client.post(url("bookings_app_session_roster", session.pk), {"op": "cancel_refund", "booking": str(booking.pk)})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_front_desk_cancels_with_and_without_refund_through_the_services(org, layout, booked, member):
    session, booking = booked
    other = MemberFactory(organization=org)
    give_credits(other, 1, now=NOW)
    second = services.booking_create(organization=org, session_id=session.pk, member_id=other.pk, now=NOW)
    client = logged_in(staff_user(org, StaffRole.Role.FRONT_DESK))
    changelist = url("bookings_app_booking_changelist")
    client.post(changelist, {"action": "cancel_with_refund", "_selected_action": [str(booking.pk)]})
    client.post(changelist, {"action": "cancel_without_refund", "_selected_action": [str(second.pk)]})
    booking.refresh_from_db()
    second.refresh_from_db()
    assert (booking.status, booking.refunded) == ("CANCELLED", True)
    assert (second.status, second.refunded) == ("CANCELLED", False)
    member.refresh_from_db()
    other.refresh_from_db()
    assert (member.credit_balance, other.credit_balance) == (3, 0)


def test_booking_list_filters(org, booked, member):
    _, booking = booked
    client = logged_in(staff_user(org, StaffRole.Role.FRONT_DESK))
    changelist = url("bookings_app_booking_changelist")
    for params, expected in [
        ({"session_day": "2026-03-04"}, [booking]),
        ({"session_day": "2026-03-05"}, []),
        ({"status__exact": "CONFIRMED"}, [booking]),
        ({"payment_type__exact": "ALL_ACCESS"}, []),
        ({"member__id__exact": str(member.pk)}, [booking]),
        ({"q": member.user.email}, [booking]),
    ]:
        response = client.get(changelist, params)
        assert response.status_code == 200, params
        assert list(response.context["cl"].result_list) == expected, params


def test_no_show_action_is_staff_only(org, member):
    give_credits(member, 1, now=NOW)
    started = make_session(org, NOW - timedelta(minutes=10))
    booking = Booking.objects.create(
        organization=org, session=started, member=member, payment_type="FREE", status="CONFIRMED", created_at=NOW
    )
    changelist = url("bookings_app_booking_changelist")
    instructor = logged_in(staff_user(org, StaffRole.Role.INSTRUCTOR))
    instructor.post(changelist, {"action": "mark_no_show", "_selected_action": [str(booking.pk)]})
    booking.refresh_from_db()
    assert booking.status == "CONFIRMED"
    logged_in(staff_user(org, StaffRole.Role.FRONT_DESK)).post(
        changelist, {"action": "mark_no_show", "_selected_action": [str(booking.pk)]}
    )
    booking.refresh_from_db()
    assert booking.status == "NO_SHOW"


def test_cancel_session_action_refunds_everyone(org, booked, member):
    session, booking = booked
    logged_in(staff_user(org, StaffRole.Role.ADMIN)).post(
        url("bookings_app_session_changelist"), {"action": "cancel_sessions", "_selected_action": [str(session.pk)]}
    )
    session.refresh_from_db()
    booking.refresh_from_db()
    member.refresh_from_db()
    assert (session.status, booking.status, member.credit_balance) == ("CANCELLED", "CANCELLED", 3)


def test_admin_adds_a_session_through_the_service(org):
    layout = make_layout(org, ["NPN"])
    from bookings_app.tests.factories import InstructorFactory, RideClassFactory

    ride_class, instructor = RideClassFactory(organization=org), InstructorFactory(organization=org)
    client = logged_in(staff_user(org, StaffRole.Role.ADMIN))
    form = {
        "organization": str(org.pk),
        "ride_class": str(ride_class.pk),
        "instructor": str(instructor.pk),
        "location": str(layout.location_id),
        "seat_layout": str(layout.pk),
        "starts_at_0": "2026-03-05",
        "starts_at_1": "15:30:00",
        "ends_at_0": "2026-03-05",
        "ends_at_1": "16:20:00",
        "capacity": "",
        "bookings-TOTAL_FORMS": "0",
        "bookings-INITIAL_FORMS": "0",
    }
    response = client.post(url("bookings_app_session_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    session = Session.objects.get(organization=org)
    assert session.capacity == 2
    # a capacity above the room's bikes is refused with a message, not a 500
    refused = client.post(url("bookings_app_session_add"), {**form, "capacity": "5"}, follow=True)
    assert refused.status_code == 200
    assert "Not saved" in refused.content.decode()
    assert Session.objects.filter(organization=org).count() == 1
    # the end defaults from the class's duration (issue 12 item 7) ...
    no_end = {**form, "starts_at_0": "2026-03-06", "ends_at_0": "", "ends_at_1": ""}
    assert client.post(url("bookings_app_session_add"), no_end).status_code == 302
    latest = Session.objects.filter(organization=org).order_by("-starts_at").first()
    assert latest.ends_at - latest.starts_at == timedelta(minutes=ride_class.duration_minutes)
    # ... and an end before the start is a sentence, not the constraint's name
    backwards = client.post(url("bookings_app_session_add"), {**form, "ends_at_1": "15:00:00"}).content.decode()
    assert "The class must end after it starts." in backwards and "session_ends_after_start" not in backwards


def test_seat_layout_grid_edits_seats(org):
    layout = make_layout(org, ["NNN", "NNN"])
    client = logged_in(staff_user(org, StaffRole.Role.ADMIN))
    grid = client.get(url("bookings_app_seatlayout_grid", layout.pk))
    assert grid.status_code == 200
    a1, a2 = seat(layout, "A1"), seat(layout, "A2")
    data = {}
    for s in layout.seats.all():
        data.update(
            {f"label-{s.pk}": s.label, f"type-{s.pk}": s.type, f"cost-{s.pk}": s.credit_cost, f"active-{s.pk}": "on"}
        )
    data.update({f"type-{a1.pk}": "PODIUM", f"type-{a2.pk}": "EXCLUSIVE", f"cost-{a2.pk}": "2"})
    data.update({f"label-{a1.pk}": "A2", f"label-{a2.pk}": "A1"})  # swap two labels
    data.pop(f"active-{seat(layout, 'B3').pk}")  # out of order
    response = client.post(url("bookings_app_seatlayout_grid", layout.pk), data)
    assert response.status_code == 302
    a1.refresh_from_db()
    a2.refresh_from_db()
    assert (a1.label, a1.type, a2.label, a2.type, a2.credit_cost) == ("A2", "PODIUM", "A1", "EXCLUSIVE", 2)
    assert not seat(layout, "B3").is_active
    # the front desk may look but not change; another studio may not even look
    desk = logged_in(staff_user(org, StaffRole.Role.FRONT_DESK))
    assert desk.get(url("bookings_app_seatlayout_grid", layout.pk)).status_code == 302
    foreign = logged_in(staff_user(OrganizationFactory(), StaffRole.Role.ADMIN))
    assert foreign.get(url("bookings_app_seatlayout_grid", layout.pk)).status_code == 302
