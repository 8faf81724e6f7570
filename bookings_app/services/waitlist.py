"""The waitlist (DOMAIN.md 14): join, leave, remove, promotion when a spot frees, expiry.

Promotion runs in its own transactions right after the one that freed the spot commits
(`waitlist_promote_on_commit`), never inside it: promoting means booking for ANOTHER member, and
the booking path locks that member first (Member -> Redemption -> Session -> ...). The
cancelling transaction already holds the cancelling member and the session, so locking a second
member there would take Member after Session and could deadlock with that member's own booking
(which holds its member row and waits for the session). docs/waitlist.md has the whole story.

Entries are a leaf of the lock order: they change only by conditional UPDATEs
(`... WHERE status = 'WAITING'`), taken last in a transaction, so two writers never both move one
entry (a rider leaving while being promoted ends LEFT or PROMOTED, never both) and nothing is
ever locked after an entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, Q
from django.utils.translation import gettext_lazy

from bookings_app.errors import (
    AlreadyBooked,
    AlreadyWaitlisted,
    BookingNotOpen,
    DailyLimitReached,
    SeatTaken,
    SessionFull,
    SessionNotFull,
    WaitlistFull,
)
from bookings_app.models import LIVE, Booking, Seat, Session, WaitlistEntry
from bookings_app.services._common import AUTO, _domain_error_for
from bookings_app.services.booking import (
    _booking_create,
    booking_transaction,
    log_staff_booking,
    refuse_unbookable,
    resolve_payment_or_refuse,
)
from bookings_app.services.notices import Kind, notify_booking_created, notify_waitlist_entries
from bookings_app.timetable_cache import timetable_changed
from members_app.audit import log_action
from members_app.errors import InsufficientCredits, MemberInactive
from members_app.models import Organization, User
from members_app.services import member_lock
from spinning import clock, locking
from spinning.errors import DomainError, InvalidState, NotFound

logger = logging.getLogger(__name__)

WAITING = WaitlistEntry.Status.WAITING

# A waiting rider the booking refuses for one of these reasons is SKIPPED and the next one is
# tried (DOMAIN.md 14: "an entry that cannot pay at that moment is SKIPPED"). Payment is the
# usual reason; a member made inactive, a priority benefit lost since joining (booking not open
# for them any more) or a rider who booked the session directly meanwhile cannot take the spot
# either. Anything else (the session full or no longer bookable, a busy row) stops the round.
SKIP_REFUSALS = (InsufficientCredits, DailyLimitReached, MemberInactive, BookingNotOpen, AlreadyBooked)


# --- join, leave, remove ------------------------------------------------------------------------------
def cheapest_bike_cost(*, session: Session) -> int:
    """The credit cost of the cheapest bookable bike of the session's layout (1 without bikes:
    a booking without a bike costs 1)."""
    cost = Seat.objects.filter(
        layout_id=session.seat_layout_id, is_active=True, type__in=Seat.BOOKABLE_TYPES
    ).aggregate(cost=Min("credit_cost"))["cost"]
    return cost or 1


def waitlist_join(
    *,
    organization: Organization,
    session_id,
    member_id,
    added_by: User | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    """A member joins a full session's waitlist (staff may add a member: `added_by`).

    Refusals, in DOMAIN.md 9's order with the waitlist's own where booking has its seat and
    capacity checks: session_not_bookable, booking_not_open, member_inactive, already_booked
    (the same checks as booking, one definition), already_waitlisted, session_not_full (book
    instead), waitlist_full (`waitlist_max_size`), then whether AUTO payment could pay the
    cheapest bookable bike right now (daily_limit_reached / insufficient_credits). Joining
    takes nothing from the member. Staff adding a member is a staff action: recorded in the
    audit log (`waitlist.add`) in this transaction."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        try:
            session = Session.objects.get(organization=organization, pk=session_id)
        except (Session.DoesNotExist, ValueError, TypeError):
            raise NotFound(gettext_lazy("No such session.")) from None
        # Member -> Session: the lock order of the booking path. The session lock makes the
        # capacity, the queue's length and its next place stable.
        member = member_lock(organization=organization, member_id=member_id)
        session = locking.lock_one(Session.objects.all(), pk=session.pk)
        refuse_unbookable(organization=organization, session=session, member=member, now=now)
        entries = WaitlistEntry.objects.filter(session=session)
        if entries.filter(member=member, status=WAITING).exists():
            raise AlreadyWaitlisted()
        if session.booked_count < session.capacity:
            raise SessionNotFull()
        stats = entries.aggregate(last=Max("sequence"), waiting=_count_waiting())
        if organization.waitlist_max_size is not None and stats["waiting"] >= organization.waitlist_max_size:
            raise WaitlistFull()
        locking.pause("waitlist_join_checked")
        resolve_payment_or_refuse(
            member=member, session=session, organization=organization, cost=cheapest_bike_cost(session=session), now=now
        )
        entry = WaitlistEntry(
            organization=organization,
            session=session,
            member=member,
            status=WAITING,
            sequence=(stats["last"] or 0) + 1,
            added_by=added_by,
            joined_at=now,
            updated_at=now,
        )
        _insert_entry(entry)
        if added_by is not None:
            log_action(
                organization=organization,
                actor=added_by,
                action="waitlist.add",
                obj=entry,
                changes={"member": member.pk, "session": session.pk, "status": [None, WAITING]},
                now=now,
            )
    return entry


def _count_waiting():
    return Count("pk", filter=Q(status=WAITING))


def _insert_entry(entry: WaitlistEntry) -> None:
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
        timetable_changed(entry.organization_id)
    except IntegrityError as exc:
        error = _domain_error_for(exc)
        if error is None:
            raise
        raise error from exc


def waitlist_leave(
    *,
    organization: Organization,
    entry_id,
    member=None,
    by_staff: bool = False,
    performed_by: User | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    """A member leaves a waitlist (LEFT); staff remove an entry (REMOVED, recorded in the audit
    log as `waitlist.remove` with `performed_by`). Only a WAITING entry (else invalid_state).
    With `member`, only that member's entry (others answer 404)."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        queryset = WaitlistEntry.objects.filter(organization=organization)
        if member is not None:
            queryset = queryset.filter(member=member)
        try:
            entry = queryset.get(pk=entry_id)
        except (WaitlistEntry.DoesNotExist, ValueError, TypeError):
            raise NotFound(gettext_lazy("No such waitlist entry.")) from None
        # The member lock queues this behind a promotion of the same member (the booking path
        # holds it until its commit); the conditional UPDATE decides even without it.
        member_lock(organization=organization, member_id=entry.member_id)
        entry.refresh_from_db(fields=["status"])  # as it is now, behind any promotion of this member
        if entry.status != WAITING:
            raise InvalidState(gettext_lazy("Only a waiting entry can leave the waitlist."))
        locking.pause("waitlist_leave_checked")
        status = WaitlistEntry.Status.REMOVED if by_staff else WaitlistEntry.Status.LEFT
        if not WaitlistEntry.objects.filter(pk=entry.pk, status=WAITING).update(status=status, updated_at=now):
            raise InvalidState(gettext_lazy("Only a waiting entry can leave the waitlist."))
        timetable_changed(entry.organization_id)
        entry.status, entry.updated_at = status, now
        if by_staff:
            log_action(
                organization=organization,
                actor=performed_by,
                action="waitlist.remove",
                obj=entry,
                changes={"member": entry.member_id, "session": entry.session_id, "status": [WAITING, status]},
                now=now,
            )
    return entry


# --- promotion ------------------------------------------------------------------------------------------
@dataclass
class PromotionReport:
    promoted: list = field(default_factory=list)  # bookings made
    skipped: list = field(default_factory=list)  # (entry id, refusal code)


class _EntryGone(Exception):
    """The entry stopped WAITING (left, removed, expired, promoted by another round) while its
    booking was being written: the booking is rolled back."""


def _promotable(session: Session, organization: Organization, now: datetime) -> bool:
    """DOMAIN.md 14: no promotion closer to the start than `waitlist_cutoff_minutes`."""
    cutoff = timedelta(minutes=organization.waitlist_cutoff_minutes)
    return session.status == Session.Status.SCHEDULED and now < session.starts_at - cutoff


def _free_bike(session: Session, exclude: set) -> object | None:
    """The cheapest free bookable bike of the session (row by row), None when none is free."""
    taken = Booking.objects.filter(LIVE, session=session, seat__isnull=False).values("seat_id")
    return (
        Seat.objects.filter(layout_id=session.seat_layout_id, is_active=True, type__in=Seat.BOOKABLE_TYPES)
        .exclude(pk__in=taken)
        .exclude(pk__in=exclude)
        .order_by("credit_cost", "row", "column")
        .values_list("pk", flat=True)
        .first()
    )


def _book_entry(
    *,
    organization: Organization,
    entry: WaitlistEntry,
    seat_id,
    booked_by: User | None,
    now: datetime,
    pick_bike: bool = False,
) -> Booking:
    """Book the entry's member with AUTO payment exactly as `booking_create` does (the same
    `_booking_create`, in the same kind of transaction: same refusals, same ledger rows), and
    mark the entry PROMOTED with its booking in that transaction. An entry that stopped waiting
    meanwhile rolls the booking back (`_EntryGone`). Staff promoting by hand (`booked_by`) made a
    booking on the member's behalf: recorded as `booking.create` with the entry it came from.

    `pick_bike`: choose the cheapest free bike under the locks the booking takes (the member,
    then the session: the booking path's order, which `_booking_create` then takes again at no
    cost), so no booking can take it between the choice and the insert."""
    with booking_transaction(session_id=entry.session_id, member_id=entry.member_id):
        if pick_bike:
            member_lock(organization=organization, member_id=entry.member_id)
            seat_id = _free_bike(locking.lock_one(Session.objects.all(), pk=entry.session_id), set())
            locking.pause("waitlist_bike_picked")
        booking = _booking_create(
            organization=organization,
            session_id=entry.session_id,
            member_id=entry.member_id,
            seat_id=seat_id,
            method=AUTO,
            guest_name="",
            host_booking_id=None,
            booked_by=booked_by,
            now=now,
        )
        locking.pause("waitlist_booked")
        if not WaitlistEntry.objects.filter(pk=entry.pk, status=WAITING).update(
            status=WaitlistEntry.Status.PROMOTED, booking=booking, updated_at=now
        ):
            raise _EntryGone()
        if booked_by is not None:
            log_staff_booking(booking, organization=organization, actor=booked_by, now=now, waitlist_entry=entry.pk)
        notify_booking_created(
            kind=Kind.WAITLIST_PROMOTED,
            booking=booking,
            session=booking.session,
            member=booking.member,
            booked_by_staff=booked_by is not None,
            now=now,
        )
    entry.status, entry.booking, entry.updated_at = WaitlistEntry.Status.PROMOTED, booking, now
    return booking


def _skip(entry: WaitlistEntry, reason: str, now: datetime, organization: Organization) -> bool:
    with transaction.atomic(durable=True):
        skipped = bool(
            WaitlistEntry.objects.filter(pk=entry.pk, status=WAITING).update(
                status=WaitlistEntry.Status.SKIPPED, reason=reason, updated_at=now
            )
        )
        timetable_changed(organization.pk)
        if skipped:
            notify_waitlist_entries(
                kind=Kind.WAITLIST_SKIPPED,
                organization=organization,
                entry_ids=[entry.pk],
                now=now,
                reasons={entry.pk: reason},
            )
        return skipped


def waitlist_promote(
    *,
    organization: Organization,
    session_id,
    seat_ids=(),
    spots: int | None = None,
    now: datetime | None = None,
) -> PromotionReport:
    """Give a session's free spots to its waiting entries, first come first served (DOMAIN.md 14).

    While the session is SCHEDULED, starts more than `waitlist_cutoff_minutes` from now, has a
    free spot and someone waits: the first WAITING entry is booked (`_book_entry`) onto a freed
    bike of `seat_ids` (the bikes the cancel released), else the cheapest free bike; an entry the
    booking refuses for payment (or the other SKIP_REFUSALS) is SKIPPED and the next one tried.
    Each booking is its own short transaction, so the session lock is never held across riders.
    `spots`: how many spots the caller freed (stop after that many promotions; None: while any
    spot is free). Safe to run any number of times at once: the session lock and the capacity
    check give each spot to one booking, the conditional UPDATE gives each entry at most one
    booking."""
    now = now or clock.now()
    report = PromotionReport()
    locking.pause("waitlist_promotion_starting")
    freed = [s for s in seat_ids if s]
    dropped: set = set()
    for _round in range(500):  # every round promotes, skips, drops a bike or re-reads a moved entry
        if spots is not None and len(report.promoted) >= spots:
            break
        entry = (
            WaitlistEntry.objects.filter(organization=organization, session_id=session_id, status=WAITING)
            .select_related("session")
            .order_by("sequence")
            .first()
        )
        if entry is None:
            break
        session = entry.session
        if not _promotable(session, organization, now) or session.booked_count >= session.capacity:
            break
        seat_id = freed[0] if freed else _free_bike(session, dropped)
        try:
            booking = _book_entry(organization=organization, entry=entry, seat_id=seat_id, booked_by=None, now=now)
        except _EntryGone:
            continue
        except SeatTaken:
            # A new booking won the freed bike (a race the rules allow): try another free one.
            if freed and freed[0] == seat_id:
                freed.pop(0)
            dropped.add(seat_id)
            continue
        except SKIP_REFUSALS as refusal:
            if _skip(entry, refusal.code, now, organization):
                report.skipped.append((entry.pk, refusal.code))
            continue
        except (SessionFull, DomainError):
            break  # full again, not bookable any more, or busy: nothing more to give now
        if freed and freed[0] == seat_id:
            freed.pop(0)
        report.promoted.append(booking)
    return report


def _promote_quietly(organization: Organization, session_id, seat_ids: tuple, spots, now: datetime | None) -> None:
    try:
        waitlist_promote(organization=organization, session_id=session_id, seat_ids=seat_ids, spots=spots, now=now)
    except Exception:  # the spot stays free; close_sessions' sweep promotes it
        logger.exception("waitlist promotion of session %s failed", session_id)


def waitlist_promote_on_commit(
    *, organization: Organization, session_id, seat_ids=(), spots: int | None = None, now=None
) -> None:
    """Promote from the session's waitlist right after the current transaction commits (a spot
    was freed or capacity raised). Runs in the same process, in its own transactions, before the
    request answers; a failure there never undoes what freed the spot (it is logged, and the
    sweep in `close_sessions` gives the spot away later)."""
    transaction.on_commit(partial(_promote_quietly, organization, session_id, tuple(seat_ids), spots, now))


def waitlist_entry_promote(
    *, organization: Organization, entry_id, booked_by: User | None, now: datetime | None = None
) -> Booking:
    """Staff promote an entry by hand: book the member on their behalf (AUTO payment, the
    cheapest free bike, chosen under the booking's locks) exactly as the automatic promotion does, refusals answered as they are
    (nothing is skipped), also inside the cutoff. Only a WAITING entry (else invalid_state)."""
    now = now or clock.now()
    entry = (
        WaitlistEntry.objects.filter(organization=organization, pk=entry_id).select_related("session").first()
        if entry_id
        else None
    )
    if entry is None:
        raise NotFound(gettext_lazy("No such waitlist entry."))
    if entry.status != WAITING:
        raise InvalidState(gettext_lazy("Only a waiting entry can be promoted."))
    if entry.session.booked_count >= entry.session.capacity:
        raise SessionFull()
    try:
        return _book_entry(
            organization=organization, entry=entry, seat_id=None, booked_by=booked_by, now=now, pick_bike=True
        )
    except _EntryGone:
        raise InvalidState(gettext_lazy("Only a waiting entry can be promoted.")) from None


# --- expiry -----------------------------------------------------------------------------------------------
def waitlist_expire_for_session(*, session: Session, now: datetime, organization: Organization | None = None) -> int:
    """Every WAITING entry of the session becomes EXPIRED (the session started or was cancelled).
    A building block: runs in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("waitlist_expire_for_session runs inside its caller's transaction.")
    return _expire_entries(organization=organization or session.organization, session_id=session.pk, now=now)


def _expire_entries(*, organization: Organization, session_id, now: datetime) -> int:
    """WAITING -> EXPIRED for one session, each rider told (in the caller's transaction)."""
    expired = list(WaitlistEntry.objects.filter(session_id=session_id, status=WAITING).values_list("pk", flat=True))
    if not expired:
        return 0
    count = WaitlistEntry.objects.filter(pk__in=expired, status=WAITING).update(
        status=WaitlistEntry.Status.EXPIRED, updated_at=now
    )
    timetable_changed(organization.pk)
    session_cancelled = Session.objects.filter(pk=session_id, status=Session.Status.CANCELLED).exists()
    notify_waitlist_entries(
        kind=Kind.WAITLIST_EXPIRED,
        organization=organization,
        entry_ids=expired,
        now=now,
        session_cancelled=session_cancelled,
    )
    return count


@dataclass
class WaitlistSweep:
    expired: int = 0
    promoted: int = 0
    skipped: int = 0


def waitlists_sweep(*, organization: Organization | None = None, now: datetime | None = None) -> WaitlistSweep:
    """The job's part (run by `close_sessions`): waiting entries of sessions that have started (or
    are no longer SCHEDULED) EXPIRE; sessions that have a free spot and a waitlist outside the
    cutoff get their promotion (a safety net: promotion normally runs right after the cancel
    commits, so this finds work only after a crash between the two). Idempotent."""
    now = now or clock.now()
    sweep = WaitlistSweep()
    waiting = WaitlistEntry.objects.filter(status=WAITING)
    if organization is not None:
        waiting = waiting.filter(organization=organization)
    ended = waiting.exclude(session__status=Session.Status.SCHEDULED) | waiting.filter(session__starts_at__lte=now)
    for org_id, session_id in set(ended.values_list("organization_id", "session_id")):
        with transaction.atomic(durable=True):
            org = Organization.objects.get(pk=org_id)
            sweep.expired += _expire_entries(organization=org, session_id=session_id, now=now)
    open_spots = waiting.filter(
        session__status=Session.Status.SCHEDULED,
        session__starts_at__gt=now,
        session__booked_count__lt=F("session__capacity"),
    )
    candidates = sorted(set(open_spots.values_list("organization_id", "session_id")), key=str)
    organizations = Organization.objects.in_bulk({org_id for org_id, _ in candidates})
    for org_id, session_id in candidates:
        org = organizations[org_id]
        report = waitlist_promote(organization=org, session_id=session_id, now=now)
        sweep.promoted += len(report.promoted)
        sweep.skipped += len(report.skipped)
    return sweep
