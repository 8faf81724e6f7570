"""Catalog writes (DOMAIN.md 3, 4; API.md validation) and one test per database constraint."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from members_app.tests.factories import MemberFactory, OrganizationFactory
from packages_app import errors, services
from packages_app.errors import CouponInUse
from packages_app.models import Coupon, CouponMemberUse, Package, Redemption
from packages_app.tests.factories import AllAccessPackageFactory, CouponFactory, PackageFactory
from packages_app.tests.helpers import sell
from spinning.errors import Invalid

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
D = Decimal


def create_package(org, **fields):
    data = {"code": "NEW-1", "name": "New", "type": "CREDIT_PACK", "price": D("100"), "credits": 2} | fields
    return services.package_create(organization=org, data=data)


def fields_of(excinfo) -> set:
    return set(excinfo.value.fields)


# --- package validation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields, field",
    [
        ({"credits": None}, "credits"),
        ({"credits": 0}, "credits"),
        ({"type": "SINGLE_RIDE", "credits": 2}, "credits"),
        ({"type": "ELITE_30", "credits": None}, "credits"),
        ({"type": "ALL_ACCESS", "credits": 5, "all_access_days": 30}, "credits"),
        ({"type": "ALL_ACCESS", "credits": None}, "all_access_days"),
        ({"type": "ALL_ACCESS", "credits": None, "all_access_days": 0}, "all_access_days"),
        ({"all_access_days": 3}, "all_access_days"),
        ({"price": D("-1")}, "price"),
        ({"benefits": ["free_coffee"]}, "benefits"),
        ({"benefits": ["elite_badge", "elite_badge"]}, "benefits"),
        ({"benefits": "elite_badge"}, "benefits"),
        (
            {"valid_from": datetime(2026, 3, 2, tzinfo=UTC), "valid_until": datetime(2026, 3, 1, tzinfo=UTC)},
            "valid_until",
        ),
        ({"daily_ride_limit": 0}, "daily_ride_limit"),
        ({"credit_validity_days": 0}, "credit_validity_days"),
        ({"friend_pass_days": 0}, "friend_pass_days"),
        ({"code": "has space"}, "code"),
        ({"name": " "}, "name"),
    ],
)
def test_package_validation(org, fields, field):
    with pytest.raises(Invalid) as caught:
        create_package(org, **fields)
    assert field in fields_of(caught)
    assert not Package.objects.exists()


def test_valid_packages_of_every_type(org):
    create_package(org, code="S", type="SINGLE_RIDE", credits=1)
    create_package(org, code="E", type="ELITE_30", credits=30, benefits=["friend_pass", "elite_badge"])
    create_package(org, code="A", type="ALL_ACCESS", credits=None, all_access_days=30, daily_ride_limit=2)
    assert Package.objects.filter(organization=org).count() == 3


def test_package_code_is_unique_per_studio_case_insensitively(org):
    create_package(org, code="CORE-10")
    with pytest.raises(Invalid) as caught:
        create_package(org, code="core-10")
    assert fields_of(caught) == {"code"}
    # another studio may use the same code
    create_package(OrganizationFactory(), code="CORE-10")


def test_package_update_validates_the_result(org):
    package = create_package(org)
    with pytest.raises(Invalid):
        services.package_update(organization=org, package_id=package.pk, data={"type": "SINGLE_RIDE"})
    updated = services.package_update(organization=org, package_id=package.pk, data={"price": D("90"), "name": "X"})
    assert (updated.price, updated.name) == (D("90"), "X")


def test_unused_package_is_deleted(org):
    package = create_package(org)
    services.package_delete(organization=org, package_id=package.pk)
    assert not Package.objects.exists()


def test_redeemed_package_is_never_deleted(org, member, now):
    package = PackageFactory(organization=org)
    sell(org, member, package, now=now)
    with pytest.raises(errors.PackageInUse):
        services.package_delete(organization=org, package_id=package.pk)
    # deactivating is the way
    services.package_update(organization=org, package_id=package.pk, data={"is_active": False})
    assert Package.objects.get(pk=package.pk).is_active is False


def test_package_named_by_a_coupon_is_not_deleted(org):
    package = PackageFactory(organization=org)
    CouponFactory(organization=org).applicable_packages.set([package])
    with pytest.raises(errors.PackageInUse):
        services.package_delete(organization=org, package_id=package.pk)


def test_another_studios_package_cannot_be_changed_or_deleted(org):
    other = PackageFactory()
    with pytest.raises(errors.PackageNotFound):
        services.package_update(organization=org, package_id=other.pk, data={"name": "mine"})
    with pytest.raises(errors.PackageNotFound):
        services.package_delete(organization=org, package_id=other.pk)
    with pytest.raises(errors.PackageNotFound):
        services.package_delete(organization=org, package_id="not-a-uuid")


# --- coupon validation ---------------------------------------------------------------------------
def create_coupon(org, **fields):
    data = {
        "code": "C1",
        "name": "C",
        "coupon_type": "DISCOUNT",
        "discount_type": "PERCENTAGE",
        "discount_value": D("10"),
    } | fields
    return services.coupon_create(organization=org, data=data)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"discount_value": D("0")}, "discount_value"),
        ({"discount_value": D("100.01")}, "discount_value"),
        ({"discount_type": "FIXED_AMOUNT", "discount_value": D("0")}, "discount_value"),
        ({"discount_type": None}, "discount_type"),
        ({"discount_value": None}, "discount_value"),
        ({"bonus_credits": 2}, "bonus_credits"),
        ({"coupon_type": "CREDIT_BONUS", "discount_type": None, "discount_value": None}, "bonus_credits"),
        ({"coupon_type": "CREDIT_BONUS", "bonus_credits": 2}, "discount_type"),
        ({"coupon_type": "PACKAGE", "discount_type": None, "discount_value": None}, "package_id"),
        ({"max_redemptions": 0}, "max_redemptions"),
        ({"max_redemptions_per_member": 0}, "max_redemptions_per_member"),
        (
            {"valid_from": datetime(2026, 3, 2, tzinfo=UTC), "valid_until": datetime(2026, 3, 2, tzinfo=UTC)},
            "valid_until",
        ),
        ({"code": "bad/code"}, "code"),
        ({"applicable_package_ids": ["00000000-0000-0000-0000-000000000001"]}, "applicable_package_ids"),
    ],
)
def test_coupon_validation(org, fields, field):
    with pytest.raises(Invalid) as caught:
        create_coupon(org, **fields)
    assert field in fields_of(caught)
    assert not Coupon.objects.exists()


def test_package_coupon_needs_a_price_or_credits_and_no_credits_for_all_access(org):
    package = PackageFactory(organization=org)
    base = {"coupon_type": "PACKAGE", "discount_type": None, "discount_value": None, "package_id": package.pk}
    with pytest.raises(Invalid) as caught:
        create_coupon(org, **base)
    assert "custom_price" in fields_of(caught)
    all_access = AllAccessPackageFactory(organization=org)
    with pytest.raises(Invalid) as caught:
        create_coupon(org, **(base | {"package_id": all_access.pk, "custom_credits": 3}))
    assert "custom_credits" in fields_of(caught)
    deal = create_coupon(org, **(base | {"custom_credits": 7}))
    assert deal.package == package


def test_coupon_packages_must_belong_to_the_studio(org):
    foreign = PackageFactory()
    with pytest.raises(Invalid) as caught:
        create_coupon(org, applicable_package_ids=[foreign.pk])
    assert "applicable_package_ids" in fields_of(caught)


def test_coupon_code_is_unique_per_studio_case_insensitively(org):
    create_coupon(org, code="SUMMER2024")
    with pytest.raises(Invalid) as caught:
        create_coupon(org, code="summer2024")
    assert fields_of(caught) == {"code"}
    create_coupon(OrganizationFactory(), code="summer2024")


def test_max_redemptions_cannot_go_below_uses(org, now):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=5)
    for _ in range(2):
        sell(org, MemberFactory(organization=org), package, coupon=coupon, now=now)
    with pytest.raises(Invalid) as caught:
        services.coupon_update(organization=org, coupon_id=coupon.pk, data={"max_redemptions": 1})
    assert fields_of(caught) == {"max_redemptions"}
    assert (
        services.coupon_update(organization=org, coupon_id=coupon.pk, data={"max_redemptions": 2}).max_redemptions == 2
    )


def test_coupon_update_changes_applicable_packages(org):
    a, b = PackageFactory(organization=org), PackageFactory(organization=org)
    coupon = create_coupon(org, applicable_package_ids=[a.pk])
    services.coupon_update(organization=org, coupon_id=coupon.pk, data={"applicable_package_ids": [a.pk, b.pk]})
    assert set(coupon.applicable_packages.all()) == {a, b}
    services.coupon_update(organization=org, coupon_id=coupon.pk, data={"name": "renamed"})
    assert set(coupon.applicable_packages.all()) == {a, b}


def test_used_coupon_is_never_deleted_an_unused_one_is(org, member, admin_user, now):
    used = CouponFactory(organization=org)
    redemption = sell(org, member, PackageFactory(organization=org), coupon=used, now=now)
    services.redemption_cancel(organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=now)
    with pytest.raises(errors.CouponInUse):  # even after its use came back: history points at it
        services.coupon_delete(organization=org, coupon_id=used.pk)
    unused = CouponFactory(organization=org)
    services.coupon_delete(organization=org, coupon_id=unused.pk)
    assert not Coupon.objects.filter(pk=unused.pk).exists()


# --- one test per database constraint --------------------------------------------------------------
def refused(**kwargs):
    with pytest.raises(IntegrityError), transaction.atomic():
        kwargs.pop("create")(**kwargs)


def test_db_package_code_unique_per_org_case_insensitive(org):
    PackageFactory(organization=org, code="ABC")
    refused(create=PackageFactory.create, organization=org, code="abc")


def test_db_package_price_gte_0(org):
    refused(create=PackageFactory.create, organization=org, price=D("-0.01"))


def test_db_package_valid_window_ordered(org):
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    refused(create=PackageFactory.create, organization=org, valid_from=moment, valid_until=moment)


def test_db_package_credits_or_all_access(org):
    refused(create=PackageFactory.create, organization=org, type="ALL_ACCESS", credits=5, all_access_days=30)
    refused(create=PackageFactory.create, organization=org, type="CREDIT_PACK", credits=None)


def test_db_package_single_ride_one_credit(org):
    refused(create=PackageFactory.create, organization=org, type="SINGLE_RIDE", credits=2)


def test_db_package_daily_limit_gte_1(org):
    refused(create=AllAccessPackageFactory.create, organization=org, daily_ride_limit=0)


def test_db_coupon_code_ci_unique_per_org(org):
    CouponFactory(organization=org, code="Hello")
    refused(create=CouponFactory.create, organization=org, code="HELLO")


def test_db_coupon_times_redeemed_lte_max(org):
    coupon = CouponFactory(organization=org, max_redemptions=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=2)


def test_db_coupon_valid_window_ordered(org):
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    refused(create=CouponFactory.create, organization=org, valid_from=moment, valid_until=moment)


def test_db_coupon_percentage_range(org):
    refused(create=CouponFactory.create, organization=org, discount_value=D("100.01"))


def test_db_coupon_fixed_amount_gt_0(org):
    refused(create=CouponFactory.create, organization=org, discount_type="FIXED_AMOUNT", discount_value=D("0"))


def test_db_coupon_custom_price_gte_0(org):
    refused(create=CouponFactory.create, organization=org, custom_price=D("-1"))


def test_db_coupon_member_use_unique_and_lte_limit(org, member):
    coupon = CouponFactory(organization=org)
    use = CouponMemberUse.objects.create(coupon=coupon, member=member, uses=1, limit=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CouponMemberUse.objects.filter(pk=use.pk).update(uses=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        CouponMemberUse.objects.create(coupon=coupon, member=member)


def test_db_redemption_money_and_dates(org, member, now):
    redemption = sell(org, member, AllAccessPackageFactory(organization=org), now=now)
    for update in (
        {"final_price": D("-1")},
        {"discount_amount": D("-1")},
        {"all_access_ends_on": redemption.all_access_starts_on.replace(day=1)},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Redemption.objects.filter(pk=redemption.pk).update(**update)


def test_db_package_all_access_has_days(org):
    refused(create=AllAccessPackageFactory.create, organization=org, all_access_days=None)


def test_db_coupon_discount_has_value(org):
    refused(create=CouponFactory.create, organization=org, discount_value=None)


def test_db_coupon_member_use_protects_its_coupon_and_member(org, member):
    # the per-member count is history: its coupon and member are never deleted under it
    coupon = CouponFactory(organization=org)
    CouponMemberUse.objects.create(coupon=coupon, member=member, uses=0)
    with pytest.raises(ProtectedError), transaction.atomic():
        coupon.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        member.delete()
    # and the service says so in the API's words
    with pytest.raises(CouponInUse):
        services.coupon_delete(organization=org, coupon_id=coupon.pk)
