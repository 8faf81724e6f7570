"""What an ACTIVE redemption gives (DOMAIN.md 5): credit lots, All Access dates, a friend pass.

A building block of the sale lifecycle (a desk sale, a confirmed request): it runs inside that
transaction with the member and the redemption locked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Max

from members_app.models import CreditLot, CreditTransaction, Member, User
from members_app.services import credits_grant
from packages_app.models import BENEFIT_FRIEND_PASS, Redemption
from packages_app.services.settlement import member_flags_refresh
from spinning import clock, locking

Status = Redemption.Status
T = CreditTransaction.Type
DEFAULT_FRIEND_PASS_DAYS = 30


def _all_access_start(*, member: Member, redemption: Redemption, today: date, now: datetime) -> date:
    """Activation day, or the later day staff chose; a member who already holds an All Access gets
    the new one from the day after the last one they hold ends (stacking)."""
    start = max(redemption.requested_starts_on or today, today)
    latest_end = (
        Redemption.objects.filter(
            member=member, status=Status.ACTIVE, all_access_ends_on__isnull=False, all_access_expires_at__gt=now
        )
        .exclude(pk=redemption.pk)
        .aggregate(latest=Max("all_access_ends_on"))["latest"]
    )
    if latest_end is not None and latest_end >= start:
        start = latest_end + timedelta(days=1)
    locking.pause("all_access_start_chosen")
    return start


def redemption_grant(*, redemption: Redemption, member: Member, now: datetime, performed_by: User | None) -> None:
    """Grant an ACTIVE redemption: a lot of the package's credits, a separate lot for a coupon's
    bonus (same expiry), All Access dates, a friend pass; then the member's flags."""
    locking.require_transaction("redemption_grant")
    tz = member.organization.timezone
    today = clock.local_date(now, tz)
    expires_at = clock.span_end(today, redemption.credit_validity_days, tz) if redemption.credit_validity_days else None
    package = redemption.package
    update = ["credits_expire_at"]
    redemption.credits_expire_at = expires_at if (redemption.credits_added or redemption.bonus_credits) else None
    if redemption.credits_added:
        redemption.credit_lot, _ = credits_grant(
            member=member,
            amount=redemption.credits_added,
            source=CreditLot.Source.PACKAGE,
            type=T.PURCHASE,
            expires_at=expires_at,
            now=now,
            redemption_id=redemption.pk,
            performed_by=performed_by,
            description=f"{package.code}: {package.name}",
        )
        update.append("credit_lot")
    if redemption.bonus_credits:
        redemption.bonus_lot, _ = credits_grant(
            member=member,
            amount=redemption.bonus_credits,
            source=CreditLot.Source.BONUS,
            type=T.BONUS,
            expires_at=expires_at,
            now=now,
            redemption_id=redemption.pk,
            performed_by=performed_by,
            description=f"Bonus from coupon {redemption.coupon.code if redemption.coupon else ''}".strip(),
        )
        update.append("bonus_lot")
    if redemption.all_access_days:
        start = _all_access_start(member=member, redemption=redemption, today=today, now=now)
        redemption.all_access_starts_on = start
        redemption.all_access_ends_on = start + timedelta(days=redemption.all_access_days - 1)
        redemption.all_access_expires_at = clock.span_end(start, redemption.all_access_days, tz)
        update += ["all_access_starts_on", "all_access_ends_on", "all_access_expires_at"]
    if redemption.has_benefit(BENEFIT_FRIEND_PASS):
        redemption.friend_pass_granted = True
        redemption.friend_pass_expires_at = clock.span_end(
            today, redemption.friend_pass_days or DEFAULT_FRIEND_PASS_DAYS, tz
        )
        update += ["friend_pass_granted", "friend_pass_expires_at"]
    redemption.save(update_fields=update)
    member_flags_refresh(member=member, now=now)
