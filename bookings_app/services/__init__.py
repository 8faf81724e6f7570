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

from bookings_app.services._common import AUTO, PAYMENT_METHODS, _insert  # noqa: F401
from bookings_app.services.attendance import (  # noqa: F401
    CloseReport,
    SessionClosed,
    booking_check_in,
    booking_mark_no_show,
    sessions_close,
)
from bookings_app.services.booking import (  # noqa: F401
    booking_create,
)
from bookings_app.services.cancellation import (  # noqa: F401
    booking_cancel,
    bookings_release_for_cancelled_redemption,
    session_cancel,
)
from bookings_app.services.schedule import (  # noqa: F401
    seat_layout_create,
    seat_layout_update_grid,
    session_create,
    session_update,
)
