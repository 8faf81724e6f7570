"""spinning/rows.py: hand-written statements read back as the ORM would give them (both databases)."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from members_app.models import CreditLot, Member, Organization
from members_app.tests.factories import MemberFactory
from spinning import locking, rows

pytestmark = pytest.mark.django_db


def test_select_gives_the_instances_the_orm_gives():
    member = MemberFactory()
    (read,) = rows.select(Member, "{organization} = %s AND {id} = %s", [member.organization_id, member.pk])
    orm = Member.objects.get(pk=member.pk)
    for field in Member._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    assert isinstance(read.pk, uuid.UUID) and read.created_at.tzinfo is not None
    assert read._state.adding is False
    (studio,) = rows.select(Organization, "{id} = %s", [member.organization_id])
    assert isinstance(studio.credit_price, Decimal)


def test_select_orders_limits_and_finds_nothing():
    member = MemberFactory()
    now = timezone.now()
    for days in (None, 30, 10):
        CreditLot.objects.create(
            organization=member.organization,
            member=member,
            source="MANUAL",
            credits_granted=1,
            remaining=1,
            expires_at=now + timedelta(days=days) if days else None,
            created_at=now,
        )
    lots = rows.select(
        CreditLot, "{member} = %s AND {remaining} > 0", [member.pk], order_by="{expires_at} IS NULL, {expires_at}"
    )
    assert [lot.expires_at for lot in lots] == [now + timedelta(days=10), now + timedelta(days=30), None]
    assert len(rows.select(CreditLot, "{member} = %s", [member.pk], limit=1)) == 1
    assert rows.select(Member, "{id} = %s", [uuid.uuid4()]) == []
    assert rows.exists(Member, "{id} = %s", [member.pk]) and not rows.exists(Member, "{id} = %s", [uuid.uuid4()])


def test_update_tells_whether_its_condition_held():
    member = MemberFactory()
    lot = CreditLot.objects.create(
        organization=member.organization, member=member, source="MANUAL", credits_granted=2, remaining=2,
        created_at=timezone.now(),
    )  # fmt: skip
    take = "{remaining} = {remaining} - %s", "{id} = %s AND {remaining} >= %s"
    assert rows.update(CreditLot, *take, [2, lot.pk, 2]) == 1
    assert rows.update(CreditLot, *take, [1, lot.pk, 1]) == 0  # nothing left: refused, nothing written
    lot.refresh_from_db()
    assert lot.remaining == 0


def test_insert_writes_the_row_save_would_write():
    member = MemberFactory()
    lot = CreditLot(
        organization=member.organization, member=member, source="MANUAL", credits_granted=3, remaining=3,
        created_at=timezone.now(),
    )  # fmt: skip
    rows.insert(lot)
    assert lot._state.adding is False
    stored = CreditLot.objects.get(pk=lot.pk)
    assert (stored.member_id, stored.remaining, stored.created_at) == (member.pk, 3, lot.created_at)


def test_for_update_follows_the_locks_switch(settings):
    from django.db import connection

    if not connection.features.has_select_for_update:
        assert rows.for_update("x") == ""
        return
    assert rows.for_update("x") == " FOR UPDATE OF x"
    with locking.locks_disabled():
        assert rows.for_update("x") == ""
