"""Dates and numbers past the calendar (found probing beyond what the fuzzer generates).

Year 1 or 9999 in a date filter, an All Access starting on 9999-12-31, a session in year 9999,
a studio policy of a billion days: the date arithmetic behind them raised OverflowError, a 500.
`spinning.errors` now answers 400 `out_of_range` for any of them (first test). The views should
still refuse such input up front, with `validation_error` naming the field and without writing
anything: those are the strict xfails below, one per place to fix.
"""

from __future__ import annotations

import pytest

from bookings_app.models import Session
from packages_app.models import Package
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


WRITE_CASES = {
    "POST /api/packages/redeem starts_on 9999-12-31": _redeem_all_access_from_9999,
    "POST /api/sessions in year 9999": _session_in_year(9999),
    "POST /api/sessions in year 1": _session_in_year(1),
}


@pytest.mark.parametrize(("role", "url", "field"), GET_CASES)
def test_out_of_range_dates_in_filters_are_never_a_500(studio, role, url, field):
    response = _client(studio, role).get(url)
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"out_of_range", "validation_error"}


@pytest.mark.parametrize("case", list(WRITE_CASES))
def test_out_of_range_dates_in_writes_are_never_a_500(studio, case):
    response, _ = WRITE_CASES[case](studio)
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"out_of_range", "validation_error"}


@pytest.mark.parametrize("field", ["booking_window_days", "priority_booking_hours"])
def test_an_absurd_policy_does_not_break_the_studio_with_500s(studio, field):
    _policy(field)(studio)
    session = studio.ids["sessions"][-1]
    for response in (
        _client(studio, "member").get(f"/api/sessions/{session}"),
        _client(studio, "member").post("/api/bookings", {"session_id": session}, format="json"),
    ):
        assert response.status_code < 500, response.content


# --- the proper refusals (bugs for the apps' owners) -------------------------------------------
FILTER_BUG = (
    "bug: date filters do no range check; clock.end_of_local_day / the tz conversion overflow "
    "(bookings_app/selectors.py parse_moment -> spinning/clock.py:28; packages_app/filters.py:45 "
    "parse_moment); should be 400 validation_error naming the parameter"
)


@pytest.mark.xfail(strict=True, reason=FILTER_BUG)
@pytest.mark.parametrize(("role", "url", "field"), GET_CASES)
def test_out_of_range_filter_is_a_field_error(studio, role, url, field):
    response = _client(studio, role).get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


@pytest.mark.xfail(
    strict=True,
    reason="bug: redeem accepts starts_on 9999-12-31 and overflows computing all_access_ends_on "
    "(packages_app/services/redemptions.py:304 _grant); should be 400 validation_error on starts_on",
)
def test_all_access_start_past_the_calendar_is_a_field_error(studio):
    response, field = _redeem_all_access_from_9999(studio)
    assert response.status_code == 400
    assert field in response.json().get("fields", {})


@pytest.mark.xfail(
    strict=True,
    reason="bug: POST /api/sessions with starts_at in year 9999 (or 1) creates the session, then "
    "overflows rendering booking_opens_at (bookings_app/selectors.py:72-74 booking_opens_at <- "
    "serializers.py:144): the client gets an error for a row that was written",
)
@pytest.mark.parametrize("year", [9999, 1])
def test_a_session_past_the_calendar_is_refused_and_not_written(studio, year):
    before = Session.objects.filter(organization=studio.organization).count()
    response, field = _session_in_year(year)(studio)
    assert response.status_code == 400
    assert field in response.json().get("fields", {})
    assert Session.objects.filter(organization=studio.organization).count() == before


# Fixed in f53d53d (members: policy bounds); it was a studio-wide 500 on every session read.
@pytest.mark.parametrize("field", ["booking_window_days", "priority_booking_hours", "cancellation_window_hours"])
def test_an_absurd_policy_is_refused(studio, field):
    response, _ = _policy(field)(studio)
    assert response.status_code == 400
    assert field in response.json().get("fields", {})
