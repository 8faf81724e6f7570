"""HTTP endpoints of API.md "Packages", "Coupons", "Redemptions". Thin: parse, call, render."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from members_app.api import member_for_caller
from members_app.idempotency import IdempotentReplay, idempotency_from_request
from members_app.models import Member
from members_app.selectors import member_list
from packages_app import selectors, services
from packages_app.errors import CouponNotFound
from packages_app.filters import CouponFilter, PackageFilter, RedemptionFilter
from packages_app.serializers import (
    CancelRequestSerializer,
    ConfirmRequestSerializer,
    CouponLookupSerializer,
    CouponPublicSerializer,
    CouponSerializer,
    CouponWriteSerializer,
    PackageSerializer,
    PackageWriteSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
    RedeemRequestSerializer,
    RedemptionCancelRequestSerializer,
    RedemptionCancelSerializer,
    RedemptionSerializer,
)
from spinning import clock
from spinning.errors import Invalid, NotFound
from spinning.permissions import IsMemberOrStaff, IsStaff, PublicReadAdminWrite, StaffWriteAdminOnly
from spinning.schema import IDEMPOTENCY_KEY, operation
from spinning.tenancy import Tenant, resolve_tenant
from spinning.throttling import guarded_cache
from spinning.views import ORGANIZATION_HEADER, TenantMixin, TenantViewSet

UUID_REGEX = "[0-9a-fA-F-]{36}"


class CouponGuessThrottle(SimpleRateThrottle):
    """Members (not staff) get a few coupon-code tries a minute, so codes cannot be brute-forced:
    the code lookup, and quote/redeem when they carry a coupon_code."""

    scope = "coupon_lookup"
    cache = guarded_cache  # a cache that is down counts in the database, never a 500

    def get_cache_key(self, request, view):
        tenant = resolve_tenant(request)
        if tenant.is_staff:
            return None
        if getattr(view, "action", None) in ("quote", "redeem"):
            data = request.data
            if not isinstance(data, dict) or not data.get("coupon_code"):
                return None
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": f"{tenant.organization.pk}:{ident}"}


def buyer_for_caller(tenant: Tenant, member_id, *, required: bool) -> tuple[Member | None, bool]:
    """Who buys, and whether staff record it: staff name any member of the studio (member_id); a
    member buys for themself (another member's id: 404)."""
    if tenant.is_staff and member_id:
        try:
            return member_list(organization=tenant.organization).get(pk=member_id), True
        except Member.DoesNotExist:
            raise NotFound(gettext_lazy("No such member.")) from None
    if tenant.member is None:
        if required:
            raise Invalid({"member_id": gettext_lazy("Required when staff record a sale.")})
        return None, tenant.is_staff
    if member_id and str(member_id) != str(tenant.member.pk):
        raise NotFound(gettext_lazy("No such member."))
    return tenant.member, False


COUPON_REFUSALS = [
    "coupon_inactive",
    "coupon_not_yet_valid",
    "coupon_expired",
    "coupon_not_applicable",
    "coupon_exhausted",
    "coupon_member_limit",
    "coupon_first_purchase_only",
]
SALE_REFUSALS = [(403, ["permission_denied"]), (404, ["package_not_found", "coupon_not_found", "not_found"])]


@extend_schema(tags=["packages"])
class PackageViewSet(TenantViewSet):
    serializer_class = PackageSerializer
    filterset_class = PackageFilter
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if self.action in ("quote", "redeem"):
            return [IsMemberOrStaff()]
        return [PublicReadAdminWrite()]

    def get_throttles(self):
        if self.action in ("quote", "redeem"):
            return [CouponGuessThrottle()]
        return super().get_throttles()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.Package.objects.none()
        if self.tenant.is_staff:
            return selectors.package_list(organization=self.organization)
        return selectors.package_list_public(organization=self.organization, now=clock.now())

    def filter_queryset(self, queryset):
        if not self.tenant.is_staff:  # the public list is the public list: no filters
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    def _render(self, package, status_code=status.HTTP_200_OK):
        return Response(PackageSerializer(package, context=self.get_serializer_context()).data, status=status_code)

    @operation(
        "Packages for sale",
        "Public (send `X-Organization`): active packages inside their sale window, by display order. Staff "
        "see every package and may filter (`type`, `is_active`; ignored for anyone else).",
    )
    def list(self, request):
        """Active packages inside their sale window, by display order; staff see all."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            PackageSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @operation("One package", "Public.", errors=[(404, ["package_not_found"])])
    def retrieve(self, request, pk=None):
        return self._render(selectors.package_get(organization=self.organization, package_id=pk))

    @operation(
        "Create a package",
        "Staff ADMIN. `credits` > 0 for SINGLE_RIDE (= 1), CREDIT_PACK and ELITE_30, absent for ALL_ACCESS "
        "(which needs `all_access_days`); `code` unique in the studio; `benefits` from the known set.",
        request=PackageWriteSerializer,
        responses={201: PackageSerializer},
    )
    def create(self, request):
        serializer = PackageWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        package = services.package_create(
            organization=self.organization, data=serializer.validated_data, performed_by=request.user
        )
        return self._render(package, status.HTTP_201_CREATED)

    @operation(
        "Change a package",
        "Staff ADMIN. Only the fields sent change; the rules of create hold for the result.",
        request=PackageWriteSerializer,
        responses={200: PackageSerializer},
        errors=[(404, ["package_not_found"])],
    )
    def partial_update(self, request, pk=None):
        selectors.package_get(organization=self.organization, package_id=pk)
        serializer = PackageWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        package = services.package_update(
            organization=self.organization, package_id=pk, data=serializer.validated_data, performed_by=request.user
        )
        return self._render(package)

    @operation(
        "Delete a package",
        "Staff ADMIN. A package ever redeemed, or named by a coupon, is never deleted: 409 `package_in_use` "
        "(deactivate it instead).",
        responses={204: None},
        errors=[(404, ["package_not_found"]), (409, ["package_in_use"])],
    )
    def destroy(self, request, pk=None):
        """A redeemed package is never deleted: 409 package_in_use (deactivate it)."""
        services.package_delete(organization=self.organization, package_id=pk, performed_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @operation(
        "Price a purchase",
        "Member, or staff for `member_id`. The price with the coupon applied, with the same checks as a "
        "sale; changes nothing.",
        request=QuoteRequestSerializer,
        responses={200: QuoteSerializer},
        errors=[*SALE_REFUSALS, (409, ["package_unavailable", "member_inactive", *COUPON_REFUSALS])],
    )
    @action(detail=False, methods=["post"])
    def quote(self, request):
        """Price preview with the same checks as a sale; no side effect."""
        serializer = QuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member, _ = buyer_for_caller(self.tenant, data.get("member_id"), required=False)
        quote = services.package_quote(
            organization=self.organization,
            package_id=data["package_id"],
            coupon_code=data.get("coupon_code"),
            member=member,
        )
        return Response(QuoteSerializer(quote).data)

    @operation(
        "Buy a package (member) or record a sale (staff)",
        "A member asks to buy: the redemption is PENDING until staff confirm the payment. Staff record a "
        "sale for `member_id`: ACTIVE, credits or pass granted now (`starts_on`: a later All Access start). "
        "Send an `Idempotency-Key` to retry safely.",
        request=RedeemRequestSerializer,
        responses={201: RedemptionSerializer},
        parameters=[IDEMPOTENCY_KEY],
        errors=[
            *SALE_REFUSALS,
            (409, ["package_unavailable", "member_inactive", *COUPON_REFUSALS, "idempotency_key_reused"]),
        ],
    )
    @action(detail=False, methods=["post"])
    def redeem(self, request):
        """Staff record a sale (ACTIVE, granted now) or a member asks to buy (PENDING until confirmed)."""
        serializer = RedeemRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member, by_staff = buyer_for_caller(self.tenant, data.get("member_id"), required=True)
        if data.get("starts_on") and not by_staff:
            raise Invalid({"starts_on": gettext_lazy("Only staff choose a later start day.")})
        idem = idempotency_from_request(request, scope="redeem", data=request.data)
        try:
            redemption = services.redemption_create(
                organization=self.organization,
                package_id=data["package_id"],
                member_id=member.pk,
                by_staff=by_staff,
                performed_by=request.user,
                coupon_code=data.get("coupon_code"),
                payment_method=data.get("payment_method") or "",
                payment_reference=data.get("payment_reference") or "",
                notes=data.get("notes") or "",
                starts_on=data.get("starts_on"),
                idem=idem,
            )
            status_code = status.HTTP_201_CREATED
        except IdempotentReplay as replay:
            redemption = selectors.redemption_get(organization=self.organization, redemption_id=replay.resource_id)
            status_code = replay.status
        return Response(RedemptionSerializer(redemption).data, status=status_code)


@extend_schema(tags=["coupons"])
class CouponViewSet(TenantViewSet):
    serializer_class = CouponSerializer
    filterset_class = CouponFilter
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if self.action == "by_code":
            return [IsMemberOrStaff()]
        return [StaffWriteAdminOnly()]

    def get_throttles(self):
        if self.action == "by_code":
            return [CouponGuessThrottle()]
        return super().get_throttles()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.Coupon.objects.none()
        return selectors.coupon_list(organization=self.organization)

    @operation("Coupons", "Staff. Filters: `is_active`, `coupon_type`.")
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CouponSerializer(page, many=True).data)

    @operation("One coupon", "Staff.", errors=[(404, ["coupon_not_found"])])
    def retrieve(self, request, pk=None):
        return Response(CouponSerializer(selectors.coupon_by_id(organization=self.organization, coupon_id=pk)).data)

    @operation(
        "Create a coupon",
        "Staff ADMIN. Codes are unique in the studio, case-insensitively.",
        request=CouponWriteSerializer,
        responses={201: CouponSerializer},
    )
    def create(self, request):
        serializer = CouponWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        coupon = services.coupon_create(
            organization=self.organization, data=serializer.validated_data, performed_by=request.user
        )
        coupon = selectors.coupon_by_id(organization=self.organization, coupon_id=coupon.pk)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)

    @operation(
        "Change a coupon",
        "Staff ADMIN. Only the fields sent change.",
        request=CouponWriteSerializer,
        responses={200: CouponSerializer},
        errors=[(404, ["coupon_not_found"])],
    )
    def partial_update(self, request, pk=None):
        selectors.coupon_by_id(organization=self.organization, coupon_id=pk)
        serializer = CouponWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.coupon_update(
            organization=self.organization, coupon_id=pk, data=serializer.validated_data, performed_by=request.user
        )
        return Response(CouponSerializer(selectors.coupon_by_id(organization=self.organization, coupon_id=pk)).data)

    @operation(
        "Delete a coupon",
        "Staff ADMIN. A coupon any redemption used is never deleted: 409 `coupon_in_use` (deactivate it).",
        responses={204: None},
        errors=[(404, ["coupon_not_found"]), (409, ["coupon_in_use"])],
    )
    def destroy(self, request, pk=None):
        """A used coupon is never deleted: 409 coupon_in_use (deactivate it)."""
        services.coupon_delete(organization=self.organization, coupon_id=pk, performed_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @operation(
        "Look a coupon up by its code",
        "Member or staff; case-insensitive; throttled. Staff get the coupon; a member gets its public part "
        "only while they could use it, else 404 `coupon_not_found`.",
        responses={200: CouponLookupSerializer},
        errors=[(404, ["coupon_not_found"])],
    )
    @action(detail=False, methods=["get"], url_path=r"code/(?P<code>[^/]+)")
    def by_code(self, request, code=None):
        """Case-insensitive. Staff get the coupon; a member gets its public part only while they
        could use it (active, in its window, uses left, their own limit and first purchase), else 404."""
        coupon = selectors.coupon_by_code(organization=self.organization, code=code)
        if self.tenant.is_staff:
            return Response(CouponSerializer(coupon).data)
        if not services.coupon_usable(coupon, member=self.tenant.member):
            raise CouponNotFound()
        return Response(CouponPublicSerializer(coupon).data)


@extend_schema(tags=["redemptions"])
@extend_schema_view(
    list=operation(
        "Redemptions",
        "Staff: every redemption (`status`, `member_id`, `package_id`, `coupon_id`, `redemption_type`, "
        "`redeemed_from`, `redeemed_to`); a member: their own.",
    )
)
class RedemptionViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = RedemptionSerializer
    filterset_class = RedemptionFilter
    lookup_value_regex = UUID_REGEX

    def get_permissions(self):
        if self.action in ("confirm", "reject", "cancel"):
            return [IsStaff()]
        return [IsMemberOrStaff()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.Redemption.objects.none()
        if self.tenant.is_staff:
            return selectors.redemption_list(organization=self.organization)
        return selectors.redemption_list_for_member(organization=self.organization, member=self.tenant.member)

    @operation(
        "One redemption",
        "Staff, or the member whose redemption it is.",
        errors=[(404, ["redemption_not_found"])],
    )
    def retrieve(self, request, pk=None):
        member = None if self.tenant.is_staff else self.tenant.member
        redemption = selectors.redemption_get(organization=self.organization, redemption_id=pk, member=member)
        return Response(RedemptionSerializer(redemption).data)

    def _render(self, redemption):
        fresh = selectors.redemption_get(organization=self.organization, redemption_id=redemption.pk)
        return Response(RedemptionSerializer(fresh).data)

    @operation(
        "Confirm a purchase request",
        "Staff. PENDING -> ACTIVE: payment received, credits or pass granted now (`starts_on`: a later All "
        "Access start). Not PENDING: 409 `invalid_state`.",
        request=ConfirmRequestSerializer,
        responses={200: RedemptionSerializer},
        errors=[(404, ["redemption_not_found"]), (409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """PENDING -> ACTIVE: payment received, grant now (staff may choose an All Access start day)."""
        serializer = ConfirmRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redemption = services.redemption_confirm(
            organization=self.organization,
            redemption_id=pk,
            performed_by=request.user,
            starts_on=serializer.validated_data.get("starts_on"),
        )
        return self._render(redemption)

    @operation(
        "Reject a purchase request",
        "Staff. PENDING -> CANCELLED; the coupon use comes back. Not PENDING: 409 `invalid_state`.",
        request=CancelRequestSerializer,
        responses={200: RedemptionSerializer},
        errors=[(404, ["redemption_not_found"]), (409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """PENDING -> CANCELLED; the coupon use comes back."""
        serializer = CancelRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redemption = services.redemption_reject(
            organization=self.organization,
            redemption_id=pk,
            performed_by=request.user,
            reason=serializer.validated_data.get("reason", ""),
        )
        return self._render(redemption)

    @operation(
        "Cancel (refund) an ACTIVE redemption, or preview it",
        (
            "ACTIVE -> CANCELLED (DOMAIN.md 5): its remaining credits are removed and its lots closed "
            "for good, its All Access ends from today on, its friend pass is void, and the member's "
            "bookings on sessions not yet started that it paid for are cancelled giving nothing back. "
            "`dry_run: true` changes nothing and answers what the cancel would take. Errors: 404 "
            "`redemption_not_found`, 409 `invalid_state` (not ACTIVE), 409 `busy`."
        ),
        request=RedemptionCancelRequestSerializer,
        responses={200: RedemptionCancelSerializer},
        errors=[(404, ["redemption_not_found"]), (409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = RedemptionCancelRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = services.redemption_cancel(
            organization=self.organization,
            redemption_id=pk,
            performed_by=request.user,
            reason=serializer.validated_data.get("reason", ""),
            dry_run=serializer.validated_data["dry_run"],
        )
        fresh = selectors.redemption_get(organization=self.organization, redemption_id=outcome.redemption.pk)
        return Response(RedemptionCancelSerializer(fresh, context={"cancel_effects": outcome.effects}).data)


@extend_schema(tags=["members"], parameters=[ORGANIZATION_HEADER])
@extend_schema_view(
    get=operation(
        "A member's redemptions",
        "Staff, or the member themself (another member: 404). Filters as `GET /api/redemptions`.",
    )
)
class MemberRedemptionList(TenantMixin, generics.ListAPIView):
    """GET /api/members/{id}/redemptions: staff, or the member themself."""

    serializer_class = RedemptionSerializer
    permission_classes = [IsMemberOrStaff]
    filterset_class = RedemptionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.Redemption.objects.none()
        member = member_for_caller(self.tenant, self.kwargs["member_id"])
        return selectors.redemption_list_for_member(organization=self.organization, member=member)
