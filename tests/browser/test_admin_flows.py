"""The studio's admin in a real browser (issue 5, item 2): Playwright driving Debian's chromium
against a live server seeded with the demo studio (`seed_demo`).

- a staff ADMIN creates a package and a coupon, and sells the package with the coupon to a member
  through the two-step "sell a package" form (the quote is on screen before anything is saved);
- the ADMIN confirms a member's PENDING request with the redemption list's action;
- the ADMIN opens a session's roster and checks a rider in;
- a FRONT_DESK user does not see the catalog and is refused its pages.

Skipped when /usr/bin/chromium is missing (CI installs it). Screenshots of failures go to
tests/browser/screenshots/ (BROWSER_SCREENSHOTS=all keeps one per step as well).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from bookings_app.models import Booking, Session
from members_app.models import Member, Organization
from members_app.seeds import FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD
from packages_app import services as package_services
from packages_app.models import Coupon, Package, Redemption
from spinning import clock

from .chromium import BROWSER_TEST

pytestmark = [*BROWSER_TEST, pytest.mark.django_db(transaction=True)]

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "spin-admin-2026"
MEMBER_EMAIL = "mert@example.com"  # a demo rider with no package and no credits


@pytest.fixture
def studio(live_server) -> Organization:
    call_command("seed_demo", stdout=StringIO())
    return Organization.objects.get(slug="demo")


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def login(page, email: str, password: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text("Log out")


def quote_cell(quote, label: str):
    """The value beside a row heading of the sale form's quote table."""
    return quote.locator(f"tr:has(th:text-is('{label}')) td")


def success_message(page):
    return page.locator("ul.messagelist li.success")


def error_messages(page):
    return page.locator("ul.messagelist li.error, .errornote, .errorlist")


def test_admin_creates_package_and_coupon_and_sells_them_with_the_quote_first(page, studio):
    member = Member.objects.get(organization=studio, user__email=MEMBER_EMAIL)
    balance_before = member.credit_balance
    login(page, ADMIN_EMAIL, ADMIN_PASSWORD)

    # --- a package: 12 credits for 12000.00 (list price 1500 a credit) --------------------------
    page.get_by_role("link", name="Packages", exact=True).first.click()
    page.get_by_role("link", name="Add package").click()
    expect(page).to_have_url(re.compile(r"/admin/packages_app/package/add/$"))
    page.select_option("#id_organization", label=studio.name)
    page.fill("#id_code", "BROWSER-12")
    page.fill("#id_name", "Browser Twelve")
    page.select_option("#id_type", "CREDIT_PACK")
    page.fill("#id_price", "12000.00")
    page.fill("#id_credits", "12")
    page.fill("#id_credit_validity_days", "60")
    page.get_by_label("priority booking").check()
    page.shot("package-add-filled")
    page.locator("input[name=_save]").click()
    expect(success_message(page)).to_contain_text("BROWSER-12")
    expect(page.locator("#result_list")).to_contain_text("BROWSER-12")
    page.shot("package-list")
    package = Package.objects.get(organization=studio, code="BROWSER-12")
    assert (package.type, package.price, package.credits) == ("CREDIT_PACK", Decimal("12000.00"), 12)
    assert package.benefits == ["priority_booking"] and package.is_active

    # --- a coupon: 20 % off, for that package only (the two-box "applicable packages" widget) ---
    page.goto("/admin/packages_app/coupon/add/")
    page.select_option("#id_organization", label=studio.name)
    page.fill("#id_code", "RIDE20")
    page.fill("#id_name", "Twenty off")
    page.select_option("#id_coupon_type", "DISCOUNT")
    page.select_option("#id_discount_type", "PERCENTAGE")
    page.fill("#id_discount_value", "20")
    page.fill("#id_max_redemptions", "5")
    page.fill("#id_max_redemptions_per_member", "1")
    page.select_option("#id_applicable_packages_from", label=str(package))
    page.locator("#id_applicable_packages_add").click()
    expect(page.locator("#id_applicable_packages_to option")).to_have_text([str(package)])
    page.shot("coupon-add-filled")
    page.locator("input[name=_save]").click()
    expect(success_message(page)).to_contain_text("RIDE20")
    page.shot("coupon-list")
    coupon = Coupon.objects.get(organization=studio, code="RIDE20")
    assert list(coupon.applicable_packages.all()) == [package]
    assert coupon.times_redeemed == 0

    # --- sell it to the member: find them, "Sell a package", preview, then confirm ------------------
    page.goto("/admin/members_app/member/")
    page.fill("#searchbar", MEMBER_EMAIL)
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name=member.full_name).click()
    expect(page).to_have_url(re.compile(rf"/admin/members_app/member/{member.pk}/change/(\?.*)?$"))
    page.get_by_role("link", name="Sell a package").click()
    expect(page.get_by_role("heading", name="Sell a package to").first).to_be_visible()
    page.select_option("#id_package", label=str(package))
    page.fill("#id_coupon_code", "ride20")  # codes match case-insensitively
    page.select_option("#id_payment_method", "CARD")
    page.fill("#id_payment_reference", "POS-4711")
    page.get_by_role("button", name="Preview").click()

    quote = page.locator("#quote")
    expect(quote).to_be_visible()
    expect(quote_cell(quote, "Original price")).to_contain_text("12000.00 TRY")
    expect(quote_cell(quote, "Discount")).to_contain_text("2400.00 TRY")
    expect(quote_cell(quote, "Final price")).to_contain_text("9600.00 TRY")
    expect(quote_cell(quote, "Coupon")).to_contain_text("RIDE20")
    expect(quote_cell(quote, "Credits")).to_contain_text("12")
    page.shot("sell-quote")
    # Nothing is saved by the preview.
    assert not Redemption.objects.filter(member=member, package=package).exists()
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0

    page.get_by_role("button", name="Confirm sale").click()
    expect(page).to_have_url(re.compile(rf"/admin/members_app/member/{member.pk}/change/(\?.*)?$"))
    expect(success_message(page)).to_contain_text("Sold BROWSER-12")
    expect(success_message(page)).to_contain_text("9600.00")
    page.shot("sold")

    redemption = Redemption.objects.get(member=member, package=package)
    assert redemption.status == Redemption.Status.ACTIVE
    assert redemption.coupon == coupon
    assert redemption.redemption_type == Redemption.Type.COUPON_DISCOUNT
    assert (redemption.original_price, redemption.discount_amount, redemption.final_price) == (
        Decimal("12000.00"),
        Decimal("2400.00"),
        Decimal("9600.00"),
    )
    assert redemption.payment_method == "CARD" and redemption.payment_reference == "POS-4711"
    member.refresh_from_db()
    assert member.credit_balance == balance_before + 12
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1
    # The member's page shows the new balance and the ledger row.
    expect(page.locator(".field-credit_balance")).to_contain_text(str(balance_before + 12))


def test_admin_confirms_a_members_pending_request(page, studio):
    member = Member.objects.get(organization=studio, user__email=MEMBER_EMAIL)
    package = Package.objects.get(organization=studio, code="CORE-10")
    # The member asks for a package (as the API does for a member): PENDING, nothing granted.
    pending = package_services.redemption_create(
        organization=studio,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=False,
        performed_by=member.user,
        payment_method="BANK_TRANSFER",
    )
    assert pending.status == Redemption.Status.PENDING
    member.refresh_from_db()
    balance_before = member.credit_balance

    login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("link", name="Redemptions", exact=True).first.click()
    page.locator("#changelist-filter").get_by_role("link", name="Pending", exact=True).click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CORE-10")
    page.locator(f"input[name=_selected_action][value='{pending.pk}']").check()
    page.select_option("select[name=action]", "confirm_selected")
    page.shot("confirm-selected")
    page.locator("button[name=index]").click()
    expect(success_message(page)).to_contain_text("Confirmed 1 redemption(s).")
    expect(error_messages(page)).to_have_count(0)
    page.shot("confirmed")

    pending.refresh_from_db()
    assert pending.status == Redemption.Status.ACTIVE
    assert pending.confirmed_by.email == ADMIN_EMAIL
    member.refresh_from_db()
    assert member.credit_balance == balance_before + 10


def test_admin_opens_a_sessions_roster_and_checks_a_rider_in(page, studio):
    booking = (
        Booking.objects.filter(organization=studio, member__user__email="elif@example.com", status="CONFIRMED")
        .select_related("session", "member__user", "seat")
        .get()
    )
    assert booking.checked_in_at is None
    session: Session = booking.session
    # Check-in opens check_in_opens_minutes before the start (DOMAIN.md 10): the ride starts soon.
    soon = clock.now() + timedelta(minutes=20)
    Session.objects.filter(pk=session.pk).update(starts_at=soon, ends_at=soon + timedelta(minutes=50))

    login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/admin/bookings_app/session/{session.pk}/change/")
    page.get_by_role("link", name="Roster & check-in").click()
    expect(page).to_have_url(re.compile(rf"/admin/bookings_app/session/{session.pk}/roster/$"))
    row = page.locator("#roster tbody tr", has_text=booking.member.full_name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(booking.seat.label)
    page.shot("roster")
    row.get_by_role("button", name="Check in").click()
    expect(success_message(page)).to_contain_text(f"{booking.member.full_name} checked in")
    row = page.locator("#roster tbody tr", has_text=booking.member.full_name)
    expect(row.get_by_role("button", name="Check in")).to_have_count(0)
    expect(row.get_by_role("button", name="Undo check-in")).to_have_count(1)
    page.shot("checked-in")

    booking.refresh_from_db()
    assert booking.checked_in_at is not None
    assert booking.status == Booking.Status.CONFIRMED  # completed only when the session closes
    others = Booking.objects.filter(session=session).exclude(pk=booking.pk)
    assert not others.filter(checked_in_at__isnull=False).exists()


def test_front_desk_cannot_reach_the_catalog(page, studio, live_server):
    login(page, FRONT_DESK_EMAIL, FRONT_DESK_PASSWORD)
    content = page.locator("#content-main")
    # What the desk does have: members and redemptions ...
    expect(content.get_by_role("link", name="Members", exact=True)).to_be_visible()
    expect(content.get_by_role("link", name="Redemptions", exact=True)).to_be_visible()
    # ... and not the catalog.
    expect(content.get_by_role("link", name="Packages", exact=True)).to_have_count(0)
    expect(content.get_by_role("link", name="Coupons", exact=True)).to_have_count(0)
    expect(
        page.locator("a[href*='/admin/packages_app/package/'], a[href*='/admin/packages_app/coupon/']")
    ).to_have_count(0)
    page.shot("desk-index")

    package = Package.objects.filter(organization=studio).first()
    coupon = Coupon.objects.filter(organization=studio).first()
    for path in (
        "/admin/packages_app/package/",
        "/admin/packages_app/package/add/",
        f"/admin/packages_app/package/{package.pk}/change/",
        "/admin/packages_app/coupon/",
        "/admin/packages_app/coupon/add/",
        f"/admin/packages_app/coupon/{coupon.pk}/change/",
    ):
        response = page.goto(path)
        refused = response.status == 403 or "/admin/login/" in page.url
        assert refused, f"{path}: {response.status} at {page.url}"
        expect(page.locator("body")).not_to_contain_text(package.code)  # no catalog row leaked
        expect(page.locator("#result_list")).to_have_count(0)
    page.shot("desk-refused")
