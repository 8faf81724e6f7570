"""Shared pieces of the booking services: payment names and the constraint-to-409 mapping."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError
from django.utils.translation import gettext_lazy

from bookings_app.errors import AlreadyBooked, AlreadyWaitlisted, DailyLimitReached, SeatTaken, SessionFull
from bookings_app.models import Booking
from members_app.models import Member, Organization
from packages_app.services import member_redemptions_settle
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
