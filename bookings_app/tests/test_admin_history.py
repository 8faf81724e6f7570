"""Every staff action shows on its object's History page (DOMAIN.md 18, issue 12 item 8): a
booking, a session (with its waitlist), a member and a redemption, in words."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from bookings_app import services
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import _package, give_credits, make_layout, make_session
from members_app import services as member_services
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, staff_user
from packages_app import services as package_services
from packages_app.models import Package

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def history(client, model: str, pk) -> str:
    response = client.get(reverse(f"admin:{model}_history", args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_staff_actions_show_on_the_history_of_their_objects(org):
    admin_user = staff_user(org, StaffRole.Role.ADMIN)
    admin_user.first_name, admin_user.last_name = "Selin", "Desk"
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    elif_ = MemberFactory(organization=org, first_name="Elif", last_name="Yılmaz")
    member_services.credit_adjustment_create(
        organization=org, member_id=elif_.pk, amount=3, reason="Broken bike", performed_by=admin_user
    )
    package = _package(org, type=Package.Type.CREDIT_PACK, code="CORE-10", credits=10)
    sale = package_services.redemption_create(
        organization=org, package_id=package.pk, member_id=elif_.pk, by_staff=True, performed_by=admin_user
    )
    session = make_session(org, NOW + timedelta(minutes=30), layout=make_layout(org, ["N"]), capacity=1)
    booking = services.booking_create(
        organization=org, session_id=session.pk, member_id=elif_.pk, booked_by=admin_user, by_staff=True
    )
    services.booking_check_in(organization=org, booking_id=booking.pk, performed_by=admin_user)
    waiting = MemberFactory(organization=org, first_name="Mert", last_name="Şahin")
    give_credits(waiting, 2, now=NOW)
    services.waitlist_join(organization=org, session_id=session.pk, member_id=waiting.pk, added_by=admin_user)

    member_page = history(client, "members_app_member", elif_.pk)
    assert "Credits adjusted" in member_page and "Broken bike" in member_page and "Selin Desk" in member_page
    assert "Sold at the desk" in history(client, "packages_app_redemption", sale.pk)
    booking_page = history(client, "bookings_app_booking", booking.pk)
    assert "Booked by the studio" in booking_page and "Checked in" in booking_page
    assert "booking.check_in" not in booking_page
    assert "Elif Yılmaz" in booking_page  # the member in words, not an id
    session_page = history(client, "bookings_app_session", session.pk)
    assert "Added to the waitlist" in session_page and "Mert Şahin" in session_page


def test_the_home_pages_recent_actions_are_the_users_audit_entries(org):
    desk_user = staff_user(org, StaffRole.Role.FRONT_DESK)
    member = MemberFactory(organization=org, first_name="Elif", last_name="Yılmaz")
    member_services.credit_adjustment_create(
        organization=org, member_id=member.pk, amount=2, reason="Gift", performed_by=desk_user
    )
    client = Client()
    client.force_login(desk_user)
    page = client.get(reverse("admin:index")).content.decode()
    box = page[page.index('id="recent-actions-module"') :]
    assert "Credits adjusted" in box and "Elif Yılmaz" in box and "None available" not in box
