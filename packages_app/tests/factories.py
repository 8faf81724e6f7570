"""Factories for the catalog. Related rows derive from one organization."""

from decimal import Decimal

import factory

from members_app.tests.factories import OrganizationFactory
from packages_app.models import Coupon, Package


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"PACK-{n}")
    name = factory.Sequence(lambda n: f"Pack {n}")
    type = Package.Type.CREDIT_PACK
    price = Decimal("5000.00")
    credits = 5


class AllAccessPackageFactory(PackageFactory):
    type = Package.Type.ALL_ACCESS
    price = Decimal("21000.00")
    credits = None
    all_access_days = 30
    daily_ride_limit = 1


class EliteFactory(PackageFactory):
    type = Package.Type.ELITE_30
    price = Decimal("18000.00")
    credits = 30
    benefits = factory.LazyFunction(lambda: ["friend_pass", "priority_booking", "elite_badge"])


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"CODE{n}")
    name = factory.Sequence(lambda n: f"Coupon {n}")
    coupon_type = Coupon.Type.DISCOUNT
    discount_type = Coupon.DiscountType.PERCENTAGE
    discount_value = Decimal("10.00")
    max_redemptions = None
    max_redemptions_per_member = 1


class BonusCouponFactory(CouponFactory):
    coupon_type = Coupon.Type.CREDIT_BONUS
    discount_type = None
    discount_value = None
    bonus_credits = 2
