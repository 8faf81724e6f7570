"""Query filters of the schedule and booking lists (API.md). `from`/`to`: a studio-local date
(inclusive) or an ISO-8601 timestamp, read in the requesting studio's time zone."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from bookings_app.models import Booking, Session, WaitlistEntry
from bookings_app.selectors import bookings_upcoming, filter_starts_between
from spinning import clock
from spinning.tenancy import resolve_tenant


class _FromToMixin(django_filters.FilterSet):
    start_field = "starts_at"

    def _between(self, queryset, name, value):
        organization = resolve_tenant(self.request).organization
        if name == "from":
            return filter_starts_between(queryset, field=self.start_field, organization=organization, start=value)
        return filter_starts_between(queryset, field=self.start_field, organization=organization, end=value)


class SessionFilter(_FromToMixin):
    from_ = django_filters.CharFilter(
        field_name="from", method="_between", label="Start: a studio-local date (inclusive) or ISO-8601 timestamp"
    )
    to = django_filters.CharFilter(
        field_name="to", method="_between", label="End: a studio-local date (inclusive) or ISO-8601 timestamp"
    )
    class_id = django_filters.UUIDFilter(field_name="ride_class_id")
    instructor_id = django_filters.UUIDFilter(field_name="instructor_id")
    location_id = django_filters.UUIDFilter(field_name="location_id")
    status = django_filters.ChoiceFilter(choices=Session.Status.choices)

    class Meta:
        model = Session
        fields: list = []


@extend_schema_field(OpenApiTypes.BOOL)  # generated clients send true/false, as before
class StrictBooleanFilter(django_filters.ChoiceFilter):
    """`true` or `false`, anything else 400 (the method gets the string)."""


class BookingFilter(_FromToMixin):
    """`from`/`to` bound the session's start."""

    start_field = "session__starts_at"
    session_id = django_filters.UUIDFilter(field_name="session_id")
    member_id = django_filters.UUIDFilter(field_name="member_id")
    status = django_filters.ChoiceFilter(choices=Booking.Status.choices)
    payment_type = django_filters.ChoiceFilter(choices=Booking.PaymentType.choices)
    from_ = django_filters.CharFilter(field_name="from", method="_between", label="Session start from")
    to = django_filters.CharFilter(field_name="to", method="_between", label="Session start to")
    # A strict boolean: django-filter's BooleanFilter reads an unknown value ("yes", "maybe") as
    # no value at all and would answer every booking; this answers 400.
    upcoming = StrictBooleanFilter(
        choices=[("true", "true"), ("false", "false")],
        method="_upcoming",
        label="true: only CONFIRMED bookings not yet started, soonest first",
    )

    def _upcoming(self, queryset, name, value):
        return bookings_upcoming(queryset, now=clock.now()) if value == "true" else queryset

    class Meta:
        model = Booking
        fields: list = []


class WaitlistFilter(django_filters.FilterSet):
    session_id = django_filters.UUIDFilter(field_name="session_id")
    member_id = django_filters.UUIDFilter(field_name="member_id")
    status = django_filters.ChoiceFilter(choices=WaitlistEntry.Status.choices)

    class Meta:
        model = WaitlistEntry
        fields: list = []


# `from` is a Python keyword: declare it as `from_`, publish it as `from`.
for _filterset in (SessionFilter, BookingFilter):
    _filterset.base_filters = {
        ("from" if name == "from_" else name): value for name, value in _filterset.base_filters.items()
    }
