"""A studio in Istanbul with a small room (6 bikes, one EXCLUSIVE at 2 credits) and a rider."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bookings_app.tests.factories import make_layout
from members_app.tests.factories import MemberFactory, OrganizationFactory

UTC = ZoneInfo("UTC")
IST = ZoneInfo("Europe/Istanbul")
# Monday 2 March 2026, 12:00 in Istanbul (UTC+3 all year).
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def org():
    return OrganizationFactory(timezone="Europe/Istanbul")


@pytest.fixture
def layout(org):
    return make_layout(org, ["NNN", "NEN"])


@pytest.fixture
def member(org):
    return MemberFactory(organization=org)
