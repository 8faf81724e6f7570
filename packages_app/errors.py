"""Refusals of the catalog, coupons and redemptions (API.md "Packages", "Coupons").

Every refusal has its own code; the one exception handler renders them.
"""

from django.utils.translation import gettext_lazy

from spinning.errors import Conflict, NotFound


class PackageNotFound(NotFound):
    code = "package_not_found"
    detail = gettext_lazy("No such package in this studio.")


class PackageUnavailable(Conflict):
    code = "package_unavailable"
    detail = gettext_lazy("This package is not on sale (inactive or outside its sale window).")


class PackageInUse(Conflict):
    code = "package_in_use"
    detail = gettext_lazy(
        "This package has been redeemed or is named by a coupon; deactivate it instead of deleting it."
    )


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    detail = gettext_lazy("No coupon has that code.")


class CouponInUse(Conflict):
    code = "coupon_in_use"
    detail = gettext_lazy("This coupon has been used; deactivate it instead of deleting it.")


class CouponInactive(Conflict):
    code = "coupon_inactive"
    detail = gettext_lazy("This coupon is not active.")


class CouponNotYetValid(Conflict):
    code = "coupon_not_yet_valid"
    detail = gettext_lazy("This coupon is not valid yet.")


class CouponExpired(Conflict):
    code = "coupon_expired"
    detail = gettext_lazy("This coupon has expired.")


class CouponNotApplicable(Conflict):
    code = "coupon_not_applicable"
    detail = gettext_lazy("This coupon does not apply to this package.")


class CouponExhausted(Conflict):
    code = "coupon_exhausted"
    detail = gettext_lazy("This coupon has no uses left.")


class CouponMemberLimit(Conflict):
    code = "coupon_member_limit"
    detail = gettext_lazy("This member has already used this coupon as often as allowed.")


class CouponFirstPurchaseOnly(Conflict):
    code = "coupon_first_purchase_only"
    detail = gettext_lazy("This coupon is only for a member's first purchase.")


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"
    detail = gettext_lazy("No such redemption.")
