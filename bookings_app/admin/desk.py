"""Book at the desk and the room's bike map (issue 12 items 2-3).

The map is the session's seat layout cell by cell: free bikes, taken ones (with the rider), the
premium bikes with their credit cost, and what is not a bike (podium, column, instructor) so
the desk sees the room as the riders do. Booking goes through `services.booking_create` with
`by_staff=True`; a refusal comes back as the service's sentence.
"""

from __future__ import annotations

from bookings_app.models import LIVE, Booking, Seat, Session
from members_app.models import Member
from members_app.selectors import member_search

#: what the desk may choose to pay with (FRIEND_PASS is the guest form on a host's booking)
DESK_PAYMENTS = [
    ("AUTO", "Automatic (All Access first, then credits)"),
    ("CREDIT", "Credits"),
    ("ALL_ACCESS", "All Access pass"),
    ("FREE", "Free (complimentary)"),
]


def rider_name(booking: Booking) -> str:
    return (
        f"{booking.guest_name} (guest of {booking.member.full_name})" if booking.is_guest else booking.member.full_name
    )


def seat_map(session: Session, live_bookings=None) -> list[list[dict]]:
    """Rows of cells, one per grid position: {seat, kind, taken_by, cost}."""
    layout = session.seat_layout
    if layout is None:
        return []
    if live_bookings is None:
        live_bookings = Booking.objects.filter(LIVE, session=session).select_related("member__user")
    taken = {booking.seat_id: booking for booking in live_bookings if booking.seat_id}
    by_position = {(seat.row, seat.column): seat for seat in layout.seats.all()}
    rows = []
    for row in range(1, layout.rows + 1):
        cells = []
        for column in range(1, layout.columns + 1):
            seat = by_position.get((row, column))
            if seat is None:
                cells.append({"seat": None, "kind": "empty"})
                continue
            booking = taken.get(seat.pk)
            if seat.type == Seat.Type.PODIUM:
                kind = "podium"
            elif seat.type == Seat.Type.ARCHITECTURAL_COLUMN:
                kind = "column"
            elif seat.type == Seat.Type.INSTRUCTOR:
                kind = "instructor"
            elif not seat.is_active:
                kind = "off"
            elif booking is not None:
                kind = "taken"
            else:
                kind = "premium" if seat.type == Seat.Type.EXCLUSIVE else "free"
            cells.append(
                {
                    "seat": seat,
                    "kind": kind,
                    "premium": seat.type == Seat.Type.EXCLUSIVE,
                    "taken_by": rider_name(booking) if booking is not None else "",
                    "checked_in": bool(booking and booking.checked_in_at),
                    "cost": seat.credit_cost,
                }
            )
        rows.append(cells)
    return rows


def find_members(organization, q: str, limit: int = 20) -> list[Member]:
    """The studio's members matching every word of `q` (names and phone with Turkish letters
    folded, or the email), the people helper's search rule."""
    if not (q or "").strip():
        return []
    queryset = Member.objects.filter(organization=organization).select_related("user")
    return list(member_search(queryset, q).order_by("last_name", "first_name")[:limit])
