"""The timetable's reference data: locations, classes, instructors (DOMAIN.md 7).

Staff create, edit and delete them through these services (the API and the admin alike), each in
one durable transaction that writes the row and its audit entry (DOMAIN.md 18) together. Each
transaction locks the one row it changes and nothing else, so it sits outside the lock order.
A row that sessions still use is never deleted (409 `in_use`): an instructor who leaves is
deactivated instead, which keeps their past sessions' history.
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy

from bookings_app.errors import InUse
from bookings_app.models import Instructor, Location, RideClass
from bookings_app.timetable_cache import timetable_changed
from members_app.audit import changes_between, log_action, snapshot
from members_app.models import Organization, User
from spinning import locking
from spinning.errors import Invalid, NotFound

LOCATION_FIELDS = ("name", "address")
RIDE_CLASS_FIELDS = (
    "name",
    "name_tr",
    "description",
    "description_tr",
    "music_genre",
    "music_genre_tr",
    "duration_minutes",
)
INSTRUCTOR_FIELDS = ("name", "user", "bio", "is_active")


# --- shared steps ---------------------------------------------------------------------------------
def _assign(obj: models.Model, fields: tuple[str, ...], data: dict) -> None:
    unknown = set(data) - set(fields)
    if unknown:
        raise Invalid(dict.fromkeys(sorted(unknown), "Not a field that can be set here."))
    for name, value in data.items():
        setattr(obj, name, value)


def _save(obj: models.Model) -> None:
    """Write the row; the per-studio unique name refused as a field error, not a 500. No savepoint:
    the IntegrityError leaves the durable block, which rolls back the row and any log entry."""
    try:
        obj.save()
    except IntegrityError:
        raise Invalid({"name": gettext_lazy("This studio already has one with this name.")}) from None


def _locked(model, organization: Organization, pk) -> models.Model:
    try:
        return locking.lock_one(model.objects.filter(organization=organization), pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such %(thing)s.") % {"thing": model._meta.verbose_name}) from None


def _create(model, *, organization, fields, data, action, performed_by):
    with transaction.atomic(durable=True):
        obj = model(organization=organization)
        _assign(obj, fields, data)
        _save(obj)
        log_action(
            organization=organization,
            actor=performed_by,
            action=f"{action}.create",
            obj=obj,
            changes=changes_between({}, snapshot(obj, fields)),
        )
    return obj


def _update(model, *, organization, pk, fields, data, action, performed_by):
    with transaction.atomic(durable=True):
        obj = _locked(model, organization, pk)
        before = snapshot(obj, fields)
        _assign(obj, fields, data)
        _save(obj)
        changes = changes_between(before, snapshot(obj, fields))
        if changes:
            timetable_changed(organization.pk)  # the timetable shows the names
            log_action(
                organization=organization, actor=performed_by, action=f"{action}.update", obj=obj, changes=changes
            )
    return obj


def _delete(model, *, organization, pk, fields, action, performed_by) -> None:
    with transaction.atomic(durable=True):
        obj = _locked(model, organization, pk)
        log_action(
            organization=organization,
            actor=performed_by,
            action=f"{action}.delete",
            obj=obj,
            changes=changes_between(snapshot(obj, fields), {}),
        )
        try:
            obj.delete()  # the collector refuses before any DELETE is sent
        except ProtectedError:
            raise InUse() from None


# --- locations ------------------------------------------------------------------------------------
def location_create(*, organization: Organization, data: dict, performed_by: User | None = None) -> Location:
    """A studio's room or address; its name is unique in the studio."""
    return _create(
        Location,
        organization=organization,
        fields=LOCATION_FIELDS,
        data=data,
        action="location",
        performed_by=performed_by,
    )


def location_update(
    *, organization: Organization, location_id, data: dict, performed_by: User | None = None
) -> Location:
    return _update(
        Location,
        organization=organization,
        pk=location_id,
        fields=LOCATION_FIELDS,
        data=data,
        action="location",
        performed_by=performed_by,
    )


def location_delete(*, organization: Organization, location_id, performed_by: User | None = None) -> None:
    """Only a location no seat layout or session uses (409 in_use)."""
    _delete(
        Location,
        organization=organization,
        pk=location_id,
        fields=LOCATION_FIELDS,
        action="location",
        performed_by=performed_by,
    )


# --- classes --------------------------------------------------------------------------------------
def ride_class_create(*, organization: Organization, data: dict, performed_by: User | None = None) -> RideClass:
    """A class format; its name is unique in the studio."""
    return _create(
        RideClass,
        organization=organization,
        fields=RIDE_CLASS_FIELDS,
        data=data,
        action="ride_class",
        performed_by=performed_by,
    )


def ride_class_update(
    *, organization: Organization, class_id, data: dict, performed_by: User | None = None
) -> RideClass:
    """Sessions already scheduled show the new name and description: they point at the class."""
    return _update(
        RideClass,
        organization=organization,
        pk=class_id,
        fields=RIDE_CLASS_FIELDS,
        data=data,
        action="ride_class",
        performed_by=performed_by,
    )


def ride_class_delete(*, organization: Organization, class_id, performed_by: User | None = None) -> None:
    """Only a class no session uses (409 in_use)."""
    _delete(
        RideClass,
        organization=organization,
        pk=class_id,
        fields=RIDE_CLASS_FIELDS,
        action="ride_class",
        performed_by=performed_by,
    )


# --- instructors ----------------------------------------------------------------------------------
def instructor_create(*, organization: Organization, data: dict, performed_by: User | None = None) -> Instructor:
    """An instructor; `user` (optional) is their login, one of the studio's people (the admin's
    form picks it by email among them)."""
    return _create(
        Instructor,
        organization=organization,
        fields=INSTRUCTOR_FIELDS,
        data=data,
        action="instructor",
        performed_by=performed_by,
    )


def instructor_update(
    *, organization: Organization, instructor_id, data: dict, performed_by: User | None = None
) -> Instructor:
    return _update(
        Instructor,
        organization=organization,
        pk=instructor_id,
        fields=INSTRUCTOR_FIELDS,
        data=data,
        action="instructor",
        performed_by=performed_by,
    )


def instructor_deactivate(*, organization: Organization, instructor_id, performed_by: User | None = None) -> Instructor:
    """An instructor who left: kept (with their user link) for the sessions they taught."""
    return instructor_update(
        organization=organization, instructor_id=instructor_id, data={"is_active": False}, performed_by=performed_by
    )


def instructor_delete(*, organization: Organization, instructor_id, performed_by: User | None = None) -> None:
    """Only an instructor who never had a session (409 in_use): deactivate the others."""
    _delete(
        Instructor,
        organization=organization,
        pk=instructor_id,
        fields=INSTRUCTOR_FIELDS,
        action="instructor",
        performed_by=performed_by,
    )
