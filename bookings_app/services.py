"""Writes for the schedule and bookings (DOMAIN.md 7-11).

Every top-level service runs in one `transaction.atomic(durable=True)` and follows the lock order
of docs/ARCHITECTURE.md: Member -> Redemption -> Session -> Booking -> CreditLot (rows of one kind
in primary-key order). Inside: lock, re-count, write.

What the database guarantees whatever the code above does (the backstops, mapped to 409s):
- `session_not_over_capacity` (booked_count <= capacity)          -> session_full
- `booking_one_live_per_seat`                                      -> seat_taken
- `booking_one_live_per_member`                                    -> already_booked
- `booking_one_live_guest_per_host`                                -> already_booked
- `all_access_one_use_per_date_slot`                               -> daily_limit_reached
- `ledger_one_charge_per_booking_lot` / `..._refund_...` (members_app): a booking is charged and
  refunded at most once per lot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from bookings_app import selectors
from bookings_app.errors import (
    AlreadyBooked,
    BookingNotOpen,
    DailyLimitReached,
    FriendPassUnavailable,
    HostBookingRequired,
    SeatTaken,
    SeatUnavailable,
    SessionFull,
    SessionNotBookable,
)
from bookings_app.models import (
    LIVE,
    AllAccessUsage,
    Booking,
    Instructor,
    Location,
    RideClass,
    Seat,
    SeatLayout,
    Session,
)
from members_app.errors import InsufficientCredits, MemberInactive
from members_app.idempotency import IdempotencyRequest, idempotency_claim, idempotency_complete
from members_app.models import Member, Organization, User
from members_app.services import credits_refund_booking, credits_spend, member_lock
from packages_app.models import Redemption
from packages_app.services import member_redemptions_settle
from spinning import clock, locking
from spinning.errors import Busy, Forbidden, Invalid, InvalidState, NotFound

AUTO = "AUTO"
ALL_ACCESS = Booking.PaymentType.ALL_ACCESS
CREDIT = Booking.PaymentType.CREDIT
FREE = Booking.PaymentType.FREE
FRIEND_PASS = Booking.PaymentType.FRIEND_PASS
PAYMENT_METHODS = (AUTO, ALL_ACCESS, CREDIT, FREE, FRIEND_PASS)

CONFIRMED = Booking.Status.CONFIRMED


# --- helpers --------------------------------------------------------------------------------------
def _domain_error_for(exc: IntegrityError):
    """The 409 a database backstop means; None when the error is not one of ours."""
    text = str(exc)
    if "booking_one_live_per_seat" in text or "booking.session_id, bookings_app_booking.seat_id" in text:
        return SeatTaken()
    if "booking_one_live_per_member" in text or "booking.session_id, bookings_app_booking.member_id" in text:
        return AlreadyBooked()
    if "booking_one_live_guest_per_host" in text or "bookings_app_booking.host_booking_id" in text:
        return AlreadyBooked("This booking already has a guest.")
    if "session_not_over_capacity" in text:
        return SessionFull()
    if "all_access_one_use_per_date_slot" in text or "allaccessusage.redemption_id" in text:
        return DailyLimitReached()
    return None


def _insert(obj) -> None:
    """Insert under a savepoint so a refused constraint becomes its domain error (never a 500)."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError as exc:
        error = _domain_error_for(exc)
        if error is None:
            raise
        raise error from exc


def _get_in_org(model, organization: Organization, pk, field: str):
    """A row of this studio named in the request body; anything else is invalid input (400)."""
    try:
        return model.objects.get(organization=organization, pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise Invalid({field: f"No such {model._meta.verbose_name} in this studio."}) from None


def _settle(member: Member, now: datetime) -> None:
    """Credits or a friend pass moved: bring the member's redemptions (ACTIVE <-> USED) and
    cached flags (friend_passes_available ...) up to date. The member is locked."""
    member_redemptions_settle(member=member, now=now)


# --- schedule --------------------------------------------------------------------------------------
def seat_layout_create(
    *,
    organization: Organization,
    location_id,
    name: str,
    rows: int,
    columns: int,
    seats: list[dict] | None = None,
) -> SeatLayout:
    """A grid of seats. Without `seats`, every position becomes a NORMAL bike labelled A1, A2, ...;
    with `seats`, exactly those (each inside the grid, one per position, labels unique)."""
    if rows < 1 or columns < 1 or rows > 26:
        raise Invalid({"rows": "A layout has 1 to 26 rows and at least one column."})
    with transaction.atomic(durable=True):
        location = _get_in_org(Location, organization, location_id, "location_id")
        if SeatLayout.objects.filter(location=location, name=name).exists():
            raise Invalid({"name": "This location already has a layout with this name."})
        layout = SeatLayout.objects.create(
            organization=organization, location=location, name=name, rows=rows, columns=columns
        )
        if seats is None:
            seats = [{"row": r, "column": c} for r in range(1, rows + 1) for c in range(1, columns + 1)]
        positions, labels, objs = set(), set(), []
        for index, spec in enumerate(seats):
            row, column = spec["row"], spec["column"]
            label = spec.get("label") or f"{chr(64 + row)}{column}" if 1 <= row <= 26 else ""
            if not (1 <= row <= rows and 1 <= column <= columns):
                raise Invalid({f"seats.{index}": "Outside the grid."})
            if (row, column) in positions or label in labels:
                raise Invalid({f"seats.{index}": "Two seats share a position or a label."})
            positions.add((row, column))
            labels.add(label)
            objs.append(
                Seat(
                    organization=organization,
                    layout=layout,
                    label=label,
                    row=row,
                    column=column,
                    type=spec.get("type", Seat.Type.NORMAL),
                    credit_cost=spec.get("credit_cost", 1),
                    is_active=spec.get("is_active", True),
                )
            )
        Seat.objects.bulk_create(objs)
    return layout


def seat_layout_update_grid(*, organization: Organization, layout_id, seats: list[dict]) -> SeatLayout:
    """Staff edit a layout's seats as a grid: label, type, credit cost, in or out of order.
    Labels stay unique in the layout; a credit cost is at least 1."""
    with transaction.atomic(durable=True):
        layout = _get_in_org(SeatLayout, organization, layout_id, "layout_id")
        existing = {str(seat.pk): seat for seat in locking.lock(Seat.objects.filter(layout=layout))}
        labels = set()
        for spec in seats:
            seat = existing.get(str(spec["id"]))
            if seat is None:
                raise Invalid({"seats": "A seat of another layout."})
            label = (spec.get("label") or seat.label).strip()
            if label in labels:
                raise Invalid({"seats": f"Label {label} is used twice."})
            labels.add(label)
            if spec.get("type", seat.type) not in Seat.Type.values:
                raise Invalid({"seats": f"Unknown seat type for {label}."})
            if int(spec.get("credit_cost", seat.credit_cost)) < 1:
                raise Invalid({"seats": f"Seat {label}: a credit cost is at least 1."})
            seat.label = label
            seat.type = spec.get("type", seat.type)
            seat.credit_cost = int(spec.get("credit_cost", seat.credit_cost))
            seat.is_active = bool(spec.get("is_active", seat.is_active))
        # Two passes so that swapping two labels does not trip the unique constraint midway.
        changed = list(existing.values())
        for seat in changed:
            Seat.objects.filter(pk=seat.pk).update(label=f"~{seat.pk.hex[:12]}")
        Seat.objects.bulk_update(changed, ["label", "type", "credit_cost", "is_active"])
    return layout


def session_create(
    *,
    organization: Organization,
    class_id,
    instructor_id,
    location_id,
    seat_layout_id,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int | None = None,
) -> Session:
    """Staff schedule a session. Capacity defaults to the layout's bookable bikes and may be set
    lower, never higher (every rider must fit on a bike). Overlapping sessions are allowed."""
    if ends_at <= starts_at:
        raise Invalid({"ends_at": "Must be after starts_at."})
    with transaction.atomic(durable=True):
        ride_class = _get_in_org(RideClass, organization, class_id, "class_id")
        instructor = _get_in_org(Instructor, organization, instructor_id, "instructor_id")
        location = _get_in_org(Location, organization, location_id, "location_id")
        layout = _get_in_org(SeatLayout, organization, seat_layout_id, "seat_layout_id")
        if layout.location_id != location.pk:
            raise Invalid({"seat_layout_id": "This seat layout belongs to another location."})
        bookable = selectors.bookable_seat_count(layout=layout)
        if capacity is None:
            capacity = bookable
        if capacity < 1:
            raise Invalid({"capacity": "A session needs at least one bookable bike."})
        if capacity > bookable:
            raise Invalid({"capacity": f"At most the layout's {bookable} bookable bikes."})
        return Session.objects.create(
            organization=organization,
            ride_class=ride_class,
            instructor=instructor,
            location=location,
            seat_layout=layout,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
        )


def session_update(*, organization: Organization, session_id, data: dict) -> Session:
    """Change a session's class, instructor or capacity (never below the riders already booked).
    Times and layout stay: riders booked (and All Access days were counted) against them."""
    with transaction.atomic(durable=True):
        try:
            session = locking.lock_one(Session.objects.filter(organization=organization), pk=session_id)
        except (Session.DoesNotExist, ValueError):
            raise NotFound("No such session.") from None
        if "class_id" in data:
            session.ride_class = _get_in_org(RideClass, organization, data["class_id"], "class_id")
        if "instructor_id" in data:
            session.instructor = _get_in_org(Instructor, organization, data["instructor_id"], "instructor_id")
        if "capacity" in data:
            bookable = selectors.bookable_seat_count(layout=session.seat_layout)
            capacity = data["capacity"]
            if capacity < max(1, session.booked_count) or capacity > bookable:
                raise Invalid({"capacity": f"Between {max(1, session.booked_count)} and {bookable}."})
            session.capacity = capacity
        session.save(update_fields=["ride_class", "instructor", "capacity"])
    return session


# --- booking ---------------------------------------------------------------------------------------
@dataclass
class _Payment:
    type: str
    redemption: Redemption | None = None
    slot: int | None = None
    day_used_up: bool = False


def _resolve_payment(
    *,
    method: str,
    member: Member,
    cost: int,
    local_day,
    all_access: list[Redemption],
    friend_passes: list[Redemption],
    now: datetime,
) -> _Payment:
    """DOMAIN.md 9: All Access (lowest free slot of the day) -> credits -> refused."""
    if method == FREE:
        return _Payment(FREE)
    if method == FRIEND_PASS:
        if not friend_passes:
            raise FriendPassUnavailable()
        return _Payment(FRIEND_PASS, redemption=friend_passes[0])
    day_used_up = False
    if method in (AUTO, ALL_ACCESS) and all_access:
        used: dict = {}
        for redemption_id, slot in AllAccessUsage.objects.filter(
            redemption__in=all_access, usage_date=local_day
        ).values_list("redemption_id", "slot"):
            used.setdefault(redemption_id, set()).add(slot)
        for redemption in all_access:
            free = [s for s in range(1, redemption.daily_ride_limit + 1) if s not in used.get(redemption.pk, set())]
            if free:
                locking.pause("all_access_checked")
                return _Payment(ALL_ACCESS, redemption=redemption, slot=free[0])
        day_used_up = True
    if method == ALL_ACCESS:
        if day_used_up:
            raise DailyLimitReached()
        raise InsufficientCredits("No active All Access covers this session's date.")
    # The cached balance may still hold credits past their expiry: `credits_spend` expires those
    # first and refuses if what is left is short (see _booking_create).
    if member.credit_balance >= cost:
        return _Payment(CREDIT, day_used_up=day_used_up)
    if day_used_up:
        raise DailyLimitReached()
    raise InsufficientCredits()


def booking_create(
    *,
    organization: Organization,
    session_id,
    member_id=None,
    seat_id=None,
    payment_method: str = AUTO,
    guest_name: str = "",
    host_booking_id=None,
    booked_by: User | None = None,
    by_staff: bool = False,
    idem: IdempotencyRequest | None = None,
    now: datetime | None = None,
) -> Booking:
    """Book a session for a member (or a friend-pass guest of the member's booking).

    Refusals, checked in this order, each with its own code: session_not_bookable (not SCHEDULED
    or started), member_inactive, booking_not_open (before starts_at - booking_window_days, a
    priority holder priority_booking_hours earlier), already_booked, host_booking_required /
    friend_pass_unavailable (guests), seat_unavailable / seat_taken, session_full, then payment:
    All Access covering the session's studio-local date with a free slot -> credits (the seat's
    credit_cost, 1 without a seat) -> daily_limit_reached / insufficient_credits. Staff may book
    for any member and make FREE comps.
    """
    now = now or clock.now()
    payment_method = payment_method or AUTO
    if payment_method not in PAYMENT_METHODS:
        raise Invalid({"payment_method": f"One of {', '.join(PAYMENT_METHODS)}."})
    if payment_method == FREE and not by_staff:
        raise Forbidden("Only staff may make a FREE booking.")
    is_guest = payment_method == FRIEND_PASS
    if is_guest:
        if not (guest_name or "").strip():
            raise Invalid({"guest_name": "A friend-pass guest needs a name."})
        if not host_booking_id:
            raise HostBookingRequired()
    with transaction.atomic(durable=True):
        record = idempotency_claim(organization=organization, idem=idem)
        booking = _booking_create(
            organization=organization,
            session_id=session_id,
            member_id=member_id,
            seat_id=seat_id,
            method=payment_method,
            guest_name=(guest_name or "").strip(),
            host_booking_id=host_booking_id,
            booked_by=booked_by,
            now=now,
        )
        idempotency_complete(record, resource_id=booking.pk, status=201)
    return booking


def _booking_create(
    *, organization, session_id, member_id, seat_id, method, guest_name, host_booking_id, booked_by, now
) -> Booking:
    is_guest = method == FRIEND_PASS
    try:
        session = Session.objects.select_related("ride_class").get(organization=organization, pk=session_id)
    except (Session.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such session.") from None
    host = None
    if is_guest:
        host = Booking.objects.filter(organization=organization, pk=host_booking_id, is_guest=False).first()
        if host is None or host.session_id != session.pk or (member_id and str(member_id) != str(host.member_id)):
            raise HostBookingRequired()
        member_id = host.member_id
    if member_id is None:
        raise Invalid({"member_id": "Name the member to book for."})

    # 1. Member (first in the lock order): every booking of one member queues here.
    member = member_lock(organization=organization, member_id=member_id)
    local_day = clock.local_date(session.starts_at, organization.timezone)

    # 2. Redemptions that may pay.
    all_access: list[Redemption] = []
    friend_passes: list[Redemption] = []
    if method in (AUTO, ALL_ACCESS):
        all_access = sorted(
            locking.lock(
                Redemption.objects.filter(
                    member=member,
                    status=Redemption.Status.ACTIVE,
                    all_access_starts_on__lte=local_day,
                    all_access_ends_on__gte=local_day,
                )
            ),
            key=lambda r: (r.all_access_ends_on, str(r.pk)),
        )
    elif is_guest:
        friend_passes = sorted(
            locking.lock(
                Redemption.objects.filter(
                    member=member,
                    status=Redemption.Status.ACTIVE,
                    friend_pass_granted=True,
                    friend_pass_used_at__isnull=True,
                    friend_pass_expires_at__gt=now,
                )
            ),
            key=lambda r: (r.friend_pass_expires_at, str(r.pk)),
        )

    # 3. Session: every booking of the session queues here; re-read it under the lock.
    ride_class = session.ride_class
    session = locking.lock_one(Session.objects.all(), pk=session.pk)
    if session.status != Session.Status.SCHEDULED or session.starts_at <= now:
        raise SessionNotBookable()
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()
    if not is_guest:
        opens_at = selectors.booking_opens_at(session=session, organization=organization, priority=False)
        if now < opens_at and selectors.member_has_priority(member=member, now=now):
            opens_at = selectors.booking_opens_at(session=session, organization=organization, priority=True)
        if now < opens_at:
            raise BookingNotOpen(f"Booking for this session opens at {opens_at.isoformat()}.")
        if Booking.objects.filter(LIVE, session=session, member=member, is_guest=False).exists():
            raise AlreadyBooked()
    else:
        # 4. The host's booking (Booking comes after Session in the lock order).
        host = locking.lock_one(Booking.objects.all(), pk=host.pk)
        if host.status != CONFIRMED:
            raise HostBookingRequired()
        if Booking.objects.filter(LIVE, host_booking=host, is_guest=True).exists():
            raise AlreadyBooked("This booking already has a guest.")
        if not friend_passes:
            raise FriendPassUnavailable()

    seat = None
    cost = 1
    if seat_id:
        try:
            seat = Seat.objects.get(organization=organization, pk=seat_id)
        except (Seat.DoesNotExist, ValueError, TypeError):
            raise Invalid({"seat_id": "No such seat."}) from None
        if seat.layout_id != session.seat_layout_id or not seat.is_bookable:
            raise SeatUnavailable()
        if Booking.objects.filter(LIVE, session=session, seat=seat).exists():
            raise SeatTaken()
        locking.pause("seat_checked")
        cost = seat.credit_cost

    # Re-count under the session lock.
    if session.booked_count >= session.capacity:
        raise SessionFull()
    locking.pause("capacity_checked")

    payment = _resolve_payment(
        method=method,
        member=member,
        cost=cost,
        local_day=local_day,
        all_access=all_access,
        friend_passes=friend_passes,
        now=now,
    )

    # Write: the counter (conditional), the booking (constraints), then the payment.
    if not Session.objects.filter(pk=session.pk, booked_count__lt=F("capacity")).update(
        booked_count=F("booked_count") + 1
    ):
        raise SessionFull()
    session.booked_count += 1
    booking = Booking(
        organization=organization,
        session=session,
        member=member,
        seat=seat,
        status=CONFIRMED,
        payment_type=payment.type,
        credit_cost=cost,
        credits_used=cost if payment.type == CREDIT else 0,
        redemption=payment.redemption,
        is_guest=is_guest,
        guest_name=guest_name if is_guest else "",
        host_booking=host,
        booked_by=booked_by,
        created_at=now,
    )
    _insert(booking)

    if payment.type == ALL_ACCESS:
        _insert(
            AllAccessUsage(
                organization=organization,
                redemption=payment.redemption,
                member=member,
                usage_date=local_day,
                slot=payment.slot,
                booking=booking,
                created_at=now,
            )
        )
    elif payment.type == CREDIT:
        try:
            rows = credits_spend(
                member=member,
                amount=cost,
                now=now,
                booking_id=booking.pk,
                performed_by=booked_by,
                description=f"Booking: {ride_class.name} {session.starts_at:%Y-%m-%d %H:%M} UTC"
                + (f", bike {seat.label}" if seat else ""),
            )
        except InsufficientCredits:
            if payment.day_used_up:
                raise DailyLimitReached() from None
            raise
        booking.credit_lot = rows[0].lot
        Booking.objects.filter(pk=booking.pk).update(credit_lot=booking.credit_lot)
    elif payment.type == FRIEND_PASS:
        if not Redemption.objects.filter(pk=payment.redemption.pk, friend_pass_used_at__isnull=True).update(
            friend_pass_used_at=now, friend_pass_booking_id=booking.pk
        ):
            raise FriendPassUnavailable()
        _settle(member, now)
    return booking


# --- cancellation ----------------------------------------------------------------------------------
def _cancel_one(
    *, booking: Booking, member: Member, session: Session, on_time: bool, refund: bool, now, cancelled_by
) -> bool:
    """Cancel one confirmed booking; with `refund`, give back what paid for it. Returns whether
    anything went back (credits to their lots, the All Access day, the friend pass)."""
    refunded = False
    if refund:
        if booking.payment_type == CREDIT:
            credits_refund_booking(member=member, booking_id=booking.pk, now=now, performed_by=cancelled_by)
            refunded = True
        elif booking.payment_type == ALL_ACCESS:
            AllAccessUsage.objects.filter(booking=booking).delete()
            refunded = True
        elif booking.payment_type == FRIEND_PASS:
            # The pass comes back only while it is still valid.
            refunded = bool(
                Redemption.objects.filter(
                    pk=booking.redemption_id, friend_pass_booking_id=booking.pk, friend_pass_expires_at__gt=now
                ).update(friend_pass_used_at=None, friend_pass_booking_id=None)
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
            raise NotFound("No such booking.") from None
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
            raise InvalidState("Only a confirmed booking can be cancelled.")
        if not by_staff and session.starts_at <= now:
            raise InvalidState("The session has started; it can no longer be cancelled.")
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
    return target


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
        raise NotFound("No such session.") from None
    if session.status != Session.Status.SCHEDULED:
        raise InvalidState("Only a scheduled session can be cancelled.")
    refundable = Q(status__in=[CONFIRMED, Booking.Status.NO_SHOW])
    seen = list(Booking.objects.filter(refundable, session=session).values_list("member_id", "redemption_id"))
    member_ids = {m for m, _ in seen}
    redemption_ids = {r for _, r in seen if r}
    members = {m.pk: m for m in locking.lock(Member.objects.filter(organization=organization, pk__in=member_ids))}
    list(locking.lock(Redemption.objects.filter(pk__in=redemption_ids)))
    session = locking.lock_one(Session.objects.all(), pk=session.pk)
    if session.status != Session.Status.SCHEDULED:
        raise InvalidState("Only a scheduled session can be cancelled.")
    bookings = list(locking.lock(Booking.objects.filter(refundable, session=session)))
    if {b.member_id for b in bookings} - member_ids or {b.redemption_id for b in bookings if b.redemption_id} - (
        redemption_ids
    ):
        raise _LockSetChanged()
    for booking in bookings:
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
    return session


# --- check-in, no-show, closing -------------------------------------------------------------------
def _lock_booking(organization: Organization, booking_id) -> Booking:
    try:
        return locking.lock_one(
            Booking.objects.filter(organization=organization).select_related("session"), pk=booking_id
        )
    except (Booking.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such booking.") from None


def booking_check_in(*, organization: Organization, booking_id, now: datetime | None = None) -> Booking:
    """Staff or the instructor check a rider in (a confirmed booking; checking in twice is a no-op).
    The booking becomes COMPLETED when the session is closed."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        booking = _lock_booking(organization, booking_id)
        if booking.status != CONFIRMED:
            raise InvalidState("Only a confirmed booking can be checked in.")
        if booking.checked_in_at is None:
            booking.checked_in_at = now
            Booking.objects.filter(pk=booking.pk).update(checked_in_at=now)
    return booking


def _mark_no_shows(booking_ids: list) -> None:
    Booking.objects.filter(pk__in=booking_ids).update(status=Booking.Status.NO_SHOW)
    # The All Access day stays used, marked as a no-show.
    AllAccessUsage.objects.filter(booking_id__in=booking_ids).update(was_no_show=True)


def booking_mark_no_show(*, organization: Organization, booking_id, now: datetime | None = None) -> Booking:
    """Staff mark a confirmed, not-checked-in booking a no-show once the session has started:
    credits are not returned and the All Access day stays used (`was_no_show`)."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        booking = _lock_booking(organization, booking_id)
        if booking.status != CONFIRMED or booking.checked_in_at is not None:
            raise InvalidState("Only a confirmed booking that is not checked in can be a no-show.")
        if booking.session.starts_at > now:
            raise InvalidState("A rider can only miss a session that has started.")
        _mark_no_shows([booking.pk])
        booking.status = Booking.Status.NO_SHOW
    return booking


@dataclass
class SessionClosed:
    session_id: object
    label: str
    completed: int
    no_shows: int


@dataclass
class CloseReport:
    closed: list[SessionClosed] = field(default_factory=list)
    skipped_busy: int = 0


def sessions_close(*, organization: Organization | None = None, now: datetime | None = None) -> CloseReport:
    """Close every SCHEDULED session past `ends_at + no_show_grace_minutes`: checked-in bookings
    become COMPLETED, the other confirmed ones NO_SHOW (their All Access day stays used), the
    session COMPLETED. One short transaction per session; a session held by live traffic is
    skipped (`skip_locked`) and closed by the next run. Running it twice changes nothing more."""
    now = now or clock.now()
    report = CloseReport()
    candidates = Session.objects.filter(status=Session.Status.SCHEDULED, ends_at__lte=now).select_related(
        "organization", "ride_class"
    )
    if organization is not None:
        candidates = candidates.filter(organization=organization)
    for candidate in candidates.order_by("ends_at", "pk"):
        grace = timedelta(minutes=candidate.organization.no_show_grace_minutes)
        if candidate.ends_at + grace > now:
            continue
        with transaction.atomic(durable=True):
            queryset = Session.objects.filter(pk=candidate.pk, status=Session.Status.SCHEDULED)
            if locking.locks_enabled():
                queryset = queryset.select_for_update(skip_locked=True, of=("self",))
            session = queryset.first()
            if session is None:
                if Session.objects.filter(pk=candidate.pk, status=Session.Status.SCHEDULED).exists():
                    report.skipped_busy += 1
                continue
            bookings = list(locking.lock(Booking.objects.filter(session=session, status=CONFIRMED)))
            completed = [b.pk for b in bookings if b.checked_in_at is not None]
            no_shows = [b.pk for b in bookings if b.checked_in_at is None]
            Booking.objects.filter(pk__in=completed).update(status=Booking.Status.COMPLETED)
            _mark_no_shows(no_shows)
            Session.objects.filter(pk=session.pk).update(status=Session.Status.COMPLETED)
            report.closed.append(
                SessionClosed(
                    session_id=session.pk,
                    label=f"{candidate.ride_class.name} {candidate.starts_at:%Y-%m-%d %H:%M} UTC",
                    completed=len(completed),
                    no_shows=len(no_shows),
                )
            )
    return report
