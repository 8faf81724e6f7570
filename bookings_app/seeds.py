"""The demo studio's schedule (DOMAIN.md 13) and demo riders' packages and bookings.

Idempotent: rows are found by their natural keys (location name, layout name, class name,
instructor name, a class at a start time, a member's package, a member's booking on a session)
and only what is missing is added. Everything that moves money or bikes goes through services.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bookings_app import services
from bookings_app.models import (
    LIVE,
    Booking,
    Instructor,
    Location,
    RideClass,
    Seat,
    SeatLayout,
    Session,
    TimetableSlot,
)
from members_app.models import Member, Organization, User
from packages_app.models import Package, Redemption
from spinning import clock
from spinning.errors import DomainError

LOCATION_NAME = "Main Studio"
LAYOUT_NAME = "Main Room"
ROWS, COLUMNS = 5, 6
PODIUM = {(1, 3), (1, 4)}  # row A, the middle two positions
EXCLUSIVE = {(1, 1), (1, 2), (1, 5), (1, 6)}  # the other four of row A, 2 credits each
COLUMN = {(4, 1)}  # D1: the building's column
SESSION_MINUTES = 50

# name, Turkish name, music genre, Turkish genre
CLASSES = {
    "Wake & Ride": ("Uyan & Sür", "Deep house", "Deep house"),
    "Rhythm Therapy": ("Ritim Terapisi", "Soul & R&B", "Soul & R&B"),
    "SunSet Pulse": ("Gün Batımı Nabzı", "Melodic techno", "Melodik tekno"),
    "Sunrise Flow": ("Gün Doğumu Akışı", "Chill house", "Chill house"),
    "Fire Pulse": ("Ateş Nabzı", "EDM", "EDM"),
    "Sunset Beats Ride": ("Gün Batımı Ritim Sürüşü", "Afro house", "Afro house"),
    "Warm up with Waves": ("Dalgalarla Isınma", "Nu disco", "Nu disco"),
    "Queen Energy": ("Kraliçe Enerjisi", "Pop divas", "Pop divaları"),
    "Moonlight Ride": ("Ay Işığı Sürüşü", "Progressive house", "Progresif house"),
    "Fresh Friday Ride": ("Taze Cuma Sürüşü", "Funk", "Funk"),
    "Midday Beats": ("Öğle Ritimleri", "Hip hop", "Hip hop"),
    "After Work Rhythm": ("İş Çıkışı Ritmi", "Disco", "Disko"),
    "PreParty WarmUp": ("Parti Öncesi Isınma", "Tech house", "Tech house"),
    "MainStage Ride": ("Ana Sahne Sürüşü", "Big room", "Big room"),
    "After party Flow": ("After Parti Akışı", "Downtempo", "Downtempo"),
    "SunDay FunDay": ("Pazar Eğlencesi", "90s & 2000s", "90'lar & 2000'ler"),
    "Ride In To Week": ("Haftaya Sürüş", "Indie dance", "Indie dans"),
}
INSTRUCTORS = ["Deniz Aksoy", "Selin Arı", "Kaan Yıldız"]
# weekday (Monday 0): [(HH:MM, class)] — no classes on Monday
TIMETABLE = {
    1: [("08:30", "Wake & Ride"), ("14:30", "Rhythm Therapy"), ("18:00", "SunSet Pulse")],
    2: [("11:30", "Sunrise Flow"), ("14:30", "Fire Pulse"), ("18:00", "Sunset Beats Ride")],
    3: [("08:30", "Warm up with Waves"), ("14:30", "Queen Energy"), ("18:00", "Moonlight Ride")],
    4: [("11:30", "Fresh Friday Ride"), ("14:30", "Midday Beats"), ("18:00", "After Work Rhythm")],
    5: [("11:30", "PreParty WarmUp"), ("14:30", "MainStage Ride"), ("18:00", "After party Flow")],
    6: [("12:30", "SunDay FunDay"), ("16:30", "Ride In To Week")],
}
DAYS_AHEAD = 14

# demo member email -> package code they hold (the packages of DOMAIN.md 13)
HOLDINGS = {
    "elif@example.com": "ELITE-30",
    "can@example.com": "ALL-ACCESS-30",
    "zeynep@example.com": "CORE-10",
}


def seed_layout(*, organization: Organization) -> tuple[SeatLayout, bool]:
    location, _ = Location.objects.get_or_create(
        organization=organization, name=LOCATION_NAME, defaults={"address": "Nişantaşı, İstanbul"}
    )
    layout = SeatLayout.objects.filter(location=location, name=LAYOUT_NAME).first()
    if layout is not None:
        return layout, False
    seats = []
    for row in range(1, ROWS + 1):
        for column in range(1, COLUMNS + 1):
            position = (row, column)
            kind = (
                Seat.Type.PODIUM
                if position in PODIUM
                else Seat.Type.EXCLUSIVE
                if position in EXCLUSIVE
                else Seat.Type.ARCHITECTURAL_COLUMN
                if position in COLUMN
                else Seat.Type.NORMAL
            )
            seats.append(
                {"row": row, "column": column, "type": kind, "credit_cost": 2 if kind == Seat.Type.EXCLUSIVE else 1}
            )
    layout = services.seat_layout_create(
        organization=organization, location_id=location.pk, name=LAYOUT_NAME, rows=ROWS, columns=COLUMNS, seats=seats
    )
    return layout, True


def seed_schedule(*, organization: Organization, now: datetime | None = None) -> list[str]:
    """The room, the classes, the instructors and the weekly timetable for the next 14 days."""
    now = now or clock.now()
    layout, layout_created = seed_layout(organization=organization)
    classes = {}
    for name, (name_tr, genre, genre_tr) in CLASSES.items():
        classes[name], _ = RideClass.objects.get_or_create(
            organization=organization,
            name=name,
            defaults={
                "name_tr": name_tr,
                "music_genre": genre,
                "music_genre_tr": genre_tr,
                "duration_minutes": SESSION_MINUTES,
            },
        )
    instructors = []
    for name in INSTRUCTORS:
        instructor = Instructor.objects.filter(organization=organization, name=name).first()
        instructors.append(instructor or Instructor.objects.create(organization=organization, name=name))
    slots = seed_timetable(organization=organization, layout=layout, classes=classes, instructors=instructors)
    tz = ZoneInfo(organization.timezone)
    today = clock.local_date(now, organization.timezone)
    created = 0
    for offset in range(DAYS_AHEAD):
        day = today + timedelta(days=offset)
        for index, (hhmm, class_name) in enumerate(TIMETABLE.get(day.weekday(), [])):
            hour, minute = (int(part) for part in hhmm.split(":"))
            starts_at = datetime.combine(day, time(hour, minute), tzinfo=tz)
            if starts_at <= now:
                continue
            ride_class = classes[class_name]
            if Session.objects.filter(organization=organization, ride_class=ride_class, starts_at=starts_at).exists():
                continue
            services.session_create(
                organization=organization,
                class_id=ride_class.pk,
                instructor_id=instructors[(day.toordinal() + index) % len(instructors)].pk,
                location_id=layout.location_id,
                seat_layout_id=layout.pk,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=SESSION_MINUTES),
            )
            created += 1
    bookable = sum(1 for seat in layout.seats.all() if seat.is_bookable)
    return [
        f"Schedule for '{organization.slug}':",
        f"  layout {LAYOUT_NAME}: {'created' if layout_created else 'already there'} "
        f"({ROWS}x{COLUMNS}, {bookable} bookable bikes)",
        f"  classes: {len(classes)}, instructors: {len(instructors)}, weekly timetable: {slots} classes a week",
        f"  sessions: {created} created for the next {DAYS_AHEAD} days",
    ]


def seed_timetable(*, organization: Organization, layout: SeatLayout, classes: dict, instructors: list) -> int:
    """The weekly timetable of DOMAIN.md 13 as timetable slots (the admin's "Generate sessions"
    makes the weeks after the seeded 14 days from them); idempotent."""
    count = 0
    for weekday, day_classes in TIMETABLE.items():
        for index, (hhmm, class_name) in enumerate(day_classes):
            hour, minute = (int(part) for part in hhmm.split(":"))
            TimetableSlot.objects.get_or_create(
                organization=organization,
                seat_layout=layout,
                weekday=weekday,
                start_time=time(hour, minute),
                ride_class=classes[class_name],
                defaults={"instructor": instructors[(weekday + index) % len(instructors)]},
            )
            count += 1
    return count


def seed_holdings(*, organization: Organization, performed_by: User | None, now: datetime | None = None) -> list[str]:
    """Demo riders holding an Elite 30, an All Access and a credit pack (a desk sale each),
    and a booking each on an upcoming session."""
    from packages_app.services import redemption_create

    now = now or clock.now()
    lines = ["Demo packages and bookings:"]
    for email, code in HOLDINGS.items():
        member = Member.objects.filter(organization=organization, user__email=email).first()
        package = Package.objects.filter(organization=organization, code__iexact=code).first()
        if member is None or package is None:
            lines.append(f"  {email}: skipped (member or package {code} missing)")
            continue
        held = Redemption.objects.filter(member=member, package=package).exclude(status=Redemption.Status.CANCELLED)
        if held.exists():
            lines.append(f"  {email}: holds {code} already")
            continue
        redemption_create(
            organization=organization,
            package_id=package.pk,
            member_id=member.pk,
            by_staff=True,
            performed_by=performed_by,
            payment_method=Redemption.PaymentMethod.CARD,
            notes="Demo sale",
            now=now,
        )
        lines.append(f"  {email}: sold {code}")
    # one booking each, on the first session more than a day away (so it can still be cancelled)
    upcoming = list(
        Session.objects.filter(
            organization=organization, status=Session.Status.SCHEDULED, starts_at__gte=now + timedelta(days=1)
        ).order_by("starts_at")[:3]
    )
    if not upcoming:
        return lines
    layout_seats = {s.label: s for s in Seat.objects.filter(layout_id=upcoming[0].seat_layout_id)}
    for (email, _), label in zip(HOLDINGS.items(), ("A1", "B3", "C4"), strict=False):
        member = Member.objects.filter(organization=organization, user__email=email).first()
        if member is None:
            continue
        session = upcoming[0]
        if Booking.objects.filter(LIVE, session__in=upcoming, member=member).exists():
            lines.append(f"  {email}: booked already")
            continue
        try:
            booking = services.booking_create(
                organization=organization,
                session_id=session.pk,
                member_id=member.pk,
                seat_id=layout_seats[label].pk if label in layout_seats else None,
                booked_by=performed_by,
                by_staff=True,
                now=now,
            )
        except DomainError as exc:  # e.g. the seat was taken by a person trying the demo
            lines.append(f"  {email}: not booked ({exc.code})")
            continue
        lines.append(
            f"  {email}: booked bike {label} on {session.starts_at.astimezone(ZoneInfo(organization.timezone)):%a %d %b %H:%M} "
            f"({booking.payment_type})"
        )
    return lines
