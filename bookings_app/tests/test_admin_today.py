"""Today, the admin's home (issue 12 item 1): the studio's sessions of today and tomorrow in
studio-local time, the purchase requests waiting, the members whose credits or pass end soon."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import _package, give_credits, make_session
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user
from packages_app.models import Package, Redemption

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def home(user):
    client = Client()
    client.force_login(user)
    return client.get(reverse("admin:index"))


def test_today_lists_the_studios_day_in_local_time(org, layout, member):
    tonight = make_session(org, NOW + timedelta(hours=7), layout=layout)  # 19:00 Istanbul
    make_session(org, NOW + timedelta(days=1), layout=layout)  # tomorrow 12:00
    make_session(org, NOW + timedelta(days=3), layout=layout)  # not shown
    make_session(OrganizationFactory(), NOW + timedelta(hours=2))  # another studio: not shown
    give_credits(member, 4, now=NOW, expires_at=NOW + timedelta(days=5))
    package = _package(org, type=Package.Type.CREDIT_PACK, code="CORE-10", credits=10)
    Redemption.objects.create(
        organization=org,
        member=MemberFactory(organization=org, first_name="Elif", last_name="Yılmaz"),
        package=package,
        redemption_type=Redemption.Type.PACKAGE_DIRECT,
        status=Redemption.Status.PENDING,
        original_price=package.price,
        final_price=package.price,
        currency="TRY",
        redeemed_at=NOW - timedelta(hours=1),
    )
    for role in (StaffRole.Role.ADMIN, StaffRole.Role.FRONT_DESK):
        response = home(staff_user(org, role))
        assert response.status_code == 200
        page = response.content.decode()
        assert 'id="today"' in page
        assert "19:00–19:50" in page and "12:00–12:50" in page
        assert page.count("/roster/") == 2
        assert reverse("admin:bookings_app_session_roster", args=[tonight.pk]) in page
        assert "0 / 6" in page
        assert "Elif Yılmaz" in page and "CORE-10" in page
        assert member.full_name in page and "4 credits" in page
        assert "UTC" not in page
    assert 'id="today"' not in home(staff_user(org, StaffRole.Role.INSTRUCTOR)).content.decode()


def test_no_view_site_link(org):
    page = home(staff_user(org, StaffRole.Role.ADMIN)).content.decode()
    assert "View site" not in page
