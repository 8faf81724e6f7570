"""Check-in, no-shows and closing sessions (DOMAIN.md 10-11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy

from bookings_app.errors import CheckInNotOpen
from bookings_app.models import AllAccessUsage, Booking, Session
from bookings_app.services._common import CONFIRMED
from bookings_app.services.notices import Kind, notify_bookings
from bookings_app.timetable_cache import timetable_changed
from members_app.audit import log_action
from members_app.models import Organization, User
from spinning import clock, locking
from spinning.errors import InvalidState, NotFound


# --- check-in, no-show, closing -------------------------------------------------------------------
def _lock_booking(organization: Organization, booking_id) -> Booking:
    try:
        return locking.lock_one(
            Booking.objects.filter(organization=organization).select_related("session"), pk=booking_id
        )
    except (Booking.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such booking.")) from None


def check_in_window(*, session: Session, organization: Organization) -> tuple[datetime, datetime]:
    """DOMAIN.md 10: check-in opens `check_in_opens_minutes` before the start and closes at the
    no-show time, `ends_at + no_show_grace_minutes` (when `close_sessions` may close the session):
    open for `opens <= now < closes`. The one definition: the API, the admin's roster and its
    booking actions all check in through `booking_check_in`."""
    opens = session.starts_at - timedelta(minutes=organization.check_in_opens_minutes)
    closes = session.ends_at + timedelta(minutes=organization.no_show_grace_minutes)
    return opens, closes


def check_in_is_open(*, session: Session, organization: Organization, now: datetime) -> bool:
    opens, closes = check_in_window(session=session, organization=organization)
    return opens <= now < closes


def booking_check_in(
    *, organization: Organization, booking_id, performed_by: User | None = None, now: datetime | None = None
) -> Booking:
    """Staff or the instructor check a rider in: a confirmed booking, inside the check-in window
    (else `check_in_not_open`); checking in twice is a no-op. The booking becomes COMPLETED when
    the session is closed."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        booking = _lock_booking(organization, booking_id)
        if booking.status != CONFIRMED:
            raise InvalidState(gettext_lazy("Only a confirmed booking can be checked in."))
        opens, closes = check_in_window(session=booking.session, organization=organization)
        if not opens <= now < closes:
            raise CheckInNotOpen(
                f"Check-in for this session is open from {opens.isoformat()} until {closes.isoformat()}."
            )
        if booking.checked_in_at is None:
            booking.checked_in_at = now
            Booking.objects.filter(pk=booking.pk).update(checked_in_at=now)
            log_action(
                organization=organization,
                actor=performed_by,
                action="booking.check_in",
                obj=booking,
                changes={"checked_in_at": [None, now]},
                now=now,
            )
    return booking


def booking_undo_check_in(*, organization: Organization, booking_id, performed_by: User | None = None) -> Booking:
    """Undo a check-in made by mistake (DOMAIN.md 10): possible until the session is closed,
    when the booking is still CONFIRMED; a booking not checked in, or of a closed session, is
    `invalid_state`. The close job locks the same booking row, so the two never cross."""
    with transaction.atomic(durable=True):
        booking = _lock_booking(organization, booking_id)
        if booking.status != CONFIRMED or booking.session.status != Session.Status.SCHEDULED:
            raise InvalidState(gettext_lazy("The session is closed: its check-ins are final."))
        if booking.checked_in_at is None:
            raise InvalidState(gettext_lazy("This booking is not checked in."))
        checked_in_at, booking.checked_in_at = booking.checked_in_at, None
        Booking.objects.filter(pk=booking.pk).update(checked_in_at=None)
        log_action(
            organization=organization,
            actor=performed_by,
            action="booking.check_in_undo",
            obj=booking,
            changes={"checked_in_at": [checked_in_at, None]},
        )
    return booking


def _mark_no_shows(booking_ids: list, *, organization: Organization, now: datetime) -> None:
    if not booking_ids:
        return
    Booking.objects.filter(pk__in=booking_ids).update(status=Booking.Status.NO_SHOW)
    # The All Access day stays used, marked as a no-show.
    AllAccessUsage.objects.filter(booking_id__in=booking_ids).update(was_no_show=True)
    notify_bookings(kind=Kind.BOOKING_NO_SHOW, organization=organization, booking_ids=booking_ids, now=now)


def booking_mark_no_show(
    *, organization: Organization, booking_id, performed_by: User | None = None, now: datetime | None = None
) -> Booking:
    """Staff mark a confirmed, not-checked-in booking a no-show once the session has started:
    credits are not returned and the All Access day stays used (`was_no_show`)."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        booking = _lock_booking(organization, booking_id)
        if booking.status != CONFIRMED or booking.checked_in_at is not None:
            raise InvalidState(gettext_lazy("Only a confirmed booking that is not checked in can be a no-show."))
        if booking.session.starts_at > now:
            raise InvalidState(gettext_lazy("A rider can only miss a session that has started."))
        _mark_no_shows([booking.pk], organization=organization, now=now)
        booking.status = Booking.Status.NO_SHOW
        log_action(
            organization=organization,
            actor=performed_by,
            action="booking.no_show",
            obj=booking,
            changes={"status": [CONFIRMED, Booking.Status.NO_SHOW]},
            now=now,
        )
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
            open_session = Session.objects.filter(pk=candidate.pk, status=Session.Status.SCHEDULED)
            session = locking.lock_skip_locked(open_session).first()
            if session is None:
                if open_session.exists():
                    report.skipped_busy += 1
                continue
            bookings = list(locking.lock(Booking.objects.filter(session=session, status=CONFIRMED)))
            completed = [b.pk for b in bookings if b.checked_in_at is not None]
            no_shows = [b.pk for b in bookings if b.checked_in_at is None]
            Booking.objects.filter(pk__in=completed).update(status=Booking.Status.COMPLETED)
            _mark_no_shows(no_shows, organization=candidate.organization, now=now)
            Session.objects.filter(pk=session.pk).update(status=Session.Status.COMPLETED)
            timetable_changed(candidate.organization_id)
            report.closed.append(
                SessionClosed(
                    session_id=session.pk,
                    label=f"{candidate.ride_class.name} {clock.local_label(candidate.starts_at, candidate.organization.timezone)}",
                    completed=len(completed),
                    no_shows=len(no_shows),
                )
            )
    return report
