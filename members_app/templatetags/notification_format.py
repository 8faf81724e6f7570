"""Filters for the email templates (templates/notifications/): studio-local dates and times in
words in the active language ("Perşembe 3 Aralık 18:00"), money with its currency.

The renderer activates the recipient's language and the studio's time zone around rendering."""

from datetime import date, datetime
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
def money(value, currency: str = "") -> str:
    """2 places with the language's separators and grouping, then the currency: "18.000,00 TRY"."""
    if value in (None, ""):
        return ""
    amount = formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)
    return f"{amount} {currency}".strip()
