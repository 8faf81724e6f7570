"""Reminders (DOMAIN.md 15): credits that expire within 7 days, an All Access that ends within
7 days; one each, never twice.

"One each": credits by (member, expiry instant) — the credits of a package and its coupon bonus
expire together and make one reminder; an All Access by (member, the end of the latest pass
they hold: `Member.all_access_expires_at`), so a rider who already renewed (a stacked pass) is
not told the first one ends. The outbox's unique (studio, dedupe_key) makes a second run, or a
second copy of the job running at the same time, write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum

from members_app.models import CreditLot, Member, Notification
from members_app.notifications.outbox import notify
from spinning import clock

WINDOW = timedelta(days=7)
Kind = Notification.Kind


@dataclass
class ReminderReport:
    credits: int = 0
    all_access: int = 0


def reminders_send(*, now: datetime | None = None, organization=None) -> ReminderReport:
    now = now or clock.now()
    report = ReminderReport()
    lots = CreditLot.objects.filter(
        remaining__gt=0,
        closed_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + WINDOW,
        member__status=Member.Status.ACTIVE,
    )
    members = Member.objects.filter(
        status=Member.Status.ACTIVE,
        has_all_access=True,
        all_access_expires_at__gt=now,
        all_access_expires_at__lte=now + WINDOW,
    )
    if organization is not None:
        lots, members = lots.filter(organization=organization), members.filter(organization=organization)
    expiring = lots.values("member_id", "expires_at").annotate(credits=Sum("remaining")).order_by("expires_at")
    by_member = Member.objects.select_related("user", "organization").in_bulk({row["member_id"] for row in expiring})
    for row in expiring:
        member = by_member[row["member_id"]]
        with transaction.atomic(durable=True):
            sent = notify(
                kind=Kind.CREDITS_EXPIRING,
                member=member,
                context={"credits": row["credits"], "expires_at": row["expires_at"]},
                dedupe_key=f"credits_expiring:{member.pk}:{row['expires_at'].isoformat()}",
                now=now,
            )
        report.credits += sent is not None
    for member in members.select_related("user", "organization"):
        ends_on = clock.local_date(
            member.all_access_expires_at - timedelta(microseconds=1), member.organization.timezone
        )
        with transaction.atomic(durable=True):
            sent = notify(
                kind=Kind.ALL_ACCESS_ENDING,
                member=member,
                context={"ends_on": ends_on, "expires_at": member.all_access_expires_at},
                dedupe_key=f"all_access_ending:{member.pk}:{member.all_access_expires_at.isoformat()}",
                now=now,
            )
        report.all_access += sent is not None
    return report
