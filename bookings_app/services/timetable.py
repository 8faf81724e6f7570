"""The weekly timetable (issue 12 item 6): slots, closed days, and generating sessions from them.

A slot says "every Tuesday at 18:00 (studio-local), SunSet Pulse with Selin in the Main Room".
`timetable_plan` lists what a generation over a date range would do, day by day and slot by
slot: create, or skip (a closed day, a session already there, a start already past), with a
warning where the new session would overlap another at the same location (API.md: overlaps
are allowed, the admin warns). `sessions_generate` writes that plan in one transaction, under
the studio's row lock (two generations at once run one after the other and the second finds
everything there), with the database's `session_one_per_slot_and_start` as the backstop, and
records one audit entry with the counts. Running it twice creates nothing the second time.

Times: a slot's start is a studio-local wall time; each day's instant is computed in the
studio's zone (`slot_start`), so a class at 18:00 stays at 18:00 across a daylight-saving
change. A wall time that does not exist that day (the spring-forward gap) is moved forward by
the gap; an ambiguous one (the autumn fold) is the first of the two. A class lasts its minutes
of real time.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy

from bookings_app import selectors
from bookings_app.models import ClosedDate, Session, TimetableSlot
from bookings_app.services._common import _schedule_refusal
from bookings_app.services.schedule import check_on_calendar, session_insert
from members_app.audit import changes_between, log_action, snapshot
from members_app.models import Organization, User
from spinning import clock, locking
from spinning.errors import Busy, Invalid, NotFound, is_lock_timeout

#: the longest range one generation covers (a quarter): the preview stays readable
MAX_DAYS = 92

CREATE, CLOSED, EXISTS, PAST = "create", "closed", "exists", "past"
#: the slot's instructor is inactive (left the studio): no session until staff give the slot another one
INSTRUCTOR_INACTIVE = "instructor_inactive"


def slot_start(day: date, start_time: time, tz_name: str) -> datetime:
    """The instant a slot starts on `day`: its wall time in the studio's zone (DST-safe).

    zoneinfo reads a wall time with fold=0: an ambiguous one (the autumn fold) is the first of
    the two; one inside the spring-forward gap gets the offset from before the change, which
    lands it after the gap (02:30 -> 03:30)."""
    return datetime.combine(day, start_time, tzinfo=ZoneInfo(tz_name)).astimezone(UTC)


def next_month(today: date) -> tuple[date, date]:
    """The first and last day of the calendar month after `today`'s."""
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


@dataclass
class PlannedSession:
    slot: TimetableSlot
    day: date
    starts_at: datetime
    ends_at: datetime
    action: str  # create, closed, exists, past, instructor_inactive
    closed_reason: str = ""
    overlaps: list = field(default_factory=list)  # names of sessions it overlaps at the location


@dataclass
class TimetablePlan:
    date_from: date
    date_to: date
    items: list[PlannedSession] = field(default_factory=list)
    created: list[Session] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)

    @property
    def to_create(self) -> list[PlannedSession]:
        return [item for item in self.items if item.action == CREATE]

    @property
    def inactive_instructor_items(self) -> list[PlannedSession]:
        return [item for item in self.items if item.action == INSTRUCTOR_INACTIVE]

    @property
    def inactive_instructor_names(self) -> list[str]:
        return sorted({item.slot.instructor.name for item in self.inactive_instructor_items})

    @property
    def overlapping(self) -> list[PlannedSession]:
        return [item for item in self.items if item.action == CREATE and item.overlaps]

    def counts(self) -> dict:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "created": len(self.created) if self.created else self.count(CREATE),
            "skipped_closed": self.count(CLOSED),
            "skipped_existing": self.count(EXISTS),
            "skipped_past": self.count(PAST),
            "skipped_inactive_instructor": self.count(INSTRUCTOR_INACTIVE),
            "overlaps_warned": len(self.overlapping),
        }


def _check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise Invalid({"date_to": gettext_lazy("The last day is before the first day.")})
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise Invalid({"date_to": gettext_lazy("At most %(count)s days at a time.") % {"count": MAX_DAYS}})


def timetable_plan(
    *, organization: Organization, date_from: date, date_to: date, now: datetime | None = None
) -> TimetablePlan:
    """What generating sessions from the active slots for the studio-local days `date_from` to
    `date_to` (inclusive) would do, without writing anything. A slot applies on its weekday
    inside its own `valid_from`/`valid_until`; one whose instructor is inactive (deactivated:
    they left, reference.py) is listed but skipped (`instructor_inactive`): nobody would teach it."""
    _check_range(date_from, date_to)
    now = now or clock.now()
    tz_name = organization.timezone
    plan = TimetablePlan(date_from=date_from, date_to=date_to)
    slots = list(
        TimetableSlot.objects.filter(organization=organization, is_active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=date_to))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=date_from))
        .select_related("ride_class", "instructor", "seat_layout__location")
        .order_by("weekday", "start_time")
    )
    closed = dict(
        ClosedDate.objects.filter(organization=organization, date__range=(date_from, date_to)).values_list(
            "date", "reason"
        )
    )
    range_start = clock.start_of_local_day(date_from, tz_name)
    range_end = clock.end_of_local_day(date_to, tz_name) + timedelta(days=1)  # room for a late class
    existing = list(
        Session.objects.filter(organization=organization, starts_at__gte=range_start - timedelta(days=1))
        .filter(starts_at__lt=range_end)
        .select_related("ride_class")
    )
    taken_slots = {(s.timetable_slot_id, s.starts_at) for s in existing if s.timetable_slot_id}
    identical = {(s.ride_class_id, s.seat_layout_id, s.starts_at) for s in existing}
    scheduled = [s for s in existing if s.status == Session.Status.SCHEDULED]
    day = date_from
    while day <= date_to:
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            if (slot.valid_from and day < slot.valid_from) or (slot.valid_until and day > slot.valid_until):
                continue
            starts_at = slot_start(day, slot.start_time, tz_name)
            ends_at = starts_at + timedelta(minutes=slot.minutes)
            item = PlannedSession(slot=slot, day=day, starts_at=starts_at, ends_at=ends_at, action=CREATE)
            if day in closed:
                item.action, item.closed_reason = CLOSED, closed[day]
            elif (slot.pk, starts_at) in taken_slots or (slot.ride_class_id, slot.seat_layout_id, starts_at) in (
                identical
            ):
                item.action = EXISTS
            elif starts_at <= now:
                item.action = PAST
            elif not slot.instructor.is_active:
                item.action = INSTRUCTOR_INACTIVE
            plan.items.append(item)
        day += timedelta(days=1)
    _mark_overlaps(plan, scheduled, tz_name)
    return plan


def _mark_overlaps(plan: TimetablePlan, scheduled: list[Session], tz_name: str) -> None:
    """Each session to create that overlaps a scheduled one (or another to create) at the same
    location gets the other's name: a warning, never a refusal (API.md)."""
    zone = ZoneInfo(tz_name)
    others = [(s.location_id, s.starts_at, s.ends_at, s.ride_class.name) for s in scheduled]
    others += [
        (item.slot.seat_layout.location_id, item.starts_at, item.ends_at, item.slot.ride_class.name)
        for item in plan.to_create
    ]
    for item in plan.to_create:
        location_id = item.slot.seat_layout.location_id
        for other_location, starts_at, ends_at, name in others:
            if other_location != location_id or (starts_at, name) == (item.starts_at, item.slot.ride_class.name):
                continue
            if starts_at < item.ends_at and ends_at > item.starts_at:
                item.overlaps.append(f"{name} {starts_at.astimezone(zone):%H:%M}")


def sessions_generate(
    *,
    organization: Organization,
    date_from: date,
    date_to: date,
    performed_by: User | None = None,
    now: datetime | None = None,
) -> TimetablePlan:
    """Create the sessions of the weekly timetable for `date_from`..`date_to` (studio-local,
    inclusive): every active slot on its weekday, skipping closed days, sessions already there
    (generated from the slot, or an identical class in the same room at the same start), starts
    already past and slots whose instructor is inactive. Capacity: every bookable bike of the room. One transaction under the
    studio's row lock; idempotent; one audit entry (`timetable.generate`) with the counts."""
    now = now or clock.now()
    _check_range(date_from, date_to)
    try:
        with transaction.atomic(durable=True):
            # Organization first in the lock order ("settings changes"): generations of one studio
            # queue here, so the second one plans after the first has committed its sessions.
            locking.lock_one(Organization.objects.all(), pk=organization.pk)
            plan = timetable_plan(organization=organization, date_from=date_from, date_to=date_to, now=now)
            locking.pause("timetable_planned")
            bikes: dict = {}  # bookable bikes per room, counted once
            for item in plan.to_create:
                slot = item.slot
                if slot.seat_layout_id not in bikes:
                    bikes[slot.seat_layout_id] = selectors.bookable_seat_count(layout=slot.seat_layout)
                check_on_calendar(organization=organization, starts_at=item.starts_at, ends_at=item.ends_at)
                plan.created.append(
                    session_insert(
                        organization=organization,
                        ride_class=slot.ride_class,
                        instructor=slot.instructor,
                        location=slot.seat_layout.location,
                        layout=slot.seat_layout,
                        starts_at=item.starts_at,
                        ends_at=item.ends_at,
                        timetable_slot=slot,
                        bookable=bikes[slot.seat_layout_id],
                    )
                )
            log_action(
                organization=organization,
                actor=performed_by,
                action="timetable.generate",
                obj=organization,
                changes=plan.counts(),
                now=now,
            )
    except IntegrityError as exc:
        # Only without the studio lock: another generation inserted the same slot and start first.
        # Nothing of this one was written; a retry finds those sessions there and skips them.
        if "session_one_per_slot_and_start" in str(exc) or "session.timetable_slot_id" in str(exc):
            raise Busy() from exc
        refusal = _schedule_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return plan


# --- slots and closed days (staff edits, each recorded) ------------------------------------------------
SLOT_FIELDS = (
    "ride_class",
    "instructor",
    "seat_layout",
    "weekday",
    "start_time",
    "duration_minutes",
    "is_active",
    "valid_from",
    "valid_until",
)


@contextmanager
def _timetable_edit(organization: Organization) -> Iterator[None]:
    """One durable transaction for a slot or closed-day edit, holding the studio's row like a
    generation does: edits and generations of one studio run one after the other (a day closed
    while a generation runs waits for it, then applies to the next one; two staff adding the
    same class or closed day at once: the second sees the first and gets the form's error). A
    refusal the database still makes at insert or commit is that same field error, never a 500."""
    try:
        with transaction.atomic(durable=True):
            locking.lock_one(Organization.objects.all(), pk=organization.pk)
            yield
    except IntegrityError as exc:
        refusal = _schedule_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    except OperationalError as exc:
        # A generation held the studio longer than LOCK_TIMEOUT_MS: `busy` (the API says 409 with
        # Retry-After anyway; the admin shows it as a sentence instead of an error page).
        if is_lock_timeout(exc):
            raise Busy() from exc
        raise


def _slot_in_org(organization: Organization, slot_id) -> TimetableSlot:
    try:
        return locking.lock_one(TimetableSlot.objects.filter(organization=organization), pk=slot_id)
    except (TimetableSlot.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such timetable slot.")) from None


def _check_slot(organization: Organization, slot: TimetableSlot) -> None:
    for name in ("seat_layout", "ride_class", "instructor"):
        related = getattr(slot, name)
        if related is None or related.organization_id != organization.pk:
            raise Invalid({name: gettext_lazy("Choose one of this studio's.")})
        # Held to the commit: a delete of the class (room, instructor) meanwhile waits, then finds the slot.
        if not locking.hold(type(related).objects.filter(organization=organization, pk=related.pk)):
            raise Invalid({name: gettext_lazy("Choose one of this studio's.")})
    if slot.valid_from and slot.valid_until and slot.valid_until < slot.valid_from:
        raise Invalid({"valid_until": gettext_lazy("The last day is before the first day.")})
    duplicate = TimetableSlot.objects.filter(
        seat_layout=slot.seat_layout, weekday=slot.weekday, start_time=slot.start_time, ride_class=slot.ride_class
    ).exclude(pk=slot.pk)
    if duplicate.exists():
        raise Invalid({"start_time": gettext_lazy("This class is already on the timetable in this room at that time.")})
    locking.pause("timetable_edit_checked")


def timetable_slot_create(*, organization: Organization, data: dict, performed_by: User | None = None) -> TimetableSlot:
    """A new slot on the weekly timetable (`data`: the model's fields; related rows as objects)."""
    with _timetable_edit(organization):
        slot = TimetableSlot(organization=organization, **{k: v for k, v in data.items() if k in SLOT_FIELDS})
        _check_slot(organization, slot)
        slot.save(force_insert=True)
        log_action(
            organization=organization,
            actor=performed_by,
            action="timetable_slot.create",
            obj=slot,
            changes=changes_between({}, snapshot(slot, SLOT_FIELDS)),
        )
    return slot


def timetable_slot_update(
    *, organization: Organization, slot_id, data: dict, performed_by: User | None = None
) -> TimetableSlot:
    """Change a slot. Sessions already generated keep their time, class and instructor (riders
    booked them); the next generation uses the new values."""
    with _timetable_edit(organization):
        slot = _slot_in_org(organization, slot_id)
        before = snapshot(slot, SLOT_FIELDS)
        for name, value in data.items():
            if name in SLOT_FIELDS:
                setattr(slot, name, value)
        _check_slot(organization, slot)
        slot.save()
        changes = changes_between(before, snapshot(slot, SLOT_FIELDS))
        if changes:
            log_action(
                organization=organization,
                actor=performed_by,
                action="timetable_slot.update",
                obj=slot,
                changes=changes,
            )
    return slot


def timetable_slot_delete(*, organization: Organization, slot_id, performed_by: User | None = None) -> None:
    """Take a slot off the timetable; the sessions it generated stay (their link is cleared)."""
    with _timetable_edit(organization):
        slot = _slot_in_org(organization, slot_id)
        log_action(
            organization=organization,
            actor=performed_by,
            action="timetable_slot.delete",
            obj=slot,
            changes=changes_between(snapshot(slot, SLOT_FIELDS), {}),
        )
        slot.delete()


def closed_date_create(
    *, organization: Organization, day: date, reason: str = "", performed_by: User | None = None
) -> ClosedDate:
    """Close the studio on a day: the timetable generates nothing then (sessions already there
    stay: cancel them on the sessions list, which refunds their riders)."""
    with _timetable_edit(organization):
        if ClosedDate.objects.filter(organization=organization, date=day).exists():
            raise Invalid({"date": gettext_lazy("This day is already closed.")})
        locking.pause("timetable_edit_checked")
        closed = ClosedDate.objects.create(organization=organization, date=day, reason=reason or "")
        log_action(
            organization=organization,
            actor=performed_by,
            action="closed_date.create",
            obj=closed,
            changes={"date": [None, day], "reason": [None, closed.reason]},
        )
    return closed


def closed_date_update(
    *, organization: Organization, closed_id, day: date, reason: str = "", performed_by: User | None = None
) -> ClosedDate:
    with _timetable_edit(organization):
        try:
            closed = locking.lock_one(ClosedDate.objects.filter(organization=organization), pk=closed_id)
        except (ClosedDate.DoesNotExist, ValueError, TypeError):
            raise NotFound(gettext_lazy("No such closed day.")) from None
        if ClosedDate.objects.filter(organization=organization, date=day).exclude(pk=closed.pk).exists():
            raise Invalid({"date": gettext_lazy("This day is already closed.")})
        before = snapshot(closed, ("date", "reason"))
        closed.date, closed.reason = day, reason or ""
        closed.save()
        changes = changes_between(before, snapshot(closed, ("date", "reason")))
        if changes:
            log_action(
                organization=organization,
                actor=performed_by,
                action="closed_date.update",
                obj=closed,
                changes=changes,
            )
    return closed


def closed_date_delete(*, organization: Organization, closed_id, performed_by: User | None = None) -> None:
    with _timetable_edit(organization):
        try:
            closed = locking.lock_one(ClosedDate.objects.filter(organization=organization), pk=closed_id)
        except (ClosedDate.DoesNotExist, ValueError, TypeError):
            raise NotFound(gettext_lazy("No such closed day.")) from None
        log_action(
            organization=organization,
            actor=performed_by,
            action="closed_date.delete",
            obj=closed,
            changes={"date": [closed.date, None], "reason": [closed.reason, None]},
        )
        closed.delete()


__all__ = [
    "CLOSED",
    "CREATE",
    "EXISTS",
    "INSTRUCTOR_INACTIVE",
    "MAX_DAYS",
    "PAST",
    "SLOT_FIELDS",
    "PlannedSession",
    "TimetablePlan",
    "closed_date_create",
    "closed_date_delete",
    "closed_date_update",
    "next_month",
    "sessions_generate",
    "slot_start",
    "timetable_plan",
    "timetable_slot_create",
    "timetable_slot_delete",
    "timetable_slot_update",
]
