"""Filters for the email templates (templates/notifications/): studio-local dates and times in
words in the active language ("Perşembe 3 Aralık 18:00"), money with its currency.

The renderer activates the recipient's language and the studio's time zone around rendering.

`when` and `day` write what `django.utils.formats.date_format` writes for "l j F H:i" and
"l j F Y", but from the language's day and month names looked up once per process and language
(`_names`): date_format translates each name on every call, which made the dates most of the
CPU an outbox row costs the booking's transaction (docs/NOTIFICATIONS.md, "Rendering"). The
test compares the two for every weekday and month in both languages.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django import template
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.dates import MONTHS, WEEKDAYS

register = template.Library()

# language -> (Monday..Sunday, January..December); the catalogs do not change while a process runs
_NAME_CACHE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The active language's weekday and month names (as date_format's "l" and "F" write them)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    names = _NAME_CACHE.get(language)
    if names is None:
        names = (tuple(str(WEEKDAYS[i]) for i in range(7)), tuple(str(MONTHS[m]) for m in range(1, 13)))
        _NAME_CACHE[language] = names
    return names


def _in_words(value: date) -> str:
    weekdays, months = _names()
    return f"{weekdays[value.weekday()]} {value.day} {months[value.month - 1]}"


@register.filter
def when(value: datetime | None) -> str:
    """An instant as the studio reads it: weekday, day, month, time ("Thursday 3 December 18:00")."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{_in_words(local)} {local.hour:02d}:{local.minute:02d}"


@register.filter
def day(value: date | datetime | None) -> str:
    """A studio-local day with its year ("Perşembe 3 Aralık 2026" / "Thursday 3 December 2026")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return f"{_in_words(value)} {value.year:04d}"


@register.filter
def last_day(value: datetime | None) -> str:
    """The last studio-local day an expiry instant still allows, with its year. Credits and passes
    end at the local midnight after their last day (`clock.span_end`), which `when` would show as
    the next day at 00:00 ("valid until Saturday 2 January 00:00" for a pass good through Friday)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        local -= timedelta(microseconds=1)
    return day(local.date())


@register.filter
def money(value, currency: str = "") -> str:
    """2 places with the language's separators and grouping, then the currency: "18.000,00 TRY"."""
    if value in (None, ""):
        return ""
    amount = formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)
    return f"{amount} {currency}".strip()
