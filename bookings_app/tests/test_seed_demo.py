"""seed_demo (DOMAIN.md 13): the demo studio a newcomer can book a bike in; idempotent."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from rest_framework.test import APIClient

from bookings_app.models import Booking, Seat, SeatLayout, Session
from members_app.ledger_check import ledger_breaches
from members_app.models import Member
from packages_app.models import Redemption

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Europe/Istanbul")
# Monday 2 March 2026, 10:00 studio time
SEED_NOW = datetime(2026, 3, 2, 10, 0, tzinfo=IST)


def counts():
    return (
        Seat.objects.count(),
        Session.objects.count(),
        Booking.objects.count(),
        Redemption.objects.count(),
        Member.objects.count(),
    )


def test_seed_demo_builds_the_demo_studio_and_is_idempotent():
    with time_machine.travel(SEED_NOW, tick=False):
        out = StringIO()
        call_command("seed_demo", stdout=out)
        first = counts()
        call_command("seed_demo", stdout=StringIO())
        assert counts() == first
    layout = SeatLayout.objects.get(organization__slug="demo")
    assert (layout.rows, layout.columns) == (5, 6)
    seats = {s.label: s for s in layout.seats.all()}
    assert len(seats) == 30
    assert [seats[f"A{c}"].type for c in range(1, 7)] == [
        "EXCLUSIVE",
        "EXCLUSIVE",
        "PODIUM",
        "PODIUM",
        "EXCLUSIVE",
        "EXCLUSIVE",
    ]
    assert all(seats[f"A{c}"].credit_cost == 2 for c in (1, 2, 5, 6))
    assert sum(1 for s in seats.values() if s.type == "ARCHITECTURAL_COLUMN") == 1
    bookable = [s for s in seats.values() if s.is_bookable]
    assert len(bookable) >= 20 and {s.credit_cost for s in bookable if s.type == "NORMAL"} == {1}
    sessions = list(Session.objects.filter(organization__slug="demo").select_related("ride_class"))
    local_starts = [s.starts_at.astimezone(IST) for s in sessions]
    assert all(start.weekday() != 0 for start in local_starts)  # no Monday
    assert min(local_starts).date() >= SEED_NOW.date()
    assert max(local_starts).date() < SEED_NOW.date() + timedelta(days=14)
    assert len(sessions) == 2 * 17  # two weeks of the timetable
    tuesday = sorted(
        (s.starts_at.astimezone(IST).strftime("%H:%M"), s.ride_class.name)
        for s in sessions
        if s.starts_at.astimezone(IST).date().isoformat() == "2026-03-03"
    )
    assert tuesday == [("08:30", "Wake & Ride"), ("14:30", "Rhythm Therapy"), ("18:00", "SunSet Pulse")]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=50) for s in sessions)
    held = set(Redemption.objects.filter(status="ACTIVE").values_list("member__user__email", "package__code"))
    assert {
        ("elif@example.com", "ELITE-30"),
        ("can@example.com", "ALL-ACCESS-30"),
        ("zeynep@example.com", "CORE-10"),
    } <= held
    assert Booking.objects.filter(status="CONFIRMED").count() == 3
    assert ledger_breaches() == []
    assert "elif@example.com / ride-demo-2026" in out.getvalue()


def test_a_newcomer_logs_in_as_a_demo_member_and_books_a_bike():
    with time_machine.travel(SEED_NOW, tick=False):
        call_command("seed_demo", stdout=StringIO())
        client = APIClient()
        token = client.post(
            "/api/auth/token", {"email": "elif@example.com", "password": "ride-demo-2026"}, format="json"
        ).json()["token"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        sessions = client.get("/api/sessions?from=2026-03-04&to=2026-03-04").json()["results"]
        detail = client.get(f"/api/sessions/{sessions[0]['id']}").json()
        bike = next(s for s in detail["seats"] if s["is_available"] and s["type"] == "NORMAL")
        response = client.post("/api/bookings", {"session_id": detail["id"], "seat_id": bike["id"]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["payment_type"] == "CREDIT"
