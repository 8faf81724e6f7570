"""The studio's admin for the schedule and bookings, scoped to the staff user's studio.

ADMIN: everything. FRONT_DESK: sessions and bookings (cancel, check-in, no-show; not the room
or the timetable's reference data). INSTRUCTOR: sessions, rosters and check-in. Every change of a
booking or a session goes through bookings_app.services (never a model save).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy

from bookings_app.admin.bookings import BookingAdmin
from bookings_app.admin.common import EVERYONE, STAFF, BookingDayFilter, ServiceRefusalMixin, StudioDayFilter
from bookings_app.admin.reference import InstructorAdmin, InstructorForm, LocationAdmin, RideClassAdmin
from bookings_app.admin.seat_layouts import SeatInline, SeatLayoutAdmin
from bookings_app.admin.sessions import RosterInline, SessionAdmin, SessionForm
from bookings_app.admin.timetable import ClosedDateAdmin, TimetableSlotAdmin

__all__ = [
    "EVERYONE",
    "STAFF",
    "BookingAdmin",
    "BookingDayFilter",
    "ClosedDateAdmin",
    "InstructorAdmin",
    "InstructorForm",
    "LocationAdmin",
    "RideClassAdmin",
    "RosterInline",
    "SeatInline",
    "SeatLayoutAdmin",
    "ServiceRefusalMixin",
    "SessionAdmin",
    "SessionForm",
    "StudioDayFilter",
    "TimetableSlotAdmin",
]

# The back office is the only site this project serves: no "View site" link to a page that does
# not exist (issue 12 item 8).
admin.site.site_url = None
admin.site.site_header = gettext_lazy("Studio administration")
admin.site.site_title = gettext_lazy("Studio administration")
admin.site.index_title = gettext_lazy("Back office")
