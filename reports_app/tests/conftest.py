"""A small studio in Istanbul (UTC+3 all year) whose figures the tests compute by hand."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

UTC = ZoneInfo("UTC")
IST = ZoneInfo("Europe/Istanbul")


def local(year, month, day, hour=12, minute=0) -> datetime:
    """A studio-local wall time as an aware instant."""
    return datetime(year, month, day, hour, minute, tzinfo=IST)


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="ride", timezone="Europe/Istanbul", credit_price="1500.00")


@pytest.fixture
def admin(org):
    return staff_user(org, StaffRole.Role.ADMIN)


@pytest.fixture
def desk(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)


@pytest.fixture
def members(org):
    return [MemberFactory(organization=org) for _ in range(6)]
