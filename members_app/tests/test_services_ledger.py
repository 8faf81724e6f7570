"""Ledger stories (DOMAIN.md 6), told the way a studio would tell them."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from members_app import services
from members_app.errors import InsufficientCredits
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditLot, CreditTransaction
from members_app.tests.factories import MemberFactory, OrganizationFactory
from members_app.tests.utils import ledger_sum
from spinning.clock import span_end
from spinning.errors import Invalid, NotFound

pytestmark = pytest.mark.django_db
BOOKING = uuid.UUID("00000000-0000-0000-0000-00000000b00c")
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


def ledger(member):
    return [
        (r.type, r.amount, r.balance_before, r.balance_after, r.lot_id)
        for r in CreditTransaction.objects.filter(member=member).order_by("seq")
    ]


def assert_consistent(member):
    """DOMAIN.md 6: cached balance == sum of amounts == last balance_after == unexpired lot credits."""
    member.refresh_from_db()
    lots = sum(CreditLot.objects.filter(member=member).values_list("remaining", flat=True))
    last = CreditTransaction.objects.filter(member=member).order_by("-seq").first()
    assert member.credit_balance == ledger_sum(member) == lots == (last.balance_after if last else 0)
    assert ledger_breaches(organization=member.organization) == []


def test_the_issue_story_grant_spend_refund_expire_deduct():
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    member = MemberFactory()
    b1, b2 = uuid.uuid4(), uuid.uuid4()
    # given 10 credits that expire in 30 days (a pack) and 5 that never expire (a gift)
    lot10, _ = grant(member, 10, now + timedelta(days=30), now, type=T.PURCHASE)
    lot5, _ = grant(member, 5, None, now)
    # when two bookings spend 3 and 9 (12 in all): the expiring lot goes first
    services.credits_spend(member=member, amount=3, booking_id=b1, now=now)
    services.credits_spend(member=member, amount=9, booking_id=b2, now=now)
    # and the 3-credit booking is refunded: back to the lot it came from
    refund = services.credits_refund_booking(member=member, booking_id=b1, now=now)
    assert [(r.lot_id, r.amount) for r in refund] == [(lot10.pk, 3)]
    # and the pack runs out
    later = now + timedelta(days=30)
    services.credits_expire_overdue(member=member, now=later)
    # and the desk deducts 2 by hand
    services.credit_adjustment_create(
        organization=member.organization, member_id=member.pk, amount=-2, reason="No-show fee", now=later
    )
    # then every change is one row, in order
    assert ledger(member) == [
        (T.PURCHASE, 10, 0, 10, lot10.pk),
        (T.MANUAL_ADD, 5, 10, 15, lot5.pk),
        (T.BOOKING_PAYMENT, -3, 15, 12, lot10.pk),
        (T.BOOKING_PAYMENT, -7, 12, 5, lot10.pk),
        (T.BOOKING_PAYMENT, -2, 5, 3, lot5.pk),
        (T.BOOKING_REFUND, 3, 3, 6, lot10.pk),
        (T.EXPIRATION, -3, 6, 3, lot10.pk),
        (T.MANUAL_DEDUCT, -2, 3, 1, lot5.pk),
    ]
    lot10.refresh_from_db()
    lot5.refresh_from_db()
    assert (lot10.remaining, lot10.expired_at) == (0, later)
    assert lot5.remaining == 1
    assert_consistent(member)
    assert member.credit_balance == 1


def test_spend_order_soonest_expiry_first_then_never_expiring_oldest_first():
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    member = MemberFactory()
    forever_old, _ = grant(member, 1, None, now - timedelta(days=2))
    forever_new, _ = grant(member, 1, None, now - timedelta(days=1))
    late, _ = grant(member, 1, now + timedelta(days=20), now)
    soon, _ = grant(member, 1, now + timedelta(days=5), now)  # granted last, expires first
    rows = services.credits_spend(member=member, amount=4, now=now)
    assert [r.lot_id for r in rows] == [soon.pk, late.pk, forever_old.pk, forever_new.pk]
    assert_consistent(member)


def test_expired_credits_cannot_be_spent():
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    member = MemberFactory()
    grant(member, 3, now + timedelta(hours=1), now)
    grant(member, 1, None, now)
    later = now + timedelta(hours=2)
    with pytest.raises(InsufficientCredits), transaction.atomic():
        services.credits_spend(member=member, amount=2, now=later)
    member.refresh_from_db()
    # the refused spend left nothing behind; one credit is still spendable
    assert member.credit_balance == 4
    services.credits_spend(member=member, amount=1, now=later)
    assert [r[0] for r in ledger(member)][-2:] == [T.EXPIRATION, T.BOOKING_PAYMENT]
    assert_consistent(member)
    assert member.credit_balance == 0


def test_refund_to_a_lot_that_expired_meanwhile_expires_again():
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    member = MemberFactory()
    booking = uuid.uuid4()
    lot, _ = grant(member, 2, now + timedelta(days=1), now)
    services.credits_spend(member=member, amount=1, booking_id=booking, now=now)
    later = now + timedelta(days=2)
    services.credits_expire_overdue(member=member, now=later)
    rows = services.credits_refund_booking(member=member, booking_id=booking, now=later)
    assert [(r.type, r.amount) for r in rows] == [(T.BOOKING_REFUND, 1)]
    assert [r[:2] for r in ledger(member)][-2:] == [(T.BOOKING_REFUND, 1), (T.EXPIRATION, -1)]
    assert_consistent(member)
    assert member.credit_balance == 0


def test_closing_a_lot_takes_only_what_is_left_and_refunds_skip_it_for_good():
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    member = MemberFactory()
    lot, _ = grant(member, 5, None, now, type=T.PURCHASE)
    paid = services.credits_spend(member=member, amount=2, now=now, booking_id=BOOKING)
    assert [r.lot_id for r in paid] == [lot.pk]
    txn = services.credits_close_lot(member=member, lot=lot, now=now, description="Refunded at the desk")
    assert (txn.type, txn.amount, txn.balance_after) == (T.REDEMPTION_CANCELLED, -3, 0)
    assert services.credits_close_lot(member=member, lot=lot, now=now) is None
    lot.refresh_from_db()
    assert (lot.remaining, lot.closed_at) == (0, now)
    # the booking those 2 credits paid for is refunded later: nothing goes back to a closed lot
    assert services.credits_refund_booking(member=member, booking_id=BOOKING, now=now) == []
    member.refresh_from_db()
    assert member.credit_balance == 0
    assert_consistent(member)


def expire_overdue(member, now):
    """What the expiry job (packages_expire) does for one member: lock, then expire."""
    with transaction.atomic():
        locked = services.member_lock(organization=member.organization, member_id=member.pk)
        return services.credits_expire_overdue(member=locked, now=now)


def test_overdue_lots_expire_once_and_only_the_members_own():
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    member, other = MemberFactory(), MemberFactory()
    for someone in (member, other):
        grant(someone, 2, now + timedelta(days=1), now)
        grant(someone, 1, None, now)
    later = now + timedelta(days=1)
    assert [(row.type, row.amount) for row in expire_overdue(member, later)] == [(T.EXPIRATION, -2)]
    assert expire_overdue(member, later) == []  # idempotent
    member.refresh_from_db()
    other.refresh_from_db()
    assert (member.credit_balance, other.credit_balance) == (1, 3)
    assert_consistent(member)


def test_ledger_building_blocks_refuse_to_run_outside_a_transaction(monkeypatch):
    member = MemberFactory()

    class NotAtomic:
        in_atomic_block = False

    monkeypatch.setattr(transaction, "get_connection", lambda *args: NotAtomic())
    with pytest.raises(RuntimeError):
        services.credits_grant(member=member, amount=1, source="MANUAL", type=T.MANUAL_ADD, expires_at=None)
    with pytest.raises(RuntimeError):
        services.credits_spend(member=member, amount=1)


@pytest.mark.parametrize("amount", [0, -1])
def test_grant_and_spend_need_a_positive_amount(amount):
    member = MemberFactory()
    with pytest.raises(Invalid):
        grant(member, amount, None, datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(Invalid):
        services.credits_spend(member=member, amount=amount)


def test_adjustment_of_zero_or_with_a_past_expiry_is_refused():
    member = MemberFactory()
    with pytest.raises(Invalid):
        services.credit_adjustment_create(organization=member.organization, member_id=member.pk, amount=0, reason="x")
    with pytest.raises(Invalid):
        services.credit_adjustment_create(
            organization=member.organization,
            member_id=member.pk,
            amount=1,
            reason="x",
            expires_at=datetime(2000, 1, 1, tzinfo=UTC),
        )
    assert not CreditTransaction.objects.exists()


def test_adjustment_of_another_studios_member_is_not_found():
    member = MemberFactory()
    with pytest.raises(NotFound):
        services.credit_adjustment_create(organization=OrganizationFactory(), member_id=member.pk, amount=1, reason="x")


# --- studio-local days ----------------------------------------------------------------------------
def test_credits_valid_to_the_end_of_an_istanbul_day_expire_at_21_utc():
    # given a lot valid "to the end of 10 March" in Istanbul (UTC+3 all year)
    member = MemberFactory(organization=OrganizationFactory(timezone="Europe/Istanbul"))
    expires_at = span_end(date(2026, 3, 10), 1, member.organization.timezone)
    assert expires_at == datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
    services.credit_adjustment_create(
        organization=member.organization,
        member_id=member.pk,
        amount=2,
        reason="Valid today",
        expires_at=expires_at,
        now=datetime(2026, 3, 10, 8, tzinfo=UTC),
    )
    # when the clock reads 23:59:59 Istanbul time, the credits still spend
    with time_machine.travel(datetime(2026, 3, 10, 20, 59, 59, tzinfo=UTC), tick=False):
        services.credit_adjustment_create(organization=member.organization, member_id=member.pk, amount=-1, reason="a")
    # and at 00:00 Istanbul time (21:00 UTC) they are gone
    with time_machine.travel(datetime(2026, 3, 10, 21, 0, tzinfo=UTC), tick=False):
        with pytest.raises(InsufficientCredits):
            services.credit_adjustment_create(
                organization=member.organization, member_id=member.pk, amount=-1, reason="b"
            )
    assert len(expire_overdue(member, datetime(2026, 3, 10, 21, 0, tzinfo=UTC))) == 1
    member.refresh_from_db()
    assert_consistent(member)
    assert member.credit_balance == 0
    assert CreditLot.objects.get(member=member).expired_at == datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
