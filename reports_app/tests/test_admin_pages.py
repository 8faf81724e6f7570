"""The admin's Reports pages: ADMIN only, a table, an SVG chart, a CSV download."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from packages_app import services
from packages_app.tests.factories import PackageFactory
from reports_app.tests.conftest import local

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sale(org, admin, members):
    package = PackageFactory(organization=org, code="EXPLORER", name="Explorer", price=Decimal("5000.00"), credits=5)
    return services.redemption_create(
        organization=org,
        package_id=package.pk,
        member_id=members[0].pk,
        by_staff=True,
        performed_by=admin,
        payment_method="CASH",
        now=local(2026, 3, 2, 10),
    )


@pytest.mark.parametrize("name", ["sales", "credits", "coupons", "attendance"])
def test_each_report_page_shows_a_form_a_table_and_a_chart(org, admin, sale, name):
    response = logged_in(admin).get(f"/admin/reports/{name}/?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="from"' in page and 'value="2026-03-01"' in page and 'id="report-table"' in page
    assert "Download CSV" in page
    if name in ("sales", "credits"):
        assert "<svg" in page


def test_sales_page_figures_and_csv_download(org, admin, sale):
    client = logged_in(admin)
    page = client.get("/admin/reports/sales/?from=2026-03-01&to=2026-03-31&group_by=payment_method").content.decode()
    assert "Cash" in page and "5000.00" in page

    response = client.get(
        f"/admin/reports/sales/?from=2026-03-01&to=2026-03-31&group_by=payment_method&format=csv&organization={org.slug}"
    )
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert lines[0]["key"] == "CASH" and lines[0]["net"] == "5000.00"


def test_bad_dates_fall_back_to_this_month_with_a_message(org, admin):
    response = logged_in(admin).get("/admin/reports/sales/?from=2026-03-09&to=2026-03-01")
    assert response.status_code == 200
    assert "Must be on or after" in response.content.decode()


def test_front_desk_and_other_studios_are_refused(org, admin, desk):
    from members_app.models import StaffRole
    from members_app.tests.factories import OrganizationFactory, staff_user

    assert logged_in(desk).get("/admin/reports/sales/").status_code == 403
    other_admin = staff_user(OrganizationFactory(slug="other"), StaffRole.Role.ADMIN)
    assert logged_in(other_admin).get("/admin/reports/sales/?organization=ride").status_code == 404
    assert logged_in(admin).get("/admin/reports/nope/").status_code == 404
    assert Client().get("/admin/reports/sales/").status_code == 302  # to the login page


def test_the_header_links_to_reports_for_admins_only(org, admin, desk):
    assert b'href="/admin/reports/"' in logged_in(admin).get("/admin/").content
    assert b'href="/admin/reports/"' not in logged_in(desk).get("/admin/").content
