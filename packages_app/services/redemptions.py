"""Quote, sale and lifecycle of a redemption (DOMAIN.md 4, 5, 12).

Lock order (docs/ARCHITECTURE.md): Member -> Redemption -> Coupon -> CreditLot, rows of one kind
in primary-key order. Every top-level service here opens one durable transaction, locks the
member first, re-reads what it decides on under the lock, then writes. Coupon counters move
with conditional F() updates and the database's check constraints (times_redeemed <=
max_redemptions, CouponMemberUse.uses <= limit) refuse anything that slips past.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import F, Max

from members_app.errors import MemberInactive
from members_app.idempotency import IdempotencyRequest, idempotency_claim, idempotency_complete
from members_app.models import CreditLot, CreditTransaction, Member, Organization, User
from members_app.services import credits_expire_overdue, credits_grant, credits_revoke_lot, member_lock
from packages_app import errors
from packages_app.models import BENEFIT_ELITE_BADGE, BENEFIT_FRIEND_PASS, Coupon, CouponMemberUse, Package, Redemption
from packages_app.pricing import Quote, quote_price
from packages_app.selectors import (
    BAD_ID,
    coupon_by_code,
    member_has_purchase,
    package_get,
    package_is_on_sale,
)
from spinning import clock, locking
from spinning.errors import DomainError, Invalid, InvalidState

Status = Redemption.Status
T = CreditTransaction.Type
DEFAULT_FRIEND_PASS_DAYS = 30


# --- checks (read, no write) ----------------------------------------------------------------------
def _check_member(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()


def _check_package(package: Package, now: datetime) -> None:
    if not package_is_on_sale(package, now):
        raise errors.PackageUnavailable()


def coupon_applies_to(coupon: Coupon, package: Package) -> bool:
    if coupon.coupon_type == Coupon.Type.PACKAGE:
        return coupon.package_id == package.pk
    ids = {p.pk for p in coupon.applicable_packages.all()}
    return not ids or package.pk in ids


def _check_coupon(coupon: Coupon, *, package: Package | None, member: Member | None, now: datetime) -> None:
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
        _check_coupon(coupon, package=None, member=member, now=now or clock.now())
    except DomainError:
        return False
    return True


def package_quote(
    *,
    organization: Organization,
    package_id,
    coupon_code: str | None = None,
    member: Member | None = None,
    now: datetime | None = None,
) -> Quote:
    """Price preview: the same checks and the same price as a sale, no side effect.

    Member-specific checks (status, per-member limit, first purchase) run when a member is known.
    """
    now = now or clock.now()
    package = package_get(organization=organization, package_id=package_id)
    if member is not None:
        _check_member(member)
    _check_package(package, now)
    coupon = None
    if coupon_code:
        coupon = coupon_by_code(organization=organization, code=coupon_code)
        _check_coupon(coupon, package=package, member=member, now=now)
    return quote_price(package=package, coupon=coupon, currency=organization.currency)


# --- coupon counters (caller holds the member lock, then locks the coupon) -----------------------
def _coupon_lock(organization: Organization, coupon_id) -> Coupon:
    coupon = locking.lock_one(
        Coupon.objects.filter(organization=organization).prefetch_related("applicable_packages"), pk=coupon_id
    )
    locking.pause("coupon_locked")
    return coupon


def _coupon_take(coupon: Coupon, member: Member) -> None:
    """Count one use, total and for the member, with conditional updates: a use beyond a limit
    updates nothing and is refused, even if the checks above were raced."""
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


def _coupon_give_back(organization: Organization, coupon_id, member: Member) -> None:
    """A CANCELLED redemption gives its use back (DOMAIN.md 4)."""
    _coupon_lock(organization, coupon_id)
    Coupon.objects.filter(pk=coupon_id, times_redeemed__gt=0).update(times_redeemed=F("times_redeemed") - 1)
    CouponMemberUse.objects.filter(coupon_id=coupon_id, member=member, uses__gt=0).update(uses=F("uses") - 1)


# --- member flags and settling (caller holds the member lock) ------------------------------------
def member_flags_compute(redemptions, now: datetime) -> dict:
    """The cached flags of DOMAIN.md 1 from the member's redemptions (only ACTIVE ones count)."""
    active = [r for r in redemptions if r.status == Status.ACTIVE]
    all_access_ends = [r.all_access_expires_at for r in active if r.all_access_active_at(now)]
    return {
        "is_elite_member": any(r.has_benefit(BENEFIT_ELITE_BADGE) for r in active),
        "has_all_access": bool(all_access_ends),
        "all_access_expires_at": max(all_access_ends) if all_access_ends else None,
        "friend_passes_available": sum(1 for r in active if r.friend_pass_available_at(now)),
    }


def member_flags_refresh(*, member: Member, now: datetime | None = None) -> dict:
    """Recompute is_elite_member, has_all_access, all_access_expires_at, friend_passes_available.

    A building block: call it with the member locked, after any change to the member's
    redemptions (sale, confirm, cancel, expiry, a friend pass used or given back). Returns the
    flags that changed ({} when none).
    """
    now = now or clock.now()
    flags = member_flags_compute(Redemption.objects.filter(member=member, status=Status.ACTIVE), now)
    changed = {name: value for name, value in flags.items() if getattr(member, name) != value}
    if changed:
        Member.objects.filter(pk=member.pk).update(**changed)
        for name, value in changed.items():
            setattr(member, name, value)
    return changed


def redemption_target_status(redemption: Redemption, now: datetime) -> str:
    """Where an ACTIVE or USED redemption belongs now (DOMAIN.md 5).

    ACTIVE while anything is left on it: unexpired credits, an All Access not yet ended, an
    unused friend pass not yet lapsed. Once nothing is left: EXPIRED when time took something
    (credits expired, All Access ended, friend pass lapsed unused), else USED (all consumed).
    A USED redemption whose credits come back (a booking refund) is ACTIVE again.
    """
    if redemption.status not in (Status.ACTIVE, Status.USED):
        return redemption.status
    lots = redemption.lots()
    all_access_left = redemption.all_access_expires_at is not None and redemption.all_access_expires_at > now
    friend_pass_left = bool(
        redemption.friend_pass_granted
        and redemption.friend_pass_used_at is None
        and redemption.friend_pass_expires_at is not None
        and redemption.friend_pass_expires_at > now
    )
    if redemption.credits_remaining_at(now) > 0 or all_access_left or friend_pass_left:
        return Status.ACTIVE
    lost_to_time = (
        any(
            lot.expired_at is not None or (lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now)
            for lot in lots
        )
        or redemption.all_access_expires_at is not None
        or (redemption.friend_pass_granted and redemption.friend_pass_used_at is None)
    )
    return Status.EXPIRED if lost_to_time else Status.USED


@dataclass
class Settlement:
    """What settling one member changed (for the expiry job's report)."""

    lots_expired: int = 0
    credits_expired: int = 0
    transitions: list[tuple[str, str, str]] = field(default_factory=list)  # (redemption id, from, to)
    flags_changed: dict = field(default_factory=dict)
    friend_passes_lapsed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.lots_expired or self.transitions or self.flags_changed)


def member_redemptions_settle(*, member: Member, now: datetime | None = None) -> Settlement:
    """Bring one member up to date: overdue lots expire (EXPIRATION rows), redemptions move to
    EXPIRED / USED (or back to ACTIVE), flags are recomputed. A building block (member locked);
    idempotent: a second call at the same `now` changes nothing."""
    now = now or clock.now()
    result = Settlement()
    before_passes = member.friend_passes_available
    for row in credits_expire_overdue(member=member, now=now):
        result.lots_expired += 1
        result.credits_expired += -row.amount
    redemptions = Redemption.objects.filter(member=member, status__in=[Status.ACTIVE, Status.USED]).select_related(
        "credit_lot", "bonus_lot"
    )
    for redemption in redemptions.order_by("pk"):
        target = redemption_target_status(redemption, now)
        if target != redemption.status:
            Redemption.objects.filter(pk=redemption.pk, status=redemption.status).update(status=target)
            result.transitions.append((str(redemption.pk), redemption.status, target))
    result.flags_changed = member_flags_refresh(member=member, now=now)
    result.friend_passes_lapsed = max(before_passes - member.friend_passes_available, 0)
    locking.pause("member_settled")
    return result


# --- granting ----------------------------------------------------------------------------------------
def _all_access_start(*, member: Member, redemption: Redemption, today: date, now: datetime) -> date:
    """Activation day, or the later day staff chose; a member who already holds an All Access gets
    the new one from the day after the last one they hold ends (stacking)."""
    start = max(redemption.requested_starts_on or today, today)
    latest_end = (
        Redemption.objects.filter(
            member=member, status=Status.ACTIVE, all_access_ends_on__isnull=False, all_access_expires_at__gt=now
        )
        .exclude(pk=redemption.pk)
        .aggregate(latest=Max("all_access_ends_on"))["latest"]
    )
    if latest_end is not None and latest_end >= start:
        start = latest_end + timedelta(days=1)
    locking.pause("all_access_start_chosen")
    return start


def _grant(*, redemption: Redemption, member: Member, now: datetime, performed_by: User | None) -> None:
    """What an ACTIVE redemption gives (DOMAIN.md 5): a lot of the package's credits, a separate
    lot for a coupon's bonus (same expiry), All Access dates, a friend pass; then the flags."""
    tz = member.organization.timezone
    today = clock.local_date(now, tz)
    expires_at = clock.span_end(today, redemption.credit_validity_days, tz) if redemption.credit_validity_days else None
    package = redemption.package
    update = ["credits_expire_at"]
    redemption.credits_expire_at = expires_at if (redemption.credits_added or redemption.bonus_credits) else None
    if redemption.credits_added:
        redemption.credit_lot, _ = credits_grant(
            member=member,
            amount=redemption.credits_added,
            source=CreditLot.Source.PACKAGE,
            type=T.PURCHASE,
            expires_at=expires_at,
            now=now,
            redemption_id=redemption.pk,
            performed_by=performed_by,
            description=f"{package.code}: {package.name}",
        )
        update.append("credit_lot")
    if redemption.bonus_credits:
        redemption.bonus_lot, _ = credits_grant(
            member=member,
            amount=redemption.bonus_credits,
            source=CreditLot.Source.BONUS,
            type=T.BONUS,
            expires_at=expires_at,
            now=now,
            redemption_id=redemption.pk,
            performed_by=performed_by,
            description=f"Bonus from coupon {redemption.coupon.code if redemption.coupon else ''}".strip(),
        )
        update.append("bonus_lot")
    if redemption.all_access_days:
        start = _all_access_start(member=member, redemption=redemption, today=today, now=now)
        redemption.all_access_starts_on = start
        redemption.all_access_ends_on = start + timedelta(days=redemption.all_access_days - 1)
        redemption.all_access_expires_at = clock.span_end(start, redemption.all_access_days, tz)
        update += ["all_access_starts_on", "all_access_ends_on", "all_access_expires_at"]
    if redemption.has_benefit(BENEFIT_FRIEND_PASS):
        redemption.friend_pass_granted = True
        redemption.friend_pass_expires_at = clock.span_end(
            today, redemption.friend_pass_days or DEFAULT_FRIEND_PASS_DAYS, tz
        )
        update += ["friend_pass_granted", "friend_pass_expires_at"]
    redemption.save(update_fields=update)
    member_flags_refresh(member=member, now=now)


# --- top-level services -----------------------------------------------------------------------------
def _validate_starts_on(starts_on: date | None, package: Package, today: date, tz_name: str) -> None:
    if starts_on is None:
        return
    if package.type != Package.Type.ALL_ACCESS:
        raise Invalid({"starts_on": "Only an ALL_ACCESS package has a start day."})
    if starts_on < today:
        raise Invalid({"starts_on": "Cannot start before today (studio time)."})
    try:  # the pass must end on the calendar (9999-12-31 + 30 days does not)
        clock.span_end(starts_on, package.all_access_days or 1, tz_name).astimezone(UTC)
    except OverflowError:
        raise Invalid({"starts_on": "The pass would end past the supported calendar."}) from None


def redemption_create(
    *,
    organization: Organization,
    package_id,
    member_id,
    by_staff: bool,
    performed_by: User | None,
    coupon_code: str | None = None,
    payment_method: str = "",
    payment_reference: str = "",
    notes: str = "",
    starts_on: date | None = None,
    idem: IdempotencyRequest | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Sell a package (DOMAIN.md 5). Staff recording a sale -> ACTIVE, granted at once; a member
    asking -> PENDING, nothing granted until staff confirm. Either way the coupon's use counts
    from now on (total and per member), checked and counted under the coupon's row lock.

    With an Idempotency-Key, a repeat returns the first redemption (IdempotentReplay) and a
    different body under the same key is refused (idempotency_key_reused).
    """
    now = now or clock.now()
    redemption_id = uuid.uuid4()
    with transaction.atomic(durable=True):
        record = idempotency_claim(organization=organization, idem=idem, resource_id=redemption_id)
        member = member_lock(organization=organization, member_id=member_id)
        _check_member(member)
        package = package_get(organization=organization, package_id=package_id)
        _check_package(package, now)
        _validate_starts_on(starts_on, package, clock.local_date(now, organization.timezone), organization.timezone)
        coupon = None
        if coupon_code:
            coupon = _coupon_lock(organization, coupon_by_code(organization=organization, code=coupon_code).pk)
            _check_coupon(coupon, package=package, member=member, now=now)
            locking.pause("coupon_checked")
            _coupon_take(coupon, member)
        else:
            locking.pause("sale_checked")
        quote = quote_price(package=package, coupon=coupon, currency=organization.currency)
        redemption = Redemption.objects.create(
            id=redemption_id,
            organization=organization,
            member=member,
            package=package,
            coupon=coupon,
            redemption_type=quote.redemption_type,
            status=Status.ACTIVE if by_staff else Status.PENDING,
            original_price=quote.original_price,
            discount_amount=quote.discount_amount,
            final_price=quote.final_price,
            currency=quote.currency,
            credits_added=quote.credits,
            bonus_credits=quote.bonus_credits,
            credit_validity_days=package.credit_validity_days,
            benefits=list(package.benefits or []),
            all_access_days=package.all_access_days,
            daily_ride_limit=package.daily_ride_limit,
            friend_pass_days=package.friend_pass_days if BENEFIT_FRIEND_PASS in (package.benefits or []) else None,
            requested_starts_on=starts_on,
            payment_method=payment_method or "",
            payment_reference=payment_reference or "",
            notes=notes or "",
            redeemed_at=now,
            redeemed_by=performed_by,
            confirmed_at=now if by_staff else None,
            confirmed_by=performed_by if by_staff else None,
        )
        if by_staff:
            _grant(redemption=redemption, member=member, now=now, performed_by=performed_by)
        idempotency_complete(record, resource_id=redemption.pk, status=201)
    return redemption


def _lock_member_and_redemption(organization: Organization, redemption_id) -> tuple[Member, Redemption]:
    """Member first, then the redemption (the lock order); the member id never changes."""
    try:
        member_id = (
            Redemption.objects.filter(organization=organization, pk=redemption_id)
            .values_list("member_id", flat=True)
            .first()
        )
    except BAD_ID:
        member_id = None
    if member_id is None:
        raise errors.RedemptionNotFound()
    member = member_lock(organization=organization, member_id=member_id)
    redemption = locking.lock_one(
        Redemption.objects.filter(organization=organization).select_related("package", "coupon"), pk=redemption_id
    )
    locking.pause("redemption_locked")
    return member, redemption


def redemption_confirm(
    *,
    organization: Organization,
    redemption_id,
    performed_by: User | None,
    starts_on: date | None = None,
    payment_reference: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> Redemption:
    """Staff confirm a member's PENDING request (payment received): -> ACTIVE, granted now.
    The desk may record the payment's reference and a note (kept when left empty).

    Only PENDING can be confirmed (invalid_state otherwise); the member must still be ACTIVE.
    The status moves with a conditional update, so a second confirm can never grant twice.
    """
    now = now or clock.now()
    with transaction.atomic(durable=True):
        member, redemption = _lock_member_and_redemption(organization, redemption_id)
        if redemption.status != Status.PENDING:
            raise InvalidState(f"Only a PENDING redemption can be confirmed; this one is {redemption.status}.")
        _check_member(member)
        _validate_starts_on(
            starts_on, redemption.package, clock.local_date(now, organization.timezone), organization.timezone
        )
        locking.pause("confirm_checked")
        paid = {"payment_reference": payment_reference[:200]} if payment_reference else {}
        if notes:
            paid["notes"] = notes
        moved = Redemption.objects.filter(pk=redemption.pk, status=Status.PENDING).update(
            status=Status.ACTIVE, confirmed_at=now, confirmed_by=performed_by, **paid
        )
        if moved != 1:
            raise InvalidState("This redemption was confirmed or rejected meanwhile.")
        redemption.status, redemption.confirmed_at, redemption.confirmed_by = Status.ACTIVE, now, performed_by
        for field, value in paid.items():
            setattr(redemption, field, value)
        if starts_on is not None:
            redemption.requested_starts_on = starts_on
            redemption.save(update_fields=["requested_starts_on"])
        _grant(redemption=redemption, member=member, now=now, performed_by=performed_by)
    return redemption


def redemption_reject(
    *,
    organization: Organization,
    redemption_id,
    performed_by: User | None,
    reason: str = "",
    now: datetime | None = None,
) -> Redemption:
    """Staff reject a PENDING request: -> CANCELLED, nothing was granted, the coupon use comes back."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        member, redemption = _lock_member_and_redemption(organization, redemption_id)
        if redemption.status != Status.PENDING:
            raise InvalidState(f"Only a PENDING redemption can be rejected; this one is {redemption.status}.")
        _close(redemption, now=now, performed_by=performed_by, reason=reason, from_status=Status.PENDING)
        if redemption.coupon_id:
            _coupon_give_back(organization, redemption.coupon_id, member)
        member_flags_refresh(member=member, now=now)
    return redemption


def _close(redemption: Redemption, *, now: datetime, performed_by, reason: str, from_status: str) -> None:
    moved = Redemption.objects.filter(pk=redemption.pk, status=from_status).update(
        status=Status.CANCELLED, cancelled_at=now, cancelled_by=performed_by, cancel_reason=(reason or "")[:500]
    )
    if moved != 1:
        raise InvalidState("This redemption changed meanwhile.")
    redemption.status, redemption.cancelled_at, redemption.cancelled_by = Status.CANCELLED, now, performed_by
    redemption.cancel_reason = (reason or "")[:500]


# What a cancelled redemption means for the bookings it paid for. packages_app may not import
# bookings_app (the layers point one way), so bookings_app installs its function here once, from
# BookingsConfig.ready(). It runs inside redemption_cancel's transaction, after the member and the
# redemption are locked and before the coupon and the lots (the lock order puts Session and
# Booking between them).
_bookings_release: Callable[..., None] | None = None


def redemption_cancel_bookings_release_set(release: Callable[..., None] | None) -> None:
    """Install bookings_app's `release(organization=, member=, redemption=, now=, performed_by=)`."""
    global _bookings_release
    _bookings_release = release


def redemption_cancel(
    *,
    organization: Organization,
    redemption_id,
    performed_by: User | None,
    reason: str = "",
    now: datetime | None = None,
) -> Redemption:
    """Staff refund an ACTIVE redemption (DOMAIN.md 5): -> CANCELLED. Its remaining credits go
    (REDEMPTION_CANCELLED rows, one per lot; spent credits stay spent), its All Access ends from
    today on (studio time), its friend pass is void, the coupon use comes back, flags recomputed.
    Bookings it paid for that the pass no longer covers are cancelled by bookings_app's release
    function (docs/bookings.md); rides already taken stay taken."""
    now = now or clock.now()
    tz = organization.timezone
    with transaction.atomic(durable=True):
        member, redemption = _lock_member_and_redemption(organization, redemption_id)
        if redemption.status != Status.ACTIVE:
            raise InvalidState(f"Only an ACTIVE redemption can be cancelled; this one is {redemption.status}.")
        _close(redemption, now=now, performed_by=performed_by, reason=reason, from_status=Status.ACTIVE)
        if _bookings_release is not None:
            _bookings_release(
                organization=organization, member=member, redemption=redemption, now=now, performed_by=performed_by
            )
        if redemption.coupon_id:
            _coupon_give_back(organization, redemption.coupon_id, member)
        # Credits past their date expire first (EXPIRATION), so only live credits are "cancelled".
        credits_expire_overdue(member=member, now=now)
        lots = sorted(redemption.lots(), key=lambda lot: str(lot.pk))
        for lot in locking.lock(CreditLot.objects.filter(pk__in=[lot.pk for lot in lots])):
            credits_revoke_lot(
                member=member,
                lot=lot,
                type=T.REDEMPTION_CANCELLED,
                now=now,
                redemption_id=redemption.pk,
                performed_by=performed_by,
                description=f"Refund of {redemption.package.code}" + (f": {reason}" if reason else ""),
            )
        if redemption.all_access_expires_at is not None:
            today = clock.local_date(now, tz)
            start_of_today = clock.start_of_local_day(today, tz)
            if redemption.all_access_expires_at > start_of_today:
                redemption.all_access_expires_at = start_of_today
                if redemption.all_access_starts_on and redemption.all_access_starts_on < today:
                    redemption.all_access_ends_on = today - timedelta(days=1)
                redemption.save(update_fields=["all_access_expires_at", "all_access_ends_on"])
        member_flags_refresh(member=member, now=now)
    return redemption
