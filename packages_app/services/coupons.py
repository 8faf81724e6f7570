"""Coupon checks and counters (DOMAIN.md 4).

The checks read and never write; the counters run inside a sale's (or a cancel's) transaction,
with the member locked first and the coupon row locked here (lock order: Member -> Redemption ->
Session -> Booking -> Coupon -> CreditLot). Counters move with conditional F() updates, and the
database's check constraints (times_redeemed <= max_redemptions, CouponMemberUse.uses <= limit)
refuse anything that slips past.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from members_app.models import Member, Organization
from packages_app import errors
from packages_app.models import Coupon, CouponMemberUse, Package
from packages_app.selectors import member_has_purchase
from spinning import clock, locking
from spinning.errors import DomainError


# --- checks (read, no write) ----------------------------------------------------------------------
def coupon_applies_to(coupon: Coupon, package: Package) -> bool:
    if coupon.coupon_type == Coupon.Type.PACKAGE:
        return coupon.package_id == package.pk
    ids = {p.pk for p in coupon.applicable_packages.all()}
    return not ids or package.pk in ids


def coupon_check(coupon: Coupon, *, package: Package | None, member: Member | None, now: datetime) -> None:
    """The coupon refusals of API.md, in the order a rider would want to hear them."""
    if not coupon.is_active:
        raise errors.CouponInactive()
    if coupon.valid_from is not None and coupon.valid_from > now:
        raise errors.CouponNotYetValid()
    if coupon.valid_until is not None and coupon.valid_until <= now:
        raise errors.CouponExpired()
    if package is not None and not coupon_applies_to(coupon, package):
        raise errors.CouponNotApplicable()
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise errors.CouponExhausted()
    if member is None:
        return
    limit = coupon.max_redemptions_per_member
    if limit is not None:
        uses = CouponMemberUse.objects.filter(coupon=coupon, member=member).values_list("uses", flat=True).first()
        if (uses or 0) >= limit:
            raise errors.CouponMemberLimit()
    if coupon.first_purchase_only and member_has_purchase(member=member):
        raise errors.CouponFirstPurchaseOnly()


def coupon_usable(coupon: Coupon, *, member: Member | None, now: datetime | None = None) -> bool:
    """Whether a member could use this coupon now on some package (GET /api/coupons/code/{code})."""
    try:
        coupon_check(coupon, package=None, member=member, now=now or clock.now())
    except DomainError:
        return False
    return True


# --- counters (caller's transaction, member locked; the coupon is locked here) -------------------
def coupon_lock(organization: Organization, coupon_id) -> Coupon:
    locking.require_transaction("coupon_lock")
    coupon = locking.lock_one(
        Coupon.objects.filter(organization=organization).prefetch_related("applicable_packages"), pk=coupon_id
    )
    locking.pause("coupon_locked")
    return coupon


def coupon_take(coupon: Coupon, member: Member) -> None:
    """Count one use, total and for the member, with conditional updates: a use beyond a limit
    updates nothing and is refused, even if the checks were raced. The coupon is locked."""
    locking.require_transaction("coupon_take")
    total = Coupon.objects.filter(pk=coupon.pk)
    if coupon.max_redemptions is not None:
        total = total.filter(times_redeemed__lt=F("max_redemptions"))
    if total.update(times_redeemed=F("times_redeemed") + 1) != 1:
        raise errors.CouponExhausted()
    coupon.times_redeemed += 1
    limit = coupon.max_redemptions_per_member
    use, _ = CouponMemberUse.objects.get_or_create(coupon=coupon, member=member, defaults={"limit": limit})
    mine = CouponMemberUse.objects.filter(pk=use.pk)
    if limit is not None:
        mine = mine.filter(uses__lt=limit)
    if mine.update(uses=F("uses") + 1, limit=limit) != 1:
        raise errors.CouponMemberLimit()


def coupon_give_back(organization: Organization, coupon_id, member: Member) -> None:
    """A CANCELLED redemption (rejected, refunded, unpaid) gives its use back, total and for the
    member (DOMAIN.md 4, 5). Runs in the caller's transaction with the member locked."""
    locking.require_transaction("coupon_give_back")
    coupon_lock(organization, coupon_id)
    Coupon.objects.filter(pk=coupon_id, times_redeemed__gt=0).update(times_redeemed=F("times_redeemed") - 1)
    CouponMemberUse.objects.filter(coupon_id=coupon_id, member=member, uses__gt=0).update(uses=F("uses") - 1)
