"""Demo data for the studio and its people (idempotent: a second run adds nothing twice)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from members_app import services
from members_app.models import CreditTransaction, Member, Organization, StaffRole, User
from spinning import clock

DEMO_MEMBERS = [
    # email, first, last, phone
    ("elif@example.com", "Elif", "Yılmaz", "+905550000001"),
    ("can@example.com", "Can", "Demir", "+905550000002"),
    ("zeynep@example.com", "Zeynep", "Kaya", "+905550000003"),
    ("mert@example.com", "Mert", "Şahin", "+905550000004"),
]
DEMO_MEMBER_PASSWORD = "ride-demo-2026"
FRONT_DESK_EMAIL = "desk@example.com"
FRONT_DESK_PASSWORD = "desk-demo-2026"


def seed_studio(*, slug: str = "demo", name: str = "Demo Spin Studio") -> tuple[Organization, bool]:
    organization, created = Organization.objects.get_or_create(
        slug=slug,
        defaults={
            "name": name,
            "timezone": "Europe/Istanbul",
            "currency": "TRY",
            "credit_price": "1500.00",
        },
    )
    return organization, created


def seed_user(
    *, email: str, password: str, first_name: str = "", last_name: str = "", reset_password: bool = False
) -> tuple[User, bool]:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name)
        return user, True
    if reset_password:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, False


def seed_staff(
    *, organization: Organization, email: str, password: str, role: str, first_name: str, last_name: str
) -> User:
    user, _ = seed_user(email=email, password=password, first_name=first_name, last_name=last_name, reset_password=True)
    if not StaffRole.objects.filter(organization=organization, user=user, role=role).exists():
        services.staff_role_set(organization=organization, user=user, role=role)
    return user


def seed_members(*, organization: Organization, now=None) -> list[Member]:
    """Demo riders; the first two start with a few manually added credits (a welcome gift)."""
    now = now or clock.now()
    members = []
    for index, (email, first, last, phone) in enumerate(DEMO_MEMBERS):
        user, _ = seed_user(
            email=email, password=DEMO_MEMBER_PASSWORD, first_name=first, last_name=last, reset_password=True
        )
        member = Member.objects.filter(organization=organization, user=user).first()
        if member is None:
            with transaction.atomic():
                member = Member.objects.create(
                    organization=organization, user=user, first_name=first, last_name=last, phone=phone
                )
        if (
            index < 2
            and not CreditTransaction.objects.filter(member=member, type=CreditTransaction.Type.MANUAL_ADD).exists()
        ):
            services.credit_adjustment_create(
                organization=organization,
                member_id=member.pk,
                amount=3,
                reason="Welcome credits (demo)",
                expires_at=now + timedelta(days=60),
                now=now,
            )
        members.append(member)
    return members
