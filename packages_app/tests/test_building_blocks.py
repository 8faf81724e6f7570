"""Building blocks that must share their caller's transaction (STYLE.md) refuse to run alone."""

import pytest

from members_app.tests.factories import MemberFactory, OrganizationFactory
from packages_app.models import Redemption
from packages_app.services import coupons, grants, settlement
from packages_app.tests.factories import CouponFactory


@pytest.mark.django_db(transaction=True)
def test_building_blocks_outside_a_transaction_fail_loudly():
    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    coupon = CouponFactory(organization=org)
    calls = [
        lambda: coupons.coupon_take(coupon, member),
        lambda: coupons.coupon_give_back(org, coupon.pk, member),
        lambda: settlement.member_flags_refresh(member=member),
        lambda: settlement.member_redemptions_settle(member=member),
        lambda: grants.redemption_grant(redemption=Redemption(), member=member, now=None, performed_by=None),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match="inside the caller's transaction"):
            call()
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
