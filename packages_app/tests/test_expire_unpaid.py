"""Unpaid requests (DOMAIN.md 5, issue 8 item 2): a PENDING request staff have not confirmed within
`pending_request_hours` is cancelled by the expiry job and gives its coupon use back."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from members_app.tests.factories import MemberFactory
from packages_app import errors
from packages_app.models import Coupon, CouponMemberUse, Redemption
from packages_app.tests.factories import CouponFactory, PackageFactory
from packages_app.tests.helpers import sell

pytestmark = pytest.mark.django_db
S = Redemption.Status


def expire_job() -> str:
    out = StringIO()
    call_command("expire_packages", stdout=out)
    return out.getvalue()


def test_five_throwaway_requests_stop_holding_a_five_use_coupon_after_72_hours(org, now):
    # given a 5-use coupon (once per member) exhausted by 5 throw-away members' PENDING requests
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, code="SPRING5", max_redemptions=5, max_redemptions_per_member=1)
    throwaways = [MemberFactory(organization=org) for _ in range(5)]
    with time_machine.travel(now, tick=False):
        requests = [sell(org, m, package, coupon=coupon, now=now, by_staff=False) for m in throwaways]
    newcomer = MemberFactory(organization=org)
    with pytest.raises(errors.CouponExhausted):
        sell(org, newcomer, package, coupon=coupon, now=now + timedelta(hours=1), by_staff=False)
    assert org.pending_request_hours == 72
    # when the job runs at 71 hours: nothing happens
    with time_machine.travel(now + timedelta(hours=71), tick=False):
        assert "Unpaid requests cancelled (not paid in time): 0." in expire_job()
    assert {r.status for r in Redemption.objects.filter(pk__in=[r.pk for r in requests])} == {S.PENDING}
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 5
    # when it runs after 72 hours: the five are cancelled, "not paid in time", uses given back
    with time_machine.travel(now + timedelta(hours=72, minutes=1), tick=False):
        assert "Unpaid requests cancelled (not paid in time): 5." in expire_job()
        for request in Redemption.objects.filter(pk__in=[r.pk for r in requests]):
            assert (request.status, request.cancel_reason, request.cancelled_by) == (
                S.CANCELLED,
                "not paid in time",
                None,
            )
        coupon.refresh_from_db()
        assert coupon.times_redeemed == 0
        assert set(CouponMemberUse.objects.filter(coupon=coupon).values_list("uses", flat=True)) == {0}
        # then a new member can use it (and a throw-away member too: their own use came back)
        assert sell(org, newcomer, package, coupon=coupon, now=now + timedelta(hours=73)).status == S.ACTIVE
        assert sell(org, throwaways[0], package, coupon=coupon, now=now + timedelta(hours=73)).status == S.ACTIVE
        # and running the job again changes nothing (idempotent)
        assert "Unpaid requests cancelled (not paid in time): 0." in expire_job()
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 2


def test_the_studio_policy_decides_and_confirmed_or_rejected_requests_are_left_alone(org, member, now):
    org.pending_request_hours = 24
    org.save(update_fields=["pending_request_hours"])
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=3)
    stale = sell(org, member, package, coupon=coupon, now=now, by_staff=False)
    fresh = sell(
        org, MemberFactory(organization=org), package, coupon=coupon, now=now + timedelta(hours=20), by_staff=False
    )
    paid = sell(org, MemberFactory(organization=org), package, coupon=coupon, now=now, by_staff=True)
    with time_machine.travel(now + timedelta(hours=24), tick=False):
        assert "Unpaid requests cancelled (not paid in time): 1." in expire_job()
    assert [Redemption.objects.get(pk=r.pk).status for r in (stale, fresh, paid)] == [S.CANCELLED, S.PENDING, S.ACTIVE]
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 2


def test_dry_run_counts_unpaid_requests_and_cancels_nothing(org, member, now):
    request = sell(org, member, PackageFactory(organization=org), now=now, by_staff=False)
    out = StringIO()
    with time_machine.travel(now + timedelta(hours=80), tick=False):
        call_command("expire_packages", "--dry-run", stdout=out)
    assert "Unpaid requests to cancel (not paid in time): 1." in out.getvalue()
    assert Redemption.objects.get(pk=request.pk).status == S.PENDING
