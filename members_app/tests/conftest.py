"""Two studios, A and B, with people in every role: the cast of the API tests."""

import pytest

from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user


@pytest.fixture
def org_a():
    return OrganizationFactory(slug="studio-a", name="Studio A")


@pytest.fixture
def org_b():
    return OrganizationFactory(slug="studio-b", name="Studio B")


@pytest.fixture
def member_a(org_a):
    return MemberFactory(organization=org_a)


@pytest.fixture
def member_b(org_b):
    return MemberFactory(organization=org_b)


@pytest.fixture
def admin_a(org_a):
    return staff_user(org_a, StaffRole.Role.ADMIN)


@pytest.fixture
def desk_a(org_a):
    return staff_user(org_a, StaffRole.Role.FRONT_DESK)


@pytest.fixture
def instructor_a(org_a):
    return staff_user(org_a, StaffRole.Role.INSTRUCTOR)


@pytest.fixture
def admin_b(org_b):
    return staff_user(org_b, StaffRole.Role.ADMIN)
