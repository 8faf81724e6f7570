"""Filters for the email templates (templates/notifications/): studio-local dates and times in
words in the active language ("Perşembe 3 Aralık 18:00"), money with its currency.

The renderer activates the recipient's language and the studio's time zone around rendering."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
    """An instant as the studio reads it: weekday, day, month, time ("Thursday 3 December 18:00")."""
    if value is None:
        return ""
    return formats.date_format(timezone.localtime(value), "l j F H:i")


@register.filter
def day(value: date | datetime | None) -> str:
    """A studio-local day with its year ("3 Aralık 2026 Perşembe" / "Thursday 3 December 2026")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return formats.date_format(value, "l j F Y")


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
