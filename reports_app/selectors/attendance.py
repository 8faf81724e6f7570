"""Attendance (DOMAIN.md 17): sessions that started in the range (cancelled sessions left out),
by class, instructor, studio-local weekday or studio-local starting hour.

- sessions, capacity: the sessions and the sum of their capacities
- bookings: riders and guests live at the start or completed (CONFIRMED, COMPLETED, NO_SHOW)
- check_ins: of those, the ones checked in; no_shows: NO_SHOW; late_cancels: LATE_CANCELLED
- fill_rate: bookings / capacity * 100, two places (0 when there is no capacity)
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from bookings_app.models import Booking, Session
from reports_app.selectors.common import Period, money
from spinning.db_router import reads_from_replica

ATTENDANCE_GROUPS = ("class", "instructor", "weekday", "hour")
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
LIVE_OR_DONE = ("CONFIRMED", "COMPLETED", "NO_SHOW")


def _keys(group_by: str, period: Period, prefix: str = "") -> dict:
    """The grouping expression and the label column, from a Session (prefix "") or a Booking."""
    if group_by == "class":
        return {"k": F(f"{prefix}ride_class_id"), "l": F(f"{prefix}ride_class__name")}
    if group_by == "instructor":
        return {"k": F(f"{prefix}instructor_id"), "l": F(f"{prefix}instructor__name")}
    if group_by == "weekday":
        return {"k": ExtractIsoWeekDay(f"{prefix}starts_at", tzinfo=period.tz)}
    return {"k": ExtractHour(f"{prefix}starts_at", tzinfo=period.tz)}


def _label(group_by: str, key, label) -> tuple[str, str, object]:
    """(key, label, sort order)."""
    if group_by == "weekday":
        return str(key), WEEKDAYS[int(key) - 1], int(key)
    if group_by == "hour":
        return f"{int(key):02d}", f"{int(key):02d}:00", int(key)
    return str(key), label or "", (label or "").lower()


@reads_from_replica
def attendance_report(*, period: Period, group_by: str) -> dict:
    """Two aggregate queries (sessions, bookings), grouped in the database."""
    sessions = Session.objects.filter(
        organization=period.organization, starts_at__gte=period.start, starts_at__lt=period.end
    ).exclude(status=Session.Status.CANCELLED)
    session_groups = sessions.values(**_keys(group_by, period)).annotate(sessions=Count("id"), capacity=Sum("capacity"))
    bookings = Booking.objects.filter(
        organization=period.organization,
        session__starts_at__gte=period.start,
        session__starts_at__lt=period.end,
    ).exclude(session__status=Session.Status.CANCELLED)
    booking_groups = (
        bookings.values(**{k: v for k, v in _keys(group_by, period, "session__").items() if k == "k"})
        .annotate(
            bookings=Count("id", filter=Q(status__in=LIVE_OR_DONE)),
            check_ins=Count("id", filter=Q(status__in=LIVE_OR_DONE, checked_in_at__isnull=False)),
            no_shows=Count("id", filter=Q(status=Booking.Status.NO_SHOW)),
            late_cancels=Count("id", filter=Q(status=Booking.Status.LATE_CANCELLED)),
        )
        .order_by()
    )
    counts = {g["k"]: g for g in booking_groups}
    rows = []
    for g in session_groups.order_by():
        key, label, order = _label(group_by, g["k"], g.get("l"))
        c = counts.get(g["k"], {})
        capacity = g["capacity"] or 0
        booked = c.get("bookings", 0)
        rows.append(
            (
                order,
                {
                    "key": key,
                    "label": label,
                    "sessions": g["sessions"],
                    "capacity": capacity,
                    "bookings": booked,
                    "check_ins": c.get("check_ins", 0),
                    "no_shows": c.get("no_shows", 0),
                    "late_cancels": c.get("late_cancels", 0),
                    "fill_rate": money(Decimal(booked) * 100 / capacity if capacity else 0),
                },
            )
        )
    rows.sort(key=lambda pair: pair[0])
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "group_by": group_by,
        "rows": [r for _, r in rows],
    }
