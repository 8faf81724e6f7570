"""`GET /api/reports/{sales,credits,coupons,attendance}` (API.md "Reports"): staff ADMIN only,
JSON or CSV. Thin: parse the range, call the report's selector, render."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from reports_app import csv_export
from reports_app.selectors import (
    ATTENDANCE_GROUPS,
    MAX_RANGE_DAYS,
    SALES_GROUPS,
    Period,
    attendance_report,
    coupons_report,
    credits_report,
    sales_report,
)
from spinning import clock
from spinning.permissions import IsAdminRole
from spinning.views import ORGANIZATION_HEADER, TenantMixin


class RangeSerializer(serializers.Serializer):
    """`from`/`to`: studio-local dates, inclusive; default this month up to today."""

    to = serializers.DateField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)  # a Python keyword: added by name
        return fields

    def validate(self, attrs):
        if "from" in attrs and "to" in attrs and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": [gettext_lazy("Must be on or after `from`.")]})
        return attrs


def parse_period(organization, params, *, group_choices: tuple[str, ...] | None = None) -> tuple[Period, str]:
    """The report's Period and grouping from query parameters; bad values are 400 naming them."""
    serializer = RangeSerializer(data={k: params[k] for k in ("from", "to") if params.get(k)})
    serializer.is_valid(raise_exception=True)
    today = clock.local_date(clock.now(), organization.timezone)
    first: date = serializer.validated_data.get("from") or min(
        today, serializer.validated_data.get("to", today)
    ).replace(day=1)
    last: date = serializer.validated_data.get("to") or max(today, first)
    errors = {}
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        errors["to"] = [f"A report covers at most {MAX_RANGE_DAYS} days."]
    group_by = ""
    if group_choices:
        group_by = params.get("group_by") or group_choices[0]
        if group_by not in group_choices:
            errors["group_by"] = [f"One of: {', '.join(group_choices)}."]
    try:
        period = Period(organization=organization, first=first, last=last)
        period.start, period.end  # noqa: B018 - both must exist on the calendar
    except (OverflowError, ValueError):
        errors["to"] = ["Out of the calendar."]
    if errors:
        raise serializers.ValidationError(errors)
    return period, group_by


RANGE_PARAMETERS = [
    ORGANIZATION_HEADER,
    OpenApiParameter(
        "from", OpenApiTypes.DATE, description="First studio-local day (inclusive). Default: the 1st of this month."
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description=f"Last studio-local day (inclusive). Default: today. At most {MAX_RANGE_DAYS} days.",
    ),
    OpenApiParameter(
        "format", str, enum=["json", "csv"], description="`csv` for CSV with a header row (or send `Accept: text/csv`)."
    ),
]
ERRORS = {
    400: OpenApiResponse(
        description="`validation_error`: `from`/`to` not a date, `to` before `from` or too far, an unknown `group_by`."
    ),
    401: OpenApiResponse(description="`not_authenticated`."),
    403: OpenApiResponse(description="Not the studio's ADMIN (`permission_denied`, `organization_forbidden`)."),
    404: OpenApiResponse(description="`organization_not_found`, or an unknown `format`."),
}
CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="`text/csv`: the same figures, header row first.")


class ReportView(TenantMixin, APIView):
    permission_classes = [IsAdminRole]
    renderer_classes = [JSONRenderer, csv_export.CsvRenderer]
    name_of_report = ""

    def handle_exception(self, exc):
        # Errors are JSON (API.md: one error shape), whatever the caller asked for.
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return super().handle_exception(exc)

    def respond(self, report: dict, to_csv, period: Period) -> Response:
        if getattr(self.request.accepted_renderer, "format", "") != "csv":
            return Response(report)
        filename = f"{self.name_of_report}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
        return Response(to_csv(report), headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _money(description: str):
    return serializers.CharField(help_text=f"{description} (decimal string, 2 places)")


SALES_ROW = inline_serializer(
    "SalesReportRow",
    many=True,
    fields={
        "key": serializers.CharField(
            help_text="Day YYYY-MM-DD, week's Monday, month YYYY-MM, or the id/code grouped by."
        ),
        "label": serializers.CharField(),
        "count": serializers.IntegerField(),
        "list_price": _money("Sum of list prices"),
        "discount": _money("Sum of discounts"),
        "net": _money("Sum of what was paid"),
    },
)


class SalesReportView(ReportView):
    name_of_report = "sales"

    @extend_schema(
        tags=["reports"],
        summary="Sales over a date range",
        description=(
            "Redemptions that became ACTIVE in the range (by their studio-local activation day), "
            "grouped by day, week, month, package, coupon or payment method; cancelled ones only in "
            "`cancelled`. Day, week and month rows cover the whole range (zeros included). ADMIN only."
        ),
        parameters=[
            *RANGE_PARAMETERS,
            OpenApiParameter("group_by", str, enum=list(SALES_GROUPS), description="Default `day`."),
        ],
        responses={
            (200, "application/json"): inline_serializer(
                "SalesReport",
                {
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "currency": serializers.CharField(),
                    "group_by": serializers.ChoiceField(choices=SALES_GROUPS),
                    "rows": SALES_ROW,
                    "totals": inline_serializer(
                        "SalesReportTotals",
                        {
                            "count": serializers.IntegerField(),
                            "list_price": _money("List prices"),
                            "discount": _money("Discounts"),
                            "net": _money("Net"),
                        },
                    ),
                    "cancelled": inline_serializer(
                        "SalesReportCancelled", {"count": serializers.IntegerField(), "net": _money("Net")}
                    ),
                },
            ),
            (200, "text/csv"): CSV_RESPONSE,
            **ERRORS,
        },
    )
    def get(self, request):
        period, group_by = parse_period(self.organization, request.query_params, group_choices=SALES_GROUPS)
        return self.respond(sales_report(period=period, group_by=group_by), csv_export.sales_csv, period)


class CreditsReportView(ReportView):
    name_of_report = "credits"

    @extend_schema(
        tags=["reports"],
        summary="Outstanding credits and their value",
        description=(
            "Unexpired credits now and their value (each lot at what its redemption paid per credit; "
            "bonus and manual credits at 0): the deferred-revenue liability; what expires within 30 "
            "days; what expired in the range. ADMIN only."
        ),
        parameters=RANGE_PARAMETERS,
        responses={
            (200, "application/json"): inline_serializer(
                "CreditsReport",
                {
                    "as_of": serializers.DateTimeField(),
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "currency": serializers.CharField(),
                    "outstanding_credits": serializers.IntegerField(),
                    "outstanding_value": _money("Value of the outstanding credits"),
                    "expiring_within_30_days": inline_serializer(
                        "CreditsReportExpiring", {"credits": serializers.IntegerField(), "value": _money("Value")}
                    ),
                    "expired_in_range": inline_serializer(
                        "CreditsReportExpired", {"credits": serializers.IntegerField(), "value": _money("Value")}
                    ),
                },
            ),
            (200, "text/csv"): CSV_RESPONSE,
            **ERRORS,
        },
    )
    def get(self, request):
        period, _ = parse_period(self.organization, request.query_params)
        return self.respond(credits_report(period=period), csv_export.credits_csv, period)


class CouponsReportView(ReportView):
    name_of_report = "coupons"

    @extend_schema(
        tags=["reports"],
        summary="Coupon usage over a date range",
        description=(
            "Every coupon of the studio with its uses in the range (redemptions that became ACTIVE "
            "then, not cancelled), the discount and bonus credits given, and the uses left now "
            "(null when unlimited). ADMIN only."
        ),
        parameters=RANGE_PARAMETERS,
        responses={
            (200, "application/json"): inline_serializer(
                "CouponsReport",
                {
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "currency": serializers.CharField(),
                    "rows": inline_serializer(
                        "CouponsReportRow",
                        {
                            "coupon_id": serializers.UUIDField(),
                            "code": serializers.CharField(),
                            "uses": serializers.IntegerField(),
                            "discount_given": _money("Discount given"),
                            "bonus_credits_given": serializers.IntegerField(),
                            "uses_left": serializers.IntegerField(allow_null=True),
                        },
                        many=True,
                    ),
                },
            ),
            (200, "text/csv"): CSV_RESPONSE,
            **ERRORS,
        },
    )
    def get(self, request):
        period, _ = parse_period(self.organization, request.query_params)
        return self.respond(coupons_report(period=period), csv_export.coupons_csv, period)


class AttendanceReportView(ReportView):
    name_of_report = "attendance"

    @extend_schema(
        tags=["reports"],
        summary="Attendance over a date range",
        description=(
            "Sessions that started in the range (cancelled sessions left out) by class, instructor, "
            "studio-local weekday or hour: sessions, capacity, bookings (live at start or completed), "
            "check-ins, no-shows, late cancels and fill rate (bookings / capacity * 100). ADMIN only."
        ),
        parameters=[
            *RANGE_PARAMETERS,
            OpenApiParameter("group_by", str, enum=list(ATTENDANCE_GROUPS), description="Default `class`."),
        ],
        responses={
            (200, "application/json"): inline_serializer(
                "AttendanceReport",
                {
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "group_by": serializers.ChoiceField(choices=ATTENDANCE_GROUPS),
                    "rows": inline_serializer(
                        "AttendanceReportRow",
                        {
                            "key": serializers.CharField(),
                            "label": serializers.CharField(),
                            "sessions": serializers.IntegerField(),
                            "capacity": serializers.IntegerField(),
                            "bookings": serializers.IntegerField(),
                            "check_ins": serializers.IntegerField(),
                            "no_shows": serializers.IntegerField(),
                            "late_cancels": serializers.IntegerField(),
                            "fill_rate": _money("Percent"),
                        },
                        many=True,
                    ),
                },
            ),
            (200, "text/csv"): CSV_RESPONSE,
            **ERRORS,
        },
    )
    def get(self, request):
        period, group_by = parse_period(self.organization, request.query_params, group_choices=ATTENDANCE_GROUPS)
        return self.respond(attendance_report(period=period, group_by=group_by), csv_export.attendance_csv, period)
