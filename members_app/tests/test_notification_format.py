"""The email filters' dates are what Django's date_format writes, in both languages, from names
looked up once per language (members_app/templatetags/notification_format.py)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, timezone, translation

from members_app.templatetags import notification_format
from members_app.templatetags.notification_format import day, last_day, when

UTC = ZoneInfo("UTC")


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("zone", ["Europe/Istanbul", "Europe/Berlin", "America/New_York"])
def test_when_and_day_write_what_date_format_writes_for_every_weekday_and_month(language, zone):
    # 2026-01-01 .. 2027-01-31 at 05:07 UTC and 23:59 UTC: every weekday of every month, both sides
    # of midnight in the zones, across daylight saving changes in Berlin and New York
    start = datetime(2026, 1, 1, 5, 7, tzinfo=UTC)
    with translation.override(language), timezone.override(zone):
        for offset in range(396):
            for moment in (start + timedelta(days=offset), start + timedelta(days=offset, hours=18, minutes=52)):
                local = timezone.localtime(moment)
                assert when(moment) == formats.date_format(local, "l j F H:i")
                assert day(moment) == formats.date_format(local.date(), "l j F Y")
                assert day(local.date()) == formats.date_format(local.date(), "l j F Y")


def test_the_names_are_the_active_languages_each_time():
    moment = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thursday, 18:00 in Istanbul
    with timezone.override("Europe/Istanbul"):
        with translation.override("tr"):
            assert when(moment) == "Perşembe 3 Aralık 18:00"
        with translation.override("en"):
            assert when(moment) == "Thursday 3 December 18:00"
            assert day(date(2027, 1, 1)) == "Friday 1 January 2027"
        with translation.override("tr"):
            assert last_day(datetime(2027, 1, 1, 21, 0, tzinfo=UTC)) == "Cuma 1 Ocak 2027"
    assert set(notification_format._NAME_CACHE) >= {"en", "tr"}
    assert when(None) == day(None) == last_day(None) == ""
