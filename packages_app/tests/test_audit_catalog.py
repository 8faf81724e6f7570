"""Catalog edits are recorded in the audit log by the catalog services (DOMAIN.md 18)."""

import pytest
from django.test import Client
from django.urls import reverse

from members_app.models import AuditLogEntry
from packages_app.tests.factories import CouponFactory, PackageFactory

pytestmark = pytest.mark.django_db


def entries(**filters):
    return list(AuditLogEntry.objects.filter(**filters).order_by("created_at").values_list("action", flat=True))


def test_package_create_update_delete_each_write_one_entry_by_the_admin(api, org, admin_user):
    admin = api(user=admin_user, org=org)
    body = {"code": "CORE-12", "name": "Core 12", "type": "CREDIT_PACK", "price": "9000", "credits": 12}
    package_id = admin.post("/api/packages", body, format="json").json()["id"]
    admin.patch(f"/api/packages/{package_id}", {"price": "8500.00", "name": "Core 12"}, format="json")
    admin.delete(f"/api/packages/{package_id}")

    log = list(AuditLogEntry.objects.filter(object_id=package_id).order_by("created_at"))
    assert [e.action for e in log] == ["package.create", "package.update", "package.delete"]
    assert {e.actor_id for e in log} == {admin_user.pk} and {e.organization_id for e in log} == {org.pk}
    assert log[0].changes["code"] == [None, "CORE-12"] and log[0].object_type == "package"
    assert log[1].changes == {"price": ["9000.00", "8500.00"]}  # the unchanged name is not listed


def test_a_refused_edit_writes_nothing(api, org, admin_user):
    package = PackageFactory(organization=org)
    admin = api(user=admin_user, org=org)
    assert admin.patch(f"/api/packages/{package.pk}", {"price": "-1"}, format="json").status_code == 400
    assert admin.post("/api/packages", {"code": "X"}, format="json").status_code == 400
    assert not AuditLogEntry.objects.exists()


def test_coupon_create_update_delete_each_write_one_entry(api, org, admin_user):
    package = PackageFactory(organization=org)
    admin = api(user=admin_user, org=org)
    body = {
        "code": "SPRING",
        "name": "Spring",
        "coupon_type": "DISCOUNT",
        "discount_type": "PERCENTAGE",
        "discount_value": "10",
    }
    coupon_id = admin.post("/api/coupons", body, format="json").json()["id"]
    admin.patch(f"/api/coupons/{coupon_id}", {"applicable_package_ids": [str(package.pk)]}, format="json")
    admin.delete(f"/api/coupons/{coupon_id}")

    log = list(AuditLogEntry.objects.filter(object_id=coupon_id).order_by("created_at"))
    assert [e.action for e in log] == ["coupon.create", "coupon.update", "coupon.delete"]
    assert log[1].changes == {"applicable_packages": [[], [str(package.pk)]]}


def test_the_admin_screens_write_through_the_same_services(org, admin_user):
    coupon = CouponFactory(organization=org, code="OLD")
    client = Client()
    client.force_login(admin_user)
    client.post(
        reverse("admin:packages_app_coupon_changelist"),
        {"action": "deactivate", "_selected_action": [str(coupon.pk)]},
    )
    assert entries(object_id=coupon.pk) == ["coupon.update"]
    entry = AuditLogEntry.objects.get(object_id=coupon.pk)
    assert entry.actor_id == admin_user.pk and entry.changes == {"is_active": [True, False]}
    history = client.get(reverse("admin:packages_app_coupon_history", args=[coupon.pk]))
    assert "Coupon changed" in history.content.decode() and "True → False" in history.content.decode()
