"""Template tags of the back office: the studio's day on the admin's home page, and a member's
bookings on the member's page (members_app renders that page and may not import this app)."""

from zoneinfo import ZoneInfo

from django import template

from bookings_app.admin.today import today_context
from bookings_app.models import Booking
from spinning import clock

register = template.Library()


@register.inclusion_tag("admin/today.html", takes_context=True)
def studio_day(context):
    request = context.get("request")
    return {"studios": today_context(request) if request is not None else []}


#: rows of each list on the member page (upcoming: soonest first; past: latest first)
MEMBER_BOOKINGS_SHOWN = 10


@register.inclusion_tag("admin/bookings_app/member_bookings.html", takes_context=True)
def member_bookings(context, member):
    now = clock.now()
    zone = ZoneInfo(member.organization.timezone)
    rows = Booking.objects.filter(organization_id=member.organization_id, member=member).select_related(
        "session__ride_class", "session__instructor", "seat"
    )
    upcoming = list(
        rows.filter(status=Booking.Status.CONFIRMED, session__starts_at__gt=now).order_by("session__starts_at")[
            :MEMBER_BOOKINGS_SHOWN
        ]
    )
    upcoming_ids = {booking.pk for booking in upcoming}
    past = [
        booking
        for booking in rows.exclude(pk__in=upcoming_ids).order_by("-session__starts_at")[:MEMBER_BOOKINGS_SHOWN]
        if booking.pk not in upcoming_ids
    ]
    for booking in (*upcoming, *past):
        booking.local_start = booking.session.starts_at.astimezone(zone)
    return {
        "member": member,
        "upcoming": upcoming,
        "past": past,
        "shown": MEMBER_BOOKINGS_SHOWN,
        "can_book": context.get("has_change_permission", False),
    }
