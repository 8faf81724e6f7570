"""The one clock. Services take `now=` and fall back to this, so tests can move time."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def local_date(moment: datetime, tz_name: str) -> date:
    """The studio-local calendar date of an aware instant."""
    return moment.astimezone(ZoneInfo(tz_name)).date()


def start_of_local_day(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz_name))


def end_of_local_day(day: date, tz_name: str) -> datetime:
    """The instant a thing valid "to the end of `day`" stops being valid: next local midnight.

    Computed from the next day's midnight so that days of 23 or 25 hours (daylight saving)
    come out right.
    """
    return start_of_local_day(day + timedelta(days=1), tz_name)


def span_end(first_day: date, days: int, tz_name: str) -> datetime:
    """A span of N days counts the first: N days from the 1st run to the end of the Nth."""
    return end_of_local_day(first_day + timedelta(days=days - 1), tz_name)
