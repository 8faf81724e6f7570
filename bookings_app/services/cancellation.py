"""Cancelling a booking or a whole session (DOMAIN.md 10): refunds and freed days."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy

from bookings_app.models import (
    AllAccessUsage,
    Booking,
    Session,
)
from bookings_app.services._common import (
    ALL_ACCESS,
    CONFIRMED,
    CREDIT,
    FRIEND_PASS,
    _settle,
)
from bookings_app.services.notices import Kind, notify_bookings
from bookings_app.services.waitlist import waitlist_expire_for_session, waitlist_promote_on_commit
from bookings_app.timetable_cache import timetable_changed
from members_app.audit import log_action
from members_app.models import CreditTransaction, Member, Organization, User
from members_app.services import credits_refund_booking, member_lock
from packages_app.models import Redemption
from packages_app.services import CancelledBooking
from spinning import clock, locking
from spinning.errors import Busy, InvalidState, NotFound


# --- cancellation ----------------------------------------------------------------------------------
def _give_back(*, booking: Booking, member: Member, now, cancelled_by, except_lot_ids=()) -> bool:
    """Return what paid for a booking: credits to their lots (never to a closed lot, nor to
    `except_lot_ids`), the All Access day, the friend pass. Returns whether anything went back."""
    refunded = False
    if booking.payment_type == CREDIT:
        refunded = bool(
            credits_refund_booking(
                member=member, booking_id=booking.pk, now=now, performed_by=cancelled_by, except_lot_ids=except_lot_ids
            )
        )
    elif booking.payment_type == ALL_ACCESS:
        AllAccessUsage.objects.filter(booking=booking).delete()
        refunded = True
    elif booking.payment_type == FRIEND_PASS:
        # The pass comes back only while it is still valid, on a package that still holds it
        # (ACTIVE, or USED and made ACTIVE again by settling): a cancelled package's pass is void.
        refunded = bool(
            Redemption.objects.filter(
                pk=booking.redemption_id,
                friend_pass_booking_id=booking.pk,
                friend_pass_expires_at__gt=now,
                status__in=[Redemption.Status.ACTIVE, Redemption.Status.USED],
            ).update(friend_pass_used_at=None, friend_pass_booking_id=None)
        )
    return refunded


def _cancel_one(
    *,
    booking: Booking,
    member: Member,
    session: Session,
    on_time: bool,
    refund: bool,
    now,
    cancelled_by,
    except_lot_ids=(),
) -> bool:
    """Cancel one confirmed booking; with `refund`, give back what paid for it. Returns whether
    anything went back (credits to their lots, the All Access day, the friend pass)."""
    refunded = (
        _give_back(booking=booking, member=member, now=now, cancelled_by=cancelled_by, except_lot_ids=except_lot_ids)
        if refund
        else False
    )
    booking.status = Booking.Status.CANCELLED if (on_time or refund) else Booking.Status.LATE_CANCELLED
    booking.refunded = refunded
    booking.cancelled_at = now
    booking.cancelled_by = cancelled_by
    Booking.objects.filter(pk=booking.pk).update(
        status=booking.status, refunded=refunded, cancelled_at=now, cancelled_by=cancelled_by
    )
    Session.objects.filter(pk=session.pk, booked_count__gt=0).update(booked_count=F("booked_count") - 1)
    session.booked_count = max(0, session.booked_count - 1)
    timetable_changed(session.organization_id)
    return refunded


def booking_cancel(
    *,
    organization: Organization,
    booking_id,
    cancelled_by: User | None = None,
    by_staff: bool = False,
    refund: bool | None = None,
    member: Member | None = None,
    now: datetime | None = None,
) -> Booking:
    """Cancel a confirmed booking, and its friend-pass guest with it.

    On time (at least `cancellation_window_hours` before the start): CANCELLED, credits back to
    their lots, the All Access day freed, a friend pass usable again (if unexpired). Late:
    LATE_CANCELLED, nothing returned. Staff may override with `refund` true/false (a refunded
    booking is CANCELLED) and may cancel after the start; members may not. With `member`, only
    that member's booking may be cancelled (others answer 404).
    """
    now = now or clock.now()
    with transaction.atomic(durable=True):
        queryset = Booking.objects.filter(organization=organization)
        if member is not None:
            queryset = queryset.filter(member=member)
        try:
            target = queryset.get(pk=booking_id)
        except (Booking.DoesNotExist, ValueError, TypeError):
            raise NotFound(gettext_lazy("No such booking.")) from None
        owner = member_lock(organization=organization, member_id=target.member_id)
        # The member lock keeps new guests of this booking out, so this read is stable.
        guest_ids = list(
            Booking.objects.filter(host_booking=target, is_guest=True, status=CONFIRMED).values_list("pk", flat=True)
        )
        redemption_ids = set(
            Booking.objects.filter(pk__in=[target.pk, *guest_ids], redemption__isnull=False).values_list(
                "redemption_id", flat=True
            )
        )
        list(locking.lock(Redemption.objects.filter(pk__in=redemption_ids)))
        session = locking.lock_one(Session.objects.all(), pk=target.session_id)
        locked = {b.pk: b for b in locking.lock(Booking.objects.filter(pk__in=[target.pk, *guest_ids]))}
        target = locked[target.pk]
        if target.status != CONFIRMED:
            raise InvalidState(gettext_lazy("Only a confirmed booking can be cancelled."))
        locking.pause("booking_cancel_checked")
        if not by_staff and session.starts_at <= now:
            raise InvalidState(gettext_lazy("The session has started; it can no longer be cancelled."))
        on_time = now <= session.starts_at - timedelta(hours=organization.cancellation_window_hours)
        give_back = on_time if (refund is None or not by_staff) else bool(refund)
        bookings = [target] + [locked[pk] for pk in guest_ids if locked[pk].status == CONFIRMED]
        settle = False
        for booking in bookings:
            gave_back = _cancel_one(
                booking=booking,
                member=owner,
                session=session,
                on_time=on_time,
                refund=give_back,
                now=now,
                cancelled_by=cancelled_by,
            )
            settle |= gave_back and booking.payment_type in (CREDIT, FRIEND_PASS)
        if settle:
            _settle(owner, now)
        # One message to the member: their booking (naming a guest cancelled with it), or their
        # guest's booking cancelled on its own (DOMAIN.md 15: the member is told of a cancellation).
        notify_bookings(
            kind=Kind.BOOKING_CANCELLED,
            organization=organization,
            booking_ids=[b.pk for b in bookings],
            now=now,
            members={owner.pk: owner},
            lone_guests=True,
            by_staff=by_staff,
        )
        if by_staff:
            log_action(
                organization=organization,
                actor=cancelled_by,
                action="booking.cancel",
                obj=target,
                changes={
                    "status": [CONFIRMED, target.status],
                    "refund": target.refunded,
                    "on_time": on_time,
                    "guests_cancelled": len(bookings) - 1,
                },
                now=now,
            )
        # The spots are free: the waitlist gets them once this commits (docs/waitlist.md).
        waitlist_promote_on_commit(
            organization=organization,
            session_id=session.pk,
            seat_ids=[b.seat_id for b in bookings],
            spots=len(bookings),
            now=now,
        )
    return target


def bookings_release_for_cancelled_redemption(
    *, organization: Organization, member: Member, redemption: Redemption, now: datetime, performed_by: User | None
) -> list:
    """Staff cancelled (refunded) a redemption (DOMAIN.md 5): the member's bookings on sessions
    that have not started that it paid for, with credits of its lots (bonus lot included) or with
    its All Access, are cancelled as the studio's doing and give nothing back (`CANCELLED`,
    `refunded: false`; the bike and the place are released). Credits a booking took from another,
    still open lot go back there. A friend-pass guest on such a booking is cancelled with it and
    gets its pass back if unexpired. Rides already taken (the session has started) stay. Returns
    every booking cancelled.

    A building block installed into packages_app's `redemption_cancel` (BookingsConfig.ready):
    it runs in that transaction with the member and the redemption locked, before the lots are
    closed, and locks the guests' redemptions, the sessions and the bookings in the lock order."""
    locking.require_transaction("bookings_release_for_cancelled_redemption")
    lot_ids = [lot.pk for lot in redemption.lots()]
    paid_by_its_lots = CreditTransaction.objects.filter(
        member=member, lot_id__in=lot_ids, type=CreditTransaction.Type.BOOKING_PAYMENT, booking_id__isnull=False
    ).values("booking_id")
    paid_by_it = Q(payment_type=CREDIT, pk__in=paid_by_its_lots) if lot_ids else Q(pk__in=[])
    if redemption.all_access_days:
        paid_by_it |= Q(payment_type=ALL_ACCESS, redemption=redemption)
    # The member lock keeps new bookings and guests of this member out: these reads are stable.
    hosts = list(
        Booking.objects.filter(
            paid_by_it, organization=organization, member=member, status=CONFIRMED, session__starts_at__gt=now
        ).values_list("pk", "session_id")
    )
    if not hosts:
        return []
    guests = list(
        Booking.objects.filter(host_booking__in=[pk for pk, _ in hosts], is_guest=True, status=CONFIRMED).values_list(
            "pk", "redemption_id"
        )
    )
    list(locking.lock(Redemption.objects.filter(pk__in={r for _, r in guests if r})))
    sessions = {s.pk: s for s in locking.lock(Session.objects.filter(pk__in={sid for _, sid in hosts}))}
    bookings = list(locking.lock(Booking.objects.filter(pk__in=[pk for pk, _ in hosts] + [pk for pk, _ in guests])))
    settle = False
    for booking in bookings:
        # Nothing of the cancelled redemption comes back: its All Access day stays used, its lots
        # get nothing. Another lot's credits and a guest's friend pass (another package) do.
        gave_back = _cancel_one(
            booking=booking,
            member=member,
            session=sessions[booking.session_id],
            on_time=True,
            refund=booking.payment_type != ALL_ACCESS,
            now=now,
            cancelled_by=performed_by,
            except_lot_ids=lot_ids,
        )
        settle |= gave_back
    if settle:
        _settle(member, now)
    for session_id in sorted({b.session_id for b in bookings}, key=str):
        waitlist_promote_on_commit(
            organization=organization,
            session_id=session_id,
            seat_ids=[b.seat_id for b in bookings if b.session_id == session_id],
            spots=sum(1 for b in bookings if b.session_id == session_id),
            now=now,
        )
    return [
        CancelledBooking(id=booking.pk, starts_at=sessions[booking.session_id].starts_at, is_guest=booking.is_guest)
        for booking in bookings
    ]


class _LockSetChanged(Exception):
    """New riders booked between the unlocked read and the session lock: start over."""


def session_cancel(
    *, organization: Organization, session_id, cancelled_by: User | None = None, now: datetime | None = None
) -> Session:
    """The studio cancels a session: every live booking on it is cancelled with a full refund
    (credits to their lots, All Access days freed, friend passes back if unexpired)."""
    now = now or clock.now()
    for _attempt in range(3):
        try:
            with transaction.atomic(durable=True):
                return _session_cancel(
                    organization=organization, session_id=session_id, cancelled_by=cancelled_by, now=now
                )
        except _LockSetChanged:
            continue
    raise Busy()


def _session_cancel(*, organization, session_id, cancelled_by, now) -> Session:
    try:
        session = Session.objects.get(organization=organization, pk=session_id)
    except (Session.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such session.")) from None
    if session.status != Session.Status.SCHEDULED:
        raise InvalidState(gettext_lazy("Only a scheduled session can be cancelled."))
    # A late cancel kept its credits or its day because the rider let the studio down; when the
    # studio cancels the class itself, that penalty goes back too (nobody rode).
    refundable = Q(status__in=[CONFIRMED, Booking.Status.NO_SHOW]) | Q(
        status=Booking.Status.LATE_CANCELLED, refunded=False
    )
    seen = list(Booking.objects.filter(refundable, session=session).values_list("member_id", "redemption_id"))
    member_ids = {m for m, _ in seen}
    redemption_ids = {r for _, r in seen if r}
    members = {
        m.pk: m
        for m in locking.lock(
            Member.objects.filter(organization=organization, pk__in=member_ids).select_related("user")
        )
    }
    list(locking.lock(Redemption.objects.filter(pk__in=redemption_ids)))
    session = locking.lock_one(Session.objects.all(), pk=session.pk)
    timetable_changed(organization.pk)
    if session.status != Session.Status.SCHEDULED:
        raise InvalidState(gettext_lazy("Only a scheduled session can be cancelled."))
    bookings = list(locking.lock(Booking.objects.filter(refundable, session=session)))
    if {b.member_id for b in bookings} - member_ids or {b.redemption_id for b in bookings if b.redemption_id} - (
        redemption_ids
    ):
        raise _LockSetChanged()
    for booking in bookings:
        if booking.status == Booking.Status.LATE_CANCELLED:
            if _give_back(booking=booking, member=members[booking.member_id], now=now, cancelled_by=cancelled_by):
                Booking.objects.filter(pk=booking.pk).update(refunded=True)
            continue
        _cancel_one(
            booking=booking,
            member=members[booking.member_id],
            session=session,
            on_time=True,
            refund=True,
            now=now,
            cancelled_by=cancelled_by,
        )
    for member_pk in sorted({b.member_id for b in bookings if b.payment_type in (CREDIT, FRIEND_PASS)}):
        _settle(members[member_pk], now)
    session.status = Session.Status.CANCELLED
    session.cancelled_at = now
    Session.objects.filter(pk=session.pk).update(status=session.status, cancelled_at=now)
    # Every rider who had a place is told (a late cancel refunded now, too).
    notify_bookings(
        kind=Kind.SESSION_CANCELLED,
        organization=organization,
        booking_ids=[b.pk for b in bookings],
        now=now,
        members=members,
    )
    waitlist_expire_for_session(session=session, now=now, organization=organization)
    log_action(
        organization=organization,
        actor=cancelled_by,
        action="session.cancel",
        obj=session,
        changes={"status": [Session.Status.SCHEDULED, Session.Status.CANCELLED], "bookings_cancelled": len(bookings)},
        now=now,
    )
    return session
