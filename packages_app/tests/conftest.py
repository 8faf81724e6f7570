"""Fixtures of the packages tests: a studio in Istanbul at a fixed moment, staff and a member."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

UTC = ZoneInfo("UTC")
# 2026-03-10 12:00 in Istanbul (UTC+3, no daylight saving)
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def org(db):
    return OrganizationFactory(timezone="Europe/Istanbul", credit_price="1500.00")


@pytest.fixture
def member(org):
    return MemberFactory(organization=org)


@pytest.fixture
def admin_user(org):
    return staff_user(org, StaffRole.Role.ADMIN)


@pytest.fixture
def desk_user(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)
