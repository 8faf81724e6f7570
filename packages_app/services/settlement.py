"""Settlement and member flags (DOMAIN.md 1, 5, 11): where a redemption belongs now, and the
cached flags on the member that follow from its redemptions.

Building blocks: they run inside the caller's transaction with the member locked (a sale, a
cancel, a booking refund, the expiry job), and say so loudly when they are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from members_app.models import Member
from members_app.services import credits_expire_overdue
from packages_app.models import BENEFIT_ELITE_BADGE, Redemption
from spinning import clock, locking

Status = Redemption.Status


def member_flags_compute(redemptions, now: datetime) -> dict:
    """The cached flags of DOMAIN.md 1 from the member's redemptions (only ACTIVE ones count)."""
    active = [r for r in redemptions if r.status == Status.ACTIVE]
    all_access_ends = [r.all_access_expires_at for r in active if r.all_access_active_at(now)]
    return {
        "is_elite_member": any(r.has_benefit(BENEFIT_ELITE_BADGE) for r in active),
        "has_all_access": bool(all_access_ends),
        "all_access_expires_at": max(all_access_ends) if all_access_ends else None,
        "friend_passes_available": sum(1 for r in active if r.friend_pass_available_at(now)),
    }


def member_flags_refresh(*, member: Member, now: datetime | None = None) -> dict:
    """Recompute is_elite_member, has_all_access, all_access_expires_at, friend_passes_available.

    A building block: call it with the member locked, after any change to the member's
    redemptions (sale, confirm, cancel, expiry, a friend pass used or given back). Returns the
    flags that changed ({} when none).
    """
    locking.require_transaction("member_flags_refresh")
    now = now or clock.now()
    flags = member_flags_compute(Redemption.objects.filter(member=member, status=Status.ACTIVE), now)
    changed = {name: value for name, value in flags.items() if getattr(member, name) != value}
    if changed:
        Member.objects.filter(pk=member.pk).update(**changed)
        for name, value in changed.items():
            setattr(member, name, value)
    return changed


def redemption_target_status(redemption: Redemption, now: datetime) -> str:
    """Where an ACTIVE or USED redemption belongs now (DOMAIN.md 5).

    ACTIVE while anything is left on it: unexpired credits, an All Access not yet ended, an
    unused friend pass not yet lapsed. Once nothing is left: EXPIRED when time took something
    (credits expired, All Access ended, friend pass lapsed unused), else USED (all consumed).
    A USED redemption whose credits come back (a booking refund) is ACTIVE again.
    """
    if redemption.status not in (Status.ACTIVE, Status.USED):
        return redemption.status
    lots = redemption.lots()
    all_access_left = redemption.all_access_expires_at is not None and redemption.all_access_expires_at > now
    friend_pass_left = bool(
        redemption.friend_pass_granted
        and redemption.friend_pass_used_at is None
        and redemption.friend_pass_expires_at is not None
        and redemption.friend_pass_expires_at > now
    )
    if redemption.credits_remaining_at(now) > 0 or all_access_left or friend_pass_left:
        return Status.ACTIVE
    lost_to_time = (
        any(
            lot.expired_at is not None or (lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now)
            for lot in lots
        )
        or redemption.all_access_expires_at is not None
        or (redemption.friend_pass_granted and redemption.friend_pass_used_at is None)
    )
    return Status.EXPIRED if lost_to_time else Status.USED


@dataclass
class Settlement:
    """What settling one member changed (for the expiry job's report)."""

    lots_expired: int = 0
    credits_expired: int = 0
    transitions: list[tuple[str, str, str]] = field(default_factory=list)  # (redemption id, from, to)
    flags_changed: dict = field(default_factory=dict)
    friend_passes_lapsed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.lots_expired or self.transitions or self.flags_changed)


def member_redemptions_settle(*, member: Member, now: datetime | None = None) -> Settlement:
    """Bring one member up to date: overdue lots expire (EXPIRATION rows), redemptions move to
    EXPIRED / USED (or back to ACTIVE), flags are recomputed. A building block (member locked);
    idempotent: a second call at the same `now` changes nothing."""
    locking.require_transaction("member_redemptions_settle")
    now = now or clock.now()
    result = Settlement()
    before_passes = member.friend_passes_available
    for row in credits_expire_overdue(member=member, now=now):
        result.lots_expired += 1
        result.credits_expired += -row.amount
    redemptions = Redemption.objects.filter(member=member, status__in=[Status.ACTIVE, Status.USED]).select_related(
        "credit_lot", "bonus_lot"
    )
    for redemption in redemptions.order_by("pk"):
        target = redemption_target_status(redemption, now)
        if target != redemption.status:
            Redemption.objects.filter(pk=redemption.pk, status=redemption.status).update(status=target)
            result.transitions.append((str(redemption.pk), redemption.status, target))
    result.flags_changed = member_flags_refresh(member=member, now=now)
    result.friend_passes_lapsed = max(before_passes - member.friend_passes_available, 0)
    locking.pause("member_settled")
    return result
