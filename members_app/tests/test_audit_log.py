"""The audit log itself (DOMAIN.md 18): the writer, the API's filters and roles, the admin pages.

Which services write which entries is tested beside each service (test_audit_*.py).
"""

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from members_app.audit import AuditOutsideTransaction, changes_between, log_action, snapshot
from members_app.models import AuditLogEntry
from members_app.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def write(org, actor, action="member.update", obj=None, when=None, **kwargs):
    with transaction.atomic():
        return log_action(organization=org, actor=actor, action=action, obj=obj, now=when, **kwargs)


def test_log_action_records_who_what_which_why_and_changes(org_a, admin_a, member_a):
    before = snapshot(member_a, ["phone", "status"])
    member_a.phone, member_a.status = "+90 555", "SUSPENDED"
    changes = changes_between(before, snapshot(member_a, ["phone", "status"]))

    entry = write(org_a, admin_a, obj=member_a, reason="Asked by phone", changes=changes)

    entry.refresh_from_db()
    assert (entry.organization_id, entry.actor_id, entry.action) == (org_a.pk, admin_a.pk, "member.update")
    assert (entry.object_type, entry.object_id) == ("member", member_a.pk)
    assert entry.reason == "Asked by phone"
    assert entry.changes == {"phone": ["", "+90 555"], "status": ["ACTIVE", "SUSPENDED"]}


def test_log_action_refuses_to_run_outside_a_transaction(org_a, admin_a, member_a):
    # pytest-django wraps each test in a transaction; leave it to see the check
    connection.in_atomic_block, saved = False, connection.in_atomic_block
    try:
        with pytest.raises(AuditOutsideTransaction):
            log_action(organization=org_a, actor=admin_a, action="member.update", obj=member_a)
    finally:
        connection.in_atomic_block = saved


def test_a_rolled_back_change_leaves_no_entry(org_a, admin_a, member_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        log_action(organization=org_a, actor=admin_a, action="member.update", obj=member_a)
        raise RuntimeError("the service failed after logging")
    assert not AuditLogEntry.objects.exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("operation", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_an_entry(org_a, admin_a, member_a, operation):
    entry = write(org_a, admin_a, obj=member_a)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        if operation == "update":
            AuditLogEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
        else:
            AuditLogEntry.objects.filter(pk=entry.pk).delete()


# --- GET /api/audit-log -------------------------------------------------------------------------
def test_admin_reads_the_log_newest_first_with_the_documented_fields(api, org_a, admin_a, member_a):
    old = write(org_a, admin_a, obj=member_a, when=datetime(2026, 3, 1, 9, tzinfo=UTC))
    new = write(org_a, admin_a, action="credits.adjust", obj=member_a, when=datetime(2026, 3, 2, 9, tzinfo=UTC))

    response = api(admin_a, org_a).get("/api/audit-log")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [str(new.pk), str(old.pk)]
    first = body["results"][0]
    assert datetime.fromisoformat(first.pop("created_at")) == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert first == {
        "id": str(new.pk),
        "actor_id": str(admin_a.pk),
        "actor_email": admin_a.email,
        "action": "credits.adjust",
        "object_type": "member",
        "object_id": str(member_a.pk),
        "reason": "",
        "changes": {},
    }


def test_filters_by_object_actor_action_and_studio_local_dates(api, org_a, admin_a, desk_a, member_a):
    other_member = member_a.__class__.objects.create(organization=org_a, user=UserFactory())
    # 2026-03-01 23:30 in Istanbul is 20:30 UTC; 2026-03-02 00:30 Istanbul is 21:30 UTC on the 1st
    late_first = write(org_a, admin_a, obj=member_a, when=datetime(2026, 3, 1, 20, 30, tzinfo=UTC))
    early_second = write(
        org_a, desk_a, action="credits.adjust", obj=other_member, when=datetime(2026, 3, 1, 21, 30, tzinfo=UTC)
    )
    client = api(admin_a, org_a)

    def ids(query):
        response = client.get(f"/api/audit-log?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(f"object_id={member_a.pk}") == {str(late_first.pk)}
    assert ids(f"actor_id={desk_a.pk}") == {str(early_second.pk)}
    assert ids("action=credits.adjust") == {str(early_second.pk)}
    assert ids("from=2026-03-02") == {str(early_second.pk)}
    assert ids("to=2026-03-01") == {str(late_first.pk)}
    assert ids("from=2026-03-01&to=2026-03-02") == {str(late_first.pk), str(early_second.pk)}
    assert ids("from=2026-03-01T21:00:00%2B00:00") == {str(early_second.pk)}


@pytest.mark.parametrize(
    "query, field", [("object_id=nope", "object_id"), ("actor_id=1", "actor_id"), ("from=2026-13-01", "from")]
)
def test_bad_filters_answer_400_naming_the_parameter(api, org_a, admin_a, query, field):
    response = api(admin_a, org_a).get(f"/api/audit-log?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_only_the_studio_admin_reads_the_log(api, org_a, desk_a, instructor_a, member_a):
    for user in (desk_a, instructor_a, member_a.user):
        assert api(user, org_a).get("/api/audit-log").status_code == 403
    assert api(None, org_a).get("/api/audit-log").status_code == 401


def test_another_studio_sees_none_of_it(api, org_a, org_b, admin_a, admin_b, member_a):
    write(org_a, admin_a, obj=member_a)
    response = api(admin_b, org_b).get("/api/audit-log")
    assert response.json()["count"] == 0
    assert api(admin_b, org_a).get("/api/audit-log").status_code == 403


# --- the admin ----------------------------------------------------------------------------------
def test_the_objects_history_page_shows_its_entries(org_a, admin_a, member_a, member_b, admin_b):
    write(org_a, admin_a, obj=member_a, reason="Moved to evening classes", changes={"phone": ["1", "2"]})
    client = Client()
    client.force_login(admin_a)

    response = client.get(reverse("admin:members_app_member_history", args=[member_a.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Moved to evening classes" in page and "details changed" in page and "1 → 2" in page
    assert (admin_a.get_full_name() or admin_a.email) in page
    # another studio's member: not found for A's admin
    other = client.get(reverse("admin:members_app_member_history", args=[member_b.pk]))
    assert other.status_code in (302, 404)


def test_the_log_screen_is_read_only_and_admin_only(org_a, admin_a, desk_a, member_a):
    entry = write(org_a, admin_a, obj=member_a)
    admin_client, desk_client = Client(), Client()
    admin_client.force_login(admin_a)
    desk_client.force_login(desk_a)

    assert admin_client.get(reverse("admin:members_app_auditlogentry_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:members_app_auditlogentry_change", args=[entry.pk]))
    assert change.status_code == 200 and b'type="submit"' not in change.content.split(b'id="content-main"')[1]
    assert admin_client.post(reverse("admin:members_app_auditlogentry_delete", args=[entry.pk])).status_code == 403
    assert desk_client.get(reverse("admin:members_app_auditlogentry_changelist")).status_code == 403
