"""Credits (DOMAIN.md 17): what the studio owes in unused credits, valued at what was paid.

Each lot is valued at what its redemption paid per credit (`final_price / credits_added`);
coupon-bonus and manual lots were not paid for and are valued at 0. That is the studio's
deferred revenue: rides sold and not yet taken. Values are summed exactly per price and rounded
once, to the cent, at the end.

- outstanding: lots with credits left that have not expired (`expires_at` empty or later than now)
- expiring within 30 days: the part of those that expires before the end of the 30th studio-local
  day after today
- expired in the range: credits taken by EXPIRATION ledger rows from lots whose expiry fell in
  the range, plus what still sits on lots already past their expiry that the expiry job (every 15
  minutes) has not reached yet
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q, Sum

from members_app.models import CreditLot, CreditTransaction
from reports_app.selectors.common import Period, money
from spinning import clock
from spinning.db_router import reads_from_replica

PAID = CreditLot.Source.PACKAGE


def _unit_price(source: str, final_price, credits_added) -> Decimal:
    if source != PAID or not credits_added or final_price is None:
        return Decimal(0)
    return Decimal(final_price) / Decimal(credits_added)


def _value(groups, credits_key: str) -> tuple[int, Decimal]:
    credits, value = 0, Decimal(0)
    for g in groups:
        n = g[credits_key] or 0
        credits += n
        value += n * _unit_price(g["source"], g["paid"], g["bought"])
    return credits, value


@reads_from_replica
def credits_report(*, period: Period, now: datetime | None = None) -> dict:
    """Three aggregate queries grouped by (source, price paid, credits bought): as many groups as
    the studio has prices, never as many as it has lots."""
    now = now or clock.now()
    organization = period.organization
    today = clock.local_date(now, organization.timezone)
    horizon = clock.end_of_local_day(today + timedelta(days=30), organization.timezone)
    price = {"paid": F("redemption__final_price"), "bought": F("redemption__credits_added")}

    live = (
        CreditLot.objects.filter(organization=organization, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("source", **price)
        .annotate(credits=Sum("remaining"), soon=Sum("remaining", filter=Q(expires_at__lte=horizon)))
        .order_by()
    )
    live = list(live)
    outstanding_credits, outstanding_value = _value(live, "credits")
    soon_credits, soon_value = _value(live, "soon")

    # Expired in the range: what the EXPIRATION rows took (negative amounts) plus what lies on
    # lots past their expiry that the job has not reached yet. The expiry instant decides the day.
    expired_window = Q(expires_at__gte=period.start, expires_at__lt=period.end, expires_at__lte=now)
    taken = (
        CreditTransaction.objects.filter(organization=organization, type=CreditTransaction.Type.EXPIRATION)
        .filter(lot__expires_at__gte=period.start, lot__expires_at__lt=period.end)
        .values(
            lot_source=F("lot__source"),
            paid=F("lot__redemption__final_price"),
            bought=F("lot__redemption__credits_added"),
        )
        .annotate(credits=-Sum("amount"))
        .order_by()
    )
    pending = (
        CreditLot.objects.filter(organization=organization, remaining__gt=0, expired_at__isnull=True)
        .filter(expired_window)
        .values("source", **price)
        .annotate(credits=Sum("remaining"))
        .order_by()
    )
    taken = [{**g, "source": g["lot_source"]} for g in taken]
    expired_credits, expired_value = _value(taken + list(pending), "credits")
    return {
        "as_of": now.astimezone(period.tz).isoformat(),
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "currency": organization.currency,
        "outstanding_credits": outstanding_credits,
        "outstanding_value": money(outstanding_value),
        "expiring_within_30_days": {"credits": soon_credits, "value": money(soon_value)},
        "expired_in_range": {"credits": expired_credits, "value": money(expired_value)},
    }
