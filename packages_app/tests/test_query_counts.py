"""List endpoints stay flat as rows grow (no N+1): the same number of queries for 3 rows and 40."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members_app.tests.factories import MemberFactory
from packages_app.tests.factories import (
    AllAccessPackageFactory,
    BonusCouponFactory,
    CouponFactory,
    EliteFactory,
    PackageFactory,
)
from packages_app.tests.helpers import sell

pytestmark = pytest.mark.django_db


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()["count"]


def grow_packages(org, n):
    for _ in range(n):
        PackageFactory(organization=org)
        AllAccessPackageFactory(organization=org)


def grow_coupons(org, n):
    packages = [PackageFactory(organization=org) for _ in range(3)]
    for _ in range(n):
        CouponFactory(organization=org).applicable_packages.set(packages)
        BonusCouponFactory(organization=org)


def grow_redemptions(org, member, n, now):
    coupon = BonusCouponFactory(organization=org, max_redemptions_per_member=None)
    for _ in range(n):
        sell(org, member, PackageFactory(organization=org), coupon=coupon, now=now)
        sell(org, member, EliteFactory(organization=org), now=now, by_staff=False)


@pytest.mark.parametrize("who", ["public", "staff"])
def test_package_list_is_flat(api, org, admin_user, django_assert_max_num_queries, who):
    client = api(org=org) if who == "public" else api(user=admin_user, org=org)
    grow_packages(org, 2)
    small, _ = count_queries(client, "/api/packages")
    grow_packages(org, 20)
    with django_assert_max_num_queries(small):
        large, rows = count_queries(client, "/api/packages")
    assert rows == 44 and large == small


def test_coupon_list_is_flat(api, org, admin_user, django_assert_max_num_queries):
    client = api(user=admin_user, org=org)
    grow_coupons(org, 2)
    small, _ = count_queries(client, "/api/coupons")
    grow_coupons(org, 20)
    with django_assert_max_num_queries(small):
        _, rows = count_queries(client, "/api/coupons")
    assert rows == 44


@pytest.mark.parametrize("who", ["staff", "member"])
def test_redemption_list_is_flat(api, org, admin_user, django_assert_max_num_queries, now, who):
    member = MemberFactory(organization=org)
    client = api(user=admin_user if who == "staff" else member.user, org=org)
    grow_redemptions(org, member, 2, now)
    small, _ = count_queries(client, "/api/redemptions")
    grow_redemptions(org, member, 20, now)
    with django_assert_max_num_queries(small):
        _, rows = count_queries(client, "/api/redemptions")
    assert rows == 44
    with django_assert_max_num_queries(small + 1):
        count_queries(client, f"/api/members/{member.pk}/redemptions")
