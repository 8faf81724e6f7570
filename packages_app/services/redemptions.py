"""The sale lifecycle of a redemption (DOMAIN.md 4, 5, 12): quote, sale (redeem), confirm,
reject, cancel.

Lock order (docs/ARCHITECTURE.md): Member -> Redemption -> Session -> Booking -> Coupon ->
CreditLot, rows of one kind in primary-key order. Every service here opens one durable
transaction, locks the member first, re-reads what it decides on under the lock, then writes.
The pieces live by idea: coupon checks and counters in `coupons`, what a sale grants in
`grants`, where a redemption belongs and the member's flags in `settlement`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy

from members_app.audit import log_action
from members_app.errors import MemberInactive
from members_app.idempotency import IdempotencyRequest, idempotency_claim, idempotency_complete
from members_app.models import CreditLot, CreditTransaction, Member, Organization, User
from members_app.services import credits_close_lot, credits_expire_overdue, member_lock
from packages_app import errors
from packages_app.models import BENEFIT_FRIEND_PASS, Package, Redemption
from packages_app.pricing import Quote, quote_price
from packages_app.selectors import BAD_ID, coupon_by_code, package_get, package_is_on_sale
from packages_app.services.coupons import coupon_check, coupon_give_back, coupon_lock, coupon_take
from packages_app.services.grants import redemption_grant
from packages_app.services.notices import Kind, notify_redemption, transfer_reference
from packages_app.services.settlement import member_flags_refresh
from spinning import clock, locking
from spinning.errors import Invalid, InvalidState

Status = Redemption.Status
T = CreditTransaction.Type


# --- checks (read, no write) ----------------------------------------------------------------------
def _check_member(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()


def _check_package(package: Package, now: datetime) -> None:
    if not package_is_on_sale(package, now):
        raise errors.PackageUnavailable()


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
        coupon_check(coupon, package=package, member=member, now=now)
    return quote_price(package=package, coupon=coupon, currency=organization.currency)


# --- top-level services -----------------------------------------------------------------------------
def _validate_starts_on(starts_on: date | None, package: Package, today: date, tz_name: str) -> None:
    if starts_on is None:
        return
    if package.type != Package.Type.ALL_ACCESS:
        raise Invalid({"starts_on": gettext_lazy("Only an ALL_ACCESS package has a start day.")})
    if starts_on < today:
        raise Invalid({"starts_on": gettext_lazy("Cannot start before today (studio time).")})
    try:  # the pass must end on the calendar (9999-12-31 + 30 days does not)
        clock.span_end(starts_on, package.all_access_days or 1, tz_name).astimezone(UTC)
    except OverflowError:
        raise Invalid({"starts_on": gettext_lazy("The pass would end past the supported calendar.")}) from None


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
            coupon = coupon_lock(organization, coupon_by_code(organization=organization, code=coupon_code).pk)
            coupon_check(coupon, package=package, member=member, now=now)
            locking.pause("coupon_checked")
            coupon_take(coupon, member)
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
            # A member's request carries the reference they quote with their transfer (the email).
            payment_reference=payment_reference or ("" if by_staff else transfer_reference(redemption_id)),
            notes=notes or "",
            redeemed_at=now,
            redeemed_by=performed_by,
            confirmed_at=now if by_staff else None,
            confirmed_by=performed_by if by_staff else None,
        )
        if by_staff:
            redemption_grant(redemption=redemption, member=member, now=now, performed_by=performed_by)
            log_action(
                organization=organization,
                actor=performed_by,
                action="redemption.sell",
                obj=redemption,
                changes=_sale_facts(redemption),
                now=now,
            )
        notify_redemption(
            kind=Kind.PURCHASE_CONFIRMED if by_staff else Kind.PURCHASE_REQUESTED,
            redemption=redemption,
            member=member,
            now=now,
            desk_sale=by_staff,
        )
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
            raise InvalidState(
                gettext_lazy("Only a PENDING redemption can be confirmed; this one is %(status)s.")
                % {"status": redemption.status}
            )
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
            raise InvalidState(gettext_lazy("This redemption was confirmed or rejected meanwhile."))
        redemption.status, redemption.confirmed_at, redemption.confirmed_by = Status.ACTIVE, now, performed_by
        for field, value in paid.items():
            setattr(redemption, field, value)
        if starts_on is not None:
            redemption.requested_starts_on = starts_on
            redemption.save(update_fields=["requested_starts_on"])
        redemption_grant(redemption=redemption, member=member, now=now, performed_by=performed_by)
        log_action(
            organization=organization,
            actor=performed_by,
            action="redemption.confirm",
            obj=redemption,
            changes={"status": [Status.PENDING, Status.ACTIVE], **_sale_facts(redemption)},
            now=now,
        )
        notify_redemption(kind=Kind.PURCHASE_CONFIRMED, redemption=redemption, member=member, now=now)
    return redemption


def _sale_facts(redemption: Redemption) -> dict:
    """What the audit log keeps of a sale: who bought what, for how much, paid how."""
    return {
        "member": redemption.member_id,
        "package": redemption.package.code,
        "coupon": redemption.coupon.code if redemption.coupon_id else None,
        "original_price": redemption.original_price,
        "discount_amount": redemption.discount_amount,
        "final_price": redemption.final_price,
        "credits": redemption.credits_added + redemption.bonus_credits,
        "payment_method": redemption.payment_method,
        "payment_reference": redemption.payment_reference,
    }


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
            raise InvalidState(
                gettext_lazy("Only a PENDING redemption can be rejected; this one is %(status)s.")
                % {"status": redemption.status}
            )
        _close(redemption, now=now, performed_by=performed_by, reason=reason, from_status=Status.PENDING)
        if redemption.coupon_id:
            coupon_give_back(organization, redemption.coupon_id, member)
        member_flags_refresh(member=member, now=now)
        log_action(
            organization=organization,
            actor=performed_by,
            action="redemption.reject",
            obj=redemption,
            reason=reason,
            changes={"status": [Status.PENDING, Status.CANCELLED]},
            now=now,
        )
        notify_redemption(kind=Kind.PURCHASE_REJECTED, redemption=redemption, member=member, now=now)
    return redemption


def _close(redemption: Redemption, *, now: datetime, performed_by, reason: str, from_status: str) -> None:
    moved = Redemption.objects.filter(pk=redemption.pk, status=from_status).update(
        status=Status.CANCELLED, cancelled_at=now, cancelled_by=performed_by, cancel_reason=(reason or "")[:500]
    )
    if moved != 1:
        raise InvalidState(gettext_lazy("This redemption changed meanwhile."))
    redemption.status, redemption.cancelled_at, redemption.cancelled_by = Status.CANCELLED, now, performed_by
    redemption.cancel_reason = (reason or "")[:500]


# What a cancelled redemption means for the bookings it paid for. packages_app may not import
# bookings_app (the layers point one way), so bookings_app installs its function here once, from
# BookingsConfig.ready(). It runs inside redemption_cancel's transaction, after the member and the
# redemption are locked and before the coupon and the lots (the lock order puts Session and
# Booking between them). It returns the bookings it cancelled.
@dataclass(frozen=True)
class CancelledBooking:
    id: uuid.UUID
    starts_at: datetime  # of its session
    is_guest: bool


_bookings_release: Callable[..., list[CancelledBooking]] | None = None


def redemption_cancel_bookings_release_set(release: Callable[..., list[CancelledBooking]] | None) -> None:
    """Install bookings_app's `release(organization=, member=, redemption=, now=, performed_by=)`:
    cancel, giving nothing back, the member's bookings on sessions not yet started that this
    redemption paid for (credits of its lots, or its All Access); return their ids."""
    global _bookings_release
    _bookings_release = release


@dataclass(frozen=True)
class CancelEffects:
    """What cancelling a redemption takes (API.md `cancel_effects`; the admin's preview)."""

    credits_removed: int
    all_access_ends_on: date | None  # the last day its All Access covers after the cancel
    all_access_days_removed: int
    bookings_cancelled: tuple[CancelledBooking, ...]

    @property
    def booking_ids_cancelled(self) -> list:
        return [booking.id for booking in self.bookings_cancelled]


@dataclass(frozen=True)
class RedemptionCancellation:
    redemption: Redemption
    effects: CancelEffects
    dry_run: bool


class _DryRunDone(Exception):
    """Unwinds a dry run's transaction once its effects are known: nothing it wrote stays."""

    def __init__(self, effects: CancelEffects):
        super().__init__("dry run")
        self.effects = effects


def redemption_cancel(
    *,
    organization: Organization,
    redemption_id,
    performed_by: User | None,
    reason: str = "",
    dry_run: bool = False,
    now: datetime | None = None,
) -> RedemptionCancellation:
    """Staff cancel (refund) an ACTIVE redemption (DOMAIN.md 5): -> CANCELLED, and nothing it
    granted stays usable. The member's bookings on sessions not yet started that it paid for
    (credits of its lots, or its All Access) are cancelled giving nothing back; rides already taken
    stay taken. Its lots are closed for good: what is left on them goes (one REDEMPTION_CANCELLED
    row per lot) and nothing is ever added to them again. Its All Access ends from today on
    (studio time), its friend pass is void, the coupon use comes back, the flags are recomputed.

    `dry_run` runs exactly the same code and rolls it back, so the preview is what the real cancel
    would do at this instant."""
    now = now or clock.now()
    try:
        with transaction.atomic(durable=True):
            member, redemption = _lock_member_and_redemption(organization, redemption_id)
            if redemption.status != Status.ACTIVE:
                raise InvalidState(
                    gettext_lazy("Only an ACTIVE redemption can be cancelled; this one is %(status)s.")
                    % {"status": redemption.status}
                )
            effects = _cancel_active(
                organization, member, redemption, now=now, performed_by=performed_by, reason=reason
            )
            if dry_run:
                raise _DryRunDone(effects)
    except _DryRunDone as done:
        effects = done.effects
        redemption = Redemption.objects.select_related("package", "coupon").get(pk=redemption.pk)
    return RedemptionCancellation(redemption=redemption, effects=effects, dry_run=dry_run)


def _cancel_active(
    organization: Organization, member: Member, redemption: Redemption, *, now, performed_by, reason: str
) -> CancelEffects:
    """The cancel itself; member and redemption locked. Lock order: bookings_app's release locks
    sessions and bookings, then the coupon, then the lots."""
    _close(redemption, now=now, performed_by=performed_by, reason=reason, from_status=Status.ACTIVE)
    lot_ids = [lot.pk for lot in redemption.lots()]
    bookings = []
    if _bookings_release is not None:
        bookings = _bookings_release(
            organization=organization, member=member, redemption=redemption, now=now, performed_by=performed_by
        )
    if redemption.coupon_id:
        coupon_give_back(organization, redemption.coupon_id, member)
    # Credits past their date expire first (EXPIRATION), so only live credits are "removed".
    credits_expire_overdue(member=member, now=now)
    removed = 0
    for lot in locking.lock(CreditLot.objects.filter(pk__in=lot_ids)):
        row = credits_close_lot(
            member=member,
            lot=lot,
            type=T.REDEMPTION_CANCELLED,
            now=now,
            redemption_id=redemption.pk,
            performed_by=performed_by,
            description=f"Refund of {redemption.package.code}" + (f": {reason}" if reason else ""),
        )
        removed += -row.amount if row is not None else 0
    ends_on, days_removed = _all_access_end(redemption, now=now, tz=organization.timezone)
    member_flags_refresh(member=member, now=now)
    # (A dry run rolls this back with everything else: nothing is sent.)
    notify_redemption(
        kind=Kind.REDEMPTION_CANCELLED,
        redemption=redemption,
        member=member,
        now=now,
        credits_removed=removed,
        all_access_days_removed=days_removed,
        bookings_cancelled=sum(1 for b in bookings if not b.is_guest),
    )
    log_action(
        organization=organization,
        actor=performed_by,
        action="redemption.cancel",
        obj=redemption,
        reason=reason,
        changes={"status": [Status.ACTIVE, Status.CANCELLED]},
        now=now,
    )
    return CancelEffects(
        credits_removed=removed,
        all_access_ends_on=ends_on,
        all_access_days_removed=days_removed,
        bookings_cancelled=tuple(sorted(bookings, key=lambda b: (b.starts_at, b.is_guest, str(b.id)))),
    )


def _all_access_end(redemption: Redemption, *, now: datetime, tz: str) -> tuple[date | None, int]:
    """End the All Access from today on (studio time). Returns (the last day it covers now, how
    many days it lost); a pass that had not started covers none, reported as ending yesterday."""
    if redemption.all_access_expires_at is None or redemption.all_access_ends_on is None:
        return None, 0
    today = clock.local_date(now, tz)
    yesterday = today - timedelta(days=1)
    start_of_today = clock.start_of_local_day(today, tz)
    if redemption.all_access_expires_at <= start_of_today:
        return redemption.all_access_ends_on, 0  # it had ended already
    first_lost = max(today, redemption.all_access_starts_on or today)
    days_removed = (redemption.all_access_ends_on - first_lost).days + 1
    redemption.all_access_expires_at = start_of_today
    if redemption.all_access_starts_on and redemption.all_access_starts_on < today:
        redemption.all_access_ends_on = yesterday
    redemption.save(update_fields=["all_access_expires_at", "all_access_ends_on"])
    return min(redemption.all_access_ends_on, yesterday), days_removed


# --- unpaid requests (the expiry job) ---------------------------------------------------------------
UNPAID_REASON = "not paid in time"


def redemption_expire_unpaid(*, member: Member, redemption_id, now: datetime) -> bool:
    """A PENDING request staff did not confirm within the studio's `pending_request_hours`
    (DOMAIN.md 5) is cancelled ("not paid in time") and gives its coupon use back, total and for
    the member. A building block of the expiry job: the member is locked by the caller; the
    redemption is locked and re-checked here, so a confirm that won the race is left alone.
    Returns whether it cancelled anything (idempotent)."""
    locking.require_transaction("redemption_expire_unpaid")
    organization = member.organization
    redemption = (
        locking.lock(Redemption.objects.filter(organization=organization, member=member))
        .filter(pk=redemption_id)
        .first()
    )
    deadline = now - timedelta(hours=organization.pending_request_hours)
    if redemption is None or redemption.status != Status.PENDING or redemption.redeemed_at > deadline:
        return False
    locking.pause("unpaid_checked")
    _close(redemption, now=now, performed_by=None, reason=UNPAID_REASON, from_status=Status.PENDING)
    if redemption.coupon_id:
        coupon_give_back(organization, redemption.coupon_id, member)
    notify_redemption(kind=Kind.PURCHASE_EXPIRED, redemption=redemption, member=member, now=now)
    return True
