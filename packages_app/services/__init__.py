"""Writes of packages_app (services write, selectors read).

- catalog: packages and coupons (create, update, delete, validation);
- coupons: coupon checks and counters;
- settlement: where a redemption belongs now, the member's cached flags;
- grants: what an ACTIVE redemption gives;
- redemptions: the sale lifecycle (quote, redeem, confirm, reject, cancel);
- expiry: the expire_packages job.

Callers import from here; `__all__` names the public surface.
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
from packages_app.services.coupons import coupon_applies_to, coupon_usable
from packages_app.services.expiry import ExpiryReport, packages_expire
from packages_app.services.redemptions import (
    CancelEffects,
    CancelledBooking,
    RedemptionCancellation,
    package_quote,
    redemption_cancel,
    redemption_cancel_bookings_release_set,
    redemption_confirm,
    redemption_create,
    redemption_expire_unpaid,
    redemption_reject,
)
from packages_app.services.settlement import (
    Settlement,
    member_flags_compute,
    member_flags_refresh,
    member_redemptions_settle,
    redemption_target_status,
)

__all__ = [
    "CancelEffects",
    "CancelledBooking",
    "RedemptionCancellation",
    "redemption_expire_unpaid",
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
