"""The expiry job (DOMAIN.md 11): lots past their date, redemptions that ran out, friend passes
that lapsed, member flags; PENDING requests left unpaid past `pending_request_hours` (DOMAIN.md 5).

Safe beside traffic and beside a second copy of itself: each member is settled in its own short
transaction under `SELECT ... FOR UPDATE SKIP LOCKED`; a member held by a booking or by the
other copy is skipped this round and settled by the next run. Idempotent: what is settled
stays settled, so a second run at the same time changes nothing.

A read-only plan comes first (which members need anything); only those are locked, and the
plan is made again under the lock before anything is written. `dry_run` reports the plan only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q, Sum

from members_app.models import CreditLot, Member, Organization
from packages_app.models import Redemption
from packages_app.services.redemptions import redemption_expire_unpaid
from packages_app.services.settlement import (
    Settlement,
    member_flags_compute,
    member_redemptions_settle,
    redemption_target_status,
)
from spinning import clock, locking

Status = Redemption.Status
BATCH = 500


@dataclass
class ExpiryReport:
    dry_run: bool = False
    members_checked: int = 0
    members_changed: int = 0
    members_skipped: int = 0
    lots_expired: int = 0
    credits_expired: int = 0
    to_expired: int = 0
    to_used: int = 0
    to_active: int = 0
    friend_passes_lapsed: int = 0
    flags_updated: int = 0
    requests_unpaid: int = 0
    skipped_member_ids: list = field(default_factory=list)

    def add(self, settlement: Settlement) -> None:
        if not settlement.changed:
            return
        self.members_changed += 1
        self.lots_expired += settlement.lots_expired
        self.credits_expired += settlement.credits_expired
        for _, _, target in settlement.transitions:
            if target == Status.EXPIRED:
                self.to_expired += 1
            elif target == Status.USED:
                self.to_used += 1
            elif target == Status.ACTIVE:
                self.to_active += 1
        self.friend_passes_lapsed += settlement.friend_passes_lapsed
        if settlement.flags_changed:
            self.flags_updated += 1

    def lines(self) -> list[str]:
        verb = "Would expire" if self.dry_run else "Expired"
        return [
            f"{verb} {self.lots_expired} credit lots ({self.credits_expired} credits).",
            f"Redemptions: {self.to_expired} -> EXPIRED, {self.to_used} -> USED, {self.to_active} back to ACTIVE.",
            f"Friend passes lapsed: {self.friend_passes_lapsed}.",
            f"Unpaid requests {'to cancel' if self.dry_run else 'cancelled'} (not paid in time): {self.requests_unpaid}.",
            f"Members checked: {self.members_checked}; changed: {self.members_changed}; "
            f"flags updated: {self.flags_updated}; skipped (busy, next run): {self.members_skipped}.",
        ]


def _candidate_member_ids(organization: Organization | None, now: datetime) -> list:
    """Members that may need anything: overdue lots, ACTIVE/USED redemptions, flags set."""
    lots = CreditLot.objects.filter(remaining__gt=0, expires_at__lte=now)
    redemptions = Redemption.objects.filter(status__in=[Status.ACTIVE, Status.USED])
    members = Member.objects.filter(Q(has_all_access=True) | Q(is_elite_member=True) | Q(friend_passes_available__gt=0))
    if organization is not None:
        lots = lots.filter(organization=organization)
        redemptions = redemptions.filter(organization=organization)
        members = members.filter(organization=organization)
    ids = set(lots.values_list("member_id", flat=True))
    ids |= set(redemptions.values_list("member_id", flat=True))
    ids |= set(members.values_list("pk", flat=True))
    return sorted(ids, key=str)


def _plan(member_ids: list, now: datetime) -> dict:
    """Read-only: {member_id: Settlement} of what settling would change, for these members."""
    overdue = {
        row["member_id"]: row
        for row in CreditLot.objects.filter(member_id__in=member_ids, remaining__gt=0, expires_at__lte=now)
        .values("member_id")
        .annotate(lots=Count("pk"), credits=Sum("remaining"))
    }
    by_member = defaultdict(list)
    for redemption in Redemption.objects.filter(
        member_id__in=member_ids, status__in=[Status.ACTIVE, Status.USED]
    ).select_related("credit_lot", "bonus_lot"):
        by_member[redemption.member_id].append(redemption)
    plans = {}
    for member in Member.objects.filter(pk__in=member_ids):
        plan = Settlement()
        if member.pk in overdue:
            plan.lots_expired = overdue[member.pk]["lots"]
            plan.credits_expired = overdue[member.pk]["credits"] or 0
        redemptions = by_member.get(member.pk, [])
        for redemption in redemptions:
            target = redemption_target_status(redemption, now)
            if target != redemption.status:
                plan.transitions.append((str(redemption.pk), redemption.status, target))
                redemption.status = target  # in memory only: the flags below see the outcome
        flags = member_flags_compute(redemptions, now)
        plan.flags_changed = {k: v for k, v in flags.items() if getattr(member, k) != v}
        plan.friend_passes_lapsed = max(member.friend_passes_available - flags["friend_passes_available"], 0)
        plans[member.pk] = plan
    return plans


def _lock_member_skip_locked(member_id) -> Member | None:
    return locking.lock(Member.objects.select_related("organization").filter(pk=member_id), skip_locked=True).first()


def _unpaid_requests(organization: Organization | None, now: datetime) -> dict:
    """{member_id: [redemption ids]} of PENDING requests older than their studio's
    `pending_request_hours` (read-only; re-checked under the locks)."""
    studios = Organization.objects.all() if organization is None else [organization]
    found = defaultdict(list)
    for studio in studios:
        deadline = now - timedelta(hours=studio.pending_request_hours)
        for member_id, redemption_id in (
            Redemption.objects.filter(organization=studio, status=Status.PENDING, redeemed_at__lte=deadline)
            .order_by("pk")
            .values_list("member_id", "pk")
        ):
            found[member_id].append(redemption_id)
    return found


def _expire_unpaid(report: ExpiryReport, organization: Organization | None, now: datetime, dry_run: bool) -> None:
    for member_id, redemption_ids in sorted(_unpaid_requests(organization, now).items(), key=lambda kv: str(kv[0])):
        if dry_run:
            report.requests_unpaid += len(redemption_ids)
            continue
        with transaction.atomic(durable=True):
            member = _lock_member_skip_locked(member_id)
            if member is None:
                report.members_skipped += 1
                report.skipped_member_ids.append(str(member_id))
                continue
            for redemption_id in redemption_ids:
                report.requests_unpaid += redemption_expire_unpaid(member=member, redemption_id=redemption_id, now=now)


def packages_expire(
    *, organization: Organization | None = None, now: datetime | None = None, dry_run: bool = False
) -> ExpiryReport:
    """Run the expiry job once (all studios, or one). See the module docstring for the guarantees."""
    now = now or clock.now()
    report = ExpiryReport(dry_run=dry_run)
    _expire_unpaid(report, organization, now, dry_run)
    member_ids = _candidate_member_ids(organization, now)
    report.members_checked = len(member_ids)
    for start in range(0, len(member_ids), BATCH):
        plans = _plan(member_ids[start : start + BATCH], now)
        for member_id, plan in plans.items():
            if not plan.changed:
                continue
            if dry_run:
                report.add(plan)
                continue
            with transaction.atomic(durable=True):
                member = _lock_member_skip_locked(member_id)
                if member is None:
                    report.members_skipped += 1
                    report.skipped_member_ids.append(str(member_id))
                    continue
                locking.pause("expire_member_locked")
                report.add(member_redemptions_settle(member=member, now=now))
    return report
