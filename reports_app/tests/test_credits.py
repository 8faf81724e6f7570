"""Credits report on a small studio (DOMAIN.md 17): the deferred-revenue liability, computed by
hand, and reconciled with the ledger."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from members_app import services as ledger
from members_app.models import CreditLot, CreditTransaction
from packages_app import services
from packages_app.tests.factories import BonusCouponFactory, CouponFactory, PackageFactory
from reports_app.selectors import Period, credits_report
from reports_app.tests.conftest import local

pytestmark = pytest.mark.django_db

NOW = local(2026, 3, 10, 12)  # the report is read on Tuesday 10 March, noon


def sell(org, member, package, when, admin, coupon=None):
    return services.redemption_create(
        organization=org,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=True,
        performed_by=admin,
        coupon_code=coupon.code if coupon else None,
        payment_method="CARD",
        now=when,
    )


@pytest.fixture
def studio(org, admin, members):
    """
    m0 Explorer 5 credits for 5000 with SPRING10 (-10 %) = 4500 -> 900 a credit, valid to 31 March;
       spends 2 -> 3 left = 2700, expiring within 30 days
    m1 Pack-10 10 credits for 8000 (800 a credit), never expire, with a +2 bonus coupon:
       10 left = 8000, and a bonus lot of 2 at 0
    m2 4 credits added by hand (worth 0), expire 12 March -> within 30 days
    m3 Short 2 credits for 3000, valid 3 days from 2 March -> expired on the 5th (the job ran): 2 = 3000
    m4 Short bought 3 March -> expired on the 6th, the job has not run since: 2 = 3000
    m5 Explorer bought and cancelled (its credits are taken back): nothing outstanding
    """
    m = members
    explorer = PackageFactory(organization=org, code="EXPLORER", price=Decimal("5000.00"), credits=5)
    explorer.credit_validity_days = 30
    explorer.save()
    pack10 = PackageFactory(organization=org, code="PACK10", price=Decimal("8000.00"), credits=10)
    short = PackageFactory(organization=org, code="SHORT", price=Decimal("3000.00"), credits=2, credit_validity_days=3)
    spring = CouponFactory(organization=org, code="SPRING10", discount_value=Decimal("10.00"))
    bonus = BonusCouponFactory(organization=org, code="PLUS2", bonus_credits=2)

    sell(org, m[0], explorer, local(2026, 3, 2), admin, coupon=spring)
    ledger.credit_adjustment_create(
        organization=org, member_id=m[0].pk, amount=-2, reason="Two rides at the desk", performed_by=admin, now=NOW
    )
    sell(org, m[1], pack10, local(2026, 3, 2), admin, coupon=bonus)
    ledger.credit_adjustment_create(
        organization=org,
        member_id=m[2].pk,
        amount=4,
        reason="Apology",
        expires_at=local(2026, 3, 12, 23),
        performed_by=admin,
        now=local(2026, 3, 1),
    )
    sell(org, m[3], short, local(2026, 3, 2), admin)
    services.packages_expire(organization=org, now=local(2026, 3, 6))
    sell(org, m[4], short, local(2026, 3, 3), admin)
    cancelled = sell(org, m[5], explorer, local(2026, 3, 2), admin)
    services.redemption_cancel(organization=org, redemption_id=cancelled.pk, performed_by=admin, now=local(2026, 3, 4))


def report(org, first=date(2026, 3, 1), last=date(2026, 3, 10)):
    return credits_report(period=Period(organization=org, first=first, last=last), now=NOW)


def test_outstanding_expiring_and_expired_by_hand(org, studio):
    body = report(org)
    assert body["outstanding_credits"] == 3 + 10 + 2 + 4
    assert body["outstanding_value"] == "10700.00"  # 2700 + 8000 + 0 + 0
    assert body["expiring_within_30_days"] == {"credits": 3 + 4, "value": "2700.00"}
    assert body["expired_in_range"] == {"credits": 2 + 2, "value": "6000.00"}
    assert body["as_of"] == "2026-03-10T12:00:00+03:00"


def test_expired_in_range_follows_the_studio_local_expiry_day(org, studio):
    # m3's lot was valid to the end of 4 March: it expired at 00:00 on the 5th (studio time);
    # m4's at 00:00 on the 6th
    assert report(org, date(2026, 3, 4), date(2026, 3, 4))["expired_in_range"] == {"credits": 0, "value": "0.00"}
    assert report(org, date(2026, 3, 5), date(2026, 3, 5))["expired_in_range"] == {"credits": 2, "value": "3000.00"}
    assert report(org, date(2026, 3, 6), date(2026, 3, 6))["expired_in_range"] == {"credits": 2, "value": "3000.00"}
    assert report(org, date(2026, 3, 7), date(2026, 3, 10))["expired_in_range"] == {"credits": 0, "value": "0.00"}


def test_outstanding_reconciles_with_the_ledger(org, studio):
    """Sum it the other way: every ledger row of a lot that has not expired, at that lot's price."""
    unexpired = CreditTransaction.objects.filter(organization=org, lot__isnull=False).exclude(lot__expires_at__lte=NOW)
    credits, value = 0, Decimal(0)
    for row in unexpired.select_related("lot", "lot__redemption"):
        credits += row.amount
        lot = row.lot
        if lot.source == CreditLot.Source.PACKAGE:
            value += row.amount * lot.redemption.final_price / lot.redemption.credits_added
    body = report(org)
    assert body["outstanding_credits"] == credits
    assert Decimal(body["outstanding_value"]) == value.quantize(Decimal("0.01"))
    # and with the cached balances: everything the members hold, less what already expired
    # on a lot the expiry job has not reached yet (m4's 2)
    balances = sum(m.credit_balance for m in org.members.all())
    ledger_total = CreditTransaction.objects.filter(organization=org).aggregate(s=Sum("amount"))["s"]
    assert balances == ledger_total == body["outstanding_credits"] + 2


def test_csv_parses_back(api, org, admin, studio, time_machine):
    time_machine.move_to(NOW)
    response = api(admin, org).get("/api/reports/credits?from=2026-03-01&to=2026-03-10&format=csv")
    assert response.status_code == 200
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert lines == [
        {"figure": "outstanding", "credits": "19", "value": "10700.00"},
        {"figure": "expiring_within_30_days", "credits": "7", "value": "2700.00"},
        {"figure": "expired_in_range", "credits": "4", "value": "6000.00"},
    ]


def test_only_the_studio_admin_reads_reports(api, org, desk, members, admin):
    for path in ("sales", "credits", "coupons", "attendance"):
        assert api(desk, org).get(f"/api/reports/{path}").status_code == 403
        assert api(members[0].user, org).get(f"/api/reports/{path}").status_code == 403
        assert api(None, org).get(f"/api/reports/{path}").status_code == 401
        assert api(admin, org).get(f"/api/reports/{path}").status_code == 200


def test_another_studio_reads_only_its_own(api, org, studio):
    from members_app.models import StaffRole
    from members_app.tests.factories import OrganizationFactory, staff_user

    other = OrganizationFactory(slug="other")
    body = api(staff_user(other, StaffRole.Role.ADMIN), other).get("/api/reports/credits").json()
    assert body["outstanding_credits"] == 0 and body["outstanding_value"] == "0.00"
