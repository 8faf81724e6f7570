"""Coupons (DOMAIN.md 4): each type, each refusal, each limit, how uses are counted."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from members_app.tests.factories import MemberFactory
from packages_app import errors, services
from packages_app.models import Coupon, CouponMemberUse
from packages_app.tests.factories import (
    AllAccessPackageFactory,
    BonusCouponFactory,
    CouponFactory,
    PackageFactory,
)
from packages_app.tests.helpers import ledger, sell

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
D = Decimal


def quote(org, package, code, member=None, now=None):
    return services.package_quote(organization=org, package_id=package.pk, coupon_code=code, member=member, now=now)


# --- the three types -----------------------------------------------------------------------------
def test_percentage_discount_coupon_sale(org, member, now):
    package = PackageFactory(organization=org, price=D("5000"), credits=5)
    coupon = CouponFactory(organization=org, discount_type="PERCENTAGE", discount_value=D("15"))
    redemption = sell(org, member, package, coupon=coupon, now=now)
    assert (redemption.redemption_type, redemption.original_price, redemption.discount_amount) == (
        "COUPON_DISCOUNT",
        D("5000.00"),
        D("750.00"),
    )
    assert redemption.final_price == D("4250.00")
    assert redemption.coupon_id == coupon.pk
    assert ledger(member) == [("PURCHASE", 5, 5)]


def test_fixed_amount_discount_coupon(org, member, now):
    package = PackageFactory(organization=org, price=D("5000"))
    coupon = CouponFactory(organization=org, discount_type="FIXED_AMOUNT", discount_value=D("600.50"))
    q = quote(org, package, coupon.code, member, now)
    assert (q.discount_amount, q.final_price) == (D("600.50"), D("4399.50"))


def test_package_deal_coupon_gives_its_price_and_credits(org, member, now):
    package = PackageFactory(organization=org, price=D("8000"), credits=10)
    coupon = CouponFactory(
        organization=org,
        coupon_type="PACKAGE",
        discount_type=None,
        discount_value=None,
        package=package,
        custom_price=D("7000"),
        custom_credits=12,
    )
    redemption = sell(org, member, package, coupon=coupon, now=now)
    assert (redemption.redemption_type, redemption.final_price, redemption.credits_added) == (
        "COUPON_PACKAGE",
        D("7000.00"),
        12,
    )
    assert redemption.discount_amount == D("1000.00")
    assert ledger(member) == [("PURCHASE", 12, 12)]


def test_package_deal_coupon_does_not_apply_to_another_package(org, member, now):
    deal_package = PackageFactory(organization=org)
    coupon = CouponFactory(
        organization=org,
        coupon_type="PACKAGE",
        discount_type=None,
        discount_value=None,
        package=deal_package,
        custom_price=D("1"),
    )
    with pytest.raises(errors.CouponNotApplicable):
        sell(org, member, PackageFactory(organization=org), coupon=coupon, now=now)


def test_credit_bonus_on_all_access_rides_on_the_package(org, member, now):
    coupon = BonusCouponFactory(organization=org, bonus_credits=3)
    redemption = sell(org, member, AllAccessPackageFactory(organization=org), coupon=coupon, now=now)
    assert (redemption.credits_added, redemption.bonus_credits, redemption.credit_lot) == (0, 3, None)
    assert ledger(member) == [("BONUS", 3, 3)]


# --- matching and applicability --------------------------------------------------------------------
def test_codes_match_case_insensitively(org, member, now):
    package = PackageFactory(organization=org)
    CouponFactory(organization=org, code="Summer2024")
    assert quote(org, package, "  sUMMER2024 ", member, now).redemption_type == "COUPON_DISCOUNT"


def test_unknown_code_and_another_studios_code_are_not_found(org, member, now):
    package = PackageFactory(organization=org)
    CouponFactory(code="ELSEWHERE")  # another studio
    for code in ("NOPE", "ELSEWHERE"):
        with pytest.raises(errors.CouponNotFound):
            quote(org, package, code, member, now)


def test_applicable_packages_are_enforced(org, member, now):
    allowed, other = PackageFactory(organization=org), PackageFactory(organization=org)
    coupon = CouponFactory(organization=org)
    coupon.applicable_packages.set([allowed])
    assert quote(org, allowed, coupon.code, member, now).final_price < allowed.price
    with pytest.raises(errors.CouponNotApplicable):
        quote(org, other, coupon.code, member, now)
    with pytest.raises(errors.CouponNotApplicable):
        sell(org, member, other, coupon=coupon, now=now)


def test_no_applicable_packages_means_every_package(org, member, now):
    coupon = BonusCouponFactory(organization=org)
    for package in (PackageFactory(organization=org), AllAccessPackageFactory(organization=org)):
        assert quote(org, package, coupon.code, member, now).bonus_credits == 2


# --- refusals ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields, error",
    [
        ({"is_active": False}, errors.CouponInactive),
        ({"valid_from": datetime(2026, 3, 10, 9, 1, tzinfo=UTC)}, errors.CouponNotYetValid),
        ({"valid_until": datetime(2026, 3, 10, 9, 0, tzinfo=UTC)}, errors.CouponExpired),
    ],
    ids=["coupon_inactive", "coupon_not_yet_valid", "coupon_expired"],
)
def test_coupon_state_and_window_refusals(org, member, now, fields, error):
    coupon = CouponFactory(organization=org, **fields)
    package = PackageFactory(organization=org)
    with pytest.raises(error) as caught:
        sell(org, member, package, coupon=coupon, now=now)
    assert caught.value.code == error.code
    with pytest.raises(error):
        quote(org, package, coupon.code, member, now)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0


def test_window_edges_valid_from_is_inclusive_valid_until_exclusive(org, member, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, valid_from=now, valid_until=now + timedelta(seconds=1))
    assert quote(org, package, coupon.code, member, now).coupon == coupon


def test_total_limit_counts_pending_and_active_and_refuses_when_exhausted(org, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=2)
    a, b, c = (MemberFactory(organization=org) for _ in range(3))
    sell(org, a, package, coupon=coupon, now=now, by_staff=False)  # PENDING counts
    sell(org, b, package, coupon=coupon, now=now)  # ACTIVE counts
    with pytest.raises(errors.CouponExhausted):
        sell(org, c, package, coupon=coupon, now=now)
    with pytest.raises(errors.CouponExhausted):
        quote(org, package, coupon.code, c, now)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 2


def test_used_and_expired_redemptions_still_count(org, now):
    package = PackageFactory(organization=org, credits=1, credit_validity_days=1)
    coupon = CouponFactory(organization=org, max_redemptions=1)
    a, b = MemberFactory(organization=org), MemberFactory(organization=org)
    sell(org, a, package, coupon=coupon, now=now)
    services.packages_expire(now=now + timedelta(days=2))
    assert a.redemptions.get().status == "EXPIRED"
    with pytest.raises(errors.CouponExhausted):
        sell(org, b, package, coupon=coupon, now=now + timedelta(days=2))


def test_a_cancelled_redemption_gives_its_use_back(org, admin_user, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=1)
    a, b = MemberFactory(organization=org), MemberFactory(organization=org)
    first = sell(org, a, package, coupon=coupon, now=now)
    services.redemption_cancel(organization=org, redemption_id=first.pk, performed_by=admin_user, now=now)
    assert sell(org, b, package, coupon=coupon, now=now).coupon_id == coupon.pk


def test_per_member_limit_default_is_once(org, member, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org)  # max_redemptions_per_member defaults to 1
    assert Coupon._meta.get_field("max_redemptions_per_member").default == 1
    sell(org, member, package, coupon=coupon, now=now)
    with pytest.raises(errors.CouponMemberLimit):
        sell(org, member, package, coupon=coupon, now=now)
    with pytest.raises(errors.CouponMemberLimit):
        quote(org, package, coupon.code, member, now)
    # another member may still use it
    assert sell(org, MemberFactory(organization=org), package, coupon=coupon, now=now)


def test_per_member_limit_of_two_and_unlimited(org, member, now):
    package = PackageFactory(organization=org)
    twice = CouponFactory(organization=org, max_redemptions_per_member=2)
    for _ in range(2):
        sell(org, member, package, coupon=twice, now=now)
    with pytest.raises(errors.CouponMemberLimit):
        sell(org, member, package, coupon=twice, now=now)
    unlimited = CouponFactory(organization=org, max_redemptions_per_member=None)
    for _ in range(3):
        sell(org, member, package, coupon=unlimited, now=now)
    assert CouponMemberUse.objects.get(coupon=unlimited, member=member).uses == 3


def test_per_member_use_comes_back_on_cancel(org, member, admin_user, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org)
    first = sell(org, member, package, coupon=coupon, now=now)
    services.redemption_cancel(organization=org, redemption_id=first.pk, performed_by=admin_user, now=now)
    assert sell(org, member, package, coupon=coupon, now=now).status == "ACTIVE"


def test_first_purchase_only(org, member, admin_user, now):
    package = PackageFactory(organization=org)
    welcome = BonusCouponFactory(organization=org, first_purchase_only=True)
    # a member with no redemption may use it
    assert quote(org, package, welcome.code, member, now).bonus_credits == 2
    earlier = sell(org, member, package, now=now, by_staff=False)  # a PENDING one is a purchase
    with pytest.raises(errors.CouponFirstPurchaseOnly):
        sell(org, member, package, coupon=welcome, now=now)
    # once that earlier one is cancelled, this is the first purchase again
    services.redemption_reject(organization=org, redemption_id=earlier.pk, performed_by=admin_user, now=now)
    assert sell(org, member, package, coupon=welcome, now=now).bonus_credits == 2


def test_quote_without_a_member_skips_member_checks(org, member, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, first_purchase_only=True)
    sell(org, member, package, coupon=coupon, now=now)
    assert quote(org, package, coupon.code, None, now).coupon == coupon


def test_a_refused_sale_writes_nothing(org, member, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=5)
    coupon.applicable_packages.set([PackageFactory(organization=org)])
    with pytest.raises(errors.CouponNotApplicable):
        sell(org, member, package, coupon=coupon, now=now)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
    assert not CouponMemberUse.objects.exists()
    assert not member.redemptions.exists()
