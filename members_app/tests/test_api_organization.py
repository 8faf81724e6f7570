"""Organization (API.md): public read, ADMIN patch, credit price history."""

from decimal import Decimal

import pytest

from members_app.models import CreditPriceChange
from members_app.tests.utils import assert_error

pytestmark = pytest.mark.django_db


def test_admin_changes_the_credit_price_with_a_reason_and_it_is_in_the_history(api, org_a, admin_a, desk_a):
    # when the ADMIN changes the credit price with a reason
    response = api(admin_a).patch(
        "/api/organization", {"credit_price": "1750.5", "reason": "New season"}, format="json"
    )
    # then the studio shows the new price as a 2-place string
    assert response.status_code == 200
    assert response.json()["credit_price"] == "1750.50"
    org_a.refresh_from_db()
    assert org_a.credit_price == Decimal("1750.50")
    # and staff see the change in the price history
    history = api(desk_a).get("/api/organization/price-history").json()
    assert history["count"] == 1
    row = history["results"][0]
    assert set(row) == {"credit_price_before", "credit_price_after", "currency", "changed_by", "reason", "created_at"}
    assert (row["credit_price_before"], row["credit_price_after"], row["currency"]) == ("1500.00", "1750.50", "TRY")
    assert (row["changed_by"], row["reason"]) == (admin_a.email, "New season")


def test_price_history_lists_newest_first_and_skips_unchanged_prices(api, org_a, admin_a):
    client = api(admin_a)
    client.patch("/api/organization", {"credit_price": "1600.00", "reason": "one"}, format="json")
    client.patch("/api/organization", {"credit_price": "1600.00", "reason": "same"}, format="json")
    client.patch("/api/organization", {"name": "Renamed"}, format="json")
    client.patch("/api/organization", {"credit_price": "1700.00", "reason": "two"}, format="json")
    rows = client.get("/api/organization/price-history/").json()["results"]
    assert [(r["credit_price_after"], r["reason"]) for r in rows] == [("1700.00", "two"), ("1600.00", "one")]


def test_price_history_is_per_studio(api, org_a, org_b, admin_a, admin_b):
    api(admin_b).patch("/api/organization", {"credit_price": "99.00", "reason": "B"}, format="json")
    assert api(admin_a).get("/api/organization/price-history").json()["count"] == 0
    assert CreditPriceChange.objects.filter(organization=org_b).count() == 1


def test_admin_patches_the_booking_policy(api, org_a, admin_a):
    body = {
        "booking_window_days": 14,
        "priority_booking_hours": 48,
        "cancellation_window_hours": 6,
        "no_show_grace_minutes": 5,
        "timezone": "Europe/Berlin",
        "currency": "EUR",
    }
    response = api(admin_a).patch("/api/organization/", body, format="json")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in body} == body


def test_the_slug_cannot_be_changed(api, org_a, admin_a):
    response = api(admin_a).patch("/api/organization", {"slug": "hijack"}, format="json")
    assert response.status_code == 200
    org_a.refresh_from_db()
    assert org_a.slug == "studio-a"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"currency": "lira"}, "currency"),
        ({"credit_price": "-1"}, "credit_price"),
        ({"credit_price": "abc"}, "credit_price"),
        ({"credit_price": "NaN"}, "credit_price"),
        ({"booking_window_days": -1}, "booking_window_days"),
        ({"cancellation_window_hours": "soon"}, "cancellation_window_hours"),
        ({"name": ""}, "name"),
        # a policy no studio means, that no calendar can hold (every timetable read would fail)
        ({"booking_window_days": 10**9}, "booking_window_days"),
        ({"priority_booking_hours": 10**9}, "priority_booking_hours"),
        ({"cancellation_window_hours": 10**9}, "cancellation_window_hours"),
        ({"no_show_grace_minutes": 2**31 - 1}, "no_show_grace_minutes"),
    ],
)
def test_invalid_organization_patch_is_a_validation_error(api, org_a, admin_a, body, field):
    response = api(admin_a).patch("/api/organization", body, format="json")
    assert field in assert_error(response, 400, "validation_error")["fields"]
    org_a.refresh_from_db()
    assert org_a.timezone == "Europe/Istanbul" and org_a.credit_price == Decimal("1500.00")
    assert not CreditPriceChange.objects.exists()
