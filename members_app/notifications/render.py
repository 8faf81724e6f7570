"""Render a message in the recipient's language (DOMAIN.md 15, 16).

One template per kind and language, `templates/notifications/<language>/<kind>.txt`: the first
line is the subject, the rest (after a blank line) the plain-text body. The HTML part is the
same text in `templates/notifications/email.html` (the studio's name on top, paragraphs, the
reply-to line). Rendered inside `translation.override(language)` and the studio's time zone, so
the filters of `notification_format` write "Perşembe 3 Aralık 18:00" and "18.000,00 TRY".
Why one template per language rather than gettext: an email is prose a studio owner reads and
rewrites as a whole; the catalogs (locale/) hold the short texts of the API and the admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone, translation

LANGUAGE_CODES = ("en", "tr")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def language_of(code: str | None, default: str = "en") -> str:
    code = (code or default or "en")[:2].lower()
    return code if code in LANGUAGE_CODES else "en"


def render(*, kind: str, language: str, time_zone: str, context: dict) -> Rendered:
    language = language_of(language)
    with translation.override(language), timezone.override(time_zone):
        source = render_to_string(f"notifications/{language}/{kind}.txt", context)
        subject, _, body = source.strip().partition("\n")
        body = body.strip("\n") + "\n"
        html = render_to_string(
            "notifications/email.html", {**context, "subject": subject.strip(), "body": body, "language": language}
        )
    return Rendered(subject=" ".join(subject.split())[:300], text=body, html=html)
