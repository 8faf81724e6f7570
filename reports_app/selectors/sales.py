"""Sales (DOMAIN.md 17): redemptions that became ACTIVE in the range, by their activation day
(`confirmed_at`: a desk sale is active at once, a member's request when staff confirm it).
Cancelled ones are counted apart, never in the rows; a rejected request never became active
and is in neither."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek

from packages_app.models import Redemption
from reports_app.selectors.common import Period, money
from spinning.db_router import reads_from_replica

SALES_GROUPS = ("day", "week", "month", "package", "coupon", "payment_method")
PAYMENT_LABELS = dict(Redemption.PaymentMethod.choices)


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _period_keys(period: Period, group_by: str) -> list[tuple[str, str, date]]:
    """Every day / week / month of the range, so a quiet day shows as a zero, not a gap."""
    keys, seen = [], set()
    for day in period.days():
        if group_by == "day":
            start, key, label = day, day.isoformat(), f"{day:%a} {day.isoformat()}"
        elif group_by == "week":
            start = day - timedelta(days=day.weekday())
            key, label = start.isoformat(), f"Week of {start.isoformat()}"
        else:
            start = day.replace(day=1)
            key, label = f"{start:%Y-%m}", f"{start:%B %Y}"
        if key not in seen:
            seen.add(key)
            keys.append((key, label, start))
    return keys


def _row(key: str, label: str, count=0, list_price=0, discount=0, net=0) -> dict:
    return {
        "key": key,
        "label": label,
        "count": count or 0,
        "list_price": money(list_price),
        "discount": money(discount),
        "net": money(net),
    }


@reads_from_replica
def sales_report(*, period: Period, group_by: str) -> dict:
    """Two aggregate queries (the groups, the cancelled), whatever the number of sales."""
    organization = period.organization
    activated = Redemption.objects.filter(
        organization=organization, confirmed_at__gte=period.start, confirmed_at__lt=period.end
    )
    sold = activated.exclude(status=Redemption.Status.CANCELLED)
    sums = {
        "count": Count("id"),
        "list_price": Sum("original_price"),
        "discount": Sum("discount_amount"),
        "net": Sum("final_price"),
    }
    rows: list[dict] = []
    if group_by in ("day", "week", "month"):
        trunc = {"day": TruncDate, "week": TruncWeek, "month": TruncMonth}[group_by]
        grouped = sold.annotate(bucket=trunc("confirmed_at", tzinfo=period.tz)).values("bucket").annotate(**sums)
        by_start = {_as_date(g["bucket"]): g for g in grouped}
        for key, label, start in _period_keys(period, group_by):
            g = by_start.get(start, {})
            rows.append(_row(key, label, g.get("count"), g.get("list_price"), g.get("discount"), g.get("net")))
    elif group_by == "package":
        grouped = sold.values("package_id", "package__code", "package__name").annotate(**sums)
        rows = [_row(str(g["package_id"]), f"{g['package__name']} ({g['package__code']})", *_sums(g)) for g in grouped]
    elif group_by == "coupon":
        grouped = sold.values("coupon_id", "coupon__code").annotate(**sums)
        rows = [
            _row(str(g["coupon_id"]) if g["coupon_id"] else "", g["coupon__code"] or "No coupon", *_sums(g))
            for g in grouped
        ]
    else:
        grouped = sold.values("payment_method").annotate(**sums)
        rows = [
            _row(g["payment_method"], PAYMENT_LABELS.get(g["payment_method"], "Not recorded"), *_sums(g))
            for g in grouped
        ]
    if group_by not in ("day", "week", "month"):
        rows.sort(key=lambda r: (-Decimal(r["net"]), -r["count"], r["label"]))
    cancelled = activated.filter(status=Redemption.Status.CANCELLED).aggregate(
        count=Count("id"), net=Sum("final_price")
    )
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "currency": organization.currency,
        "group_by": group_by,
        "rows": rows,
        "totals": {
            "count": sum(r["count"] for r in rows),
            "list_price": money(sum(Decimal(r["list_price"]) for r in rows)),
            "discount": money(sum(Decimal(r["discount"]) for r in rows)),
            "net": money(sum(Decimal(r["net"]) for r in rows)),
        },
        "cancelled": {"count": cancelled["count"] or 0, "net": money(cancelled["net"])},
    }


def _sums(group: dict) -> tuple:
    return group["count"], group["list_price"], group["discount"], group["net"]
