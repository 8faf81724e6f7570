"""Coupons (DOMAIN.md 17): per coupon, its uses in the range (redemptions that became ACTIVE then
and were not cancelled, the same set as the sales report), the discount and bonus credits they
gave, and the uses it has left now (null when unlimited). Every coupon of the studio is listed,
so one that nobody used shows as a zero."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from packages_app.models import Coupon, Redemption
from reports_app.selectors.common import Period, money
from spinning.db_router import reads_from_replica


@reads_from_replica
def coupons_report(*, period: Period) -> dict:
    """One query: the coupons with their uses aggregated over the range."""
    used = (
        Q(redemptions__confirmed_at__gte=period.start)
        & Q(redemptions__confirmed_at__lt=period.end)
        & ~Q(redemptions__status=Redemption.Status.CANCELLED)
    )
    coupons = (
        Coupon.objects.filter(organization=period.organization)
        .annotate(
            uses=Count("redemptions", filter=used),
            discount_given=Sum("redemptions__discount_amount", filter=used),
            bonus_given=Sum("redemptions__bonus_credits", filter=used),
        )
        .values("id", "code", "uses", "discount_given", "bonus_given", "max_redemptions", "times_redeemed")
        .order_by("code")
    )
    rows = [
        {
            "coupon_id": str(c["id"]),
            "code": c["code"],
            "uses": c["uses"],
            "discount_given": money(c["discount_given"]),
            "bonus_credits_given": c["bonus_given"] or 0,
            "uses_left": None if c["max_redemptions"] is None else max(c["max_redemptions"] - c["times_redeemed"], 0),
        }
        for c in coupons
    ]
    rows.sort(key=lambda r: -r["uses"])  # stable: most used first, then by code
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "currency": period.organization.currency,
        "rows": rows,
    }
