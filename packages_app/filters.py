"""Query-parameter filters of the list endpoints (API.md). Bad values answer 400, never 500."""

from __future__ import annotations

from datetime import UTC, date, datetime

import django_filters
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from packages_app.models import Coupon, Package, Redemption
from spinning import clock
from spinning.tenancy import resolve_tenant


class PackageFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Package.Type.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Package
        fields = ["type", "is_active"]


class CouponFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter()
    coupon_type = django_filters.ChoiceFilter(choices=Coupon.Type.choices)

    class Meta:
        model = Coupon
        fields = ["is_active", "coupon_type"]


def _is_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-"


def parse_moment(value: str, *, tz_name: str, end: bool, field: str) -> datetime:
    """A studio-local date (whole day, inclusive) or an ISO-8601 timestamp with offset."""
    value = (value or "").strip()
    try:
        if _is_date(value):
            day = parse_date(value)
            if isinstance(day, date):
                moment = clock.end_of_local_day(day, tz_name) if end else clock.start_of_local_day(day, tz_name)
                moment.astimezone(UTC)  # the database compares in UTC: it must exist there too
                return moment
        else:
            moment = parse_datetime(value)
            if moment is not None and moment.tzinfo is not None:
                moment.astimezone(UTC)
                return moment
    except (ValueError, OverflowError):
        pass
    raise ValidationError({field: ["A date YYYY-MM-DD (studio time) or an ISO-8601 timestamp with its offset."]})


class RedemptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Redemption.Status.choices)
    redemption_type = django_filters.ChoiceFilter(choices=Redemption.Type.choices)
    member_id = django_filters.UUIDFilter(field_name="member_id")
    package_id = django_filters.UUIDFilter(field_name="package_id")
    coupon_id = django_filters.UUIDFilter(field_name="coupon_id")
    redeemed_from = django_filters.CharFilter(method="filter_from", help_text="Date (studio time) or timestamp.")
    redeemed_to = django_filters.CharFilter(method="filter_to", help_text="Date (inclusive) or timestamp.")

    class Meta:
        model = Redemption
        fields = ["status", "redemption_type", "member_id", "package_id", "coupon_id"]

    def _tz(self) -> str:
        return resolve_tenant(self.request).organization.timezone

    def filter_from(self, queryset, name, value):
        return queryset.filter(redeemed_at__gte=parse_moment(value, tz_name=self._tz(), end=False, field=name))

    def filter_to(self, queryset, name, value):
        moment = parse_moment(value, tz_name=self._tz(), end=True, field=name)
        if _is_date(value.strip()):
            return queryset.filter(redeemed_at__lt=moment)  # up to the next local midnight
        return queryset.filter(redeemed_at__lte=moment)
