"""Writes for the catalog: packages and coupons (DOMAIN.md 3, 4; API.md "Packages", "Coupons").

Validation lives here (not in serializers or admin forms): `package_errors` / `coupon_errors`
return {field: [message]} and the admin forms call the same functions.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy

from members_app.audit import changes_between, log_action, snapshot
from members_app.models import Organization, User
from packages_app.errors import CouponInUse, PackageInUse, PackageNotFound
from packages_app.models import BENEFITS, Coupon, Package, Redemption
from packages_app.selectors import BAD_ID, coupon_by_id
from spinning import locking
from spinning.errors import Invalid, NotFound

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
CODE_HELP = "Letters, digits, '-' and '_' (up to 64), starting with a letter or digit."

PACKAGE_FIELDS = (
    "code",
    "name",
    "name_tr",
    "description",
    "description_tr",
    "type",
    "price",
    "credits",
    "all_access_days",
    "daily_ride_limit",
    "credit_validity_days",
    "friend_pass_days",
    "benefits",
    "valid_from",
    "valid_until",
    "is_active",
    "display_order",
)
COUPON_FIELDS = (
    "code",
    "name",
    "name_tr",
    "description",
    "description_tr",
    "coupon_type",
    "discount_type",
    "discount_value",
    "package",
    "custom_price",
    "custom_credits",
    "bonus_credits",
    "first_purchase_only",
    "valid_from",
    "valid_until",
    "max_redemptions",
    "max_redemptions_per_member",
    "is_active",
)


def _add(errors: dict, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _window_errors(errors: dict, valid_from, valid_until) -> None:
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        _add(errors, "valid_until", "Must be after valid_from.")


def _code_errors(errors: dict, code: str | None) -> None:
    if not code or not CODE_PATTERN.match(code):
        _add(errors, "code", CODE_HELP)


# --- packages -----------------------------------------------------------------------------------
def package_errors(package: Package) -> dict[str, list[str]]:
    """Every rule a package must satisfy (API.md "Packages" validation), as {field: [messages]}."""
    errors: dict[str, list[str]] = {}
    _code_errors(errors, package.code)
    if not (package.name or "").strip():
        _add(errors, "name", "Required.")
    if package.type not in Package.Type.values:
        _add(errors, "type", f"One of {', '.join(Package.Type.values)}.")
    if package.price is None or Decimal(package.price) < 0:
        _add(errors, "price", "Must be 0 or more.")
    if package.type == Package.Type.ALL_ACCESS:
        if package.credits is not None:
            _add(errors, "credits", "An ALL_ACCESS package has no credits.")
        if not package.all_access_days or package.all_access_days <= 0:
            _add(errors, "all_access_days", "Required for ALL_ACCESS: a number of days above 0.")
    else:
        if not package.credits or package.credits <= 0:
            _add(errors, "credits", "Required: a whole number above 0.")
        elif package.type == Package.Type.SINGLE_RIDE and package.credits != 1:
            _add(errors, "credits", "A SINGLE_RIDE package has exactly 1 credit.")
        if package.all_access_days is not None:
            _add(errors, "all_access_days", "Only ALL_ACCESS packages have All Access days.")
    if package.daily_ride_limit is None or package.daily_ride_limit < 1:
        _add(errors, "daily_ride_limit", "At least 1.")
    if package.credit_validity_days is not None and package.credit_validity_days < 1:
        _add(errors, "credit_validity_days", "At least 1 day, or empty for credits that never expire.")
    if package.friend_pass_days is None or package.friend_pass_days < 1:
        _add(errors, "friend_pass_days", "At least 1.")
    benefits = package.benefits
    if not isinstance(benefits, list) or any(b not in BENEFITS for b in benefits):
        _add(errors, "benefits", f"A list of: {', '.join(BENEFITS)}.")
    elif len(set(benefits)) != len(benefits):
        _add(errors, "benefits", "Each benefit at most once.")
    _window_errors(errors, package.valid_from, package.valid_until)
    return errors


def _code_taken(model, organization: Organization, code: str, exclude_pk=None) -> bool:
    queryset = model.objects.filter(organization=organization).annotate(code_lower=Lower("code"))
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.filter(code_lower=(code or "").lower()).exists()


def _package_save(package: Package, organization: Organization) -> Package:
    errors = package_errors(package)
    exclude_pk = None if package._state.adding else package.pk
    if "code" not in errors and _code_taken(Package, organization, package.code, exclude_pk):
        _add(errors, "code", "A package with this code already exists in this studio.")
    if errors:
        raise Invalid(errors)
    try:
        with transaction.atomic():
            package.save()
    except IntegrityError:
        # A concurrent create took the code between our check and our insert.
        raise Invalid({"code": gettext_lazy("A package with this code already exists in this studio.")}) from None
    return package


def package_create(*, organization: Organization, data: dict, performed_by: User | None = None) -> Package:
    """ADMIN adds a package to the catalog."""
    with transaction.atomic(durable=True):
        package = Package(organization=organization)
        for field in PACKAGE_FIELDS:
            if field in data:
                setattr(package, field, data[field])
        package = _package_save(package, organization)
        log_action(
            organization=organization,
            actor=performed_by,
            action="package.create",
            obj=package,
            changes=changes_between({}, snapshot(package, PACKAGE_FIELDS)),
        )
        return package


def package_update(*, organization: Organization, package_id, data: dict, performed_by: User | None = None) -> Package:
    """ADMIN changes a package. Redemptions keep what they were sold with (copied at sale)."""
    with transaction.atomic(durable=True):
        try:
            package = locking.lock_one(Package.objects.filter(organization=organization), pk=package_id)
        except (Package.DoesNotExist, *BAD_ID):
            raise PackageNotFound() from None
        before = snapshot(package, PACKAGE_FIELDS)
        for field in PACKAGE_FIELDS:
            if field in data:
                setattr(package, field, data[field])
        package = _package_save(package, organization)
        changes = changes_between(before, snapshot(package, PACKAGE_FIELDS))
        if changes:
            log_action(
                organization=organization, actor=performed_by, action="package.update", obj=package, changes=changes
            )
        return package


def package_delete(*, organization: Organization, package_id, performed_by: User | None = None) -> None:
    """A package that was ever redeemed, or that a coupon names, is never deleted (package_in_use):
    history keeps pointing at it, and removing it from a coupon's list would widen the coupon."""
    with transaction.atomic(durable=True):
        try:
            package = locking.lock_one(Package.objects.filter(organization=organization), pk=package_id)
        except (Package.DoesNotExist, *BAD_ID):
            raise PackageNotFound() from None
        named_by_coupon = Coupon.objects.filter(organization=organization, package=package).exists() or (
            Coupon.applicable_packages.through.objects.filter(package_id=package.pk).exists()
        )
        if named_by_coupon or Redemption.objects.filter(package=package).exists():
            raise PackageInUse()
        log_action(
            organization=organization,
            actor=performed_by,
            action="package.delete",
            obj=package,
            changes=changes_between(snapshot(package, PACKAGE_FIELDS), {}),
        )
        try:
            with transaction.atomic():
                package.delete()
        except IntegrityError:
            raise PackageInUse() from None


# --- coupons ------------------------------------------------------------------------------------
def coupon_errors(coupon: Coupon, applicable_packages: list[Package]) -> dict[str, list[str]]:
    """Every rule a coupon must satisfy (DOMAIN.md 4), as {field: [messages]}."""
    errors: dict[str, list[str]] = {}
    _code_errors(errors, coupon.code)
    if not (coupon.name or "").strip():
        _add(errors, "name", "Required.")
    kind = coupon.coupon_type
    if kind not in Coupon.Type.values:
        _add(errors, "coupon_type", f"One of {', '.join(Coupon.Type.values)}.")

    def must_be_empty(field: str, api_field: str | None = None) -> None:
        if getattr(coupon, field) not in (None, ""):
            _add(errors, api_field or field, f"Not used by a {kind} coupon; leave it empty.")

    if kind == Coupon.Type.DISCOUNT:
        value = coupon.discount_value
        if coupon.discount_type not in Coupon.DiscountType.values:
            _add(errors, "discount_type", f"Required: one of {', '.join(Coupon.DiscountType.values)}.")
        if value is None:
            _add(errors, "discount_value", "Required.")
        elif coupon.discount_type == Coupon.DiscountType.PERCENTAGE and not (0 < Decimal(value) <= 100):
            _add(errors, "discount_value", "A percentage above 0 and at most 100.")
        elif coupon.discount_type == Coupon.DiscountType.FIXED_AMOUNT and not Decimal(value) > 0:
            _add(errors, "discount_value", "An amount above 0.")
        for field in ("custom_price", "custom_credits", "bonus_credits"):
            must_be_empty(field)
        if coupon.package_id is not None:
            _add(errors, "package_id", "Only PACKAGE coupons name one package; use applicable_package_ids.")
    elif kind == Coupon.Type.PACKAGE:
        if coupon.package_id is None:
            _add(errors, "package_id", "Required: the package of the deal.")
        if coupon.custom_price is None and not coupon.custom_credits:
            _add(errors, "custom_price", "Give custom_price and/or custom_credits.")
        if coupon.custom_price is not None and Decimal(coupon.custom_price) < 0:
            _add(errors, "custom_price", "Must be 0 or more.")
        if coupon.custom_credits is not None:
            if coupon.custom_credits <= 0:
                _add(errors, "custom_credits", "A whole number above 0.")
            elif coupon.package_id is not None and coupon.package.type == Package.Type.ALL_ACCESS:
                _add(errors, "custom_credits", "An ALL_ACCESS package has no credits to replace.")
        for field in ("discount_type", "discount_value", "bonus_credits"):
            must_be_empty(field)
        if applicable_packages:
            _add(errors, "applicable_package_ids", "A PACKAGE coupon applies to its package_id only.")
    elif kind == Coupon.Type.CREDIT_BONUS:
        if not coupon.bonus_credits or coupon.bonus_credits <= 0:
            _add(errors, "bonus_credits", "Required: a whole number above 0.")
        for field in ("discount_type", "discount_value", "custom_price", "custom_credits"):
            must_be_empty(field)
        if coupon.package_id is not None:
            _add(errors, "package_id", "Only PACKAGE coupons name one package; use applicable_package_ids.")
    if coupon.max_redemptions is not None and coupon.max_redemptions < 1:
        _add(errors, "max_redemptions", "At least 1, or empty for unlimited.")
    elif coupon.max_redemptions is not None and coupon.max_redemptions < coupon.times_redeemed:
        _add(errors, "max_redemptions", f"Already used {coupon.times_redeemed} times; cannot be lower.")
    if coupon.max_redemptions_per_member is not None and coupon.max_redemptions_per_member < 1:
        _add(errors, "max_redemptions_per_member", "At least 1, or empty for unlimited.")
    _window_errors(errors, coupon.valid_from, coupon.valid_until)
    return errors


def _resolve_packages(organization: Organization, data: dict, errors: dict) -> tuple[Package | None, list | None]:
    """package_id and applicable_package_ids -> rows of this studio (400 for anything else)."""
    package = applicable = None
    if "package_id" in data:
        if data["package_id"] is None:
            package = None
        else:
            package = Package.objects.filter(organization=organization, pk=data["package_id"]).first()
            if package is None:
                _add(errors, "package_id", "No such package in this studio.")
    if "applicable_package_ids" in data:
        ids = list(dict.fromkeys(data["applicable_package_ids"] or []))
        applicable = list(Package.objects.filter(organization=organization, pk__in=ids))
        if len(applicable) != len(ids):
            _add(errors, "applicable_package_ids", "Every id must be a package of this studio.")
    return package, applicable


def _coupon_save(coupon: Coupon, organization: Organization, data: dict) -> Coupon:
    errors: dict[str, list[str]] = {}
    package, applicable = _resolve_packages(organization, data, errors)
    for field in COUPON_FIELDS:
        if field in data and field != "package":
            setattr(coupon, field, data[field])
    if "package_id" in data and "package_id" not in errors:
        coupon.package = package
    if applicable is None:
        applicable = list(coupon.applicable_packages.all()) if coupon.pk and not coupon._state.adding else []
    if not errors:
        errors = coupon_errors(coupon, applicable)
    if "code" not in errors and _code_taken(
        Coupon, organization, coupon.code, None if coupon._state.adding else coupon.pk
    ):
        _add(errors, "code", "A coupon with this code already exists in this studio.")
    if errors:
        raise Invalid(errors)
    try:
        with transaction.atomic():
            coupon.save()
    except IntegrityError:
        raise Invalid({"code": gettext_lazy("A coupon with this code already exists in this studio.")}) from None
    if "applicable_package_ids" in data:
        coupon.applicable_packages.set(applicable)
    return coupon


def _coupon_state(coupon: Coupon) -> dict:
    state = snapshot(coupon, COUPON_FIELDS)
    state["applicable_packages"] = sorted(str(pk) for pk in coupon.applicable_packages.values_list("pk", flat=True))
    return state


def coupon_create(*, organization: Organization, data: dict, performed_by: User | None = None) -> Coupon:
    """ADMIN creates a coupon; its code is unique in the studio, case-insensitively."""
    with transaction.atomic(durable=True):
        coupon = _coupon_save(Coupon(organization=organization), organization, data)
        log_action(
            organization=organization,
            actor=performed_by,
            action="coupon.create",
            obj=coupon,
            changes=changes_between({}, _coupon_state(coupon)),
        )
        return coupon


def coupon_update(*, organization: Organization, coupon_id, data: dict, performed_by: User | None = None) -> Coupon:
    """ADMIN changes a coupon. The row is locked so a sale cannot slip between the check of
    max_redemptions against times_redeemed and the write."""
    with transaction.atomic(durable=True):
        try:
            coupon = locking.lock_one(Coupon.objects.filter(organization=organization), pk=coupon_id)
        except (Coupon.DoesNotExist, *BAD_ID):
            raise NotFound(gettext_lazy("No such coupon.")) from None
        before = _coupon_state(coupon)
        coupon = _coupon_save(coupon, organization, data)
        changes = changes_between(before, _coupon_state(coupon))
        if changes:
            log_action(
                organization=organization, actor=performed_by, action="coupon.update", obj=coupon, changes=changes
            )
        return coupon


def coupon_delete(*, organization: Organization, coupon_id, performed_by: User | None = None) -> None:
    """A coupon that any redemption used (even a cancelled one) is never deleted (coupon_in_use)."""
    with transaction.atomic(durable=True):
        coupon = coupon_by_id(organization=organization, coupon_id=coupon_id)
        coupon = locking.lock_one(Coupon.objects.filter(organization=organization), pk=coupon.pk)
        if coupon.times_redeemed or Redemption.objects.filter(coupon=coupon).exists():
            raise CouponInUse()
        log_action(
            organization=organization,
            actor=performed_by,
            action="coupon.delete",
            obj=coupon,
            changes=changes_between(_coupon_state(coupon), {}),
        )
        try:
            with transaction.atomic():
                coupon.delete()
        except (IntegrityError, ProtectedError):
            raise CouponInUse() from None
