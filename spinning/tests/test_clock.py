"""Studio-local calendar (DOMAIN.md 2, 5): days, ends of days and spans in the studio's time zone."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone as django_timezone

from spinning import clock

UTC = ZoneInfo("UTC")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours_between(start: datetime, end: datetime) -> timedelta:
    # Real elapsed time. (Python subtracts two datetimes of the same zone on the wall clock.)
    return end.astimezone(UTC) - start.astimezone(UTC)


def test_end_of_an_istanbul_day_is_21_utc():
    assert clock.end_of_local_day(date(2026, 3, 10), "Europe/Istanbul") == utc(2026, 3, 10, 21)
    # Istanbul keeps UTC+3 all year: the same in summer
    assert clock.end_of_local_day(date(2026, 7, 10), "Europe/Istanbul") == utc(2026, 7, 10, 21)


def test_span_end_counts_the_first_day():
    # 1 day from the 10th: valid to the end of the 10th
    assert clock.span_end(date(2026, 3, 10), 1, "Europe/Istanbul") == utc(2026, 3, 10, 21)
    # 30 days from 1 March: through the end of 30 March
    assert clock.span_end(date(2026, 3, 1), 30, "Europe/Istanbul") == utc(2026, 3, 30, 21)
    # across a month and a year end
    assert clock.span_end(date(2026, 12, 15), 30, "Europe/Istanbul") == utc(2027, 1, 13, 21)


@pytest.mark.parametrize(
    "moment, expected",
    [
        (utc(2026, 3, 10, 20, 59, 59), date(2026, 3, 10)),  # 23:59:59 in Istanbul
        (utc(2026, 3, 10, 21, 0, 0), date(2026, 3, 11)),  # 00:00 in Istanbul
        (utc(2026, 3, 10, 0, 0, 0), date(2026, 3, 10)),
    ],
)
def test_local_date_in_istanbul_at_the_day_boundary(moment, expected):
    assert clock.local_date(moment, "Europe/Istanbul") == expected


def test_local_date_of_the_same_instant_differs_by_studio():
    moment = utc(2026, 3, 10, 22, 30)
    assert clock.local_date(moment, "Europe/Istanbul") == date(2026, 3, 11)
    assert clock.local_date(moment, "Europe/Berlin") == date(2026, 3, 10)
    assert clock.local_date(moment, "America/New_York") == date(2026, 3, 10)


# --- daylight saving: Berlin springs forward on 29 March 2026 and falls back on 25 October 2026 ---
def test_berlin_spring_forward_day_has_23_hours():
    start = clock.start_of_local_day(date(2026, 3, 29), "Europe/Berlin")
    end = clock.end_of_local_day(date(2026, 3, 29), "Europe/Berlin")
    assert start == utc(2026, 3, 28, 23)  # 00:00 CET (UTC+1)
    assert end == utc(2026, 3, 29, 22)  # 00:00 CEST (UTC+2)
    assert hours_between(start, end) == timedelta(hours=23)


def test_berlin_fall_back_day_has_25_hours():
    start = clock.start_of_local_day(date(2026, 10, 25), "Europe/Berlin")
    end = clock.end_of_local_day(date(2026, 10, 25), "Europe/Berlin")
    assert start == utc(2026, 10, 24, 22)  # 00:00 CEST
    assert end == utc(2026, 10, 25, 23)  # 00:00 CET
    assert hours_between(start, end) == timedelta(hours=25)


def test_spans_across_a_daylight_saving_change_end_at_local_midnight():
    # a 7-day pass from 25 March (CET) ends at local midnight after 31 March (CEST)
    assert clock.span_end(date(2026, 3, 25), 7, "Europe/Berlin") == utc(2026, 3, 31, 22)
    # a 7-day pass from 20 October (CEST) ends at local midnight after 26 October (CET)
    assert clock.span_end(date(2026, 10, 20), 7, "Europe/Berlin") == utc(2026, 10, 26, 23)
    # never a fixed number of hours from the start
    start = clock.start_of_local_day(date(2026, 3, 25), "Europe/Berlin")
    assert hours_between(start, clock.span_end(date(2026, 3, 25), 7, "Europe/Berlin")) == timedelta(days=7, hours=-1)


@pytest.mark.parametrize(
    "moment, expected",
    [
        (utc(2026, 3, 29, 21, 59, 59), date(2026, 3, 29)),  # 23:59:59 CEST
        (utc(2026, 3, 29, 22, 0), date(2026, 3, 30)),  # 00:00 CEST
        (utc(2026, 10, 25, 22, 59, 59), date(2026, 10, 25)),  # 23:59:59 CET
        (utc(2026, 10, 25, 23, 0), date(2026, 10, 26)),  # 00:00 CET
        (utc(2026, 10, 25, 0, 30), date(2026, 10, 25)),  # 02:30 CEST, the first of two 02:30s
        (utc(2026, 10, 25, 1, 30), date(2026, 10, 25)),  # 02:30 CET, the second
    ],
)
def test_local_date_around_berlin_daylight_saving(moment, expected):
    assert clock.local_date(moment, "Europe/Berlin") == expected


def test_results_are_aware_and_comparable_with_utc():
    end = clock.end_of_local_day(date(2026, 3, 10), "Europe/Istanbul")
    assert end.tzinfo is not None
    assert end.astimezone(UTC) == utc(2026, 3, 10, 21)


def test_now_is_aware_utc_and_follows_time_machine():
    with time_machine.travel(utc(2026, 3, 10, 20, 59, 59), tick=False):
        now = clock.now()
        assert now == utc(2026, 3, 10, 20, 59, 59)
        assert now.utcoffset() == timedelta(0)
        assert clock.local_date(now, "Europe/Istanbul") == date(2026, 3, 10)


# --- parse_moment: the one reading of `from` / `to` ------------------------------------------------
IST = "Europe/Istanbul"
BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    "value, end, expected",
    [
        ("2026-03-10", False, utc(2026, 3, 9, 21)),  # local midnight
        ("2026-03-10", True, utc(2026, 3, 10, 21)),  # the next local midnight (exclusive)
        ("2026-03-10T23:59:59+03:00", True, utc(2026, 3, 10, 20, 59, 59)),
        ("2026-03-11T00:00:00+03:00", False, utc(2026, 3, 10, 21)),
        ("2026-03-10T23:59:00", True, utc(2026, 3, 10, 20, 59)),  # no offset: studio-local
        ("2026-03-10T18:00:00 03:00", False, utc(2026, 3, 10, 15)),  # a `+` the query decoded
        ("2026-03-10T18:00:00Z", False, utc(2026, 3, 10, 18)),
        (" 2026-03-10 ", False, utc(2026, 3, 9, 21)),
    ],
)
def test_parse_moment(value, end, expected):
    moment, is_date = clock.parse_moment(value, tz_name=IST, end=end)
    assert moment == expected
    assert is_date == (len(value.strip()) == 10)


def test_parse_moment_days_of_23_and_25_hours():
    start, _ = clock.parse_moment("2026-03-29", tz_name=BERLIN, end=False)
    end, _ = clock.parse_moment("2026-03-29", tz_name=BERLIN, end=True)
    assert hours_between(start, end) == timedelta(hours=23)
    start, _ = clock.parse_moment("2026-10-25", tz_name=BERLIN, end=False)
    end, _ = clock.parse_moment("2026-10-25", tz_name=BERLIN, end=True)
    assert hours_between(start, end) == timedelta(hours=25)


@pytest.mark.parametrize(
    "value, end",
    [
        ("", False),
        ("tomorrow", False),
        ("2026-13-01", False),
        ("2026-02-30", False),
        ("2026-3-1xxx", False),
        ("9999-12-31", True),  # its end is past the calendar
        ("0001-01-01", False),  # local midnight east of Greenwich is year 0 in UTC
        ("0001-01-01T00:00:00+03:00", False),
        ("9999-12-31T23:59:59-05:00", False),
        ("2026-03-10T25:00:00", False),
    ],
)
def test_parse_moment_refuses_what_is_not_on_the_calendar(value, end):
    with pytest.raises(clock.BadMoment):
        clock.parse_moment(value, tz_name=IST, end=end)


def test_parse_moment_edges_of_the_calendar_that_exist():
    assert clock.parse_moment("9999-12-31", tz_name="UTC", end=False)[0] == utc(9999, 12, 31)
    assert clock.parse_moment("0001-01-01", tz_name="America/New_York", end=False)[0] == datetime(
        1, 1, 1, tzinfo=ZoneInfo("America/New_York")
    )


def test_the_api_zone_writes_whole_minute_offsets_even_before_standard_time():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from rest_framework import serializers

    from spinning.clock import api_zone

    field = serializers.DateTimeField()
    zone = api_zone("Europe/Istanbul")
    with django_timezone.override(zone):
        # today: the zone's own offset, the same instant
        now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
        assert field.to_representation(now) == "2026-03-04T18:00:00+03:00"
        assert now.astimezone(zone) == now.astimezone(ZoneInfo("Europe/Istanbul"))
        # local mean time (+01:55:52 before 1910) is written to the minute: +01:56
        assert field.to_representation(datetime(932, 7, 3, 4, 8, tzinfo=UTC)).endswith("+01:56")
    with django_timezone.override(api_zone("Europe/Berlin")):  # daylight saving both ways
        assert field.to_representation(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == "2026-03-29T03:30:00+02:00"
        assert field.to_representation(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == "2026-10-25T02:30:00+02:00"
        assert field.to_representation(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "2026-10-25T02:30:00+01:00"
