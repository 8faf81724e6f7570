"""The member page's "Packages held" (issue 12 item 4): every package the member bought, what is
left on it and until when, with the actions staff take on it (confirm a request, cancel with the
preview of what it takes). Rendered on members_app's member page, which may not import this app."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django import template

from packages_app.models import Redemption
from spinning import clock

register = template.Library()

#: how many packages the member page lists (newest first); the redemption list has them all
SHOWN = 20


def last_day(moment, zone):
    """The last studio-local day a thing "valid until the end of a day" covers (it ends at the
    next local midnight, so the day is the one just before that instant)."""
    return (moment.astimezone(zone) - timedelta(microseconds=1)).date() if moment else None


@register.inclusion_tag("admin/packages_app/member_packages.html")
def member_packages(member):
    now = clock.now()
    zone = ZoneInfo(member.organization.timezone)
    redemptions = list(
        Redemption.objects.filter(organization_id=member.organization_id, member=member)
        .select_related("package", "coupon", "credit_lot", "bonus_lot")
        .order_by("-redeemed_at")[:SHOWN]
    )
    for redemption in redemptions:
        redemption.credits_left = redemption.credits_remaining_at(now)
        redemption.credits_granted = sum(lot.credits_granted for lot in redemption.lots())
        redemption.credits_last_day = last_day(redemption.credits_expire_at, zone)
        redemption.friend_pass_open = redemption.friend_pass_available_at(now)
        redemption.friend_pass_last_day = last_day(redemption.friend_pass_expires_at, zone)
        redemption.local_redeemed = redemption.redeemed_at.astimezone(zone)
        redemption.is_current = redemption.status in (Redemption.Status.ACTIVE, Redemption.Status.PENDING)
    redemptions.sort(key=lambda r: not r.is_current)  # what the member holds now first, then history
    return {"member": member, "redemptions": redemptions, "shown": SHOWN}
