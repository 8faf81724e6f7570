"""Staff actions on people, credits, roles and the studio are recorded by their services in
the same transaction (DOMAIN.md 18)."""

import pytest
from django.test import Client
from django.urls import reverse

from members_app import services
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def only_entry(**filters) -> AuditLogEntry:
    entries = list(AuditLogEntry.objects.filter(**filters))
    assert len(entries) == 1, [e.action for e in entries]
    return entries[0]


def test_a_credit_adjustment_is_recorded_with_its_reason_and_the_balance(api, org_a, desk_a, member_a):
    response = api(desk_a, org_a).post(
        f"/api/members/{member_a.pk}/credit-adjustments", {"amount": 3, "reason": "Broken bike"}, format="json"
    )
    assert response.status_code == 201
    entry = only_entry(object_id=member_a.pk)
    assert (entry.action, entry.actor_id, entry.reason) == ("credits.adjust", desk_a.pk, "Broken bike")
    assert entry.changes == {"amount": 3, "expires_at": None, "credit_balance": [0, 3]}


def test_a_refused_adjustment_writes_no_entry(api, org_a, desk_a, member_a):
    response = api(desk_a, org_a).post(
        f"/api/members/{member_a.pk}/credit-adjustments", {"amount": -5, "reason": "Too many"}, format="json"
    )
    assert response.status_code == 409
    assert not AuditLogEntry.objects.exists()


def test_staff_member_edits_are_recorded_a_members_own_language_is_not(api, org_a, desk_a, member_a):
    api(desk_a, org_a).patch(
        f"/api/members/{member_a.pk}", {"phone": "+90 555 000", "status": "SUSPENDED"}, format="json"
    )
    entry = only_entry(object_id=member_a.pk)
    assert entry.action == "member.update" and entry.actor_id == desk_a.pk
    assert entry.changes == {"phone": ["", "+90 555 000"], "status": ["ACTIVE", "SUSPENDED"]}

    member_a.status = "ACTIVE"
    member_a.save(update_fields=["status"])
    api(member_a.user, org_a).patch("/api/members/me", {"language": "tr"}, format="json")
    assert AuditLogEntry.objects.count() == 1


def test_staff_adding_a_member_is_recorded(api, org_a, desk_a):
    body = {"email": "new@example.com", "first_name": "Elif", "last_name": "Yılmaz"}
    member_id = api(desk_a, org_a).post("/api/members", body, format="json").json()["id"]
    entry = only_entry(object_id=member_id)
    assert entry.action == "member.create" and entry.changes["first_name"] == [None, "Elif"]


def test_organization_edits_are_recorded_with_the_reason(api, org_a, admin_a):
    response = api(admin_a, org_a).patch(
        "/api/organization",
        {"credit_price": "1600.00", "cancellation_window_hours": 6, "reason": "New year"},
        format="json",
    )
    assert response.status_code == 200
    entry = only_entry(object_id=org_a.pk)
    assert (entry.action, entry.reason, entry.object_type) == ("organization.update", "New year", "organization")
    assert entry.changes == {"cancellation_window_hours": [12, 6], "credit_price": ["1500.00", "1600.00"]}


def test_role_changes_are_recorded_only_when_the_role_changes(org_a, admin_a):
    person = MemberFactory(organization=org_a).user
    services.staff_role_set(organization=org_a, user=person, role=StaffRole.Role.FRONT_DESK, granted_by=admin_a)
    services.staff_role_set(organization=org_a, user=person, role=StaffRole.Role.FRONT_DESK, granted_by=admin_a)
    services.staff_role_set(organization=org_a, user=person, role=StaffRole.Role.ADMIN, granted_by=admin_a)
    log = list(AuditLogEntry.objects.filter(action="staff_role.set").order_by("created_at"))
    assert [e.changes["role"] for e in log] == [[None, "FRONT_DESK"], ["FRONT_DESK", "ADMIN"]]


def test_the_admin_organization_form_goes_through_the_service(org_a, admin_a):
    client = Client()
    client.force_login(admin_a)
    page = client.get(reverse("admin:members_app_organization_change", args=[org_a.pk]))
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data["no_show_grace_minutes"] = 20
    response = client.post(reverse("admin:members_app_organization_change", args=[org_a.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = only_entry(object_id=org_a.pk)
    assert entry.changes == {"no_show_grace_minutes": [15, 20]} and entry.actor_id == admin_a.pk


def test_taking_a_role_away_in_the_admin_is_recorded_and_ends_admin_access(org_a, admin_a):
    person = MemberFactory(organization=org_a).user
    role = services.staff_role_set(organization=org_a, user=person, role=StaffRole.Role.FRONT_DESK, granted_by=admin_a)
    client = Client()
    client.force_login(admin_a)
    response = client.post(reverse("admin:members_app_staffrole_delete", args=[role.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not StaffRole.objects.filter(pk=role.pk).exists()
    entry = only_entry(action="staff_role.remove")
    assert (entry.actor_id, entry.object_id) == (admin_a.pk, role.pk)
    assert entry.changes == {"user": person.email, "role": ["FRONT_DESK", None]}
    person.refresh_from_db()
    assert not person.is_staff  # no role left anywhere: the admin refuses them


def test_taking_roles_away_from_the_list_records_each(org_a, admin_a):
    people = [MemberFactory(organization=org_a).user for _ in range(2)]
    roles = [
        services.staff_role_set(organization=org_a, user=p, role=StaffRole.Role.INSTRUCTOR, granted_by=admin_a)
        for p in people
    ]
    client = Client()
    client.force_login(admin_a)
    response = client.post(
        reverse("admin:members_app_staffrole_changelist"),
        {"action": "delete_selected", "_selected_action": [str(r.pk) for r in roles], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(e.changes["user"] for e in AuditLogEntry.objects.filter(action="staff_role.remove")) == sorted(
        p.email for p in people
    )


def test_the_studios_last_admin_cannot_be_removed_or_demoted(org_a, admin_a):
    from members_app.errors import LastAdmin

    role = StaffRole.objects.get(organization=org_a, user=admin_a)
    client = Client()
    client.force_login(admin_a)
    response = client.post(reverse("admin:members_app_staffrole_delete", args=[role.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert StaffRole.objects.filter(pk=role.pk).exists()  # the studio still has its ADMIN
    with pytest.raises(LastAdmin):
        services.staff_role_set(organization=org_a, user=admin_a, role=StaffRole.Role.FRONT_DESK, granted_by=admin_a)
    assert not AuditLogEntry.objects.filter(action__startswith="staff_role").exists()
    # with a second ADMIN, either may go
    other = MemberFactory(organization=org_a).user
    services.staff_role_set(organization=org_a, user=other, role=StaffRole.Role.ADMIN, granted_by=admin_a)
    services.staff_role_remove(staff_role=role, removed_by=other)
    assert not StaffRole.objects.filter(pk=role.pk).exists()
