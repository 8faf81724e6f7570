"""Factories for the schedule and for packages a member holds. Every related row derives from
one organization. Redemptions are built directly (ACTIVE, with the fields the booking rules read)
so these tests do not depend on packages_app's services."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import factory

from bookings_app.models import Instructor, Location, RideClass, Seat, SeatLayout, Session
from members_app.models import CreditLot, CreditTransaction, Member
from members_app.services import credits_grant, member_lock
from members_app.tests.factories import OrganizationFactory
from packages_app.models import BENEFIT_ELITE_BADGE, BENEFIT_FRIEND_PASS, BENEFIT_PRIORITY_BOOKING, Package, Redemption
from spinning import clock


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Room {n}")


class SeatLayoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SeatLayout

    location = factory.SubFactory(LocationFactory)
    organization = factory.SelfAttribute("location.organization")
    name = factory.Sequence(lambda n: f"Layout {n}")
    rows = 2
    columns = 3


class RideClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RideClass

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Ride {n}")
    name_tr = factory.Sequence(lambda n: f"Sürüş {n}")


class InstructorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instructor

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Coach {n}")


def make_layout(organization, grid: list[str] | None = None, location=None, exclusive_cost: int = 2) -> SeatLayout:
    """A layout from a picture: one string per row; N normal, E exclusive, P podium, C column,
    I instructor, X an out-of-order normal bike. Default: 'NNN', 'NEN' (6 bikes, one exclusive)."""
    grid = grid or ["NNN", "NEN"]
    location = location or LocationFactory(organization=organization)
    layout = SeatLayoutFactory(
        organization=organization, location=location, rows=len(grid), columns=max(len(r) for r in grid)
    )
    kinds = {
        "N": Seat.Type.NORMAL,
        "E": Seat.Type.EXCLUSIVE,
        "P": Seat.Type.PODIUM,
        "C": Seat.Type.ARCHITECTURAL_COLUMN,
        "I": Seat.Type.INSTRUCTOR,
        "X": Seat.Type.NORMAL,
    }
    for r, row in enumerate(grid, start=1):
        for c, kind in enumerate(row, start=1):
            Seat.objects.create(
                organization=organization,
                layout=layout,
                label=f"{chr(64 + r)}{c}",
                row=r,
                column=c,
                type=kinds[kind],
                credit_cost=exclusive_cost if kind == "E" else 1,
                is_active=kind != "X",
            )
    return layout


def seat(layout: SeatLayout, label: str) -> Seat:
    return layout.seats.get(label=label)


def make_session(
    organization,
    starts_at: datetime,
    *,
    layout: SeatLayout | None = None,
    capacity: int | None = None,
    minutes: int = 50,
    **extra,
) -> Session:
    layout = layout or make_layout(organization)
    bookable = sum(1 for s in layout.seats.all() if s.is_bookable)
    return Session.objects.create(
        organization=organization,
        ride_class=extra.pop("ride_class", None) or RideClassFactory(organization=organization),
        instructor=extra.pop("instructor", None) or InstructorFactory(organization=organization),
        location=layout.location,
        seat_layout=layout,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        capacity=capacity if capacity is not None else bookable,
        **extra,
    )


# --- packages a member holds ------------------------------------------------------------------------
def _package(organization, *, type, code, price="1000.00", credits=None, all_access_days=None, **extra) -> Package:
    package, _ = Package.objects.get_or_create(
        organization=organization,
        code=code,
        defaults={
            "name": code,
            "type": type,
            "price": Decimal(price),
            "credits": credits,
            "all_access_days": all_access_days,
            **extra,
        },
    )
    return package


def give_credits(member: Member, amount: int, *, now: datetime, expires_at: datetime | None = None) -> CreditLot:
    """A manual lot of credits (the member is locked as the ledger requires)."""
    from django.db import transaction

    with transaction.atomic():
        locked = member_lock(organization=member.organization, member_id=member.pk)
        lot, _ = credits_grant(
            member=locked,
            amount=amount,
            source=CreditLot.Source.MANUAL,
            type=CreditTransaction.Type.MANUAL_ADD,
            expires_at=expires_at,
            now=now,
        )
    member.refresh_from_db()
    return lot


def all_access(
    member: Member, *, starts_on: date, days: int = 30, daily_ride_limit: int = 1, now: datetime | None = None
) -> Redemption:
    organization = member.organization
    package = _package(
        organization,
        type=Package.Type.ALL_ACCESS,
        code=f"AA-{days}-{daily_ride_limit}",
        price="21000.00",
        all_access_days=days,
        daily_ride_limit=daily_ride_limit,
    )
    ends_on = starts_on + timedelta(days=days - 1)
    redemption = Redemption.objects.create(
        organization=organization,
        member=member,
        package=package,
        redemption_type=Redemption.Type.PACKAGE_DIRECT,
        status=Redemption.Status.ACTIVE,
        original_price=package.price,
        final_price=package.price,
        currency=organization.currency,
        all_access_days=days,
        daily_ride_limit=daily_ride_limit,
        all_access_starts_on=starts_on,
        all_access_ends_on=ends_on,
        all_access_expires_at=clock.end_of_local_day(ends_on, organization.timezone),
        redeemed_at=now or clock.now(),
        confirmed_at=now or clock.now(),
    )
    Member.objects.filter(pk=member.pk).update(
        has_all_access=True, all_access_expires_at=redemption.all_access_expires_at
    )
    return redemption


def elite_30(member: Member, *, now: datetime, credits: int = 30, friend_pass_days: int = 30) -> Redemption:
    """An Elite 30: credits (a package lot), a friend pass, priority booking and the badge."""
    organization = member.organization
    package = _package(
        organization,
        type=Package.Type.ELITE_30,
        code="ELITE-30",
        price="18000.00",
        credits=credits,
        benefits=[BENEFIT_FRIEND_PASS, BENEFIT_PRIORITY_BOOKING, BENEFIT_ELITE_BADGE],
    )
    lot = give_credits(member, credits, now=now) if credits else None
    redemption = Redemption.objects.create(
        organization=organization,
        member=member,
        package=package,
        redemption_type=Redemption.Type.PACKAGE_DIRECT,
        status=Redemption.Status.ACTIVE,
        original_price=package.price,
        final_price=package.price,
        currency=organization.currency,
        credits_added=credits,
        credit_lot=lot,
        benefits=list(package.benefits),
        friend_pass_days=friend_pass_days,
        friend_pass_granted=True,
        friend_pass_expires_at=clock.span_end(
            clock.local_date(now, organization.timezone), friend_pass_days, organization.timezone
        ),
        redeemed_at=now,
        confirmed_at=now,
    )
    Member.objects.filter(pk=member.pk).update(is_elite_member=True, friend_passes_available=1)
    member.refresh_from_db()
    return redemption
