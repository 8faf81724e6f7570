"""Today: the admin's home for a studio's ADMIN and FRONT_DESK staff (issue 12 item 1).

One block per studio the user works the desk of: today's and tomorrow's sessions (studio-local
time, class, instructor, booked / capacity / waiting, a link to each roster), the purchase
requests waiting for confirmation, and the members whose credits or All Access pass end within
the next seven days. Read-only; every number comes from the rows (no cache of its own).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db.models import Count, Min, Sum

from bookings_app.admin.common import STAFF
from bookings_app.models import Session
from members_app.admin_base import orgs_with_role
from members_app.models import CreditLot, Member, Organization
from packages_app.models import Redemption
from spinning import clock

#: how far ahead "ends this week" looks
ENDING_WITHIN = timedelta(days=7)


def desk_organizations(request) -> list[Organization]:
    """The studios whose day this user runs: ADMIN or FRONT_DESK roles (a platform superuser: all)."""
    user = request.user
    if not user.is_active or not user.is_staff and not user.is_superuser:
        return []
    if user.is_superuser:
        return list(Organization.objects.order_by("name")[:5])
    ids = orgs_with_role(request, STAFF)
    return list(Organization.objects.filter(pk__in=ids).order_by("name")) if ids else []


def _waiting_counts(session_ids) -> dict:
    """Waiting riders per session, once the waitlist exists (issue 11); {} before."""
    try:
        model = apps.get_model("bookings_app", "WaitlistEntry")
    except LookupError:
        return {}
    rows = model.objects.filter(session_id__in=session_ids)
    field_names = {field.name for field in model._meta.get_fields()}
    if "status" in field_names:
        rows = rows.filter(status="WAITING")
    return dict(rows.values("session_id").annotate(n=Count("pk")).values_list("session_id", "n"))


def studio_day(organization: Organization) -> dict:
    tz_name = organization.timezone
    zone = ZoneInfo(tz_name)
    now = clock.now()
    today = clock.local_date(now, tz_name)
    days = []
    sessions = list(
        Session.objects.filter(
            organization=organization,
            starts_at__gte=clock.start_of_local_day(today, tz_name),
            starts_at__lt=clock.end_of_local_day(today + timedelta(days=1), tz_name),
        )
        .select_related("ride_class", "instructor", "location")
        .order_by("starts_at")
    )
    waiting = _waiting_counts([s.pk for s in sessions])
    for offset, name in ((0, "Today"), (1, "Tomorrow")):
        day = today + timedelta(days=offset)
        rows = []
        for session in sessions:
            starts = session.starts_at.astimezone(zone)
            if starts.date() != day:
                continue
            rows.append(
                {
                    "session": session,
                    "time": f"{starts:%H:%M}–{session.ends_at.astimezone(zone):%H:%M}",
                    "waiting": waiting.get(session.pk, 0),
                    "past": session.ends_at <= now,
                    "cancelled": session.status == Session.Status.CANCELLED,
                }
            )
        days.append({"name": name, "date": day, "sessions": rows})

    requests = list(
        Redemption.objects.filter(organization=organization, status=Redemption.Status.PENDING)
        .select_related("member__user", "package")
        .order_by("redeemed_at")
    )
    for request_row in requests:
        request_row.local_requested = request_row.redeemed_at.astimezone(zone)

    horizon = now + ENDING_WITHIN
    lots = (
        CreditLot.objects.filter(
            organization=organization, remaining__gt=0, expires_at__gt=now, expires_at__lte=horizon
        )
        .values("member_id")
        .annotate(credits=Sum("remaining"), first_expiry=Min("expires_at"))
    )
    ending = {row["member_id"]: {"credits": row["credits"], "credits_end": row["first_expiry"]} for row in lots}
    passes = Member.objects.filter(
        organization=organization,
        has_all_access=True,
        all_access_expires_at__gt=now,
        all_access_expires_at__lte=horizon,
    ).values_list("pk", "all_access_expires_at")
    for member_id, expires_at in passes:
        ending.setdefault(member_id, {})["pass_end"] = expires_at
    members = {m.pk: m for m in Member.objects.filter(pk__in=list(ending)).select_related("user")}
    ending_rows = []
    for member_id, facts in ending.items():
        member = members[member_id]
        first = min(moment for moment in (facts.get("credits_end"), facts.get("pass_end")) if moment is not None)
        ending_rows.append(
            {
                "member": member,
                "credits": facts.get("credits"),
                "credits_end": facts.get("credits_end") and facts["credits_end"].astimezone(zone),
                "pass_end": facts.get("pass_end") and facts["pass_end"].astimezone(zone),
                "first": first,
            }
        )
    ending_rows.sort(key=lambda row: (row["first"], row["member"].full_name))
    return {"organization": organization, "days": days, "requests": requests, "ending": ending_rows}


def today_context(request) -> list[dict]:
    return [studio_day(organization) for organization in desk_organizations(request)]


__all__ = ["desk_organizations", "studio_day", "today_context"]
