"""Sales report on a small studio: figures computed by hand (DOMAIN.md 17)."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from packages_app import services
from packages_app.tests.factories import CouponFactory, PackageFactory
from reports_app.selectors import Period, sales_report
from reports_app.tests.conftest import local

pytestmark = pytest.mark.django_db


def sell(org, member, package, when, *, coupon=None, method="CARD", by_staff=True, admin=None):
    return services.redemption_create(
        organization=org,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=by_staff,
        performed_by=admin,
        coupon_code=coupon.code if coupon else None,
        payment_method=method,
        now=when,
    )


@pytest.fixture
def studio(org, admin, members):
    """Mon 2 - Wed 4 March 2026:
    - 2nd 10:00  Explorer 5000 with SPRING10 (10 %) cash  -> 5000 / 500 / 4500
    - 2nd 18:00  Single 1500 card                           -> 1500 /   0 / 1500
    - 2nd 19:00  Single 1500 card, cancelled on the 3rd    -> only in `cancelled`
    - 3rd        a member's request, never confirmed        -> nowhere
    - 4th 00:30  Explorer 5000 card (20:30 UTC on the 3rd: a studio-local day 4 sale)
    - 5th 00:30  Explorer 5000 card                         -> after the range
    """
    explorer = PackageFactory(organization=org, code="EXPLORER", name="Explorer", price=Decimal("5000.00"), credits=5)
    single = PackageFactory(organization=org, code="SINGLE", name="Single", price=Decimal("1500.00"), credits=1)
    spring = CouponFactory(organization=org, code="SPRING10", discount_value=Decimal("10.00"))
    m = members
    sell(org, m[0], explorer, local(2026, 3, 2, 10), coupon=spring, method="CASH", admin=admin)
    sell(org, m[1], single, local(2026, 3, 2, 18), admin=admin)
    refunded = sell(org, m[2], single, local(2026, 3, 2, 19), admin=admin)
    services.redemption_cancel(
        organization=org, redemption_id=refunded.pk, performed_by=admin, reason="Changed mind", now=local(2026, 3, 3)
    )
    sell(org, m[3], single, local(2026, 3, 3), by_staff=False)
    sell(org, m[4], explorer, local(2026, 3, 4, 0, 30), admin=admin)
    sell(org, m[5], explorer, local(2026, 3, 5, 0, 30), admin=admin)
    return {"explorer": explorer, "single": single, "spring": spring}


def report(org, group_by, first=(2026, 3, 2), last=(2026, 3, 4)):
    from datetime import date

    return sales_report(period=Period(organization=org, first=date(*first), last=date(*last)), group_by=group_by)


def test_by_day_every_day_of_the_range_with_totals_and_cancelled_apart(org, studio):
    body = report(org, "day")
    assert [(r["key"], r["count"], r["list_price"], r["discount"], r["net"]) for r in body["rows"]] == [
        ("2026-03-02", 2, "6500.00", "500.00", "6000.00"),
        ("2026-03-03", 0, "0.00", "0.00", "0.00"),
        ("2026-03-04", 1, "5000.00", "0.00", "5000.00"),
    ]
    assert body["totals"] == {"count": 3, "list_price": "11500.00", "discount": "500.00", "net": "11000.00"}
    assert body["cancelled"] == {"count": 1, "net": "1500.00"}
    assert (body["from"], body["to"], body["currency"], body["group_by"]) == ("2026-03-02", "2026-03-04", "TRY", "day")


def test_by_week_and_month(org, studio):
    week = report(org, "week")["rows"]
    assert [(r["key"], r["label"], r["count"], r["net"]) for r in week] == [
        ("2026-03-02", "Week of 2026-03-02", 3, "11000.00")
    ]
    month = report(org, "month", first=(2026, 2, 20), last=(2026, 3, 31))["rows"]
    assert [(r["key"], r["label"], r["count"], r["net"]) for r in month] == [
        ("2026-02", "February 2026", 0, "0.00"),
        ("2026-03", "March 2026", 4, "16000.00"),  # the 5th's sale is inside March
    ]


def test_by_package_coupon_and_payment_method(org, studio):
    by_package = report(org, "package")["rows"]
    assert [(r["key"], r["label"], r["count"], r["list_price"], r["discount"], r["net"]) for r in by_package] == [
        (str(studio["explorer"].pk), "Explorer (EXPLORER)", 2, "10000.00", "500.00", "9500.00"),
        (str(studio["single"].pk), "Single (SINGLE)", 1, "1500.00", "0.00", "1500.00"),
    ]
    by_coupon = report(org, "coupon")["rows"]
    assert [(r["key"], r["label"], r["count"], r["discount"], r["net"]) for r in by_coupon] == [
        ("", "No coupon", 2, "0.00", "6500.00"),
        (str(studio["spring"].pk), "SPRING10", 1, "500.00", "4500.00"),
    ]
    by_method = report(org, "payment_method")["rows"]
    assert [(r["key"], r["label"], r["count"], r["net"]) for r in by_method] == [
        ("CARD", "Card", 2, "6500.00"),
        ("CASH", "Cash", 1, "4500.00"),
    ]


def test_api_answers_json_and_csv_that_parses_back(api, org, admin, studio):
    client = api(admin, org)
    json_body = client.get("/api/reports/sales?from=2026-03-02&to=2026-03-04&group_by=day").json()

    by_param = client.get("/api/reports/sales?from=2026-03-02&to=2026-03-04&group_by=day&format=csv")
    by_accept = client.get("/api/reports/sales?from=2026-03-02&to=2026-03-04&group_by=day", HTTP_ACCEPT="text/csv")

    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert 'filename="sales-2026-03-02-2026-03-04.csv"' in response["Content-Disposition"]
        lines = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert lines[:-2] == [{k: str(v) for k, v in row.items()} for row in json_body["rows"]]
        assert lines[-2] == {
            "key": "total",
            "label": "Total",
            "count": "3",
            "list_price": "11500.00",
            "discount": "500.00",
            "net": "11000.00",
        }
        assert lines[-1]["key"] == "cancelled" and lines[-1]["count"] == "1" and lines[-1]["net"] == "1500.00"


@pytest.mark.parametrize(
    "query, field",
    [
        ("group_by=year", "group_by"),
        ("from=2026-03-05&to=2026-03-01", "to"),
        ("from=2026-02-30", "from"),
        ("from=2020-01-01&to=2026-01-01", "to"),
    ],
)
def test_bad_parameters_answer_400_in_json_even_when_csv_was_asked(api, org, admin, query, field):
    response = api(admin, org).get(f"/api/reports/sales?{query}&format=csv")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and field in response.json()["fields"]


def test_query_count_does_not_grow_with_the_sales(org, admin, studio, members):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            for group_by in ("day", "package", "coupon", "payment_method"):
                report(org, group_by)
        return len(ctx.captured_queries)

    before = count()
    for n, member in enumerate(members):
        sell(org, member, studio["single"], local(2026, 3, 3, 8 + n), admin=admin, method="OTHER")
    assert count() == before == 8
