"""`GET /api/audit-log` (API.md "Audit"): the studio's staff actions, newest first. ADMIN only."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.exceptions import ValidationError

from members_app.models import AuditLogEntry
from spinning import clock
from spinning.permissions import IsAdminRole
from spinning.views import TenantViewSet


class AuditLogEntrySerializer(serializers.ModelSerializer):
    actor_id = serializers.UUIDField(allow_null=True, read_only=True)
    actor_email = serializers.SerializerMethodField()
    changes = serializers.JSONField(read_only=True, help_text="{field: [old, new]}, or what the action did.")

    class Meta:
        model = AuditLogEntry
        fields = [
            "id",
            "actor_id",
            "actor_email",
            "action",
            "object_type",
            "object_id",
            "reason",
            "changes",
            "created_at",
        ]
        read_only_fields = fields

    def get_actor_email(self, entry) -> str | None:
        return entry.actor.email if entry.actor_id else None


def _moment(value: str, *, tz_name: str, end: bool, field: str) -> tuple[datetime, bool]:
    """(instant, is_whole_day): a studio-local date (inclusive) or an ISO-8601 timestamp with offset."""
    value = (value or "").strip()
    try:
        if len(value) == 10:
            day = parse_date(value)
            if isinstance(day, date):
                moment = clock.end_of_local_day(day, tz_name) if end else clock.start_of_local_day(day, tz_name)
                moment.astimezone(UTC)
                return moment, True
        else:
            moment = parse_datetime(value)
            if moment is not None and moment.tzinfo is not None:
                moment.astimezone(UTC)
                return moment, False
    except (ValueError, OverflowError):
        pass
    raise ValidationError(
        {field: [gettext_lazy("A date YYYY-MM-DD (studio time) or an ISO-8601 timestamp with its offset.")]}
    )


def audit_log_list(*, organization, params) -> list | object:
    """The studio's entries filtered by the query parameters, newest first (one query + count)."""
    queryset = AuditLogEntry.objects.filter(organization=organization).select_related("actor")
    errors: dict[str, list[str]] = {}
    for field in ("object_id", "actor_id"):
        value = params.get(field)
        if value:
            try:
                queryset = queryset.filter(**{field: serializers.UUIDField().to_internal_value(value)})
            except ValidationError:
                errors[field] = ["Must be a UUID."]
    if params.get("action"):
        queryset = queryset.filter(action=params["action"][:64])
    tz_name = organization.timezone
    if params.get("from"):
        try:
            moment, _ = _moment(params["from"], tz_name=tz_name, end=False, field="from")
            queryset = queryset.filter(created_at__gte=moment)
        except ValidationError as exc:
            errors.update(exc.detail)
    if params.get("to"):
        try:
            moment, whole_day = _moment(params["to"], tz_name=tz_name, end=True, field="to")
            queryset = queryset.filter(**{"created_at__lt" if whole_day else "created_at__lte": moment})
        except ValidationError as exc:
            errors.update(exc.detail)
    if errors:
        raise ValidationError(errors)
    return queryset.order_by("-created_at", "-id")


_PARAMETERS = [
    OpenApiParameter("object_id", OpenApiTypes.UUID, description="Only entries about this object."),
    OpenApiParameter("actor_id", OpenApiTypes.UUID, description="Only entries by this person (user id)."),
    OpenApiParameter("action", str, description="Only this action code, e.g. `redemption.confirm` (docs/audit.md)."),
    OpenApiParameter("from", str, description="From this studio-local date (inclusive) or ISO-8601 timestamp."),
    OpenApiParameter("to", str, description="To this studio-local date (inclusive) or ISO-8601 timestamp."),
]


@extend_schema(tags=["audit"])
class AuditLogViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = AuditLogEntrySerializer
    permission_classes = [IsAdminRole]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditLogEntry.objects.none()
        return audit_log_list(organization=self.organization, params=self.request.query_params)

    @extend_schema(
        summary="The studio's audit log",
        description=(
            "Every staff action that changed something (DOMAIN.md 18): who, when, what, on which "
            "object, the reason and the changed fields (`{field: [old, new]}`). Newest first, "
            "paginated. ADMIN only. Entries are never edited or deleted."
        ),
        parameters=_PARAMETERS,
        responses={
            200: AuditLogEntrySerializer(many=True),
            400: OpenApiResponse(description="`validation_error`: a filter is not a UUID or a date/timestamp."),
            401: OpenApiResponse(description="`not_authenticated`."),
            403: OpenApiResponse(description="Not the studio's ADMIN (`permission_denied`, `organization_forbidden`)."),
        },
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
