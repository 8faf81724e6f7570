"""Writes of packages_app (services write, selectors read).

- catalog: packages and coupons (create, update, delete, validation);
- redemptions: quote, sale, confirm, reject, cancel, grants, member flags, settling;
- expiry: the expire_packages job.
"""

from packages_app.services.catalog import (
    coupon_create,
    coupon_delete,
    coupon_errors,
    coupon_update,
    package_create,
    package_delete,
    package_errors,
    package_update,
)
from packages_app.services.expiry import ExpiryReport, packages_expire
from packages_app.services.redemptions import (
    Settlement,
    coupon_applies_to,
    coupon_usable,
    member_flags_compute,
    member_flags_refresh,
    member_redemptions_settle,
    package_quote,
    redemption_cancel,
    redemption_cancel_bookings_release_set,
    redemption_confirm,
    redemption_create,
    redemption_reject,
    redemption_target_status,
)

__all__ = [
    "ExpiryReport",
    "Settlement",
    "coupon_applies_to",
    "coupon_create",
    "coupon_delete",
    "coupon_errors",
    "coupon_update",
    "coupon_usable",
    "member_flags_compute",
    "member_flags_refresh",
    "member_redemptions_settle",
    "package_create",
    "package_delete",
    "package_errors",
    "package_quote",
    "package_update",
    "packages_expire",
    "redemption_cancel",
    "redemption_cancel_bookings_release_set",
    "redemption_confirm",
    "redemption_create",
    "redemption_reject",
    "redemption_target_status",
]
