"""The standard catalog (DOMAIN.md 13): seed_packages, seed_demo, both idempotent."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from members_app.models import Organization
from packages_app.models import Coupon, Package
from packages_app.seeds import load_catalog, seed_catalog
from spinning import clock

pytestmark = pytest.mark.django_db


def test_seed_packages_creates_the_six_packages_and_two_coupons_once(org):
    out = StringIO()
    call_command("seed_packages", "--organization", org.slug, stdout=out)
    assert "package ELITE-30: created" in out.getvalue()
    packages = list(Package.objects.filter(organization=org).order_by("display_order"))
    assert [(p.code, p.name_tr, p.type, p.price, p.credits) for p in packages] == [
        ("SINGLE-RIDE", "Tek Sürüş", "SINGLE_RIDE", Decimal("1500.00"), 1),
        ("EXPLORER-5", "Explorer Paket", "CREDIT_PACK", Decimal("5000.00"), 5),
        ("CORE-10", "Core Paket", "CREDIT_PACK", Decimal("8000.00"), 10),
        ("ELITE-20", "Elite Paket", "CREDIT_PACK", Decimal("14000.00"), 20),
        ("ELITE-30", "Elite 30 - Signature Paket", "ELITE_30", Decimal("18000.00"), 30),
        ("ALL-ACCESS-30", "All Access - 30 Gün", "ALL_ACCESS", Decimal("21000.00"), None),
    ]
    elite, all_access = packages[4], packages[5]
    assert sorted(elite.benefits) == ["elite_badge", "friend_pass", "priority_booking"]
    assert elite.friend_pass_days == 30
    assert (all_access.all_access_days, all_access.daily_ride_limit) == (30, 1)
    summer = Coupon.objects.get(organization=org, code="SUMMER2024")
    assert (summer.name_tr, summer.discount_type, summer.discount_value) == (
        "Yaz İndirimi",
        "PERCENTAGE",
        Decimal("15"),
    )
    assert sorted(p.code for p in summer.applicable_packages.all()) == ["CORE-10", "ELITE-20", "ELITE-30", "EXPLORER-5"]
    assert (summer.max_redemptions, summer.max_redemptions_per_member) == (100, 1)
    bonus = Coupon.objects.get(organization=org, code="NEWMEMBER2024")
    assert (bonus.name_tr, bonus.bonus_credits, bonus.max_redemptions, bonus.max_redemptions_per_member) == (
        "Yeni Üye Bonusu",
        2,
        None,
        1,
    )
    # valid from today (studio time) for a year
    today = clock.local_date(clock.now(), org.timezone)
    assert clock.local_date(summer.valid_from, org.timezone) == today
    assert summer.valid_until - summer.valid_from == timedelta(days=365)
    # a second run adds nothing
    out = StringIO()
    call_command("seed_packages", "--organization", org.slug, stdout=out)
    assert "created" not in out.getvalue()
    assert Package.objects.filter(organization=org).count() == 6
    assert Coupon.objects.filter(organization=org).count() == 2


def test_seed_leaves_a_studios_own_changes_alone(org):
    seed_catalog(organization=org)
    Package.objects.filter(organization=org, code="CORE-10").update(price=Decimal("8500"))
    seed_catalog(organization=org)
    assert Package.objects.get(organization=org, code="CORE-10").price == Decimal("8500.00")


def test_seed_packages_needs_an_existing_studio():
    with pytest.raises(CommandError):
        call_command("seed_packages", "--organization", "nowhere", stdout=StringIO())


def test_fixture_matches_the_domain_catalog():
    catalog = load_catalog()
    assert [p["code"] for p in catalog["packages"]] == [
        "SINGLE-RIDE",
        "EXPLORER-5",
        "CORE-10",
        "ELITE-20",
        "ELITE-30",
        "ALL-ACCESS-30",
    ]
    assert [c["code"] for c in catalog["coupons"]] == ["SUMMER2024", "NEWMEMBER2024"]


def test_seed_demo_seeds_the_catalog_too_and_is_idempotent():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    demo = Organization.objects.get(slug="demo")
    assert Package.objects.filter(organization=demo).count() == 6
    assert Coupon.objects.filter(organization=demo).count() == 2
