"""Coupons report on a small studio (DOMAIN.md 17)."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from packages_app import services
from packages_app.tests.factories import BonusCouponFactory, CouponFactory, PackageFactory
from reports_app.selectors import Period, coupons_report
from reports_app.tests.conftest import local

pytestmark = pytest.mark.django_db


def sell(org, member, package, when, admin, coupon):
    return services.redemption_create(
        organization=org,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=True,
        performed_by=admin,
        coupon_code=coupon.code,
        payment_method="CASH",
        now=when,
    )


@pytest.fixture
def studio(org, admin, members):
    """SPRING10 (10 %, at most 5 uses): m0 and m1 on Explorer 5000 (500 off each), m2 on Explorer
    and then cancelled (its use given back); PLUS2 (+2 credits, unlimited): m3 on Explorer;
    IDLE: nobody. Range 1-31 March; m4's SPRING10 use on 1 April is outside it."""
    explorer = PackageFactory(organization=org, code="EXPLORER", price=Decimal("5000.00"), credits=5)
    spring = CouponFactory(organization=org, code="SPRING10", discount_value=Decimal("10.00"), max_redemptions=5)
    plus2 = BonusCouponFactory(organization=org, code="PLUS2", bonus_credits=2)
    idle = CouponFactory(organization=org, code="IDLE", max_redemptions=3)
    sell(org, members[0], explorer, local(2026, 3, 2), admin, spring)
    sell(org, members[1], explorer, local(2026, 3, 3), admin, spring)
    refunded = sell(org, members[2], explorer, local(2026, 3, 4), admin, spring)
    services.redemption_cancel(organization=org, redemption_id=refunded.pk, performed_by=admin, now=local(2026, 3, 5))
    sell(org, members[3], explorer, local(2026, 3, 6), admin, plus2)
    sell(org, members[4], explorer, local(2026, 4, 1, 9), admin, spring)
    return {"spring": spring, "plus2": plus2, "idle": idle, "explorer": explorer}


def report(org):
    return coupons_report(period=Period(organization=org, first=date(2026, 3, 1), last=date(2026, 3, 31)))


def test_uses_discount_bonus_and_uses_left_by_hand(org, studio):
    rows = report(org)["rows"]
    assert rows == [
        {
            "coupon_id": str(studio["spring"].pk),
            "code": "SPRING10",
            "uses": 2,
            "discount_given": "1000.00",
            "bonus_credits_given": 0,
            "uses_left": 2,  # 5 - (m0, m1, m4); the cancelled one gave its use back
        },
        {
            "coupon_id": str(studio["plus2"].pk),
            "code": "PLUS2",
            "uses": 1,
            "discount_given": "0.00",
            "bonus_credits_given": 2,
            "uses_left": None,
        },
        {
            "coupon_id": str(studio["idle"].pk),
            "code": "IDLE",
            "uses": 0,
            "discount_given": "0.00",
            "bonus_credits_given": 0,
            "uses_left": 3,
        },
    ]


def test_csv_parses_back(api, org, admin, studio):
    client = api(admin, org)
    json_rows = client.get("/api/reports/coupons?from=2026-03-01&to=2026-03-31").json()["rows"]
    response = client.get("/api/reports/coupons?from=2026-03-01&to=2026-03-31", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert lines == [{k: "" if v is None else str(v) for k, v in row.items()} for row in json_rows]


def test_one_query_however_many_coupons_and_uses(org, admin, studio, members):
    with CaptureQueriesContext(connection) as first:
        report(org)
    for n in range(5):
        CouponFactory(organization=org, code=f"MORE{n}")
    sell(org, members[5], studio["explorer"], local(2026, 3, 9), admin, studio["plus2"])
    with CaptureQueriesContext(connection) as second:
        report(org)
    assert len(first.captured_queries) == len(second.captured_queries) == 1
