"""Shared pieces of the bookings admin: roles, studio-local days, refusals shown as messages."""

import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.shortcuts import redirect

from members_app.admin_base import ADMIN, FRONT_DESK, INSTRUCTOR, orgs_with_role
from members_app.models import Organization
from spinning import clock
from spinning.errors import DomainError

STAFF = frozenset({ADMIN, FRONT_DESK})
EVERYONE = frozenset({ADMIN, FRONT_DESK, INSTRUCTOR})


def _studio_tz(request) -> str:
    """The time zone the admin shows days in: the staff user's (first) studio."""
    org_ids = orgs_with_role(request, EVERYONE)
    organization = Organization.objects.filter(pk__in=org_ids).first() if org_ids else Organization.objects.first()
    return organization.timezone if organization else "UTC"


def _local(moment, tz_name):
    return moment.astimezone(ZoneInfo(tz_name))


def sentence(exc: DomainError) -> str:
    """A refusal in words for staff: the detail and each field's reason, never the code."""
    fields = getattr(exc, "fields", None) or {}
    reasons = []
    for name, reason in fields.items():
        # reasons are often lazy translations: make each a str before joining
        text = " ".join(str(part) for part in reason) if isinstance(reason, list | tuple) else str(reason)
        reasons.append(f"{name.replace('_', ' ').capitalize()}: {text}")
    return " ".join([str(exc.detail), *reasons]).strip()


def check_in_hours(session) -> str:
    """The check-in window of a session in the studio's wall time, for a refusal staff can read."""
    from bookings_app import services

    opens, closes = services.check_in_window(session=session, organization=session.organization)
    zone = ZoneInfo(session.organization.timezone)
    opens, closes = opens.astimezone(zone), closes.astimezone(zone)
    same_day = opens.date() == closes.date()
    until = f"{closes:%H:%M}" if same_day else f"{closes:%a %d %b %H:%M}"
    return f"Check-in for this class is open from {opens:%a %d %b %H:%M} until {until}."


def _report(request, exc: DomainError, what: str, session=None) -> None:
    if exc.code == "check_in_not_open" and session is not None:
        messages.error(request, f"{what}: {check_in_hours(session)}")
        return
    messages.error(request, f"{what}: {sentence(exc)}")


class StudioDayFilter(admin.SimpleListFilter):
    """Sessions by studio-local day: yesterday, today and the next 13 days."""

    title = "day"
    parameter_name = "day"
    field = "starts_at"

    def lookups(self, request, model_admin):
        tz_name = _studio_tz(request)
        today = clock.local_date(clock.now(), tz_name)
        days = [today + timedelta(days=offset) for offset in range(-1, 14)]
        names = {today: "Today", today + timedelta(days=1): "Tomorrow", today - timedelta(days=1): "Yesterday"}
        return [(day.isoformat(), names.get(day, f"{day:%a %d %b}")) for day in days]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        tz_name = _studio_tz(request)
        try:
            day = date.fromisoformat(self.value())
            start, end = clock.start_of_local_day(day, tz_name), clock.end_of_local_day(day, tz_name)
        except (ValueError, OverflowError) as exc:  # not a date, or its day ends past the calendar
            raise IncorrectLookupParameters(exc) from None
        return queryset.filter(**{f"{self.field}__gte": start, f"{self.field}__lt": end})


class BookingDayFilter(StudioDayFilter):
    title = "session day"
    parameter_name = "session_day"
    field = "session__starts_at"


class ServiceRefusalMixin:
    """A service refusing an admin save (e.g. a capacity above the room's bikes) becomes an error
    message on the same form instead of a 500; the service's transaction wrote nothing."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, f"Not saved: {sentence(exc)}")
            return redirect(request.get_full_path())


class ServiceWritesMixin(ServiceRefusalMixin):
    """Add, change and delete go through services that own their durable transaction (and write
    the audit entry in it), so the admin's atomic wrapper stays off these views; a refusal (a
    name taken, a row still in use) is a message on the same page."""

    saves_through_service = True

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return self._delete_view(request, object_id, extra_context)
        except DomainError as exc:
            messages.error(request, f"Not deleted: {sentence(exc)}")
            return redirect(request.get_full_path())

    def get_readonly_fields(self, request, obj=None):
        # A row stays in its studio: moving it would leave its sessions behind in the other one.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "organization"] if obj is not None and "organization" not in readonly else readonly


def posted_uuid(value) -> uuid.UUID | None:
    """A row id sent by an admin form, or None when it is missing or not an id at all (a forged or
    mangled POST gets the page's "not found" sentence, never a 500 from the database layer)."""
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
