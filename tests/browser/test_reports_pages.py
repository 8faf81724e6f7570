"""The admin's Reports pages in a real browser (issue 13, item 2): a studio ADMIN opens each
report on the demo studio, picks a date range with the form, sees the table and the SVG chart,
and the CSV link downloads the same figures. Each page is saved as a screenshot in
tests/browser/screenshots/reports-<name>.png (not committed) for a human to look at."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from members_app.models import Member, Organization
from packages_app import services as package_services
from packages_app.models import Coupon, Package
from spinning import clock

from .chromium import BROWSER_TEST, SCREENSHOTS

pytestmark = [*BROWSER_TEST, pytest.mark.django_db(transaction=True)]

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "spin-admin-2026"


@pytest.fixture
def studio(live_server) -> Organization:
    call_command("seed_demo", "--admin-password", ADMIN_PASSWORD, stdout=StringIO())
    org = Organization.objects.get(slug="demo")
    # a few sales over the last days, one with a coupon, by different payment methods
    now = clock.now()
    packages = list(Package.objects.filter(organization=org, is_active=True, credits__gt=0).order_by("price")[:3])
    coupon = Coupon.objects.create(
        organization=org,
        code="REPORT10",
        name="Ten off",
        coupon_type=Coupon.Type.DISCOUNT,
        discount_type=Coupon.DiscountType.PERCENTAGE,
        discount_value=10,
    )
    members = list(Member.objects.filter(organization=org, status="ACTIVE")[:4])
    for n, member in enumerate(members):
        package_services.redemption_create(
            organization=org,
            package_id=packages[n % len(packages)].pk,
            member_id=member.pk,
            by_staff=True,
            performed_by=None,
            coupon_code=coupon.code if n == 0 else None,
            payment_method=["CASH", "CARD", "BANK_TRANSFER", "CARD"][n],
            now=now - timedelta(days=n * 2),
        )
    return org


def login(page) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", ADMIN_EMAIL)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


@pytest.mark.parametrize(
    "name, group_by",
    [("sales", "day"), ("credits", None), ("coupons", None), ("attendance", "class")],
)
def test_admin_opens_each_report_picks_a_range_and_downloads_csv(page, studio, name, group_by):
    login(page)
    page.click("text=Reports")
    page.click(
        f"#content-main >> text={ {'sales': 'Sales', 'credits': 'Outstanding credits', 'coupons': 'Coupons', 'attendance': 'Attendance'}[name] }"
    )
    today = clock.local_date(clock.now(), studio.timezone)
    page.fill("#id_from", (today - timedelta(days=10)).isoformat())
    page.fill("#id_to", (today + timedelta(days=7)).isoformat())
    if group_by:
        page.select_option("#id_group_by", group_by)
    page.click("input[value=Show]")
    page.wait_for_selector("#report-table")
    assert f"from={(today - timedelta(days=10)).isoformat()}" in page.url
    rows = page.locator("#report-table tbody tr")
    assert rows.count() >= 1
    if name in ("sales", "credits"):
        assert page.locator("svg.report-chart rect").count() >= 1
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"reports-{name}.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("#csv-download")
    content = open(download_info.value.path(), encoding="utf-8").read()
    header = next(csv.reader(io.StringIO(content)))
    assert header[0] in ("key", "figure", "coupon_id")
