"""Writes for the schedule and bookings (DOMAIN.md 7-11).

Every top-level service runs in one `transaction.atomic(durable=True)` and follows the lock order
of docs/ARCHITECTURE.md: Member -> Redemption -> Session -> Booking -> CreditLot (rows of one kind
in primary-key order). Inside: lock, re-count, write.

What the database guarantees whatever the code above does (the backstops, mapped to 409s):
- `session_not_over_capacity` (booked_count <= capacity)          -> session_full
- `booking_one_live_per_seat`                                      -> seat_taken
- `booking_one_live_per_member`                                    -> already_booked
- `booking_one_live_guest_per_host`                                -> already_booked
- `all_access_one_use_per_date_slot`                               -> daily_limit_reached
- `ledger_one_charge_per_booking_lot` / `..._refund_...` (members_app): a booking is charged and
  refunded at most once per lot.
"""

from bookings_app.services._common import AUTO, PAYMENT_METHODS
from bookings_app.services.attendance import (
    CloseReport,
    SessionClosed,
    booking_check_in,
    booking_mark_no_show,
    booking_undo_check_in,
    check_in_is_open,
    check_in_window,
    sessions_close,
)
from bookings_app.services.booking import booking_create
from bookings_app.services.cancellation import (
    booking_cancel,
    bookings_release_for_cancelled_redemption,
    session_cancel,
)
from bookings_app.services.reference import (
    instructor_create,
    instructor_deactivate,
    instructor_delete,
    instructor_update,
    location_create,
    location_delete,
    location_update,
    ride_class_create,
    ride_class_delete,
    ride_class_update,
)
from bookings_app.services.schedule import (
    seat_layout_create,
    seat_layout_delete,
    seat_layout_update,
    seat_layout_update_grid,
    seat_update,
    session_create,
    session_update,
)
from bookings_app.services.timetable import (
    TimetablePlan,
    closed_date_create,
    closed_date_delete,
    closed_date_update,
    sessions_generate,
    timetable_plan,
    timetable_slot_create,
    timetable_slot_delete,
    timetable_slot_update,
)
from bookings_app.services.waitlist import (
    PromotionReport,
    WaitlistSweep,
    waitlist_entry_promote,
    waitlist_join,
    waitlist_leave,
    waitlist_promote,
    waitlists_sweep,
)

__all__ = [
    "AUTO",
    "PAYMENT_METHODS",
    "CloseReport",
    "SessionClosed",
    "booking_cancel",
    "booking_check_in",
    "booking_create",
    "booking_mark_no_show",
    "booking_undo_check_in",
    "bookings_release_for_cancelled_redemption",
    "check_in_is_open",
    "check_in_window",
    "instructor_create",
    "instructor_deactivate",
    "instructor_delete",
    "instructor_update",
    "location_create",
    "location_delete",
    "location_update",
    "ride_class_create",
    "ride_class_delete",
    "ride_class_update",
    "seat_layout_create",
    "seat_layout_delete",
    "seat_layout_update",
    "seat_layout_update_grid",
    "seat_update",
    "session_cancel",
    "session_create",
    "session_update",
    "sessions_close",
    "TimetablePlan",
    "closed_date_create",
    "closed_date_delete",
    "closed_date_update",
    "sessions_generate",
    "timetable_plan",
    "timetable_slot_create",
    "timetable_slot_delete",
    "timetable_slot_update",
    "PromotionReport",
    "WaitlistSweep",
    "waitlist_entry_promote",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_promote",
    "waitlists_sweep",
]
