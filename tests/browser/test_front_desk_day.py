"""A front-desk worker's day in a real browser (issue 12): open Today, go to tonight's roster,
book a member on a chosen premium bike from the room's map, add a friend-pass guest, cancel
the guest with a refund, check the member in and undo it; confirm a purchase request from Today
and adjust credits with an expiry; sell a package with a coupon from the member's page and
cancel it with the preview of what it takes.

BROWSER_SCREENSHOTS=all keeps a screenshot of each step in tests/browser/screenshots/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from bookings_app.models import Booking, RideClass, SeatLayout, Session
from members_app.models import Member, Organization
from members_app.seeds import FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD
from spinning import clock

from .chromium import BROWSER_TEST
from .test_admin_flows import expect, login, success_message

pytestmark = [*BROWSER_TEST, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tonight(live_server) -> Session:
    call_command("seed_demo", stdout=StringIO())
    studio = Organization.objects.get(slug="demo")
    layout = SeatLayout.objects.filter(organization=studio).first()
    ride_class = RideClass.objects.create(organization=studio, name="Desk Test Ride", duration_minutes=45)
    template = Session.objects.filter(organization=studio).select_related("instructor").first()
    starts_at = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=20)
    return Session.objects.create(
        organization=studio,
        ride_class=ride_class,
        instructor=template.instructor,
        location=layout.location,
        seat_layout=layout,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=45),
        capacity=10,
    )


def test_front_desk_books_a_premium_bike_adds_a_guest_cancels_checks_in_and_undoes(page, tonight):
    elif_ = Member.objects.get(organization=tonight.organization, user__email="elif@example.com")
    balance = elif_.credit_balance
    login(page, FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD)
    today = page.locator("#today")
    expect(today).to_contain_text("Desk Test Ride")
    page.shot("today")

    today.locator("tr", has_text="Desk Test Ride").get_by_role("link", name="Roster").click()
    expect(page).to_have_url(re.compile(rf"/admin/bookings_app/session/{tonight.pk}/roster/$"))
    expect(page.locator("#seatmap")).to_contain_text("Podium")
    page.get_by_role("link", name="Book a member").click()
    page.fill("#q", "ELİF")
    page.get_by_role("button", name="Search").click()
    page.locator("#found tr", has_text="elif@example.com").get_by_role("link", name="Choose").click()
    expect(page.locator("#seatmap")).to_contain_text("2 credits")
    page.get_by_label("Bike A2").check()
    page.get_by_label("Credits", exact=True).check()
    page.shot("book-premium-bike")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(success_message(page)).to_contain_text("booked on bike A2 (2 credits)")
    expect(page.locator("#seatmap td[data-seat=A2]")).to_contain_text(elif_.first_name)
    page.shot("roster-booked")

    host_row = page.locator("#roster tbody tr", has_text=elif_.full_name)
    host_row.get_by_label("Guest's name").fill("Ayşe Demir")
    host_row.get_by_label("Guest's bike").select_option(label="B2")
    host_row.get_by_role("button", name="Add friend-pass guest").click()
    expect(success_message(page)).to_contain_text(
        f"Ayşe Demir rides on bike B2 as {elif_.full_name}'s friend-pass guest"
    )
    page.shot("roster-guest-added")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#roster tbody tr", has_text="Ayşe Demir").get_by_role("button", name="Cancel, refund").click()
    expect(success_message(page)).to_contain_text("Ayşe Demir")
    expect(page.locator("#roster tbody tr.inactive", has_text="Ayşe Demir")).to_have_count(1)
    page.shot("roster-guest-cancelled")

    page.locator("#roster tbody tr", has_text=elif_.full_name).first.get_by_role("button", name="Check in").click()
    expect(success_message(page)).to_contain_text(f"{elif_.full_name} checked in on bike A2")
    page.shot("roster-checked-in")
    assert Booking.objects.get(session=tonight, member=elif_, is_guest=False).checked_in_at is not None

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#roster tbody tr", has_text=elif_.full_name).first.get_by_role("button", name="Undo check-in").click()
    expect(success_message(page)).to_contain_text(f"{elif_.full_name}'s check-in on bike A2 undone")
    page.shot("roster-check-in-undone")

    booking = Booking.objects.get(session=tonight, member=elif_, is_guest=False)
    assert booking.checked_in_at is None and booking.credits_used == 2 and booking.seat.label == "A2"
    elif_.refresh_from_db()
    assert elif_.credit_balance == balance - 2


def test_front_desk_confirms_a_request_from_today_and_adjusts_credits_with_an_expiry(page, tonight):
    from packages_app import services as package_services
    from packages_app.models import Package, Redemption

    studio = tonight.organization
    member = Member.objects.get(organization=studio, user__email="mert@example.com")
    package = Package.objects.get(organization=studio, code="CORE-10")
    pending = package_services.redemption_create(
        organization=studio,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=False,
        performed_by=member.user,
        payment_method="BANK_TRANSFER",
    )
    login(page, FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD)
    requests = page.locator("#today table.today-requests")
    expect(requests).to_contain_text(member.full_name)
    requests.get_by_role("link", name="Confirm or reject").click()
    expect(page.locator("#request-summary")).to_contain_text("Confirming grants")
    page.fill("#payment_reference", "EFT-2026-0042")
    page.fill("#note", "Transfer seen on the bank statement")
    page.shot("request-decide")
    page.get_by_role("button", name="Confirm: payment received").click()
    expect(success_message(page)).to_contain_text(f"confirmed for {member.full_name}")
    page.shot("request-confirmed-member-page")
    pending.refresh_from_db()
    assert pending.status == Redemption.Status.ACTIVE and pending.payment_reference == "EFT-2026-0042"

    member.refresh_from_db()
    balance = member.credit_balance
    page.get_by_role("link", name="Adjust credits").click()
    page.fill("#id_amount", "2")
    page.fill("#id_reason", "Goodwill after a broken bike")
    page.fill("#id_expires_at", "2026-12-31")
    page.shot("adjust-credits")
    page.get_by_role("button", name="Save adjustment").click()
    expect(success_message(page)).to_contain_text(f"balance now {balance + 2}")
    page.shot("adjusted")
    lot = member.credit_lots.get(credits_granted=2)
    assert lot.expires_at is not None


def test_front_desk_sells_a_package_with_a_coupon_from_the_member_page_and_cancels_it(page, tonight):
    """The member page (issue 12 item 4): sell a package with a coupon (quote first), the page's
    summary of what the member holds, and cancelling the package with the preview of what it takes."""
    from packages_app.models import Package, Redemption

    studio = tonight.organization
    member = Member.objects.get(organization=studio, user__email="mert@example.com")
    package = Package.objects.get(organization=studio, code="CORE-10")
    login(page, FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD)
    page.goto("/admin/members_app/member/")
    page.fill("#searchbar", "sahin")  # Şahin, loosely
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name=member.full_name).click()
    expect(page.locator("#member-packages")).to_contain_text("No package bought yet.")
    page.shot("member-page-before")

    page.get_by_role("link", name="Sell a package").click()
    page.select_option("#id_package", value=str(package.pk))
    page.fill("#id_coupon_code", "newmember2024")
    page.select_option("#id_payment_method", "CASH")
    page.get_by_role("button", name="Preview").click()
    quote = page.locator("#quote")
    expect(quote).to_contain_text("NEWMEMBER2024")
    expect(quote).to_contain_text("8000.00 TRY")
    page.shot("sell-with-coupon-quote")
    page.get_by_role("button", name="Confirm sale").click()
    expect(success_message(page)).to_contain_text("Sold CORE-10")

    expect(page.locator("#member-balance")).to_contain_text("12")
    expect(page.locator("#member-packages")).to_contain_text("12 of 12 credits left, no expiry")
    expect(page.locator("#member-packages")).to_contain_text("coupon NEWMEMBER2024")
    expect(page.locator("#member-ledger")).to_contain_text("Purchase: CORE-10")
    page.shot("member-page-after-sale")

    page.locator("#member-packages").get_by_role("link", name="Cancel…").click()
    expect(page.locator(".credits-removed")).to_have_text("12")
    page.shot("cancel-package-preview")
    page.fill("#id_reason", "Bought by mistake")
    page.get_by_role("button", name="Yes, cancel and refund").click()
    expect(success_message(page)).to_contain_text(f"of {member.full_name} cancelled: 12 credits removed")
    expect(page.locator("#member-balance")).to_contain_text("0")
    expect(page.locator("#member-packages tr.done")).to_contain_text("Cancelled")
    page.shot("member-page-after-cancel")

    redemption = Redemption.objects.get(member=member, package=package)
    assert redemption.status == Redemption.Status.CANCELLED and redemption.coupon.code == "NEWMEMBER2024"
    assert redemption.cancel_reason == "Bought by mistake"
