"""A member's morning through the generated Python client (tests/clients/run.sh): log in, read the
week's timetable, book a bike, cancel it, read the ledger, ask for a package. Any answer that is
not the expected shape or status fails the run."""

from __future__ import annotations

import sys
import uuid
from datetime import date, timedelta

from spinning_studio_api_client import AuthenticatedClient, Client
from spinning_studio_api_client.api.auth import auth_token_create
from spinning_studio_api_client.api.bookings import bookings_cancel_create, bookings_create, bookings_list
from spinning_studio_api_client.api.members import members_credit_transactions_list, members_me_retrieve
from spinning_studio_api_client.api.packages import packages_list, packages_redeem_create
from spinning_studio_api_client.api.schedule import sessions_list, sessions_retrieve
from spinning_studio_api_client.models import (
    Booking,
    BookingCancelRequest,
    BookingCreateRequest,
    BookingsCreateConflictError,
    Member,
    PaginatedBookingList,
    PaginatedCreditTransactionList,
    PaginatedPackageList,
    PaginatedSessionList,
    RedeemRequestRequest,
    Redemption,
    SessionDetail,
    TokenRequestRequest,
    TokenResponse,
)


def expect(value, kind):
    if not isinstance(value, kind):
        raise SystemExit(f"expected {kind.__name__}, got {type(value).__name__}: {value!r}")
    return value


def main(base_url: str, studio: str, email: str, password: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    token = expect(
        auth_token_create.sync(client=anonymous, body=TokenRequestRequest(email=email, password=password)),
        TokenResponse,
    )
    client = AuthenticatedClient(base_url=base_url, token=token.token, raise_on_unexpected_status=True)
    me = expect(members_me_retrieve.sync(client=client, x_organization=studio), Member)
    print(f"logged in: {me.first_name} {me.last_name}, {me.credit_balance} credits")

    today = date.today()
    week = expect(
        sessions_list.sync(
            client=client, x_organization=studio, from_=today.isoformat(), to=(today + timedelta(days=6)).isoformat()
        ),
        PaginatedSessionList,
    )
    print(f"this week: {week.count} sessions")
    booking = None
    for session in week.results:
        if session.status != "SCHEDULED" or session.available_spots == 0 or session.my_booking_id:
            continue
        detail = expect(sessions_retrieve.sync(client=client, id=session.id, x_organization=studio), SessionDetail)
        seat = next((s for s in detail.seats if s.is_available and s.credit_cost is not None), None)
        answer = bookings_create.sync(
            client=client,
            x_organization=studio,
            idempotency_key=str(uuid.uuid4()),
            body=BookingCreateRequest(session_id=session.id, seat_id=seat.id if seat else None),
        )
        if isinstance(answer, BookingsCreateConflictError):  # e.g. booking_not_open: try the next one
            print(f"  {session.starts_at:%a %H:%M}: {answer.code.value}")
            continue
        booking = expect(answer, Booking)
        break
    if booking is None:
        raise SystemExit("no session of the week could be booked")
    print(
        f"booked: {booking.session.class_name} {booking.session.starts_at.isoformat()}, {booking.credits_used} credits"
    )
    upcoming = expect(bookings_list.sync(client=client, x_organization=studio, upcoming=True), PaginatedBookingList)
    if booking.id not in {b.id for b in upcoming.results}:
        raise SystemExit("the new booking is not among the upcoming ones")

    cancelled = expect(
        bookings_cancel_create.sync(client=client, id=booking.id, x_organization=studio, body=BookingCancelRequest()),
        Booking,
    )
    print(f"cancelled: {cancelled.status.value}, refunded {cancelled.refunded}")

    ledger = expect(
        members_credit_transactions_list.sync(client=client, id=me.id, x_organization=studio),
        PaginatedCreditTransactionList,
    )
    for row in ledger.results[:3]:
        print(f"  ledger: {row.type_.value} {row.amount:+d} -> {row.balance_after}  {row.description}")

    packages = expect(packages_list.sync(client=client, x_organization=studio), PaginatedPackageList)
    wanted = packages.results[0]
    redemption = expect(
        packages_redeem_create.sync(
            client=client,
            x_organization=studio,
            idempotency_key=str(uuid.uuid4()),
            body=RedeemRequestRequest(package_id=wanted.id),
        ),
        Redemption,
    )
    print(f"asked for {wanted.code}: {redemption.status.value}, {redemption.final_price} {redemption.currency}")
    if redemption.status.value != "PENDING":
        raise SystemExit("a member's request must wait for the desk (PENDING)")


if __name__ == "__main__":
    main(*sys.argv[1:5])
