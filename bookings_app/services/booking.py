"""Booking a session (DOMAIN.md 9): refusals, payment resolution, friend pass, idempotency."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy

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
    LIVE_BOOKING_STATUSES,
    AllAccessUsage,
    Booking,
    Instructor,
    Location,
    RideClass,
    Seat,
    Session,
)
from bookings_app.services._common import (
    ALL_ACCESS,
    AUTO,
    CONFIRMED,
    CREDIT,
    FREE,
    FRIEND_PASS,
    PAYMENT_METHODS,
    _domain_error_for,
    _settle,
)
from bookings_app.services.notices import Kind, notify_booking_created
from bookings_app.timetable_cache import timetable_changed
from members_app.audit import log_action
from members_app.errors import InsufficientCredits, MemberInactive
from members_app.idempotency import (
    IdempotencyRequest,
    idempotency_claim,
    idempotency_complete,
    idempotency_replay_if_used,
)
from members_app.models import IdempotencyRecord, Member, Organization, User
from members_app.services import credits_spend, member_lock
from packages_app.models import Redemption
from spinning import clock, locking, rows
from spinning.errors import DomainError, Forbidden, Invalid, NotFound


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
        raise InsufficientCredits(gettext_lazy("No active All Access covers this session's date."))
    # The cached balance may still hold credits past their expiry: `credits_spend` expires those
    # first and refuses if what is left is short (see _booking_create).
    if member.credit_balance >= cost:
        return _Payment(CREDIT, day_used_up=day_used_up)
    if day_used_up:
        raise DailyLimitReached()
    raise InsufficientCredits()


def all_access_covering(*, member: Member, local_day, lock: bool) -> list[Redemption]:
    """The member's ACTIVE All Access passes covering a studio-local date, in the order payment
    tries them (soonest ending first). `lock`: the booking path locks them (Redemption comes
    after Member in the lock order); the waitlist's join only reads them."""
    passes = rows.select(
        Redemption,
        "{member} = %s AND {status} = %s AND {all_access_starts_on} <= %s AND {all_access_ends_on} >= %s",
        [member.pk, Redemption.Status.ACTIVE, local_day, local_day],
        lock=lock,
        order_by="{id}",
    )
    return sorted(passes, key=lambda r: (r.all_access_ends_on, str(r.pk)))


@dataclass
class RefusalFacts:
    """What DOMAIN.md 9's refusals look at, each read only when its turn comes. The booking reads
    them under its locks (authoritative); the early refusal reads them unlocked (`_refuse_early`).
    Both walk them through the one definition of the order: `refuse_in_order`."""

    member_has_priority: Callable[[], bool]
    member_is_active: Callable[[], bool]
    member_holds_booking: Callable[[], bool]
    seat: Callable[[], Seat | None] = lambda: None  # the seat asked for (Invalid if no such seat)
    seat_is_taken: Callable[[Seat], bool] = lambda seat: False
    session_is_full: Callable[[], bool] = lambda: False
    guest_checks: Callable[[], None] | None = None  # a friend-pass guest's refusals, in their place


def refuse_in_order(*, organization: Organization, session: Session, now, facts: RefusalFacts, guest: bool = False):
    """DOMAIN.md 9's refusals, in their order, each with its code: session_not_bookable (not
    SCHEDULED or started), booking_not_open (before starts_at - booking_window_days; a priority
    holder priority_booking_hours earlier), member_inactive, already_booked (a member's own
    booking), then a guest's own refusals, seat_unavailable / seat_taken, session_full. Returns
    the seat asked for (or None). Payment comes after, in `_resolve_payment`."""
    if session.status != Session.Status.SCHEDULED or session.starts_at <= now:
        raise SessionNotBookable()
    if not guest:
        opens_at = selectors.booking_opens_at(session=session, organization=organization, priority=False)
        if now < opens_at and facts.member_has_priority():
            opens_at = selectors.booking_opens_at(session=session, organization=organization, priority=True)
        if now < opens_at:
            raise BookingNotOpen(
                gettext_lazy("Booking for this session opens at %(moment)s.") % {"moment": opens_at.isoformat()}
            )
    if not facts.member_is_active():
        raise MemberInactive()
    if not guest and facts.member_holds_booking():
        raise AlreadyBooked()
    if facts.guest_checks is not None:
        facts.guest_checks()
    seat = facts.seat()
    if seat is not None:
        if seat.layout_id != session.seat_layout_id or not seat.is_bookable:
            raise SeatUnavailable()
        if facts.seat_is_taken(seat):
            raise SeatTaken()
    if facts.session_is_full():
        raise SessionFull()
    return seat


def member_facts(*, member: Member, session: Session, now) -> RefusalFacts:
    """The member's side of the refusals, from their (locked) row."""
    return RefusalFacts(
        member_has_priority=lambda: selectors.member_has_priority(member=member, now=now),
        member_is_active=lambda: member.status == Member.Status.ACTIVE,
        member_holds_booking=lambda: _holds_booking(session.pk, member.pk),
    )


def _holds_booking(session_id, member_id) -> bool:
    """Whether the member holds a live booking of their own on the session."""
    return rows.exists(
        Booking,
        "{session} = %s AND {member} = %s AND NOT {is_guest} AND {status} IN (%s, %s, %s)",
        [session_id, member_id, *LIVE_BOOKING_STATUSES],
    )


def refuse_unbookable(
    *, organization: Organization, session: Session, member: Member, now, guest: bool = False
) -> None:
    """The refusals before the seat and the count (session_not_bookable, booking_not_open,
    member_inactive, already_booked): what joining the waitlist refuses too (DOMAIN.md 14)."""
    refuse_in_order(
        organization=organization,
        session=session,
        now=now,
        facts=member_facts(member=member, session=session, now=now),
        guest=guest,
    )


def resolve_payment_or_refuse(*, member: Member, session: Session, organization: Organization, cost: int, now):
    """Whether AUTO payment could pay `cost` for this session right now (DOMAIN.md 9's order):
    returns the payment or raises daily_limit_reached / insufficient_credits. Reads only (the
    waitlist's join: joining takes nothing)."""
    local_day = clock.local_date(session.starts_at, organization.timezone)
    return _resolve_payment(
        method=AUTO,
        member=member,
        cost=cost,
        local_day=local_day,
        all_access=all_access_covering(member=member, local_day=local_day, lock=False),
        friend_passes=[],
        now=now,
    )


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

    Refusals, checked in the order of DOMAIN.md 9, each with its own code: session_not_bookable
    (not SCHEDULED or started), booking_not_open (before starts_at - booking_window_days, a
    priority holder priority_booking_hours earlier), member_inactive, already_booked, host_booking_required /
    friend_pass_unavailable (guests), seat_unavailable / seat_taken, session_full, then payment:
    All Access covering the session's studio-local date with a free slot -> credits (the seat's
    credit_cost, 1 without a seat) -> daily_limit_reached / insufficient_credits. Staff may book
    for any member and make FREE comps.
    """
    now = now or clock.now()
    payment_method = payment_method or AUTO
    if payment_method not in PAYMENT_METHODS:
        raise Invalid({"payment_method": gettext_lazy("One of %(choices)s.") % {"choices": ", ".join(PAYMENT_METHODS)}})
    if payment_method == FREE and not by_staff:
        raise Forbidden(gettext_lazy("Only staff may make a FREE booking."))
    is_guest = payment_method == FRIEND_PASS
    if is_guest:
        if not (guest_name or "").strip():
            raise Invalid({"guest_name": gettext_lazy("A friend-pass guest needs a name.")})
        if not host_booking_id:
            raise HostBookingRequired()
    session = None
    if not is_guest:
        # The schedule-drop rush: a taken bike or a full session is refused from one unlocked
        # read, before the transaction (no BEGIN, no key claimed, no lock queued behind the winners).
        session = _read_session(
            organization=organization, session_id=session_id, seat_id=seat_id, member_id=member_id, idem=idem
        )
        try:
            _refuse_early(session, organization=organization, member_id=member_id, seat_id=seat_id, now=now)
        except (SeatTaken, SessionFull):
            if session.early.key_used:  # the same read saw the key: replay (or key reused) as the claim would
                idempotency_replay_if_used(organization=organization, idem=idem)
            raise
    with booking_transaction(session_id=session_id, member_id=None if is_guest else member_id):
        # The booking's id is made here so that the key's record is complete from its INSERT (a
        # refusal rolls the record back with everything else): no UPDATE after.
        booking_id = uuid.uuid4()
        record = idempotency_claim(organization=organization, idem=idem, resource_id=booking_id)
        booking = _booking_create(
            booking_id=booking_id,
            read_session=session,
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
        notify_booking_created(
            kind=Kind.BOOKING_CONFIRMED,
            booking=booking,
            session=booking.session,
            member=booking.member,
            booked_by_staff=by_staff,
            now=now,
        )
        if by_staff:
            log_staff_booking(
                booking, organization=organization, actor=booked_by, now=now, guest_name=booking.guest_name or None
            )
        idempotency_complete(record, resource_id=booking.pk, status=201)
    return booking


def log_staff_booking(booking: Booking, *, organization: Organization, actor: User, now: datetime, **more) -> None:
    """The audit entry of a booking staff made (DOMAIN.md 18), in the booking's transaction;
    `more`: what else this path knows (a guest's name, the waitlist entry it came from)."""
    log_action(
        organization=organization,
        actor=actor,
        action="booking.create",
        obj=booking,
        changes={
            "member": booking.member_id,
            "session": booking.session_id,
            "seat": booking.seat.label if booking.seat_id else None,
            "payment_type": booking.payment_type,
            "credits_used": booking.credits_used,
            **more,
        },
        now=now,
    )


@contextmanager
def booking_transaction(*, session_id, member_id=None):
    """The durable transaction a booking is written in (`booking_create`, and the waitlist's
    promotion, which writes its booking with the same `_booking_create`).

    The booking and All Access usage INSERTs run without a savepoint: a refused constraint (a
    race the locks did not stop) aborts the transaction, the durable block rolls it all back,
    and here the error becomes its 409 (seat_taken, already_booked, ...)."""
    try:
        with transaction.atomic(durable=True):
            yield
    except IntegrityError as exc:
        error = _domain_error_for(exc)
        if error is None and member_id is not None:
            # Credits are spent before the booking row is written, so a twin of this member's
            # booking that got past an unheld member lock meets the ledger's (member, seq) before
            # booking_one_live_per_member. Nothing was written; if the twin's booking is there
            # now, that is the answer (never reached with the locks on: the member lock queues
            # the twin behind the first, which then finds the booking).
            if Booking.objects.filter(LIVE, session_id=session_id, member_id=member_id, is_guest=False).exists():
                error = AlreadyBooked()
        if error is None:
            raise
        raise error from exc


def _as_uuid(value) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _refuse_early(session: Session, *, organization, member_id, seat_id, now) -> None:
    """The schedule-drop rush: refuse `seat_taken` / `session_full` from the unlocked read, before
    queueing on the member and session locks behind the winners.

    The unlocked facts go through `refuse_in_order`, the same definition of DOMAIN.md 9's order
    as the locked path; only when the first refusal it finds is seat_taken or session_full is it
    given here (every earlier refusal is then known not to apply, so the answer is the one the
    locked path would give). Any other outcome — an earlier refusal, or none — goes on to the
    locked path, which stays authoritative (a priority holder before the general opening, an
    unknown member or seat: the locked path answers). A stale read can only refuse a request that
    raced with a cancellation, a legitimate answer to a race. Members' own bookings only. A
    request that will succeed pays nothing here but the holder subquery of a bike."""
    early = session.early
    holder = early.bike_holder
    full = session.booked_count >= session.capacity
    member_uuid = _as_uuid(member_id)
    if (holder is None and not full) or member_uuid is None:
        return
    facts = RefusalFacts(
        member_has_priority=lambda: False,  # unknown here: before the general opening, the locked path decides
        member_is_active=lambda: early.member_active,
        member_holds_booking=lambda: holder == member_uuid or early.member_holds,
        seat=lambda: _seat_or_invalid(seat_id, early.seat),
        seat_is_taken=lambda seat: holder is not None,
        session_is_full=lambda: full,
    )
    try:
        refuse_in_order(organization=organization, session=session, now=now, facts=facts)
    except (SeatTaken, SessionFull):
        raise
    except DomainError:
        return


def _seat_or_invalid(seat_id, seat: Seat | None) -> Seat | None:
    if seat_id and seat is None:
        raise Invalid({"seat_id": gettext_lazy("No such seat.")})
    return seat


def _seat_named(organization, seat_id) -> Seat | None:
    """The seat a request names (None when it names none); 400 when there is no such seat."""
    if not seat_id:
        return None
    seat_uuid = _as_uuid(seat_id)
    found = rows.select(Seat, "{organization} = %s AND {id} = %s", [organization.pk, seat_uuid]) if seat_uuid else []
    return _seat_or_invalid(seat_id, found[0] if found else None)


def _booking_create(
    *,
    organization,
    session_id,
    member_id,
    seat_id,
    method,
    guest_name,
    host_booking_id,
    booked_by,
    now,
    booking_id=None,
    read_session: Session | None = None,
) -> Booking:
    """The booking's steps, in the lock order (Member -> Redemption -> Session -> Booking ->
    CreditLot), inside the caller's durable transaction (`booking_transaction`). `read_session`:
    the unlocked read `booking_create` already made (and refused early from)."""
    is_guest = method == FRIEND_PASS
    session = read_session
    if session is None:
        session = _read_session(
            organization=organization,
            session_id=session_id,
            seat_id=None if is_guest else seat_id,
            member_id=None if is_guest else member_id,
        )
        if not is_guest:
            _refuse_early(session, organization=organization, member_id=member_id, seat_id=seat_id, now=now)
    host = None
    if is_guest:
        host = _host_booking(
            organization=organization, session=session, host_booking_id=host_booking_id, member_id=member_id
        )
        member_id = host.member_id
    if member_id is None:
        raise Invalid({"member_id": gettext_lazy("Name the member to book for.")})

    # 1. Member (first in the lock order): every booking of one member queues here.
    member = member_lock(organization=organization, member_id=member_id)
    local_day = clock.local_date(session.starts_at, organization.timezone)
    # 2. The redemptions that may pay.
    all_access, friend_passes = _lock_payers(member=member, method=method, local_day=local_day, now=now)
    # 3. The session: every booking of the session queues here; re-read under the lock.
    # The seat named was read with the session (a guest's was not: its read named no bike).
    seat_read = session.early.seat if not is_guest else None
    session = _lock_session(session)
    # 4. DOMAIN.md 9's refusals, re-counted under the locks (the guest's host booking locked in turn).
    seat = _refuse_locked(
        organization=organization, session=session, member=member, seat_id=seat_id, seat_read=seat_read,
        host=host, friend_passes=friend_passes, now=now,
    )  # fmt: skip
    cost = seat.credit_cost if seat is not None else 1
    # 5. Payment, in DOMAIN.md 9's order.
    payment = _resolve_payment(
        method=method,
        member=member,
        cost=cost,
        local_day=local_day,
        all_access=all_access,
        friend_passes=friend_passes,
        now=now,
    )
    # 6. The writes.
    return _write_booking(
        booking_id=booking_id or uuid.uuid4(), organization=organization, session=session, member=member,
        seat=seat, cost=cost, payment=payment, host=host, guest_name=guest_name, booked_by=booked_by,
        local_day=local_day, now=now,
    )  # fmt: skip


def _read_session(*, organization, session_id, seat_id, member_id=None, idem=None) -> Session:
    """The session, unlocked (its date decides which passes to lock), with its names for the
    answer, and in the same statement what the early refusal looks at (`_refuse_early`): who
    holds the bike named, and for the member booking whether they are ACTIVE, whether they hold a
    booking of their own here, the seat named, and whether the request's Idempotency-Key was
    used before (`session.early`). The rush's losers pay this one read after authentication."""
    session_uuid = _as_uuid(session_id)
    if session_uuid is None:
        raise NotFound(gettext_lazy("No such session."))
    seat_uuid, member_uuid = _as_uuid(seat_id), _as_uuid(member_id)
    params = [
        *(seat_uuid, *LIVE_BOOKING_STATUSES),  # holder
        *(member_uuid, Member.Status.ACTIVE),  # active
        *(member_uuid, *LIVE_BOOKING_STATUSES),  # holds
        *((idem.user_id, idem.scope, idem.key) if idem else (None, None, None)),  # key used
        seat_uuid,  # the seat's join
        *(organization.pk, session_uuid),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_read_session_sql(), rows.adapt(params))
        row = cursor.fetchone()
    if row is None:
        raise NotFound(gettext_lazy("No such session."))
    s, c = rows.columns(Session, "s"), rows.columns(RideClass, "c")
    i, loc, x = rows.columns(Instructor, "i"), rows.columns(Location, "l"), rows.columns(Seat, "x")
    session = s.load(row)
    at = s.width
    session.ride_class, at = c.load(row, at), at + c.width
    session.instructor, at = i.load(row, at), at + i.width
    session.location, at = loc.load(row, at), at + loc.width
    seat, at = x.load(row, at), at + x.width
    bike_holder, member_active, member_holds, key_used = row[at : at + 4]
    session.early = EarlyFacts(
        bike_holder=_as_uuid(bike_holder),
        member_active=bool(member_active),
        member_holds=bool(member_holds),
        seat=seat,
        key_used=bool(key_used),
    )
    return session


@functools.cache
def _read_session_sql() -> str:
    s, c = rows.columns(Session, "s"), rows.columns(RideClass, "c")
    i, loc, b = rows.columns(Instructor, "i"), rows.columns(Location, "l"), rows.columns(Booking, "b")
    m, x, k = rows.columns(Member, "m"), rows.columns(Seat, "x"), rows.columns(IdempotencyRecord, "k")
    live = f"{b.column('status')} IN (%s, %s, %s)"
    holder = (
        f"(SELECT {b.column('member')} FROM {b.table} b WHERE {b.column('session')} = {s.column('id')} "
        f"AND {b.column('seat')} = %s AND {live} LIMIT 1)"
    )
    active = (
        f"EXISTS(SELECT 1 FROM {m.table} m WHERE {m.column('organization')} = {s.column('organization')} "
        f"AND {m.column('id')} = %s AND {m.column('status')} = %s)"
    )
    holds = (
        f"EXISTS(SELECT 1 FROM {b.table} b WHERE {b.column('session')} = {s.column('id')} "
        f"AND {b.column('member')} = %s AND NOT {b.column('is_guest')} AND {live})"
    )
    key_used = (
        f"EXISTS(SELECT 1 FROM {k.table} k WHERE {k.column('organization')} = {s.column('organization')} "
        f"AND {k.column('user')} = %s AND {k.column('scope')} = %s AND {k.column('key')} = %s)"
    )
    return (
        f"SELECT {s.sql}, {c.sql}, {i.sql}, {loc.sql}, {x.sql}, {holder}, {active}, {holds}, {key_used} "
        f"FROM {s.table} s "
        f"INNER JOIN {c.table} c ON {c.column('id')} = {s.column('ride_class')} "
        f"INNER JOIN {i.table} i ON {i.column('id')} = {s.column('instructor')} "
        f"INNER JOIN {loc.table} l ON {loc.column('id')} = {s.column('location')} "
        f"LEFT OUTER JOIN {x.table} x ON {x.column('organization')} = {s.column('organization')} "
        f"AND {x.column('id')} = %s "
        f"WHERE {s.column('organization')} = %s AND {s.column('id')} = %s"
    )


@dataclass
class EarlyFacts:
    """What `_read_session` read for `_refuse_early` (unlocked)."""

    bike_holder: uuid.UUID | None
    member_active: bool
    member_holds: bool
    seat: Seat | None
    key_used: bool = False


def _host_booking(*, organization, session, host_booking_id, member_id) -> Booking:
    """A friend-pass guest rides on the member's own booking of this session."""
    host = Booking.objects.filter(organization=organization, pk=host_booking_id, is_guest=False).first()
    if host is None or host.session_id != session.pk or (member_id and str(member_id) != str(host.member_id)):
        raise HostBookingRequired()
    return host


def _lock_payers(*, member, method, local_day, now) -> tuple[list[Redemption], list[Redemption]]:
    """The member's All Access passes covering the day (AUTO, ALL_ACCESS) or unused friend
    passes (a guest), locked: Redemption comes after Member in the lock order."""
    if method in (AUTO, ALL_ACCESS):
        return all_access_covering(member=member, local_day=local_day, lock=True), []
    if method != FRIEND_PASS:
        return [], []
    passes = locking.lock(
        Redemption.objects.filter(
            member=member,
            status=Redemption.Status.ACTIVE,
            friend_pass_granted=True,
            friend_pass_used_at__isnull=True,
            friend_pass_expires_at__gt=now,
        )
    )
    return [], sorted(passes, key=lambda r: (r.friend_pass_expires_at, str(r.pk)))


def _lock_session(session: Session) -> Session:
    (locked,) = rows.select(Session, "{id} = %s", [session.pk], lock=True)
    # The names a booking shows of its session (BookingSerializer), read in the first statement.
    locked.ride_class, locked.instructor, locked.location = session.ride_class, session.instructor, session.location
    return locked


def _refuse_locked(*, organization, session, member, seat_id, seat_read, host, friend_passes, now) -> Seat | None:
    """DOMAIN.md 9's refusals under the member and session locks (`refuse_in_order`): the
    authoritative answer. Returns the seat asked for."""

    def guest_checks() -> None:
        # API.md: a used or expired friend pass answers first among the guest's refusals.
        if not friend_passes:
            raise FriendPassUnavailable()
        locked_host = locking.lock_one(Booking.objects.all(), pk=host.pk)  # Booking after Session
        if locked_host.status != CONFIRMED:
            raise HostBookingRequired()
        if Booking.objects.filter(LIVE, host_booking=locked_host, is_guest=True).exists():
            raise AlreadyBooked(gettext_lazy("This booking already has a guest."))

    def seat_is_taken(chosen: Seat) -> bool:
        taken = Booking.objects.filter(LIVE, session=session, seat=chosen).exists()
        if not taken:
            locking.pause("seat_checked")  # test hook: the window after a passed check
        return taken

    def session_is_full() -> bool:
        full = session.booked_count >= session.capacity
        if not full:
            locking.pause("capacity_checked")
        return full

    facts = member_facts(member=member, session=session, now=now)
    # Seats are not locked (staff retire one with no booking in flight in mind), so the row read
    # with the session is as good as a second read here; whether it is taken is re-read below.
    facts.seat = lambda: _seat_or_invalid(seat_id, seat_read) if seat_read else _seat_named(organization, seat_id)
    facts.seat_is_taken, facts.session_is_full = seat_is_taken, session_is_full
    facts.guest_checks = guest_checks if host is not None else None
    return refuse_in_order(organization=organization, session=session, now=now, facts=facts, guest=host is not None)


def _write_booking(
    *, booking_id, organization, session, member, seat, cost, payment, host, guest_name, booked_by, local_day, now
):
    """The counter (conditional), the credits (the booking's id is made here, so its ledger rows
    name it and the booking is inserted once, with its lot), the booking (constraints), then the
    All Access day or the friend pass."""
    if not rows.update(
        Session, "{booked_count} = {booked_count} + 1", "{id} = %s AND {booked_count} < {capacity}", [session.pk]
    ):
        raise SessionFull()
    session.booked_count += 1
    timetable_changed(organization.pk)
    is_guest = host is not None
    booking = Booking(
        id=booking_id,
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
    if payment.type == CREDIT:
        try:
            spent = credits_spend(
                member=member,
                amount=cost,
                now=now,
                booking_id=booking.pk,
                performed_by=booked_by,
                description=f"Booking: {session.ride_class.name} "
                f"{clock.local_label(session.starts_at, organization.timezone)}"
                + (f", bike {seat.label}" if seat else ""),
            )
        except InsufficientCredits:
            if payment.day_used_up:
                raise DailyLimitReached() from None
            raise
        booking.credit_lot = spent[0].lot

    # No savepoint: a refused constraint ends the whole transaction; booking_create maps it.
    rows.insert(booking)

    if payment.type == ALL_ACCESS:
        AllAccessUsage(
            organization=organization,
            redemption=payment.redemption,
            member=member,
            usage_date=local_day,
            slot=payment.slot,
            booking=booking,
            created_at=now,
        ).save(force_insert=True)
    elif payment.type == FRIEND_PASS:
        if not Redemption.objects.filter(pk=payment.redemption.pk, friend_pass_used_at__isnull=True).update(
            friend_pass_used_at=now, friend_pass_booking_id=booking.pk
        ):
            raise FriendPassUnavailable()
        _settle(member, now)
    return booking
