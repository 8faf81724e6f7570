"""The members' emails about bookings (DOMAIN.md 15), written to the outbox in the caller's
transaction (members_app.notifications). Facts are read in one query for any number of
bookings; the booking path passes the rows it already holds and reads nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from bookings_app.models import Booking, Session, WaitlistEntry
from members_app.models import Member, Organization
from members_app.notifications import Kind, notify

__all__ = ["Kind", "notify_booking_created", "notify_bookings", "notify_waitlist_entries"]


def _session_facts(*, organization: Organization, starts_at, class_name, class_name_tr, instructor, location) -> dict:
    return {
        "class_name": class_name,
        "class_name_tr": class_name_tr,
        "starts_at": starts_at,
        "instructor": instructor,
        "location": location,
        "cancel_by": starts_at - timedelta(hours=organization.cancellation_window_hours),
        "window_hours": organization.cancellation_window_hours,
    }


def notify_booking_created(
    *, kind: str, booking: Booking, session: Session, member: Member, booked_by_staff: bool, now: datetime
) -> None:
    """booking_confirmed / waitlist_promoted from the rows the booking path holds (no reads)."""
    organization = member.organization
    ride_class = session.ride_class
    context = _session_facts(
        organization=organization,
        starts_at=session.starts_at,
        class_name=ride_class.name,
        class_name_tr=ride_class.name_tr,
        instructor=session.instructor.name,
        location=session.location.name,
    )
    context.update(
        bike=booking.seat.label if booking.seat_id else "",
        payment=booking.payment_type,
        credits_used=booking.credits_used,
        guest_name=booking.guest_name,
        booked_by_staff=booked_by_staff,
    )
    notify(kind=kind, member=member, context=context, booking_id=booking.pk, session_id=session.pk, now=now)


_FACTS = (
    "pk",
    "member_id",
    "session_id",
    "seat__label",
    "payment_type",
    "credits_used",
    "guest_name",
    "is_guest",
    "host_booking_id",
    "status",
    "refunded",
    "session__starts_at",
    "session__ride_class__name",
    "session__ride_class__name_tr",
    "session__instructor__name",
    "session__location__name",
)


def notify_bookings(
    *,
    kind: str,
    organization: Organization,
    booking_ids,
    now: datetime,
    members: dict | None = None,
    lone_guests: bool = False,
    **extra,
) -> None:
    """One message per booking, to its member: two reads whatever the number of bookings. A
    friend-pass guest has no address of their own; their booking is the host member's. A guest
    cancelled with their host is told in the host's message (`guest_name`); with `lone_guests`
    (a guest's booking cancelled on its own, the host's staying) the host gets a message about
    the guest's booking (`is_guest`). Otherwise a guest's booking alone sends nothing."""
    rows = list(Booking.objects.filter(pk__in=list(booking_ids)).values(*_FACTS))
    batch = {row["pk"] for row in rows}
    guests_of: dict = {}
    for row in rows:
        if row["is_guest"] and row["host_booking_id"] in batch:
            guests_of.setdefault(row["host_booking_id"], []).append(row["guest_name"])
    rows = [row for row in rows if not row["is_guest"] or (lone_guests and row["host_booking_id"] not in batch)]
    if not rows:
        return
    members = dict(members or {})
    missing = {row["member_id"] for row in rows} - {pk for pk, m in members.items() if _has_user(m)}
    if missing:
        members.update(Member.objects.select_related("user").in_bulk(missing))
    for row in rows:
        member = members[row["member_id"]]
        member.organization = organization
        context = _session_facts(
            organization=organization,
            starts_at=row["session__starts_at"],
            class_name=row["session__ride_class__name"],
            class_name_tr=row["session__ride_class__name_tr"],
            instructor=row["session__instructor__name"],
            location=row["session__location__name"],
        )
        context.update(
            bike=row["seat__label"] or "",
            payment=row["payment_type"],
            credits_used=row["credits_used"],
            guest_name=row["guest_name"] if row["is_guest"] else ", ".join(guests_of.get(row["pk"], [])),
            is_guest=row["is_guest"],
            refunded=row["refunded"],
            late=row["status"] == Booking.Status.LATE_CANCELLED,
            **extra,
        )
        notify(kind=kind, member=member, context=context, booking_id=row["pk"], session_id=row["session_id"], now=now)


def _has_user(member: Member) -> bool:
    return "user" in member._state.fields_cache


def notify_waitlist_entries(
    *, kind: str, organization: Organization, entry_ids, now: datetime, reasons: dict | None = None, **extra
) -> None:
    """waitlist_skipped / waitlist_expired, one per entry (`reasons`: entry id -> refusal code)."""
    entries = list(
        WaitlistEntry.objects.filter(pk__in=list(entry_ids)).select_related(
            "member__user", "session__ride_class", "session__instructor", "session__location"
        )
    )
    for entry in entries:
        session = entry.session
        member = entry.member
        member.organization = organization
        context = _session_facts(
            organization=organization,
            starts_at=session.starts_at,
            class_name=session.ride_class.name,
            class_name_tr=session.ride_class.name_tr,
            instructor=session.instructor.name,
            location=session.location.name,
        )
        context.update(reason=(reasons or {}).get(entry.pk, ""), **extra)
        notify(kind=kind, member=member, context=context, session_id=session.pk, now=now)
