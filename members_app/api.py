"""HTTP endpoints for "Auth and people" and "Organization" (API.md). Thin: parse, call, render."""

import uuid

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from members_app import selectors, services
from members_app.errors import EmailTaken
from members_app.filters import MemberFilter
from members_app.models import Member
from members_app.notifications_api import NotificationSerializer
from members_app.serializers import (
    CreditAdjustmentSerializer,
    CreditTransactionSerializer,
    MemberCreateSerializer,
    MemberSelfUpdateSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
    PriceHistorySerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
)
from members_app.services import accounts
from spinning.errors import NotFound
from spinning.permissions import IsAdminRole, IsMemberOrStaff, IsStaff, Public
from spinning.schema import operation
from spinning.tenancy import Tenant, resolve_tenant
from spinning.throttling import RegistrationThrottle, login_failure_keys, login_failures
from spinning.views import ORGANIZATION_HEADER, TenantMixin, TenantViewSet


def member_for_caller(tenant: Tenant, member_id) -> Member:
    """The member a caller may look at: staff any member of the studio, a member only themself."""
    try:
        member_id = uuid.UUID(str(member_id))
    except ValueError:  # not a UUID: no such member either
        raise NotFound(gettext_lazy("No such member.")) from None
    if tenant.is_staff:
        try:
            return selectors.member_get(organization=tenant.organization, member_id=member_id)
        except Member.DoesNotExist:
            raise NotFound(gettext_lazy("No such member.")) from None
    if tenant.member is not None and tenant.member.pk == member_id:
        return tenant.member
    raise NotFound(gettext_lazy("No such member."))


@extend_schema(tags=["auth"])
class RegisterView(TenantMixin, APIView):
    permission_classes = [Public]
    authentication_classes: list = []
    throttle_classes = [RegistrationThrottle]

    @operation(
        "Register: join the studio as a member",
        (
            "Creates the person (or adds an existing one, with the right password, as a member) and "
            "returns a token for the member apps. Throttled per client address "
            "(`THROTTLE_REGISTRATION`)."
        ),
        request=RegisterSerializer,
        responses={201: RegisterResponseSerializer},
        parameters=[ORGANIZATION_HEADER],
        errors=[(409, ["email_taken", "member_exists"])],
    )
    def post(self, request):
        """Join the X-Organization studio as a member; returns a token for the member apps."""
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Joining with an existing account checks its password: the same guard as the login.
        failures = login_failures()
        keys = login_failure_keys(request, serializer.validated_data["email"])
        wait = failures.wait(keys)
        if wait is not None:
            raise Throttled(wait=wait)
        try:
            member = services.member_register(organization=self.organization, **serializer.validated_data)
        except EmailTaken:
            failures.hit(keys)
            raise
        issued = accounts.token_issue(user=member.user)
        return Response(
            {"token": issued.token, "member": MemberSerializer(member).data}, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["members"])
@extend_schema_view(
    list=operation(
        "Members",
        "Staff. `q` finds by name, email or phone (Turkish letters folded); `status`, `has_all_access`, "
        "`is_elite_member` filter.",
    ),
    retrieve=operation("One member", "Staff, or the member themself (another member: 404)."),
)
class MemberViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_permissions(self):
        if self.action in ("me", "retrieve", "credit_transactions", "notifications"):
            return [IsMemberOrStaff()]
        return [IsStaff()]

    def get_queryset(self):
        return selectors.member_list(organization=self.organization)

    @operation(
        "Add a member",
        "Staff. For an email that already has an account the answer is the same as for a new person "
        "(what staff typed); nothing of the account is read or changed.",
        request=MemberCreateSerializer,
        responses={201: MemberSerializer},
        errors=[(409, ["member_exists"])],
    )
    def create(self, request):
        """Staff add a member; for an email that already has an account the answer is the same as
        for a new person (what staff typed), and nothing of the account is read or changed."""
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.member_create(
            organization=self.organization, performed_by=request.user, **serializer.validated_data
        )
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(MemberSerializer(member_for_caller(self.tenant, pk)).data)

    @operation(
        "Change a member",
        "Staff: names, phone, language and status of this studio's record (the person's login is theirs).",
        request=MemberUpdateSerializer,
        responses={200: MemberSerializer},
    )
    def partial_update(self, request, pk=None):
        serializer = MemberUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        member_for_caller(self.tenant, pk)
        member = services.member_update(
            organization=self.organization, member_id=pk, data=serializer.validated_data, performed_by=request.user
        )
        return Response(MemberSerializer(member).data)

    @operation(
        "The caller's member record",
        "The caller's member record in the chosen studio (404 when they are not a member there).",
        methods=["GET"],
        responses={200: MemberSerializer},
        errors=[(404, ["not_found"])],
    )
    @operation(
        "Change the caller's own language",
        "A member may change only their `language` (null = the studio's); other fields are 400.",
        methods=["PATCH"],
        request=MemberSelfUpdateSerializer,
        responses={200: MemberSerializer},
        errors=[(404, ["not_found"])],
    )
    @action(detail=False, methods=["get", "patch"])
    def me(self, request):
        member = self.tenant.member
        if member is None:
            raise NotFound(gettext_lazy("You are not a member of this studio."))
        if request.method == "PATCH":
            serializer = MemberSelfUpdateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            member = services.member_update(
                organization=self.organization, member_id=member.pk, data=serializer.validated_data
            )
        return Response(MemberSerializer(member).data)

    @operation(
        "A member's ledger",
        "Staff, or the member themself. Every credit movement, newest first (rows written together in "
        "the order they were written), with the balance before and after.",
        responses={200: CreditTransactionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="credit-transactions")
    def credit_transactions(self, request, pk=None):
        """The member's ledger, newest first."""
        member = member_for_caller(self.tenant, pk)
        queryset = selectors.credit_transaction_list(organization=self.organization, member=member)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(CreditTransactionSerializer(page, many=True).data)

    @operation(
        "The member's messages",
        "Emails sent or queued for the member, newest first (staff; a member their own). "
        "Staff also see the studio's own copy of the member's purchase requests.",
        responses={200: NotificationSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def notifications(self, request, pk=None):
        member = member_for_caller(self.tenant, pk)
        queryset = selectors.member_notifications(member, for_member=not self.tenant.is_staff)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    @operation(
        "Add or deduct credits by hand",
        "Staff. A positive `amount` adds a lot (expiring at `expires_at` if given); a negative one takes "
        "from the soonest-expiring lots; below zero: 409 `insufficient_credits`.",
        request=CreditAdjustmentSerializer,
        responses={201: CreditTransactionSerializer},
        errors=[(409, ["insufficient_credits"])],
    )
    @action(detail=True, methods=["post"], url_path="credit-adjustments")
    def credit_adjustments(self, request, pk=None):
        """Staff add or deduct credits by hand; a deduct below zero is refused (insufficient_credits)."""
        member_for_caller(self.tenant, pk)
        serializer = CreditAdjustmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        txn = services.credit_adjustment_create(
            organization=self.organization, member_id=pk, performed_by=request.user, **serializer.validated_data
        )
        return Response(CreditTransactionSerializer(txn).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["organization"], parameters=[ORGANIZATION_HEADER])
class OrganizationView(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [Public()]
        return [IsAdminRole()]

    @operation(
        "The studio",
        "Public (send `X-Organization`): its name, time zone, currency, credit price and booking policy.",
        responses={200: OrganizationSerializer},
    )
    def get(self, request):
        return Response(OrganizationSerializer(resolve_tenant(request).organization).data)

    @operation(
        "Change the studio's settings",
        "Staff ADMIN. Any field but the slug; a `credit_price` change is kept in the price history with `reason`.",
        request=OrganizationUpdateSerializer,
        responses={200: OrganizationSerializer},
    )
    def patch(self, request):
        """ADMIN changes studio settings; a credit_price change is kept in the price history with `reason`."""
        tenant = resolve_tenant(request)
        serializer = OrganizationUpdateSerializer(tenant.organization, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        reason = data.pop("reason", "")
        organization = services.organization_update(
            organization=tenant.organization, data=data, changed_by=request.user, reason=reason
        )
        return Response(OrganizationSerializer(organization).data)


@extend_schema(tags=["organization"])
@extend_schema_view(list=operation("Credit price history", "Staff. Every change of the credit price, newest first."))
class PriceHistoryViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = PriceHistorySerializer
    permission_classes = [IsStaff]

    def get_queryset(self):
        return selectors.price_history_list(organization=self.organization)
