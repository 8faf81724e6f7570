"""The roster's waitlist in a real browser (issue 11 item 4): a front-desk worker finds a full
class's roster, adds two members to its waitlist (found loosely: "yilmaz" finds Yılmaz), cancels
a booking (inside the waitlist cutoff nobody is moved in automatically), moves the first waiting
rider onto the freed bike by hand, and removes the other from the waitlist.

BROWSER_SCREENSHOTS=all keeps a screenshot of each step in tests/browser/screenshots/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from bookings_app import services
from bookings_app.models import Booking, RideClass, Seat, SeatLayout, Session, WaitlistEntry
from members_app import services as member_services
from members_app.models import AuditLogEntry, Member, Organization
from members_app.seeds import FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD
from spinning import clock

from .chromium import BROWSER_TEST
from .test_admin_flows import expect, login, success_message

pytestmark = [*BROWSER_TEST, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def full_class(live_server) -> Session:
    """A class starting in 40 minutes (inside the 60-minute waitlist cutoff) with two bikes, both
    taken by Can and Zeynep; Mert gets two credits so he can wait too."""
    call_command("seed_demo", stdout=StringIO())
    studio = Organization.objects.get(slug="demo")
    layout = SeatLayout.objects.filter(organization=studio).first()
    ride_class = RideClass.objects.create(organization=studio, name="Full House Ride", duration_minutes=45)
    template = Session.objects.filter(organization=studio).select_related("instructor").first()
    starts_at = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=40)
    session = Session.objects.create(
        organization=studio,
        ride_class=ride_class,
        instructor=template.instructor,
        location=layout.location,
        seat_layout=layout,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=45),
        capacity=2,
    )
    for email, label in (("can@example.com", "B1"), ("zeynep@example.com", "B2")):
        member = Member.objects.get(organization=studio, user__email=email)
        seat = Seat.objects.get(layout=layout, label=label)
        services.booking_create(organization=studio, session_id=session.pk, member_id=member.pk, seat_id=seat.pk)
    mert = Member.objects.get(organization=studio, user__email="mert@example.com")
    member_services.credit_adjustment_create(organization=studio, member_id=mert.pk, amount=2, reason="test")
    return session


def add_to_waitlist(page, query: str, email: str) -> None:
    page.fill("#wq", query)
    page.get_by_role("button", name="Find", exact=True).click()
    page.locator("#waitlist-found tr", has_text=email).get_by_role("button", name="Add to the waitlist").click()


def test_front_desk_adds_to_the_waitlist_moves_a_rider_in_by_hand_and_removes_one(page, full_class):
    studio = full_class.organization
    login(page, FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD)
    page.locator("#today tr", has_text="Full House Ride").get_by_role("link", name="Roster").click()
    expect(page).to_have_url(re.compile(rf"/admin/bookings_app/session/{full_class.pk}/roster/$"))
    expect(page.locator("#waitlist")).to_contain_text("Nobody is waiting.")
    expect(page.locator(".waitlist-hint")).to_contain_text("The class is full")

    add_to_waitlist(page, "yilmaz", "elif@example.com")
    expect(success_message(page)).to_have_text("Elif Yılmaz joined the waitlist at position 1.")
    add_to_waitlist(page, "SAHIN", "mert@example.com")
    expect(success_message(page)).to_have_text("Mert Şahin joined the waitlist at position 2.")
    rows = page.locator("#waitlist tbody tr")
    expect(rows.nth(0)).to_contain_text("Elif Yılmaz")
    expect(rows.nth(1)).to_contain_text("Mert Şahin")
    expect(page.locator("#waitlist-title")).to_contain_text("2 waiting")
    page.shot("waitlist-two-waiting")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#roster tbody tr", has_text="Zeynep Kaya").get_by_role("button", name="Cancel, refund").click()
    expect(success_message(page)).to_contain_text("Zeynep Kaya's booking on bike B2 cancelled")
    # Inside the cutoff the freed bike waits for staff: nobody was moved in automatically.
    expect(page.locator(".waitlist-hint")).to_contain_text("1 bike is free")
    page.shot("waitlist-bike-freed")

    page.locator("#waitlist tbody tr", has_text="Elif Yılmaz").get_by_role("button", name="Move onto a bike").click()
    expect(success_message(page)).to_contain_text("Elif Yılmaz was moved from the waitlist onto bike B2.")
    expect(page.locator("#seatmap td[data-seat=B2]")).to_contain_text("Elif")
    page.shot("waitlist-moved-onto-bike")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#waitlist tbody tr", has_text="Mert Şahin").get_by_role("button", name="Remove").click()
    expect(success_message(page)).to_have_text("Mert Şahin was removed from the waitlist.")
    expect(page.locator("#waitlist tbody tr.done")).to_have_count(2)
    expect(page.locator("#waitlist tbody tr.done", has_text="Elif Yılmaz")).to_contain_text("Promoted")
    expect(page.locator("#waitlist tbody tr.done", has_text="Mert Şahin")).to_contain_text("Removed")
    page.shot("waitlist-done-greyed")

    statuses = dict(WaitlistEntry.objects.filter(session=full_class).values_list("member__user__email", "status"))
    assert statuses == {"elif@example.com": "PROMOTED", "mert@example.com": "REMOVED"}
    booking = Booking.objects.get(session=full_class, member__user__email="elif@example.com")
    assert booking.seat.label == "B2" and booking.status == "CONFIRMED"
    actions = sorted(AuditLogEntry.objects.filter(organization=studio).values_list("action", flat=True))
    assert actions.count("waitlist.add") == 2 and "waitlist.remove" in actions
