"""Sales, confirmations, rejections and cancellations of redemptions are recorded by the
redemption services in their transaction (DOMAIN.md 18)."""

import pytest

from members_app.models import AuditLogEntry
from packages_app import services
from packages_app.tests.factories import PackageFactory
from packages_app.tests.helpers import sell
from spinning.errors import DomainError

pytestmark = pytest.mark.django_db


def actions(redemption) -> list[str]:
    return list(
        AuditLogEntry.objects.filter(object_id=redemption.pk).order_by("created_at").values_list("action", flat=True)
    )


def test_a_desk_sale_is_recorded_a_members_request_is_not(org, member, admin_user, now):
    package = PackageFactory(organization=org)
    sale = sell(org, member, package, now=now, staff=admin_user, payment_method="CASH")
    request = sell(org, member, package, now=now, by_staff=False, staff=member.user)

    assert actions(sale) == ["redemption.sell"]
    entry = AuditLogEntry.objects.get(object_id=sale.pk)
    assert entry.actor_id == admin_user.pk and entry.changes["final_price"] == "5000.00"
    assert entry.changes["payment_method"] == "CASH"
    assert actions(request) == []


def test_confirm_reject_and_cancel_are_recorded_with_the_reason(org, member, admin_user, desk_user, now):
    package = PackageFactory(organization=org)
    first = sell(org, member, package, now=now, by_staff=False)
    second = sell(org, member, package, now=now, by_staff=False)

    services.redemption_confirm(organization=org, redemption_id=first.pk, performed_by=desk_user, now=now)
    services.redemption_reject(
        organization=org, redemption_id=second.pk, performed_by=desk_user, reason="No transfer", now=now
    )
    services.redemption_cancel(
        organization=org, redemption_id=first.pk, performed_by=admin_user, reason="Moved away", now=now
    )

    assert actions(first) == ["redemption.confirm", "redemption.cancel"]
    assert actions(second) == ["redemption.reject"]
    rejected = AuditLogEntry.objects.get(action="redemption.reject")
    cancelled = AuditLogEntry.objects.get(action="redemption.cancel")
    assert (rejected.reason, rejected.changes["status"]) == ("No transfer", ["PENDING", "CANCELLED"])
    assert (cancelled.reason, cancelled.actor_id) == ("Moved away", admin_user.pk)
    assert cancelled.changes["status"] == ["ACTIVE", "CANCELLED"]


def test_a_refused_confirm_writes_nothing(org, member, admin_user, now):
    sale = sell(org, member, PackageFactory(organization=org), now=now, staff=admin_user)
    with pytest.raises(DomainError):  # already ACTIVE
        services.redemption_confirm(organization=org, redemption_id=sale.pk, performed_by=admin_user, now=now)
    assert actions(sale) == ["redemption.sell"]
