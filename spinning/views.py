"""Shared view pieces: the tenant-aware base viewset and /api/health."""

from django.db import connection
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from spinning.schema import operation
from spinning.tenancy import Tenant, resolve_tenant

ORGANIZATION_HEADER = OpenApiParameter(
    name="X-Organization",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Studio slug. Optional for a user who belongs to exactly one studio; required for anonymous calls.",
)


class TenantMixin:
    """Gives views `self.tenant` and `self.organization`; querysets must start from it."""

    @property
    def tenant(self) -> Tenant:
        return resolve_tenant(self.request)

    @property
    def organization(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request studio
            return None
        return self.tenant.organization


@extend_schema(parameters=[ORGANIZATION_HEADER])
class TenantViewSet(TenantMixin, viewsets.GenericViewSet):
    pass


@operation(
    "Health",
    "Liveness and database reachability, for load balancers and monitors. No token, no studio.",
    responses={
        200: {
            "type": "object",
            "required": ["status", "database"],
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "database": {"type": "string", "enum": ["ok"]},
            },
        }
    },
    errors=[(503, ["service_unavailable"])],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def health(request):
    """Liveness and database reachability. 503 when the database does not answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        return Response(
            {
                "code": "service_unavailable",
                "detail": gettext("The database is not answering."),
                "status": "degraded",
                "database": "unavailable",
            },
            status=503,
        )
    return Response({"status": "ok", "database": "ok"})
