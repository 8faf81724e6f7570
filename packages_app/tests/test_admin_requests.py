"""A member's purchase request decided on its own page (issue 12 item 5): what confirming grants,
Confirm with the payment's reference and a note, Reject with a reason, through the services."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from bookings_app.tests.factories import _package
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user
from packages_app.models import Package, Redemption

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def pending():
    org = OrganizationFactory(timezone="Europe/Istanbul")
    package = _package(org, type=Package.Type.CREDIT_PACK, code="CORE-10", credits=10, credit_validity_days=60)
    package.name = "Core Ten"
    package.save()
    return Redemption.objects.create(
        organization=org,
        member=MemberFactory(organization=org, first_name="Elif", last_name="Yılmaz"),
        package=package,
        redemption_type=Redemption.Type.PACKAGE_DIRECT,
        status=Redemption.Status.PENDING,
        original_price=package.price,
        final_price=package.price,
        currency="TRY",
        credits_added=10,
        credit_validity_days=60,
        redeemed_at=NOW,
    )


def desk(org):
    client = Client()
    client.force_login(staff_user(org, StaffRole.Role.FRONT_DESK))
    return client


def test_pending_request_opens_as_the_decision_and_confirms_with_reference(pending):
    client = desk(pending.organization)
    change = client.get(reverse("admin:packages_app_redemption_change", args=[pending.pk]))
    decide_url = reverse("admin:packages_app_redemption_decide", args=[pending.pk])
    assert change.status_code == 302 and change.url == decide_url
    page = client.get(decide_url).content.decode()
    assert "10 credits" in page and "valid 60 days" in page and "Elif Yılmaz" in page
    assert str(pending.pk) not in page.replace(decide_url, "")
    response = client.post(decide_url, {"_confirm": "1", "payment_reference": "EFT-123", "note": "paid at desk"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Redemption.Status.ACTIVE and pending.payment_reference == "EFT-123"
    assert pending.notes == "paid at desk" and pending.member.credit_balance == 10


def test_reject_with_a_reason(pending):
    decide_url = reverse("admin:packages_app_redemption_decide", args=[pending.pk])
    desk(pending.organization).post(decide_url, {"_reject": "1", "note": "no transfer arrived"})
    pending.refresh_from_db()
    assert pending.status == Redemption.Status.CANCELLED and pending.cancel_reason == "no transfer arrived"


def test_another_studio_cannot_decide(pending):
    other = desk(OrganizationFactory())
    other.post(reverse("admin:packages_app_redemption_decide", args=[pending.pk]), {"_confirm": "1"})
    pending.refresh_from_db()
    assert pending.status == Redemption.Status.PENDING
