"""The members' messages over HTTP (API.md "Auth and people": Notification).

- `GET /api/members/{id}/notifications` (staff; a member their own): MemberViewSet.notifications;
- `GET /api/notifications?status=&kind=` (staff): every message of the studio, newest first;
- `POST /api/notifications/{id}/resend` (staff): a FAILED message is queued again.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from members_app.filters import NotificationFilter
from members_app.models import Notification
from members_app.notifications import notification_resend
from spinning.permissions import IsStaff
from spinning.schema import operation
from spinning.views import TenantViewSet


class NotificationSerializer(serializers.ModelSerializer):
    to = serializers.EmailField(source="to_email", read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "to", "subject", "language", "status", "attempts", "created_at", "sent_at"]
        read_only_fields = fields

    def get_status(self, obj) -> str:
        """QUEUED (also while a worker is sending it), SENT or FAILED."""
        return Notification.Status.QUEUED if obj.status == Notification.Status.SENDING else obj.status


STATUS_FILTER = OpenApiParameter(
    "status", OpenApiTypes.STR, enum=["QUEUED", "SENT", "FAILED"], description="Only messages in this state."
)
KIND_FILTER = OpenApiParameter("kind", OpenApiTypes.STR, enum=list(Notification.Kind.values))


@extend_schema(tags=["notifications"])
class NotificationViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = NotificationSerializer
    permission_classes = [IsStaff]
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    filterset_class = NotificationFilter

    def get_queryset(self):
        return Notification.objects.filter(organization=self.organization).order_by("-created_at", "-id")

    @extend_schema(
        summary="The studio's messages",
        description="Every email of the studio, newest first (staff): what was queued, sent or failed. "
        "An unknown `status` or `kind` answers 400 `validation_error`.",
        parameters=[STATUS_FILTER, KIND_FILTER],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @operation(
        request=None,
        responses={200: NotificationSerializer},
        summary="Send a failed message again",
        description="Staff: a FAILED message is queued again with a fresh count of attempts and delivered "
        "after this request; any other state answers 409 `invalid_state`.",
        errors=[(409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        row = notification_resend(organization=self.organization, notification_id=pk, performed_by=request.user)
        return Response(NotificationSerializer(row).data)
