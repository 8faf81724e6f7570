"""The one clock. Services take `now=` and fall back to this, so tests can move time."""

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def now() -> datetime:
    return timezone.now()


class _WholeMinuteZone(tzinfo):
    """A studio's zone whose UTC offsets are whole minutes. Before standard time a zone has its
    local mean time (Istanbul: +01:55:52 until 1910), which ISO-8601 as RFC 3339 and OpenAPI's
    `date-time` cannot write; such an offset is rounded to the minute. Any other time is the
    zone's own."""

    def __init__(self, name: str):
        self._zone = ZoneInfo(name)
        self.key = name

    def __str__(self) -> str:
        return self.key

    def __repr__(self) -> str:
        return f"_WholeMinuteZone({self.key!r})"

    def utcoffset(self, dt):
        return _to_minute(self._zone.utcoffset(dt))

    def dst(self, dt):
        return self._zone.dst(dt)

    def tzname(self, dt):
        return self._zone.tzname(dt)

    def fromutc(self, dt):
        exact = dt.replace(tzinfo=UTC).astimezone(self._zone)
        local = dt.replace(tzinfo=None) + _to_minute(exact.utcoffset())
        return local.replace(tzinfo=self, fold=exact.fold)


def _to_minute(offset: timedelta) -> timedelta:
    return timedelta(minutes=round(offset.total_seconds() / 60))


@lru_cache(maxsize=64)
def api_zone(name: str) -> tzinfo:
    """The zone the API renders a studio's timestamps in (API.md: its UTC offset)."""
    return _WholeMinuteZone(name)


def local_date(moment: datetime, tz_name: str) -> date:
    """The studio-local calendar date of an aware instant."""
    return moment.astimezone(ZoneInfo(tz_name)).date()


def local_label(moment: datetime, tz_name: str) -> str:
    """An instant as people at the studio read it, with its UTC offset: `2026-03-03 07:15 +03:00`
    (ledger descriptions and reports; never UTC wall-clock time)."""
    local = moment.astimezone(ZoneInfo(tz_name))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


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


class BadMoment(ValueError):
    """A `from`/`to` value that is neither a date nor a timestamp on the calendar."""


def parse_moment(value: str, *, tz_name: str, end: bool) -> tuple[datetime, bool]:
    """The one reading of a `from` / `to` query value (API.md): a studio-local date `YYYY-MM-DD`
    (inclusive) or an ISO-8601 timestamp. Returns (instant, is_date).

    - A date: `from` is its local midnight, `to` the next local midnight, an exclusive bound
      (filter with `<`), so the whole local day is covered, 23- and 25-hour days included.
    - A timestamp with its offset is that instant (a `+` that a query string decoded into a space
      is put back); one without an offset is read as studio-local wall time.
    - Anything else, or an instant that does not exist in UTC too (year 1 east of Greenwich, the
      day after 9999-12-31): `BadMoment`, which callers answer as a 400 naming the parameter.
    """
    value = (value or "").strip()
    try:
        if len(value) == 10:
            day = parse_date(value)
            if day is None:
                raise BadMoment("Use a date (YYYY-MM-DD) or an ISO-8601 timestamp.")
            moment = end_of_local_day(day, tz_name) if end else start_of_local_day(day, tz_name)
            is_date = True
        else:
            if "T" in value and " " in value:
                value = value.replace(" ", "+")
            moment = parse_datetime(value)
            if moment is None:
                raise BadMoment("Use a date (YYYY-MM-DD) or an ISO-8601 timestamp.")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(tz_name))
            is_date = False
        moment.astimezone(ZoneInfo("UTC"))  # the database compares in UTC: it must exist there
    except BadMoment:
        raise
    except ValueError:
        raise BadMoment("Use a date (YYYY-MM-DD) or an ISO-8601 timestamp.") from None
    except OverflowError:
        raise BadMoment("Outside the supported calendar (years 1 to 9999, in UTC too).") from None
    return moment, is_date
