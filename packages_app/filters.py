"""Query-parameter filters of the list endpoints (API.md). Bad values answer 400, never 500."""

from __future__ import annotations

from datetime import datetime

import django_filters
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


def _moment(value: str, *, tz_name: str, end: bool, field: str) -> tuple[datetime, bool]:
    try:
        return clock.parse_moment(value, tz_name=tz_name, end=end)
    except clock.BadMoment as exc:
        raise ValidationError({field: [str(exc)]}) from None


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
        moment, _ = _moment(value, tz_name=self._tz(), end=False, field=name)
        return queryset.filter(redeemed_at__gte=moment)

    def filter_to(self, queryset, name, value):
        moment, is_date = _moment(value, tz_name=self._tz(), end=True, field=name)
        if is_date:
            return queryset.filter(redeemed_at__lt=moment)  # up to the next local midnight
        return queryset.filter(redeemed_at__lte=moment)
