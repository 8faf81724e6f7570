"""Ledger descriptions in the reader's language (DOMAIN.md 16: "descriptions of ledger rows").

A ledger row is append-only, so its `description` is stored once, in English, as the service
wrote it. The API shows it in the request's language: the few shapes the services write are
recognised here and rendered through the catalog; anything else (a staff member's own reason
for an adjustment, a package's code and name) is shown as written."""

from __future__ import annotations

import re

from django.utils.translation import gettext

_FIXED = {
    "Credits expired": lambda: gettext("Credits expired"),
    "Booking refund": lambda: gettext("Booking refund"),
}
_SHAPES = [
    (re.compile(r"^Booking: (?P<what>.+?)(?:, bike (?P<bike>\S+))?$"), None),
    (re.compile(r"^Bonus from coupon (?P<code>.+)$"), lambda m: gettext("Bonus from coupon %(code)s") % m.groupdict()),
    (
        re.compile(r"^Refund of (?P<code>[^:]+): (?P<reason>.+)$"),
        lambda m: gettext("Refund of %(code)s: %(reason)s") % m.groupdict(),
    ),
    (re.compile(r"^Refund of (?P<code>[^:]+)$"), lambda m: gettext("Refund of %(code)s") % m.groupdict()),
]


def _booking(match: re.Match) -> str:
    if match["bike"]:
        return gettext("Booking: %(what)s, bike %(bike)s") % match.groupdict()
    return gettext("Booking: %(what)s") % {"what": match["what"]}


def ledger_description(text: str) -> str:
    if not text:
        return text
    fixed = _FIXED.get(text)
    if fixed is not None:
        return fixed()
    for pattern, render in _SHAPES:
        match = pattern.match(text)
        if match:
            return (render or _booking)(match)
    return text
