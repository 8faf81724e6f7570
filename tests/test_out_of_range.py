"""Dates and numbers past the calendar (found probing beyond what the fuzzer generates).

Year 1 or 9999 in a date filter, an All Access starting on 9999-12-31, a session in year 9999,
a studio policy of a billion days: the date arithmetic behind them raised OverflowError, a 500.
`spinning.errors` answers 400 `out_of_range` for any OverflowError that still escapes (the safety
net), and the views now refuse such input up front, with `validation_error` naming the field and
without writing anything (fixed in 446b643, d31bfec, ea32fb1, f53d53d).
"""

from __future__ import annotations

import pytest

from bookings_app.models import Session
from packages_app.models import Package
from spinning.errors import exception_to_response_data
from tests.test_security import _client
from tests.test_security import studio as studio  # noqa: F401  (the seeded-studio fixture)

GET_CASES = [
    ("staff", "/api/sessions?to=9999-12-31", "to"),
    ("member", "/api/sessions?from=0001-01-01", "from"),
    (None, "/api/sessions?from=0001-01-01T00:00:00%2B14:00", "from"),
    ("staff", "/api/bookings?to=9999-12-31", "to"),
    ("staff", "/api/bookings?from=0001-01-01", "from"),
    ("staff", "/api/redemptions?redeemed_from=0001-01-01", "redeemed_from"),
    ("staff", "/api/redemptions?redeemed_to=9999-12-31", "redeemed_to"),
]


def _redeem_all_access_from_9999(studio):
    package = Package.objects.get(organization=studio.organization, code="ALL-ACCESS-30")
    body = {"package_id": str(package.pk), "member_id": str(studio.member.pk), "starts_on": "9999-12-31"}
    return _client(studio, "staff").post("/api/packages/redeem", body, format="json"), "starts_on"


def _session_in_year(year):
    def call(studio):
        body = {
            "class_id": studio.ids["classes"][0],
            "instructor_id": studio.ids["instructors"][0],
            "location_id": studio.ids["locations"][0],
            "seat_layout_id": studio.ids["seat-layouts"][0],
            "starts_at": f"{year:04d}-12-31T23:00:00Z" if year > 1 else "0001-01-01T00:00:00Z",
            "ends_at": f"{year:04d}-12-31T23:50:00Z" if year > 1 else "0001-01-01T00:50:00Z",
        }
        return _client(studio, "staff").post("/api/sessions", body, format="json"), "starts_at"

    return call


def _policy(field):
    def call(studio):
        staff = _client(studio, "staff")
        return staff.patch("/api/organization", {field: 10**9}, format="json"), field

    return call


def test_an_overflow_that_still_escapes_is_a_400_not_a_500():
    """The safety net in spinning.errors, for date arithmetic no view guards yet."""
    status, body, _ = exception_to_response_data(OverflowError("date value out of range"))
    assert (status, body["code"]) == (400, "out_of_range")


# --- the proper refusals: a field error, nothing written ---------------------------------------
@pytest.mark.parametrize(("role", "url", "field"), GET_CASES)
def test_out_of_range_filter_is_a_field_error(studio, role, url, field):
    response = _client(studio, role).get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_all_access_start_past_the_calendar_is_a_field_error(studio):
    response, field = _redeem_all_access_from_9999(studio)
    assert response.status_code == 400
    assert field in response.json().get("fields", {})


@pytest.mark.parametrize("year", [9999, 1])
def test_a_session_past_the_calendar_is_refused_and_not_written(studio, year):
    before = Session.objects.filter(organization=studio.organization).count()
    response, field = _session_in_year(year)(studio)
    assert response.status_code == 400
    assert field in response.json().get("fields", {})
    assert Session.objects.filter(organization=studio.organization).count() == before


@pytest.mark.parametrize("field", ["booking_window_days", "priority_booking_hours", "cancellation_window_hours"])
def test_an_absurd_policy_is_refused(studio, field):
    response, _ = _policy(field)(studio)
    assert response.status_code == 400
    assert field in response.json().get("fields", {})
