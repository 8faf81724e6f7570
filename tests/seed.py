"""One seeded studio for the random-input and security tests, built with the project's own seeds
and services: `seed_demo` (studio, ADMIN, FRONT_DESK, demo members), the standard catalog
(`seed_catalog`, idempotent, in case `seed_demo` does not add it yet) and a small schedule
(seat layout and sessions through the bookings services) when the studio has none. Then a little
history, so that lists and details have rows to render: a desk sale, a member's pending request,
a booking paid by credits and a cancelled one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.management import call_command

from bookings_app import services as booking_services
from bookings_app.models import Booking, Instructor, Location, RideClass, Seat, SeatLayout, Session, WaitlistEntry
from members_app.models import Member, Organization, StaffRole, User
from members_app.seeds import DEMO_MEMBERS, FRONT_DESK_EMAIL
from members_app.services.accounts import token_issue
from packages_app import services as package_services
from packages_app.models import Coupon, Package, Redemption
from packages_app.seeds import seed_catalog
from spinning import clock

ADMIN_EMAIL = "admin@example.com"
SLUG = "demo"


@dataclass
class Studio:
    organization: Organization
    admin: User
    front_desk: User
    member: Member  # the rider the member-side tests act as
    other_member: Member  # a second rider, whose rows the first must never see
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token (the secret)
    ids: dict[str, list[str]] = field(default_factory=dict)  # resource -> ids of real rows

    def headers(self, role: str) -> dict[str, str]:
        headers = {"X-Organization": self.organization.slug}
        if role in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return headers


def make_room(organization: Organization) -> dict:
    """A room like the demo's (a podium, a column, exclusive bikes at 2 credits), a class and an
    instructor: the ids `session_create` needs."""
    location = Location.objects.create(organization=organization, name="Fuzz Room", address="Test street 1")
    grid = ["NPNE", "NCNN", "ENNN"]
    kinds = {
        "N": Seat.Type.NORMAL,
        "E": Seat.Type.EXCLUSIVE,
        "P": Seat.Type.PODIUM,
        "C": Seat.Type.ARCHITECTURAL_COLUMN,
    }
    seats = [
        {"row": r, "column": c, "type": kinds[k], "credit_cost": 2 if k == "E" else 1}
        for r, line in enumerate(grid, start=1)
        for c, k in enumerate(line, start=1)
    ]
    layout = booking_services.seat_layout_create(
        organization=organization, location_id=location.pk, name="Fuzz layout", rows=3, columns=4, seats=seats
    )
    ride_class = RideClass.objects.create(organization=organization, name="Fuzz Ride", name_tr="Fuzz Sürüş")
    instructor = Instructor.objects.create(organization=organization, name="Coach Fuzz")
    return {
        "class_id": ride_class.pk,
        "instructor_id": instructor.pk,
        "location_id": location.pk,
        "seat_layout_id": layout.pk,
    }


def _schedule(organization: Organization, now: datetime) -> None:
    """Sessions around `now` (one past, five ahead) when the studio has none."""
    if Session.objects.filter(organization=organization).exists():
        return
    room = make_room(organization)
    for hours in (-30, 20, 30, 50, 75, 24 * 6):
        starts_at = now + timedelta(hours=hours)
        booking_services.session_create(
            organization=organization, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=50), **room
        )


def _history(studio: Studio, now: datetime) -> None:
    organization, member = studio.organization, studio.member
    core = Package.objects.get(organization=organization, code="CORE-10")
    explorer = Package.objects.get(organization=organization, code="EXPLORER-5")
    if not Redemption.objects.filter(member=member).exists():
        package_services.redemption_create(
            organization=organization,
            package_id=core.pk,
            member_id=member.pk,
            by_staff=True,
            performed_by=studio.admin,
            payment_method="CARD",
            now=now,
        )
        package_services.redemption_create(
            organization=organization,
            package_id=explorer.pk,
            member_id=member.pk,
            by_staff=False,
            performed_by=member.user,
            coupon_code="SUMMER2024",
            now=now,
        )
        package_services.redemption_create(
            organization=organization,
            package_id=explorer.pk,
            member_id=studio.other_member.pk,
            by_staff=True,
            performed_by=studio.admin,
            now=now,
        )
    if not Booking.objects.filter(member=member).exists():
        future = list(
            Session.objects.filter(organization=organization, starts_at__gt=now + timedelta(hours=13)).order_by(
                "starts_at"
            )[:3]
        )
        for index, session in enumerate(future):
            for rider in (member, studio.other_member):
                booking = booking_services.booking_create(
                    organization=organization, session_id=session.pk, member_id=rider.pk, by_staff=True, now=now
                )
                if index == 0 and rider == member:
                    booking_services.booking_cancel(
                        organization=organization, booking_id=booking.pk, by_staff=True, now=now
                    )
        _waitlist(studio, future[1:2], now)


def _waitlist(studio: Studio, sessions: list, now: datetime) -> None:
    """A full session with somebody waiting (a demo rider who can pay), so the waitlist's lists
    and details have rows, another member's among them."""
    from spinning.errors import DomainError

    organization = studio.organization
    for session in sessions:
        session.refresh_from_db()
        booking_services.session_update(
            organization=organization, session_id=session.pk, data={"capacity": session.booked_count}, now=now
        )
        waiting = Member.objects.filter(organization=organization).exclude(
            pk__in=Booking.objects.filter(session=session).values("member_id")
        )
        for candidate in waiting.order_by("user__email"):
            try:
                booking_services.waitlist_join(
                    organization=organization, session_id=session.pk, member_id=candidate.pk, now=now
                )
                return
            except DomainError:
                continue


def seed_studio(now: datetime | None = None) -> Studio:
    now = now or clock.now()
    call_command("seed_demo", stdout=io.StringIO())
    organization = Organization.objects.get(slug=SLUG)
    seed_catalog(organization=organization, now=now)
    _schedule(organization, now)
    users = {email: User.objects.get(email=email) for email, *_ in DEMO_MEMBERS}
    studio = Studio(
        organization=organization,
        admin=User.objects.get(email=ADMIN_EMAIL),
        front_desk=User.objects.get(email=FRONT_DESK_EMAIL),
        member=Member.objects.select_related("user").get(organization=organization, user=users["elif@example.com"]),
        other_member=Member.objects.select_related("user").get(
            organization=organization, user=users["can@example.com"]
        ),
    )
    assert StaffRole.objects.filter(organization=organization, user=studio.admin, role="ADMIN").exists()
    _history(studio, now)
    for role, user in (
        ("member", studio.member.user),
        ("other_member", studio.other_member.user),
        ("staff", studio.admin),
        ("front_desk", studio.front_desk),
    ):
        studio.tokens[role] = token_issue(user=user).token
    org = organization
    studio.ids = {
        "members": [str(pk) for pk in Member.objects.filter(organization=org).values_list("pk", flat=True)],
        "bookings": [str(pk) for pk in Booking.objects.filter(organization=org).values_list("pk", flat=True)],
        "redemptions": [str(pk) for pk in Redemption.objects.filter(organization=org).values_list("pk", flat=True)],
        "packages": [str(pk) for pk in Package.objects.filter(organization=org).values_list("pk", flat=True)],
        "coupons": [str(pk) for pk in Coupon.objects.filter(organization=org).values_list("pk", flat=True)],
        "coupon_codes": list(Coupon.objects.filter(organization=org).values_list("code", flat=True)),
        "sessions": [str(pk) for pk in Session.objects.filter(organization=org).values_list("pk", flat=True)],
        "seats": [str(pk) for pk in Seat.objects.filter(organization=org).values_list("pk", flat=True)],
        "seat-layouts": [str(pk) for pk in SeatLayout.objects.filter(organization=org).values_list("pk", flat=True)],
        "locations": [str(pk) for pk in Location.objects.filter(organization=org).values_list("pk", flat=True)],
        "classes": [str(pk) for pk in RideClass.objects.filter(organization=org).values_list("pk", flat=True)],
        "instructors": [str(pk) for pk in Instructor.objects.filter(organization=org).values_list("pk", flat=True)],
        "waitlist": [str(pk) for pk in WaitlistEntry.objects.filter(organization=org).values_list("pk", flat=True)],
    }
    return studio
