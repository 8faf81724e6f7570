"""Schedule changes by staff are recorded by the schedule services (DOMAIN.md 18)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from bookings_app import services
from bookings_app.tests.factories import InstructorFactory, RideClassFactory, give_credits, make_layout, make_session
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import staff_user

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Europe/Istanbul")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=IST)


@pytest.fixture(autouse=True)
def clock():  # ticking: entries written one after another get distinct created_at
    with time_machine.travel(NOW, tick=True):
        yield


def actions(obj_id) -> list[str]:
    return list(AuditLogEntry.objects.filter(object_id=obj_id).order_by("created_at").values_list("action", flat=True))


def test_session_create_update_and_cancel_each_write_one_entry(api, org, member):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    layout = make_layout(org, ["NNN", "NNE"])
    client = api(user=admin, org=org)
    body = {
        "class_id": str(RideClassFactory(organization=org).pk),
        "instructor_id": str(InstructorFactory(organization=org).pk),
        "location_id": str(layout.location_id),
        "seat_layout_id": str(layout.pk),
        "starts_at": "2026-03-05T18:00:00+03:00",
        "ends_at": "2026-03-05T18:50:00+03:00",
    }
    session_id = client.post("/api/sessions", body, format="json").json()["id"]
    assert client.patch(f"/api/sessions/{session_id}", {"capacity": 3}, format="json").status_code == 200
    assert client.patch(f"/api/sessions/{session_id}", {"capacity": 99}, format="json").status_code == 400
    give_credits(member, 1, now=NOW)
    services.booking_create(organization=org, session_id=session_id, member_id=member.pk)
    assert client.post(f"/api/sessions/{session_id}/cancel").status_code == 200

    assert actions(session_id) == ["session.create", "session.update", "session.cancel"]
    update, cancel = AuditLogEntry.objects.filter(object_id=session_id).order_by("created_at")[1:]
    assert update.changes == {"capacity": [6, 3]} and update.actor_id == admin.pk
    assert cancel.changes == {"status": ["SCHEDULED", "CANCELLED"], "bookings_cancelled": 1}


def test_seat_layout_create_and_grid_edit_are_recorded(api, org):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    location = make_layout(org, ["N"]).location
    response = api(user=admin, org=org).post(
        "/api/seat-layouts", {"location_id": str(location.pk), "name": "Small", "rows": 1, "columns": 2}, format="json"
    )
    assert response.status_code == 201, response.json()
    layout_id = response.json()["id"]
    seats = list(api(user=admin, org=org).get(f"/api/seat-layouts/{layout_id}").json()["seats"])
    client = Client()
    client.force_login(admin)
    post = {}
    for seat in seats:
        post[f"label-{seat['id']}"] = seat["label"]
        post[f"type-{seat['id']}"] = "NORMAL"
        post[f"cost-{seat['id']}"] = "2" if seat["label"] == "A1" else "1"
        post[f"active-{seat['id']}"] = "on"
    client.post(reverse("admin:bookings_app_seatlayout_grid", args=[layout_id]), post)

    assert actions(layout_id) == ["seat_layout.create", "seat_layout.update"]
    assert AuditLogEntry.objects.get(action="seat_layout.update").changes == {"A1.credit_cost": [1, 2]}


def test_sessions_made_by_the_system_are_not_staff_actions(org):
    make_session(org, NOW)  # factories and seeds pass no actor
    layout = make_layout(org, ["NN"])
    services.session_create(
        organization=org,
        class_id=RideClassFactory(organization=org).pk,
        instructor_id=InstructorFactory(organization=org).pk,
        location_id=layout.location_id,
        seat_layout_id=layout.pk,
        starts_at=datetime(2026, 3, 6, 9, tzinfo=IST),
        ends_at=datetime(2026, 3, 6, 10, tzinfo=IST),
    )
    assert not AuditLogEntry.objects.exists()
