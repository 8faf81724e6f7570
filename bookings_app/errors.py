"""Booking refusals (API.md "Bookings"): each rule of DOMAIN.md 9-10 has its own code."""

from django.utils.translation import gettext_lazy

from members_app.errors import InsufficientCredits, MemberInactive
from spinning.errors import Conflict

__all__ = [
    "AlreadyBooked",
    "AlreadyWaitlisted",
    "BookingNotOpen",
    "CheckInNotOpen",
    "CapacityBelowBookings",
    "DailyLimitReached",
    "FriendPassUnavailable",
    "HostBookingRequired",
    "InUse",
    "InsufficientCredits",
    "MemberInactive",
    "SeatTaken",
    "SeatUnavailable",
    "SessionFull",
    "SessionNotBookable",
    "SessionNotFull",
    "WaitlistFull",
]


class SessionNotBookable(Conflict):
    code = "session_not_bookable"
    detail = gettext_lazy("This session is cancelled, completed or has already started.")


class BookingNotOpen(Conflict):
    code = "booking_not_open"
    detail = gettext_lazy("Booking for this session is not open yet.")


class AlreadyBooked(Conflict):
    code = "already_booked"
    detail = gettext_lazy("The member already holds a booking on this session.")


class SeatUnavailable(Conflict):
    code = "seat_unavailable"
    detail = gettext_lazy("This seat is not a bookable bike of this session's layout.")


class SeatTaken(Conflict):
    code = "seat_taken"
    detail = gettext_lazy("This bike is already taken on this session.")


class SessionFull(Conflict):
    code = "session_full"
    detail = gettext_lazy("This session is full.")


class DailyLimitReached(Conflict):
    code = "daily_limit_reached"
    detail = gettext_lazy("The All Access rides for that day are used up.")


class FriendPassUnavailable(Conflict):
    code = "friend_pass_unavailable"
    detail = gettext_lazy("No unused, unexpired friend pass is available.")


class HostBookingRequired(Conflict):
    code = "host_booking_required"
    detail = gettext_lazy("A friend-pass guest needs the member's own live booking on the same session.")


class CheckInNotOpen(Conflict):
    code = "check_in_not_open"
    detail = gettext_lazy("Check-in is open from check_in_opens_minutes before the start until the no-show time.")


# --- waitlist (API.md "Waitlist") and capacity ---------------------------------------------------------
class SessionNotFull(Conflict):
    code = "session_not_full"
    detail = gettext_lazy("This session has a free spot: book it instead of joining the waitlist.")


class AlreadyWaitlisted(Conflict):
    code = "already_waitlisted"
    detail = gettext_lazy("The member is already waiting for this session.")


class WaitlistFull(Conflict):
    code = "waitlist_full"
    detail = gettext_lazy("The waitlist of this session is full.")


class CapacityBelowBookings(Conflict):
    code = "capacity_below_bookings"
    detail = gettext_lazy("The capacity cannot go below the riders already booked.")


class InUse(Conflict):
    code = "in_use"
    detail = gettext_lazy("Sessions or bookings still use this; it cannot be deleted.")
