"""Staff edits of the timetable's reference data are audited (DOMAIN.md 18): locations, classes,
instructors, seat layouts and seats, from the admin and the API, each with the fields it changed."""

import pytest
from django.test import Client
from django.urls import reverse

from bookings_app.models import Instructor, Location, RideClass, SeatLayout
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import (
    InstructorFactory,
    LocationFactory,
    make_layout,
    make_session,
    seat,
)
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import MemberFactory, staff_user

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"admin:bookings_app_{name}", args=args)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entries(obj_id) -> list[tuple[str, dict]]:
    return [
        (e.action, e.changes) for e in AuditLogEntry.objects.filter(object_id=obj_id).order_by("created_at", "action")
    ]


@pytest.fixture
def admin_user(org):
    return staff_user(org, StaffRole.Role.ADMIN)


def test_location_add_change_delete_in_the_admin_are_recorded(org, admin_user):
    client = logged_in(admin_user)
    # given a new location typed into the admin
    response = client.post(url("location_add"), {"organization": org.pk, "name": "Moda", "address": "Street 1"})
    assert response.status_code == 302
    location = Location.objects.get(organization=org, name="Moda")
    # when its address changes, and then it is deleted
    assert client.post(url("location_change", location.pk), {"name": "Moda", "address": "Street 2"}).status_code == 302
    assert client.post(url("location_delete", location.pk), {"post": "yes"}).status_code == 302

    # then three entries, each by the admin, with the fields that changed
    assert not Location.objects.filter(pk=location.pk).exists()
    assert entries(location.pk) == [
        ("location.create", {"name": [None, "Moda"], "address": [None, "Street 1"]}),
        ("location.update", {"address": ["Street 1", "Street 2"]}),
        ("location.delete", {"name": ["Moda", None], "address": ["Street 2", None]}),
    ]
    assert set(AuditLogEntry.objects.filter(object_id=location.pk).values_list("actor_id", flat=True)) == {
        admin_user.pk
    }


def test_a_change_that_changes_nothing_writes_no_entry(org, admin_user):
    location = LocationFactory(organization=org, name="Moda", address="Street 1")
    client = logged_in(admin_user)
    assert client.post(url("location_change", location.pk), {"name": "Moda", "address": "Street 1"}).status_code == 302
    assert entries(location.pk) == []


def test_class_change_in_the_admin_is_recorded_and_a_used_class_is_not_deleted(org, admin_user):
    session = make_session(org, NOW)
    ride_class = session.ride_class
    client = logged_in(admin_user)
    form = {
        "name": ride_class.name,
        "name_tr": "Ritim",
        "description": ride_class.description,
        "description_tr": "",
        "music_genre": "House",
        "music_genre_tr": "",
        "duration_minutes": 45,
    }
    assert client.post(url("rideclass_change", ride_class.pk), form).status_code == 302
    before = ride_class.duration_minutes
    # a class that sessions use: the admin's own protected-objects page refuses, nothing is logged
    client.post(url("rideclass_delete", ride_class.pk), {"post": "yes"})

    assert RideClass.objects.filter(pk=ride_class.pk).exists()
    [(action, changes)] = entries(ride_class.pk)
    assert action == "ride_class.update"
    assert changes["name_tr"][1] == "Ritim" and changes["music_genre"][1] == "House"
    assert changes["duration_minutes"] == [before, 45] or before == 45


def test_instructor_add_change_and_deactivate_in_the_admin_are_recorded(org, admin_user):
    rider = MemberFactory(organization=org)
    client = logged_in(admin_user)
    add = {"organization": org.pk, "name": "Deniz", "person_email": "", "bio": "", "is_active": "on"}
    assert client.post(url("instructor_add"), add).status_code == 302
    instructor = Instructor.objects.get(organization=org, name="Deniz")
    # the admin links the instructor's login (one of the studio's people) and edits the bio
    change = {"name": "Deniz", "person_email": rider.user.email, "bio": "Rides hills.", "is_active": "on"}
    assert client.post(url("instructor_change", instructor.pk), change).status_code == 302
    # and, when they leave, deactivates them with the list action
    action = {"action": "deactivate", "_selected_action": [instructor.pk]}
    assert client.post(url("instructor_changelist"), action).status_code == 302

    instructor.refresh_from_db()
    assert instructor.user_id == rider.user_id and not instructor.is_active
    assert entries(instructor.pk) == [
        (
            "instructor.create",
            {"name": [None, "Deniz"], "bio": [None, ""], "is_active": [None, True]},
        ),
        ("instructor.update", {"user": [None, str(rider.user_id)], "bio": ["", "Rides hills."]}),
        ("instructor.update", {"is_active": [True, False]}),
    ]


def test_front_desk_cannot_deactivate_an_instructor(org):
    instructor = InstructorFactory(organization=org)
    desk = logged_in(staff_user(org, StaffRole.Role.FRONT_DESK))
    desk.post(url("instructor_changelist"), {"action": "deactivate", "_selected_action": [instructor.pk]})
    instructor.refresh_from_db()
    assert instructor.is_active and entries(instructor.pk) == []


def test_seat_layout_name_and_seat_inline_edits_are_one_entry(org, admin_user):
    layout = make_layout(org, ["NN"])
    a1, a2 = seat(layout, "A1"), seat(layout, "A2")
    form = {
        "name": "Big room",
        "seats-TOTAL_FORMS": 2,
        "seats-INITIAL_FORMS": 2,
        "seats-MIN_NUM_FORMS": 0,
        "seats-MAX_NUM_FORMS": 1000,
    }
    for index, (s, cost) in enumerate([(a1, 1), (a2, 3)]):
        form.update(
            {
                f"seats-{index}-id": s.pk,
                f"seats-{index}-layout": layout.pk,
                f"seats-{index}-label": s.label,
                f"seats-{index}-type": s.type,
                f"seats-{index}-credit_cost": cost,
                f"seats-{index}-is_active": "on",
            }
        )
    old_name = layout.name
    response = logged_in(admin_user).post(url("seatlayout_change", layout.pk), form)
    assert response.status_code == 302, response.content.decode()[:2000]

    layout.refresh_from_db()
    assert layout.name == "Big room" and seat(layout, "A2").credit_cost == 3
    assert entries(layout.pk) == [
        ("seat_layout.update", {"name": [old_name, "Big room"], "A2.credit_cost": [1, 3]}),
    ]


def test_seat_layout_delete_in_the_admin_is_recorded(org, admin_user):
    layout = make_layout(org, ["NN"])
    assert logged_in(admin_user).post(url("seatlayout_delete", layout.pk), {"post": "yes"}).status_code == 302
    assert not SeatLayout.objects.filter(pk=layout.pk).exists()
    [(action, changes)] = entries(layout.pk)
    assert action == "seat_layout.delete" and changes["rows"] == [1, None]


# --- the API writes through the same services --------------------------------------------------------
def test_api_reference_edits_are_recorded(api, org, admin_user):
    client = api(user=admin_user, org=org)
    location_id = client.post("/api/locations", {"name": "Moda"}, format="json").json()["id"]
    assert client.patch(f"/api/locations/{location_id}", {"address": "Street 9"}, format="json").status_code == 200
    class_id = client.post("/api/classes", {"name": "Rhythm"}, format="json").json()["id"]
    assert client.delete(f"/api/classes/{class_id}").status_code == 204
    instructor_id = client.post("/api/instructors", {"name": "Ece"}, format="json").json()["id"]
    assert client.patch(f"/api/instructors/{instructor_id}", {"is_active": False}, format="json").status_code == 200

    assert [a for a, _ in entries(location_id)] == ["location.create", "location.update"]
    assert entries(location_id)[1][1] == {"address": ["", "Street 9"]}
    assert [a for a, _ in entries(class_id)] == ["ride_class.create", "ride_class.delete"]
    assert entries(instructor_id)[1] == ("instructor.update", {"is_active": [True, False]})


def test_api_seat_and_layout_name_edits_are_recorded(api, org, admin_user):
    layout = make_layout(org, ["NN"])
    client = api(user=admin_user, org=org)
    a1 = seat(layout, "A1")
    response = client.patch(f"/api/seats/{a1.pk}", {"credit_cost": 2, "label": "X1"}, format="json")
    assert response.status_code == 200 and response.json()["label"] == "X1"
    # a label another seat of the layout holds is a field error, and nothing is logged
    response = client.patch(f"/api/seats/{a1.pk}", {"label": "A2"}, format="json")
    assert response.status_code == 400
    assert client.patch(f"/api/seat-layouts/{layout.pk}", {"name": "Studio 2"}, format="json").status_code == 200

    assert [c for _, c in entries(layout.pk)] == [
        {"A1.credit_cost": [1, 2], "A1.label": ["A1", "X1"]},
        {"name": [layout.name, "Studio 2"]},
    ]


def test_api_refusals_write_nothing(api, org, admin_user):
    session = make_session(org, NOW)
    LocationFactory(organization=org, name="Taken")
    client = api(user=admin_user, org=org)
    # a name the studio already has
    response = client.post("/api/locations", {"name": "Taken"}, format="json")
    assert response.status_code == 400 and "name" in response.json()["fields"]
    # rows sessions still use
    for path in (
        f"/api/classes/{session.ride_class_id}",
        f"/api/instructors/{session.instructor_id}",
        f"/api/locations/{session.location_id}",
        f"/api/seat-layouts/{session.seat_layout_id}",
    ):
        response = client.delete(path)
        assert (response.status_code, response.json()["code"]) == (409, "in_use"), path
    assert not AuditLogEntry.objects.filter(organization=org).exists()
