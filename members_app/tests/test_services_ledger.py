"""Ledger stories (DOMAIN.md 6), told the way a studio would tell them."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from members_app import services
from members_app.errors import InsufficientCredits
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditLot, CreditTransaction
from members_app.services import ledger_sum
from members_app.tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
T = CreditTransaction.Type
UTC = ZoneInfo("UTC")


def grant(member, amount, expires_at, now, type=T.MANUAL_ADD):
    return services.credits_grant(
        member=member, amount=amount, source=CreditLot.Source.MANUAL, type=type, expires_at=expires_at, now=now
    )


def test_grant_spend_refund_expire_deduct_story():
    # given a member with 10 credits expiring in 30 days and 5 that never expire
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    member = MemberFactory()
    lot10, _ = grant(member, 10, now + timedelta(days=30), now)
    lot5, _ = grant(member, 5, None, now)
    # when 12 are spent: the soonest-expiring lot goes first, never-expiring last
    rows = services.credits_spend(member=member, amount=12, booking_id=None, now=now, description="12 rides")
    assert [(r.lot_id, r.amount) for r in rows] == [(lot10.pk, -10), (lot5.pk, -2)]
    # and 3 are refunded to the lot they came from
    lot10.refresh_from_db()
    assert lot10.remaining == 0
    booking_id = "00000000-0000-0000-0000-0000000000b1"
    paid = services.credits_spend(member=member, amount=1, booking_id=booking_id, now=now)
    assert paid[0].lot_id == lot5.pk
    refund = services.credits_refund_booking(member=member, booking_id=booking_id, now=now)
    assert [(r.lot_id, r.amount, r.type) for r in refund] == [(lot5.pk, 1, T.BOOKING_REFUND)]
    # a second refund of the same booking gives nothing more
    assert services.credits_refund_booking(member=member, booking_id=booking_id, now=now) == []
    member.refresh_from_db()
    assert member.credit_balance == 3
    # then a lot of 4 expiring tomorrow expires
    lot4, _ = grant(member, 4, now + timedelta(days=1), now)
    later = now + timedelta(days=2)
    expired = services.credits_expire_overdue(member=member, now=later)
    assert [(r.type, r.amount, r.lot_id) for r in expired] == [(T.EXPIRATION, -4, lot4.pk)]
    # and staff deduct 2 by hand
    txn = services.credit_adjustment_create(
        organization=member.organization, member_id=member.pk, amount=-2, reason="Damaged towel", now=later
    )
    assert (txn.type, txn.amount, txn.balance_before, txn.balance_after) == (T.MANUAL_DEDUCT, -2, 3, 1)
    member.refresh_from_db()
    assert member.credit_balance == 1 == ledger_sum(member)
    assert ledger_breaches() == []


def test_deduct_below_zero_is_refused_and_writes_nothing():
    member = MemberFactory()
    services.credit_adjustment_create(organization=member.organization, member_id=member.pk, amount=2, reason="gift")
    with pytest.raises(InsufficientCredits):
        services.credit_adjustment_create(organization=member.organization, member_id=member.pk, amount=-3, reason="x")
    member.refresh_from_db()
    assert member.credit_balance == 2
    assert CreditTransaction.objects.filter(member=member).count() == 1
