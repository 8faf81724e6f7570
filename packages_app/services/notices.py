"""The members' emails about their purchases (DOMAIN.md 15), written to the outbox in the
caller's transaction (members_app.notifications): a request with how to pay (and the studio's
own copy), the package activated (a confirmed request or a desk sale), a request rejected or
expired unpaid, a redemption cancelled and what it took back."""

from __future__ import annotations

from datetime import datetime, timedelta

from members_app.models import Member
from members_app.notifications import Kind, notify, notify_studio
from packages_app.models import Redemption

__all__ = ["Kind", "notify_redemption", "transfer_reference"]


def transfer_reference(redemption_id) -> str:
    """What the member quotes with a bank transfer: short, unambiguous, searchable in the admin
    (it is stored as the request's `payment_reference`)."""
    return "R-" + str(redemption_id).replace("-", "")[:8].upper()


def _facts(redemption: Redemption, member: Member) -> dict:
    organization = member.organization
    package = redemption.package
    return {
        "package_name": package.name,
        "package_name_tr": package.name_tr,
        "original_price": redemption.original_price,
        "discount_amount": redemption.discount_amount,
        "final_price": redemption.final_price,
        "currency": redemption.currency or organization.currency,
        "coupon": redemption.coupon.code if redemption.coupon_id else "",
        "reference": redemption.payment_reference or transfer_reference(redemption.pk),
        "bank_transfer_instructions": organization.bank_transfer_instructions,
        "pay_by": redemption.redeemed_at + timedelta(hours=organization.pending_request_hours),
        "credits": (redemption.credits_added or 0) + (redemption.bonus_credits or 0),
        "credits_expire_at": redemption.credits_expire_at,
        "all_access_starts_on": redemption.all_access_starts_on,
        "all_access_ends_on": redemption.all_access_ends_on,
        "daily_ride_limit": redemption.daily_ride_limit if redemption.all_access_days else None,
        "friend_pass_expires_at": redemption.friend_pass_expires_at if redemption.friend_pass_granted else None,
        "reason": redemption.cancel_reason,
    }


def notify_redemption(*, kind: str, redemption: Redemption, member: Member, now: datetime, **extra) -> None:
    """One message to the member about `redemption`; a new request also goes to the studio."""
    context = {**_facts(redemption, member), **extra}
    notify(kind=kind, member=member, context=context, redemption_id=redemption.pk, now=now)
    if kind == Kind.PURCHASE_REQUESTED:
        notify_studio(kind=kind, member=member, context=context, redemption_id=redemption.pk, now=now)
