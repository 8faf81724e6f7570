"""One test per database constraint of members_app: the database refuses what must never happen,
whatever the code above it does. Each test breaks exactly one rule with a raw write."""

import uuid
from contextlib import contextmanager

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from members_app.models import (
    CreditLot,
    CreditTransaction,
    IdempotencyRecord,
    Member,
    Notification,
    Organization,
    StaffRole,
    User,
)
from members_app.tests.factories import MemberFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
T = CreditTransaction.Type


@contextmanager
def refused(name: str):
    """The statement inside fails on constraint `name` (PostgreSQL names it; SQLite says which kind)."""
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        yield
    message = str(info.value)
    if connection.vendor == "postgresql":
        assert name in message, message
    else:
        assert "constraint failed" in message.lower(), message


def lot_for(member, granted=5, remaining=5):
    return CreditLot.objects.create(
        organization=member.organization,
        member=member,
        source=CreditLot.Source.MANUAL,
        credits_granted=granted,
        remaining=remaining,
    )


def row(member, *, seq=1, amount=5, before=0, after=5, type=T.MANUAL_ADD, lot=None, booking_id=None):
    return CreditTransaction.objects.create(
        organization=member.organization,
        member=member,
        seq=seq,
        type=type,
        amount=amount,
        balance_before=before,
        balance_after=after,
        lot=lot,
        booking_id=booking_id,
    )


# --- people and studios ---------------------------------------------------------------------------
def test_user_email_is_unique_case_insensitively():
    User.objects.create(email="Ann@Example.com")
    with refused("user_email_ci_unique"):
        User.objects.create(email="ann@example.COM")


def test_organization_credit_price_is_not_negative():
    org = OrganizationFactory()
    with refused("org_credit_price_gte_0"):
        Organization.objects.filter(pk=org.pk).update(credit_price=-1)


def test_one_staff_role_per_person_and_studio():
    org, user = OrganizationFactory(), UserFactory()
    StaffRole.objects.create(organization=org, user=user, role=StaffRole.Role.ADMIN)
    with refused("staffrole_one_per_org"):
        StaffRole.objects.create(organization=org, user=user, role=StaffRole.Role.FRONT_DESK)


def test_one_member_per_person_and_studio():
    member = MemberFactory()
    with refused("member_one_per_org"):
        Member.objects.create(organization=member.organization, user=member.user)


def test_member_balance_is_not_negative():
    member = MemberFactory()
    with refused("member_balance_gte_0"):
        Member.objects.filter(pk=member.pk).update(credit_balance=-1)


# --- lots -----------------------------------------------------------------------------------------
def test_lot_remaining_is_not_negative():
    lot = lot_for(MemberFactory())
    with refused("lot_remaining_gte_0"):
        CreditLot.objects.filter(pk=lot.pk).update(remaining=-1)


def test_a_closed_lot_holds_nothing():
    # closing a lot that still holds credits, and a refund into a closed lot, are both refused
    lot = lot_for(MemberFactory(), remaining=2)
    with refused("lot_closed_holds_nothing"):
        CreditLot.objects.filter(pk=lot.pk).update(closed_at="2026-03-01T09:00:00Z")
    CreditLot.objects.filter(pk=lot.pk).update(remaining=0, closed_at="2026-03-01T09:00:00Z")
    with refused("lot_closed_holds_nothing"):
        CreditLot.objects.filter(pk=lot.pk).update(remaining=1)


def test_lot_remaining_is_at_most_granted():
    lot = lot_for(MemberFactory())
    with refused("lot_remaining_lte_granted"):
        CreditLot.objects.filter(pk=lot.pk).update(remaining=6)


def test_lot_grants_at_least_one_credit():
    member = MemberFactory()
    with refused("lot_granted_gt_0"):
        lot_for(member, granted=0, remaining=0)


# --- the ledger -----------------------------------------------------------------------------------
def test_ledger_amount_is_never_zero():
    member = MemberFactory()
    with refused("ledger_amount_not_0"):
        row(member, amount=0, before=0, after=0)


def test_ledger_balance_after_is_not_negative():
    member = MemberFactory()
    with refused("ledger_balance_after_gte_0"):
        row(member, amount=-1, before=0, after=-1, type=T.MANUAL_DEDUCT)


def test_ledger_balance_after_is_before_plus_amount():
    member = MemberFactory()
    with refused("ledger_balance_arithmetic"):
        row(member, amount=1, before=0, after=2)


def test_ledger_seq_is_unique_per_member():
    member = MemberFactory()
    row(member, seq=1)
    with refused("ledger_member_seq_unique"):
        row(member, seq=1, before=5, after=10)
    # another member's ledger has its own numbering
    row(MemberFactory(organization=member.organization), seq=1)


def test_one_charge_per_booking_and_lot():
    member = MemberFactory()
    lot = lot_for(member)
    booking = uuid.uuid4()
    row(member, seq=1, lot=lot)
    row(member, seq=2, amount=-1, before=5, after=4, type=T.BOOKING_PAYMENT, lot=lot, booking_id=booking)
    with refused("ledger_one_charge_per_booking_lot"):
        row(member, seq=3, amount=-1, before=4, after=3, type=T.BOOKING_PAYMENT, lot=lot, booking_id=booking)
    # a refund of that booking, and a charge of another booking, are fine
    row(member, seq=3, amount=1, before=4, after=5, type=T.BOOKING_REFUND, lot=lot, booking_id=booking)
    row(member, seq=4, amount=-1, before=5, after=4, type=T.BOOKING_PAYMENT, lot=lot, booking_id=uuid.uuid4())


def test_one_refund_per_booking_and_lot():
    member = MemberFactory()
    lot = lot_for(member)
    booking = uuid.uuid4()
    row(member, seq=1, lot=lot)
    row(member, seq=2, amount=-1, before=5, after=4, type=T.BOOKING_PAYMENT, lot=lot, booking_id=booking)
    row(member, seq=3, amount=1, before=4, after=5, type=T.BOOKING_REFUND, lot=lot, booking_id=booking)
    with refused("ledger_one_refund_per_booking_lot"):
        row(member, seq=4, amount=1, before=5, after=6, type=T.BOOKING_REFUND, lot=lot, booking_id=booking)


def test_idempotency_key_is_unique_per_studio_user_and_scope():
    member = MemberFactory()
    key = {"organization": member.organization, "user": member.user, "scope": "booking", "key": "k-1"}
    IdempotencyRecord.objects.create(request_hash="a", **key)
    IdempotencyRecord.objects.create(request_hash="a", **{**key, "scope": "redeem"})
    with refused("idempotency_key_unique"):
        IdempotencyRecord.objects.create(request_hash="b", **key)


def test_notification_dedupe_key_unique_per_studio():
    member = MemberFactory()
    other = MemberFactory()
    fields = {
        "kind": "credits_expiring",
        "language": "en",
        "to_email": "a@example.com",
        "subject": "s",
        "body_text": "b",
    }
    Notification.objects.create(organization=member.organization, member=member, dedupe_key="k", **fields)
    Notification.objects.create(organization=other.organization, member=other, dedupe_key="k", **fields)
    Notification.objects.create(organization=member.organization, member=member, dedupe_key=None, **fields)
    Notification.objects.create(organization=member.organization, member=member, dedupe_key=None, **fields)
    with refused("notification_dedupe_unique"):
        Notification.objects.create(organization=member.organization, member=member, dedupe_key="k", **fields)


TESTED = {
    "notification_dedupe_unique",
    "user_email_ci_unique",
    "org_credit_price_gte_0",
    "staffrole_one_per_org",
    "member_one_per_org",
    "member_balance_gte_0",
    "lot_remaining_gte_0",
    "lot_remaining_lte_granted",
    "lot_granted_gt_0",
    "lot_closed_holds_nothing",
    "ledger_amount_not_0",
    "ledger_balance_after_gte_0",
    "ledger_balance_arithmetic",
    "ledger_member_seq_unique",
    "ledger_one_charge_per_booking_lot",
    "ledger_one_refund_per_booking_lot",
    "idempotency_key_unique",
}


def test_every_members_app_constraint_has_a_test():
    declared = {c.name for model in apps.get_app_config("members_app").get_models() for c in model._meta.constraints}
    assert declared == TESTED
