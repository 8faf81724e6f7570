"""Check-in inside its window, and undoing a mistaken one (DOMAIN.md 10; API.md bookings)."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from bookings_app import services
from bookings_app.errors import CheckInNotOpen
from bookings_app.models import Booking, Session
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import give_credits, make_session
from members_app.models import StaffRole
from members_app.tests.factories import staff_user
from spinning.errors import InvalidState

pytestmark = pytest.mark.django_db

TICK = timedelta(microseconds=1)
START = datetime(2026, 3, 4, 18, 0, tzinfo=IST)  # a 50-minute ride: ends 18:50


@pytest.fixture
def booking(org, member):
    org.check_in_opens_minutes = 45
    org.no_show_grace_minutes = 15
    org.save(update_fields=["check_in_opens_minutes", "no_show_grace_minutes"])
    give_credits(member, 1, now=NOW)
    session = make_session(org, START)
    return services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)


OPENS = START - timedelta(minutes=45)  # 17:15
CLOSES = START + timedelta(minutes=50 + 15)  # the no-show time, 19:05


def check_in(org, booking, at):
    return services.booking_check_in(organization=org, booking_id=booking.pk, now=at)


@pytest.mark.parametrize("at", [NOW, OPENS - TICK, CLOSES, CLOSES + timedelta(hours=1)])
def test_check_in_outside_the_window_is_refused(org, booking, at):
    with pytest.raises(CheckInNotOpen):
        check_in(org, booking, at)
    booking.refresh_from_db()
    assert booking.checked_in_at is None


@pytest.mark.parametrize("at", [OPENS, START, CLOSES - TICK])
def test_check_in_inside_the_window(org, booking, at):
    assert check_in(org, booking, at).checked_in_at == at
    booking.refresh_from_db()
    assert booking.checked_in_at == at


def test_the_window_follows_the_studio_policy(org, booking):
    org.check_in_opens_minutes = 120
    org.save(update_fields=["check_in_opens_minutes"])
    assert check_in(org, booking, START - timedelta(minutes=120)).checked_in_at is not None


def test_the_api_answers_check_in_not_open_at_the_edges(api, org, booking):
    desk = api(user=staff_user(org, StaffRole.Role.FRONT_DESK), org=org)
    with time_machine.travel(OPENS - TICK, tick=False):
        early = desk.post(f"/api/bookings/{booking.pk}/check-in")
    assert (early.status_code, early.json()["code"]) == (409, "check_in_not_open")
    with time_machine.travel(CLOSES, tick=False):
        late = desk.post(f"/api/bookings/{booking.pk}/check-in")
    assert (late.status_code, late.json()["code"]) == (409, "check_in_not_open")
    with time_machine.travel(OPENS, tick=False):
        done = desk.post(f"/api/bookings/{booking.pk}/check-in")
    assert done.status_code == 200 and done.json()["checked_in_at"] is not None


# --- undo ---------------------------------------------------------------------------------------------
def test_undo_check_in_through_the_api(api, org, booking, member):
    instructor = api(user=staff_user(org, StaffRole.Role.INSTRUCTOR), org=org)
    check_in(org, booking, START)
    assert api(user=member.user, org=org).post(f"/api/bookings/{booking.pk}/undo-check-in").status_code == 403
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        undone = instructor.post(f"/api/bookings/{booking.pk}/undo-check-in")
        again = instructor.post(f"/api/bookings/{booking.pk}/undo-check-in/")
    assert (undone.status_code, undone.json()["checked_in_at"], undone.json()["status"]) == (200, None, "CONFIRMED")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")  # not checked in


def test_undo_is_refused_once_the_session_is_closed(org, booking):
    check_in(org, booking, START)
    services.sessions_close(organization=org, now=CLOSES)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.COMPLETED
    with pytest.raises(InvalidState):
        services.booking_undo_check_in(organization=org, booking_id=booking.pk)
    booking.refresh_from_db()
    assert booking.checked_in_at is not None


def test_undone_before_closing_the_rider_is_a_no_show(org, booking):
    check_in(org, booking, START)
    services.booking_undo_check_in(organization=org, booking_id=booking.pk)
    services.sessions_close(organization=org, now=CLOSES)
    booking.refresh_from_db()
    assert (booking.status, booking.checked_in_at) == (Booking.Status.NO_SHOW, None)
    assert Session.objects.get(pk=booking.session_id).status == Session.Status.COMPLETED


# --- the admin's roster and actions: the same window, through the same service ----------------------
def _admin(org, role=StaffRole.Role.INSTRUCTOR) -> Client:
    client = Client()
    client.force_login(staff_user(org, role))
    return client


def test_the_roster_checks_in_only_inside_the_window_and_undoes(org, booking):
    client = _admin(org)
    roster = reverse("admin:bookings_app_session_roster", args=[booking.session_id])
    with time_machine.travel(OPENS - TICK, tick=False):
        page = client.get(roster).content.decode()
        assert "check-in is not open now" in page and 'value="check_in"' not in page
        refused = client.post(roster, {"op": "check_in", "booking": str(booking.pk)}, follow=True)
    assert "Check-in for this class is open from" in refused.content.decode()
    assert "check_in_not_open" not in refused.content.decode()  # words, not codes (issue 12 item 8)
    booking.refresh_from_db()
    assert booking.checked_in_at is None
    with time_machine.travel(OPENS, tick=False):
        client.post(roster, {"op": "check_in", "booking": str(booking.pk)})
        booking.refresh_from_db()
        assert booking.checked_in_at == OPENS
        assert 'value="undo_check_in"' in client.get(roster).content.decode()
        client.post(roster, {"op": "undo_check_in", "booking": str(booking.pk)})
    booking.refresh_from_db()
    assert booking.checked_in_at is None


def test_the_booking_list_actions_follow_the_window(org, booking):
    client = _admin(org, StaffRole.Role.FRONT_DESK)
    changelist = reverse("admin:bookings_app_booking_changelist")
    with time_machine.travel(CLOSES, tick=False):
        response = client.post(changelist, {"action": "check_in", "_selected_action": [str(booking.pk)]}, follow=True)
    assert "Check-in for this class is open from" in response.content.decode()
    booking.refresh_from_db()
    assert booking.checked_in_at is None
    with time_machine.travel(START, tick=False):
        client.post(changelist, {"action": "check_in", "_selected_action": [str(booking.pk)]})
        booking.refresh_from_db()
        assert booking.checked_in_at == START
        client.post(changelist, {"action": "undo_check_in", "_selected_action": [str(booking.pk)]})
    booking.refresh_from_db()
    assert booking.checked_in_at is None
