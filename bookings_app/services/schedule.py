"""Seat layouts and sessions: staff build the timetable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy

from bookings_app import selectors
from bookings_app.errors import CapacityBelowBookings, InUse
from bookings_app.models import (
    Instructor,
    Location,
    RideClass,
    Seat,
    SeatLayout,
    Session,
)
from bookings_app.services._common import _get_in_org, _hold_in_org, _schedule_refusal
from bookings_app.services.waitlist import waitlist_promote_on_commit
from bookings_app.timetable_cache import timetable_changed
from members_app.audit import changes_between, log_action, snapshot
from members_app.models import Organization, User
from spinning import clock, locking
from spinning.errors import Invalid, NotFound


# --- schedule --------------------------------------------------------------------------------------
def seat_layout_create(
    *,
    organization: Organization,
    location_id,
    name: str,
    rows: int,
    columns: int,
    seats: list[dict] | None = None,
    performed_by: User | None = None,
) -> SeatLayout:
    """A grid of seats. Without `seats`, every position becomes a NORMAL bike labelled A1, A2, ...;
    with `seats`, exactly those (each inside the grid, one per position, labels unique)."""
    if rows < 1 or columns < 1 or rows > 26:
        raise Invalid({"rows": gettext_lazy("A layout has 1 to 26 rows and at least one column.")})
    try:
        with transaction.atomic(durable=True):
            location = _get_in_org(Location, organization, location_id, "location_id")
            _hold_in_org(organization, {"location_id": location})  # a delete of the location waits, then sees it used
            if SeatLayout.objects.filter(location=location, name=name).exists():
                raise Invalid({"name": gettext_lazy("This location already has a layout with this name.")})
            locking.pause("layout_name_checked")
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
                    raise Invalid({f"seats.{index}": gettext_lazy("Outside the grid.")})
                if (row, column) in positions or label in labels:
                    raise Invalid({f"seats.{index}": gettext_lazy("Two seats share a position or a label.")})
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
            log_action(
                organization=organization,
                actor=performed_by,
                action="seat_layout.create",
                obj=layout,
                changes={"name": [None, name], "rows": [None, rows], "columns": [None, columns], "seats": len(objs)},
            )
    except IntegrityError as exc:  # the same name twice at once: the second gets the form's error
        refusal = _schedule_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return layout


SEAT_FIELDS = ("label", "type", "credit_cost", "is_active")


def _seats_apply(*, layout: SeatLayout, seats: list[dict]) -> dict[str, list]:
    """Apply seat edits (`id` plus any of label, type, credit cost, in or out of order) to a
    layout whose seats this locks; labels stay unique in the layout, a credit cost is at least 1.
    Returns the audit's changes, `{"A1.credit_cost": [old, new]}`. Runs in the caller's transaction."""
    locking.require_transaction("_seats_apply")
    existing = {str(seat.pk): seat for seat in locking.lock(Seat.objects.filter(layout=layout))}
    before = {pk: snapshot(seat, SEAT_FIELDS) for pk, seat in existing.items()}
    for spec in seats:
        seat = existing.get(str(spec["id"]))
        if seat is None:
            raise Invalid({"seats": gettext_lazy("A seat of another layout.")})
        label = (spec.get("label") or seat.label).strip()
        if spec.get("type", seat.type) not in Seat.Type.values:
            raise Invalid({"seats": gettext_lazy("Unknown seat type for %(label)s.") % {"label": label}})
        try:
            credit_cost = int(spec.get("credit_cost", seat.credit_cost))
        except (TypeError, ValueError):
            raise Invalid(
                {"seats": gettext_lazy("Seat %(label)s: a credit cost is a whole number.") % {"label": label}}
            ) from None
        if credit_cost < 1:
            raise Invalid({"seats": gettext_lazy("Seat %(label)s: a credit cost is at least 1.") % {"label": label}})
        seat.label = label
        seat.type = spec.get("type", seat.type)
        seat.credit_cost = credit_cost
        seat.is_active = bool(spec.get("is_active", seat.is_active))
    labels = [seat.label for seat in existing.values()]
    for label in labels:
        if labels.count(label) > 1:
            raise Invalid({"seats": gettext_lazy("Label %(label)s is used twice.") % {"label": label}})
    changed = [seat for pk, seat in existing.items() if snapshot(seat, SEAT_FIELDS) != before[pk]]
    # Two passes so that swapping two labels does not trip the unique constraint midway.
    for seat in changed:
        Seat.objects.filter(pk=seat.pk).update(label=f"~{seat.pk.hex[:12]}")
    Seat.objects.bulk_update(changed, list(SEAT_FIELDS))
    changes = {}
    for seat in changed:
        pk = str(seat.pk)
        for field, (old, new) in changes_between(before[pk], snapshot(seat, SEAT_FIELDS)).items():
            changes[f"{before[pk]['label']}.{field}"] = [old, new]
    return changes


def _layout_locked(organization: Organization, layout_id) -> SeatLayout:
    try:
        return locking.lock_one(SeatLayout.objects.filter(organization=organization), pk=layout_id)
    except (SeatLayout.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such seat layout.")) from None


def seat_layout_update_grid(
    *, organization: Organization, layout_id, seats: list[dict], performed_by: User | None = None
) -> SeatLayout:
    """Staff edit a layout's seats as a grid: label, type, credit cost, in or out of order.
    Labels stay unique in the layout; a credit cost is at least 1."""
    return seat_layout_update(organization=organization, layout_id=layout_id, seats=seats, performed_by=performed_by)


def seat_layout_update(
    *,
    organization: Organization,
    layout_id,
    name: str | None = None,
    seats: list[dict] | None = None,
    performed_by: User | None = None,
) -> SeatLayout:
    """Rename a layout and/or edit its seats (see `_seats_apply`), in one transaction and one
    audit entry. Its location and grid size stay: sessions and bookings point at its seats."""
    try:
        with transaction.atomic(durable=True):
            layout = _layout_locked(organization, layout_id)
            changes = {}
            if name is not None and name.strip() != layout.name:
                name = name.strip()
                if not name:
                    raise Invalid({"name": gettext_lazy("Required.")})
                if SeatLayout.objects.filter(location_id=layout.location_id, name=name).exclude(pk=layout.pk).exists():
                    raise Invalid({"name": gettext_lazy("This location already has a layout with this name.")})
                changes["name"] = [layout.name, name]
                layout.name = name
                layout.save(update_fields=["name"])
            if seats:
                changes.update(_seats_apply(layout=layout, seats=seats))
            if changes:
                log_action(
                    organization=organization,
                    actor=performed_by,
                    action="seat_layout.update",
                    obj=layout,
                    changes=changes,
                )
    except IntegrityError as exc:  # renamed to a name another rename took at the same moment
        refusal = _schedule_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return layout


def seat_update(*, organization: Organization, seat_id, data: dict, performed_by: User | None = None) -> Seat:
    """One seat: its label, type, credit cost, in or out of order (the layout's rules hold)."""
    try:
        seat = Seat.objects.select_related("layout").get(organization=organization, pk=seat_id)
    except (Seat.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such seat.")) from None
    seat_layout_update(
        organization=organization, layout_id=seat.layout_id, seats=[{**data, "id": seat.pk}], performed_by=performed_by
    )
    return Seat.objects.get(pk=seat.pk)


def seat_layout_delete(*, organization: Organization, layout_id, performed_by: User | None = None) -> None:
    """A layout no session uses (409 in_use), with its seats."""
    with transaction.atomic(durable=True):
        layout = _layout_locked(organization, layout_id)
        log_action(
            organization=organization,
            actor=performed_by,
            action="seat_layout.delete",
            obj=layout,
            changes={"name": [layout.name, None], "rows": [layout.rows, None], "columns": [layout.columns, None]},
        )
        try:
            layout.delete()
        except ProtectedError:
            raise InUse() from None


def check_on_calendar(*, organization: Organization, starts_at: datetime, ends_at: datetime) -> None:
    """Every instant the studio will compute from a session (its local dates, when booking opens,
    when it closes) must exist, or the session would be written and then fail every read."""
    tz = organization.timezone
    try:
        probe = Session(starts_at=starts_at, ends_at=ends_at)
        selectors.booking_opens_at(session=probe, organization=organization, priority=True).astimezone(UTC)
        clock.end_of_local_day(clock.local_date(ends_at, tz), tz).astimezone(UTC)
        ends_at + timedelta(minutes=organization.no_show_grace_minutes)
    except OverflowError:
        raise Invalid({"starts_at": gettext_lazy("Too close to the edge of the supported calendar.")}) from None


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
    performed_by: User | None = None,
) -> Session:
    """Staff schedule a session. Capacity defaults to the layout's bookable bikes and may be set
    lower, never higher (every rider must fit on a bike). Overlapping sessions are allowed."""
    if ends_at <= starts_at:
        raise Invalid({"ends_at": gettext_lazy("Must be after starts_at.")})
    check_on_calendar(organization=organization, starts_at=starts_at, ends_at=ends_at)
    try:
        with transaction.atomic(durable=True):
            refs = {
                "location_id": _get_in_org(Location, organization, location_id, "location_id"),
                "seat_layout_id": _get_in_org(SeatLayout, organization, seat_layout_id, "seat_layout_id"),
                "class_id": _get_in_org(RideClass, organization, class_id, "class_id"),
                "instructor_id": _get_in_org(Instructor, organization, instructor_id, "instructor_id"),
            }
            # A class or room deleted meanwhile waits for this commit, then finds the session (409 in_use).
            _hold_in_org(organization, refs)
            session = session_insert(
                organization=organization,
                ride_class=refs["class_id"],
                instructor=refs["instructor_id"],
                location=refs["location_id"],
                layout=refs["seat_layout_id"],
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=capacity,
            )
            log_action(
                organization=organization,
                actor=performed_by,
                action="session.create",
                obj=session,
                changes=changes_between({}, snapshot(session, SESSION_FIELDS)),
            )
    except IntegrityError as exc:
        refusal = _schedule_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return session


def session_insert(
    *,
    organization: Organization,
    ride_class: RideClass,
    instructor: Instructor,
    location: Location,
    layout: SeatLayout,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int | None = None,
    timetable_slot=None,
    bookable: int | None = None,
) -> Session:
    """The body of `session_create`, in the caller's transaction (also the timetable's
    generation, which counts each room's bookable bikes once: `bookable`): the layout must be at
    the location, capacity 1 to its bookable bikes."""
    locking.require_transaction("session_insert")
    if layout.location_id != location.pk:
        raise Invalid({"seat_layout_id": gettext_lazy("This seat layout belongs to another location.")})
    if bookable is None:
        bookable = selectors.bookable_seat_count(layout=layout)
    if capacity is None:
        capacity = bookable
    if capacity < 1:
        raise Invalid({"capacity": gettext_lazy("A session needs at least one bookable bike.")})
    if capacity > bookable:
        raise Invalid(
            {"capacity": gettext_lazy("At most the layout's %(count)s bookable bikes.") % {"count": bookable}}
        )
    timetable_changed(organization.pk)
    return Session.objects.create(
        organization=organization,
        ride_class=ride_class,
        instructor=instructor,
        location=location,
        seat_layout=layout,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        timetable_slot=timetable_slot,
    )


SESSION_FIELDS = ("ride_class", "instructor", "location", "seat_layout", "starts_at", "ends_at", "capacity")


def session_update(
    *,
    organization: Organization,
    session_id,
    data: dict,
    now: datetime | None = None,
    performed_by: User | None = None,
) -> Session:
    """Change a session's class, instructor or capacity. Capacity: 1 to the layout's bookable
    bikes (400 otherwise), never below the live bookings (409 capacity_below_bookings); raising
    it promotes from the waitlist (DOMAIN.md 14) right after the commit. Times and layout stay:
    riders booked (and All Access days were counted) against them."""
    with transaction.atomic(durable=True):
        try:
            session = locking.lock_one(Session.objects.filter(organization=organization), pk=session_id)
        except (Session.DoesNotExist, ValueError):
            raise NotFound(gettext_lazy("No such session.")) from None
        before = snapshot(session, SESSION_FIELDS)
        if "class_id" in data:
            session.ride_class = _get_in_org(RideClass, organization, data["class_id"], "class_id")
            _hold_in_org(organization, {"class_id": session.ride_class})
        if "instructor_id" in data:
            session.instructor = _get_in_org(Instructor, organization, data["instructor_id"], "instructor_id")
            _hold_in_org(organization, {"instructor_id": session.instructor})
        raised = 0
        if "capacity" in data:
            bookable = selectors.bookable_seat_count(layout=session.seat_layout)
            capacity = data["capacity"]
            if capacity < 1 or capacity > bookable:
                raise Invalid(
                    {
                        "capacity": gettext_lazy("Between 1 and the layout's %(count)s bookable bikes.")
                        % {"count": bookable}
                    }
                )
            if capacity < session.booked_count:
                raise CapacityBelowBookings(
                    gettext_lazy("%(count)s riders are booked; the capacity cannot go below that.")
                    % {"count": session.booked_count}
                )
            raised = max(0, capacity - session.capacity)
            session.capacity = capacity
        session.save(update_fields=["ride_class", "instructor", "capacity"])
        timetable_changed(organization.pk)
        changes = changes_between(before, snapshot(session, SESSION_FIELDS))
        if changes:
            log_action(
                organization=organization, actor=performed_by, action="session.update", obj=session, changes=changes
            )
        if raised:
            # More spots: the waitlist gets them (any free bikes) once this commits.
            waitlist_promote_on_commit(organization=organization, session_id=session.pk, spots=raised, now=now)
    return session
