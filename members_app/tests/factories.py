"""Factories. Related objects derive from one organization, so tests never mix tenants by accident."""

from decimal import Decimal

import factory

from members_app.models import Member, Organization, StaffRole, User


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"studio-{n}")
    name = factory.Sequence(lambda n: f"Studio {n}")
    timezone = "Europe/Istanbul"
    currency = "TRY"
    credit_price = Decimal("1500.00")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    # This studio's record of the person starts with the account's names (as a registration does).
    first_name = factory.LazyAttribute(lambda member: member.user.first_name)
    last_name = factory.LazyAttribute(lambda member: member.user.last_name)
    status = Member.Status.ACTIVE


class StaffRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffRole

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory, is_staff=True)
    role = StaffRole.Role.ADMIN


def staff_user(organization, role=StaffRole.Role.ADMIN) -> User:
    return StaffRoleFactory(organization=organization, role=role).user
