"""Reads for the schedule and bookings. Every query starts from the organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, IntegerField, OuterRef, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from bookings_app.models import LIVE, AllAccessUsage, Booking, Seat, SeatLayout, Session, WaitlistEntry
from members_app.models import Member, Organization
from packages_app.models import BENEFIT_PRIORITY_BOOKING, Redemption
from spinning import clock
from spinning.errors import Invalid, NotFound


# --- time helpers ------------------------------------------------------------------------------
def filter_starts_between(queryset: QuerySet, *, field: str, organization: Organization, start=None, end=None):
    """Filter `field` (a start time) by API `from` / `to` values (dates inclusive)."""
    if start:
        moment, _ = _moment(start, organization=organization, param="from", end=False)
        queryset = queryset.filter(**{f"{field}__gte": moment})
    if end:
        moment, is_date = _moment(end, organization=organization, param="to", end=True)
        queryset = queryset.filter(**{f"{field}__lt" if is_date else f"{field}__lte": moment})
    return queryset


def _moment(value: str, *, organization: Organization, param: str, end: bool) -> tuple[datetime, bool]:
    try:
        return clock.parse_moment(value, tz_name=organization.timezone, end=end)
    except clock.BadMoment as exc:
        raise Invalid({param: str(exc)}) from None


def member_has_priority(*, member: Member | None, now: datetime) -> bool:
    """Holds an ACTIVE redemption granting `priority_booking` (whose credits have not expired)."""
    if member is None:
        return False
    benefit_lists = (
        Redemption.objects.filter(member=member, status=Redemption.Status.ACTIVE)
        .exclude(credits_expire_at__lte=now)
        .values_list("benefits", flat=True)
    )
    return any(BENEFIT_PRIORITY_BOOKING in (benefits or []) for benefits in benefit_lists)


def booking_opens_at(*, session: Session, organization: Organization, priority: bool) -> datetime:
    """Booking opens `booking_window_days` before the start (same studio-local wall-clock time,
    so a daylight-saving change in between does not move it by an hour); holders of the
    priority benefit may book `priority_booking_hours` earlier still."""
    return booking_opens_at_for(session.starts_at, organization=organization, priority=priority)


def booking_opens_at_for(starts_at: datetime, *, organization: Organization, priority: bool) -> datetime:
    """`booking_opens_at` of a session starting at `starts_at` (for rows read with `.values()`)."""
    tz = ZoneInfo(organization.timezone)
    local_start = starts_at.astimezone(tz)
    opens = datetime.combine(
        local_start.date() - timedelta(days=organization.booking_window_days), local_start.timetz().replace(tzinfo=None)
    ).replace(tzinfo=tz)
    if priority:
        # Hours are elapsed time: subtract them in UTC (aware local arithmetic is wall-clock).
        opens = opens.astimezone(ZoneInfo("UTC")) - timedelta(hours=organization.priority_booking_hours)
    return opens


# --- sessions -----------------------------------------------------------------------------------
def session_list(
    *,
    organization: Organization,
    member: Member | None = None,
    start: str | None = None,
    end: str | None = None,
) -> QuerySet[Session]:
    """Sessions with class, instructor and location joined and the member's own live booking id
    (`my_booking_id`) from a subquery: a constant number of queries however many rows."""
    queryset = (
        Session.objects.filter(organization=organization)
        .select_related("ride_class", "instructor", "location")
        .order_by("starts_at", "pk")
    )
    queryset = filter_starts_between(queryset, field="starts_at", organization=organization, start=start, end=end)
    # The waitlist's length and the member's own waiting entry: subqueries of the same statement.
    queryset = queryset.annotate(waitlist_count=_waiting_count(session=OuterRef("pk")))
    if member is not None:
        mine = Booking.objects.filter(LIVE, session=OuterRef("pk"), member=member, is_guest=False).values("pk")[:1]
        my_entry = WaitlistEntry.objects.filter(
            session=OuterRef("pk"), member=member, status=WaitlistEntry.Status.WAITING
        ).values("pk")[:1]
        queryset = queryset.annotate(my_booking_id=Subquery(mine), my_waitlist_entry_id=Subquery(my_entry))
    return queryset


def _waiting_count(**lookup) -> Subquery:
    """COUNT of WAITING entries matching `lookup` (OuterRefs), as a subquery (0 when none)."""
    counted = (
        WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING, **lookup)
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def session_get(*, organization: Organization, session_id, member: Member | None = None) -> Session:
    try:
        return session_list(organization=organization, member=member).get(pk=session_id)
    except (Session.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such session.")) from None


@dataclass(frozen=True)
class SeatAvailability:
    seat: Seat
    is_available: bool

    def __getattr__(self, name):
        return getattr(self.seat, name)


def session_seats(*, session_id, seat_layout_id, status: str) -> list[SeatAvailability]:
    """The seat map of a session: every seat of its layout, and whether it can be booked now."""
    taken = set(
        Booking.objects.filter(LIVE, session_id=session_id, seat__isnull=False).values_list("seat_id", flat=True)
    )
    bookable_session = status == Session.Status.SCHEDULED
    return [
        SeatAvailability(seat=seat, is_available=bookable_session and seat.is_bookable and seat.pk not in taken)
        for seat in Seat.objects.filter(layout_id=seat_layout_id).order_by("row", "column")
    ]


def session_roster(
    *, organization: Organization, session: Session, include_cancelled: bool = False
) -> QuerySet[Booking]:
    """Live bookings of a session (riders and guests) with names, seats and check-in state; with
    `include_cancelled`, every booking (the admin roster keeps cancelled rows, greyed)."""
    bookings = Booking.objects.filter(organization=organization, session=session)
    return (
        (bookings if include_cancelled else bookings.filter(LIVE))
        .select_related("member__user", "seat", "all_access_usage", *BOOKING_SESSION_JOINS)
        .order_by("seat__row", "seat__column", "created_at", "pk")
    )


def sessions_scheduled_on(*, organization: Organization, day) -> int:
    """How many SCHEDULED sessions start on a studio-local day (a day being closed keeps them)."""
    tz_name = organization.timezone
    return Session.objects.filter(
        organization=organization,
        status=Session.Status.SCHEDULED,
        starts_at__gte=clock.start_of_local_day(day, tz_name),
        starts_at__lt=clock.end_of_local_day(day, tz_name),
    ).count()


def bookable_seat_count(*, layout: SeatLayout) -> int:
    return Seat.objects.filter(layout=layout, is_active=True, type__in=Seat.BOOKABLE_TYPES).count()


def seat_layout_list(*, organization: Organization) -> QuerySet[SeatLayout]:
    return SeatLayout.objects.filter(organization=organization).select_related("location").prefetch_related("seats")


# --- bookings -----------------------------------------------------------------------------------
# What a booking shows of its session (BookingSerializer's `session`), joined in the same query.
BOOKING_SESSION_JOINS = ("session__ride_class", "session__instructor", "session__location")


def booking_list(*, organization: Organization) -> QuerySet[Booking]:
    """Bookings by their session's start, latest first."""
    return (
        Booking.objects.filter(organization=organization)
        .select_related("seat", "all_access_usage", "member__user", *BOOKING_SESSION_JOINS)
        .order_by("-session__starts_at", "-created_at", "pk")
    )


def bookings_upcoming(queryset: QuerySet[Booking], *, now: datetime) -> QuerySet[Booking]:
    """Of `queryset`, the CONFIRMED bookings whose session has not started yet, soonest first
    (a member's coming rides)."""
    return queryset.filter(status=Booking.Status.CONFIRMED, session__starts_at__gt=now).order_by(
        "session__starts_at", "created_at", "pk"
    )


def booking_get(*, organization: Organization, booking_id, member: Member | None = None) -> Booking:
    """One booking; with `member`, only that member's (another's answers 404)."""
    queryset = booking_list(organization=organization)
    if member is not None:
        queryset = queryset.filter(member=member)
    try:
        return queryset.get(pk=booking_id)
    except (Booking.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such booking.")) from None


def all_access_usage_list(*, organization: Organization, redemption: Redemption) -> QuerySet[AllAccessUsage]:
    return AllAccessUsage.objects.filter(organization=organization, redemption=redemption).order_by(
        "usage_date", "slot", "pk"
    )


# --- waitlist -----------------------------------------------------------------------------------
def waitlist_list(*, organization: Organization) -> QuerySet[WaitlistEntry]:
    """Waitlist entries with their `position`: 1-based among the session's WAITING entries in the
    order they joined, None for every other state (one subquery, no per-row query)."""
    ahead = _waiting_count(session=OuterRef("session"), sequence__lte=OuterRef("sequence"))
    return (
        WaitlistEntry.objects.filter(organization=organization)
        .select_related("session", "member")
        .annotate(
            position=Case(
                When(status=WaitlistEntry.Status.WAITING, then=ahead), default=None, output_field=IntegerField()
            )
        )
    )


def waitlist_get(*, organization: Organization, entry_id, member: Member | None = None) -> WaitlistEntry:
    """One entry; with `member`, only that member's (another's answers 404)."""
    queryset = waitlist_list(organization=organization)
    if member is not None:
        queryset = queryset.filter(member=member)
    try:
        return queryset.get(pk=entry_id)
    except (WaitlistEntry.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext_lazy("No such waitlist entry.")) from None
