"""The member's page in the admin (issue 12 item 4): balance, packages held with what is left and
until when, coming and past bookings, the ledger in words, messages sent; actions: sell, book,
adjust credits, and cancel a package with the preview of what it takes."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from bookings_app import services
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import _package, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import MemberFactory, staff_user
from packages_app import services as package_services
from packages_app.models import Package, Redemption

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):  # Monday 2 March 2026, 12:00 in Istanbul
        yield
    assert ledger_breaches() == []


@pytest.fixture
def desk_user(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)


@pytest.fixture
def client(desk_user):
    client = Client()
    client.force_login(desk_user)
    return client


@pytest.fixture
def elif_(org, layout, desk_user):
    """Elif bought a Core 10 at the desk (valid 60 days), booked Wednesday's class on B1 and
    booked tomorrow's class and cancelled it on time."""
    member = MemberFactory(organization=org, first_name="Elif", last_name="Yılmaz")
    package = _package(
        org, type=Package.Type.CREDIT_PACK, code="CORE-10", credits=10, price="8000.00", credit_validity_days=60
    )
    package_services.redemption_create(
        organization=org,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=True,
        performed_by=desk_user,
        payment_method="CARD",
    )
    wednesday = make_session(org, NOW + timedelta(days=2), layout=layout)
    services.booking_create(
        organization=org, session_id=wednesday.pk, member_id=member.pk, seat_id=seat(layout, "B1").pk
    )
    tomorrow = make_session(org, NOW + timedelta(days=1), layout=layout)
    cancelled = services.booking_create(organization=org, session_id=tomorrow.pk, member_id=member.pk)
    services.booking_cancel(organization=org, booking_id=cancelled.pk, member=member)
    member.refresh_from_db()
    return member


def page_of(client, member) -> str:
    response = client.get(reverse("admin:members_app_member_change", args=[member.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</table>", start)]


def test_the_member_page_sums_up_what_the_member_holds_and_did(client, elif_):
    page = page_of(client, elif_)

    assert "<strong>9</strong>credits" in section(page, "member-balance").replace("\n", "")
    packages = section(page, "member-packages")
    assert Redemption.objects.get(member=elif_).package.name in packages
    assert "9 of 10 credits left, until 30.04.2026" in packages  # 60 days counting 2 March
    assert "Cancel…" in packages
    upcoming = section(page, "member-upcoming")
    assert "Wed 04.03.2026 12:00" in upcoming and "B1" in upcoming and "1 credit" in upcoming
    past = section(page, "member-past")
    assert "Tue 03.03.2026 12:00" in past and "Cancelled" in past
    ledger = section(page, "member-ledger")
    assert "Purchase: CORE-10" in ledger and "Booking payment: " in ledger and "Booking refund" in ledger
    assert "02.03.2026 12:00" in ledger  # studio-local, never UTC
    messages = section(page, "member-messages")
    assert "No message sent yet." not in messages  # the sale and the bookings wrote to the outbox
    for action in ("Sell a package", "Book a class", "Adjust credits"):
        assert action in page


def test_cancel_a_package_from_the_member_page_with_its_preview(client, elif_, desk_user):
    redemption = Redemption.objects.get(member=elif_)
    cancel_url = reverse("admin:packages_app_redemption_cancel", args=[redemption.pk])

    preview = client.get(cancel_url).content.decode()
    assert 'class="credits-removed">9<' in preview and 'class="bookings-cancelled">1<' in preview
    assert "Wed 04.03.2026 12:00" in preview and str(redemption.pk) not in preview.split("<form")[0]
    redemption.refresh_from_db()
    assert redemption.status == Redemption.Status.ACTIVE  # the preview changed nothing

    response = client.post(cancel_url, {"confirm_cancel": "yes", "reason": "Moved abroad"})

    assert response.status_code == 302 and response.url == reverse("admin:members_app_member_change", args=[elif_.pk])
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [f"{redemption.package.name} of Elif Yılmaz cancelled: 9 credits removed, 1 booking cancelled."]
    redemption.refresh_from_db()
    elif_.refresh_from_db()
    assert redemption.status == Redemption.Status.CANCELLED and elif_.credit_balance == 0
    entry = AuditLogEntry.objects.get(action="redemption.cancel", object_id=redemption.pk)
    assert entry.actor == desk_user and entry.reason == "Moved abroad"


def test_an_instructor_cannot_cancel_a_package(org, elif_):
    client = Client()
    client.force_login(staff_user(org, StaffRole.Role.INSTRUCTOR))
    redemption = Redemption.objects.get(member=elif_)
    response = client.post(
        reverse("admin:packages_app_redemption_cancel", args=[redemption.pk]), {"confirm_cancel": "yes"}
    )
    assert response.status_code == 302
    redemption.refresh_from_db()
    assert redemption.status == Redemption.Status.ACTIVE
