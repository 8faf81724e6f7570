"""What every report shares: the studio-local date range and money to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from members_app.models import Organization
from spinning import clock

CENT = Decimal("0.01")
MAX_RANGE_DAYS = 731  # two years (and a leap day): a report is a question about a period, not all time


def money(value) -> str:
    """A decimal string with 2 places, rounded half-up (DOMAIN.md 2)."""
    return str(Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Period:
    """`first`..`last` studio-local days, inclusive, as the instants [start, end)."""

    organization: Organization
    first: date
    last: date

    @property
    def tz_name(self) -> str:
        return self.organization.timezone

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.organization.timezone)

    @property
    def start(self) -> datetime:
        return clock.start_of_local_day(self.first, self.tz_name)

    @property
    def end(self) -> datetime:
        return clock.end_of_local_day(self.last, self.tz_name)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]
