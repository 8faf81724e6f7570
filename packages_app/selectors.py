"""Reads for the catalog, coupons and redemptions. Every query starts from the organization."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy

from members_app.models import Member, Organization
from packages_app.errors import CouponNotFound, PackageNotFound, RedemptionNotFound
from packages_app.models import Coupon, Package, Redemption
from spinning.errors import NotFound

# What a malformed id raises in a lookup: never a 500, always "not found".
BAD_ID = (ValueError, ValidationError)


def package_list(*, organization: Organization) -> QuerySet[Package]:
    return Package.objects.filter(organization=organization).order_by("display_order", "name", "pk")


def package_on_sale_q(now: datetime) -> Q:
    """Active and inside its sale window (valid_from <= now < valid_until)."""
    return (
        Q(is_active=True)
        & (Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        & (Q(valid_until__isnull=True) | Q(valid_until__gt=now))
    )


def package_list_public(*, organization: Organization, now: datetime) -> QuerySet[Package]:
    return package_list(organization=organization).filter(package_on_sale_q(now))


def package_is_on_sale(package: Package, now: datetime) -> bool:
    return bool(
        package.is_active
        and (package.valid_from is None or package.valid_from <= now)
        and (package.valid_until is None or package.valid_until > now)
    )


def package_get(*, organization: Organization, package_id) -> Package:
    try:
        return package_list(organization=organization).get(pk=package_id)
    except (Package.DoesNotExist, *BAD_ID):
        raise PackageNotFound() from None


def coupon_list(*, organization: Organization) -> QuerySet[Coupon]:
    return (
        Coupon.objects.filter(organization=organization)
        .select_related("package")
        .prefetch_related("applicable_packages")
        .order_by("code", "pk")
    )


def coupon_by_code(*, organization: Organization, code: str) -> Coupon:
    """Case-insensitive lookup through the Lower("code") unique index."""
    coupon = (
        coupon_list(organization=organization)
        .annotate(code_lower=Lower("code"))
        .filter(code_lower=(code or "").strip().lower())
        .first()
    )
    if coupon is None:
        raise CouponNotFound()
    return coupon


def coupon_by_id(*, organization: Organization, coupon_id) -> Coupon:
    try:
        return coupon_list(organization=organization).get(pk=coupon_id)
    except (Coupon.DoesNotExist, *BAD_ID):
        raise NotFound(gettext_lazy("No such coupon.")) from None


def redemption_list(*, organization: Organization) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(organization=organization)
        .select_related("package", "coupon", "credit_lot", "bonus_lot", "redeemed_by")
        .order_by("-redeemed_at", "-pk")
    )


def redemption_list_for_member(*, organization: Organization, member: Member) -> QuerySet[Redemption]:
    return redemption_list(organization=organization).filter(member=member)


def redemption_get(*, organization: Organization, redemption_id, member: Member | None = None) -> Redemption:
    """One redemption; with `member`, only that member's (a member never sees another's: 404)."""
    queryset = redemption_list(organization=organization)
    if member is not None:
        queryset = queryset.filter(member=member)
    try:
        return queryset.get(pk=redemption_id)
    except (Redemption.DoesNotExist, *BAD_ID):
        raise RedemptionNotFound() from None


def member_has_purchase(*, member: Member, exclude_pk=None) -> bool:
    """Whether the member has an earlier non-cancelled redemption (first_purchase_only)."""
    queryset = Redemption.objects.filter(member=member).exclude(status=Redemption.Status.CANCELLED)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.exists()
