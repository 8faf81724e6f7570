"""Shared pieces of the booking services: payment names and the constraint-to-409 mapping."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError
from django.utils.translation import gettext_lazy

from bookings_app.errors import AlreadyBooked, AlreadyWaitlisted, DailyLimitReached, SeatTaken, SessionFull
from bookings_app.models import Booking
from members_app.models import Member, Organization
from packages_app.services import member_redemptions_settle
from spinning import locking
from spinning.errors import Busy, Invalid

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
        return AlreadyBooked(gettext_lazy("This booking already has a guest."))
    if "session_not_over_capacity" in text:
        return SessionFull()
    if "all_access_one_use_per_date_slot" in text or "allaccessusage.redemption_id" in text:
        return DailyLimitReached()
    if (
        "waitlist_one_waiting_per_member" in text
        or "waitlistentry.session_id, bookings_app_waitlistentry.member_id" in text
    ):
        return AlreadyWaitlisted()
    if "waitlist_sequence_unique_per_session" in text or "bookings_app_waitlistentry.sequence" in text:
        return Busy()  # two joins took one place in the queue (only without the session lock)
    return None


def _schedule_refusal(exc: IntegrityError):
    """The answer a schedule edit gets when the database refuses it at INSERT or at COMMIT (a
    concurrent request got there first despite the locks: only with them off, or a path that
    forgot one); None when the error is not one of these. A duplicate weekly class or closed day
    is the field error the form shows for one already there; a row pointing at a parent deleted
    meanwhile (a class, a room: foreign keys are checked at commit) is `busy`, and a retry answers
    what is true now."""
    text = str(exc)
    if "timetable_slot_unique" in text or "bookings_app_timetableslot.seat_layout_id" in text:
        return Invalid(
            {"start_time": gettext_lazy("This class is already on the timetable in this room at that time.")}
        )
    if "closed_date_unique_per_org" in text or "bookings_app_closeddate.organization_id" in text:
        return Invalid({"date": gettext_lazy("This day is already closed.")})
    if "layout_name_unique_per_location" in text or "bookings_app_seatlayout.location_id" in text:
        return Invalid({"name": gettext_lazy("This location already has a layout with this name.")})
    if "foreign key" in text.lower():
        return Busy()
    return None


def _hold_in_org(organization: Organization, rows: dict) -> None:
    """Hold the rows a new row will point at (`locking.hold`, parents first: location, layout,
    class, instructor), keyed by the request's field names, so that deleting one waits for this
    transaction and then finds it in use (409 `in_use`); one deleted before we got here is
    refused like one that never was (400)."""
    for field, obj in rows.items():
        model = type(obj)
        if not locking.hold(model.objects.filter(organization=organization, pk=obj.pk)):
            raise Invalid(
                {field: gettext_lazy("No such %(thing)s in this studio.") % {"thing": model._meta.verbose_name}}
            )
    locking.pause("references_held")


def _get_in_org(model, organization: Organization, pk, field: str):
    """A row of this studio named in the request body; anything else is invalid input (400)."""
    try:
        return model.objects.get(organization=organization, pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise Invalid(
            {field: gettext_lazy("No such %(thing)s in this studio.") % {"thing": model._meta.verbose_name}}
        ) from None


def _settle(member: Member, now: datetime) -> None:
    """Credits or a friend pass moved: bring the member's redemptions (ACTIVE <-> USED) and
    cached flags (friend_passes_available ...) up to date. The member is locked."""
    member_redemptions_settle(member=member, now=now)
