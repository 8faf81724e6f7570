"""Write messages to the outbox, in the caller's transaction (DOMAIN.md 15).

The services that change something call `notify(...)` (or `notify_studio`, `notify_account`)
inside their transaction: the row commits with the change or not at all, and its delivery is
scheduled for right after the commit (`delivery.deliver_after_commit`). Nothing here talks to
a mail server.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from members_app.models import Member, Notification, Organization, User
from members_app.notifications.delivery import deliver_after_commit
from members_app.notifications.render import language_of, render
from spinning import clock, rows

Kind = Notification.Kind


def _base_context(organization: Organization | None, *, name: str, language: str) -> dict:
    return {
        "studio": organization.name if organization else "",
        "studio_email": organization.email if organization else "",
        "currency": organization.currency if organization else "",
        "name": name,
        "language": language,
        "app_url": getattr(settings, "MEMBER_APP_URL", ""),
    }


def _write(row: Notification, context: dict, time_zone: str) -> Notification | None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify must run inside the transaction of the change it reports.")
    rendered = render(kind=row.kind, language=row.language, time_zone=time_zone, context=context)
    row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
    if row.dedupe_key is None:
        rows.insert(row)  # one hand-written INSERT: every booking writes one (spinning/rows.py)
    else:
        # "Sent once each": a second job (or a second run) meets the unique key and writes nothing.
        if Notification.objects.filter(organization=row.organization, dedupe_key=row.dedupe_key).exists():
            return None
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            return None
    deliver_after_commit(row.pk)
    return row


def notify(
    *,
    kind: str,
    member: Member,
    context: dict | None = None,
    booking_id=None,
    redemption_id=None,
    session_id=None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> Notification | None:
    """Queue one email to a member, in their language (their own, else the studio's), about
    `kind`. `context` holds the facts the kind's template shows (plain values: names, dates,
    Decimals). Returns the row, or None when `dedupe_key` was already used in this studio."""
    organization = member.organization
    language = language_of(member.effective_language)
    full_context = {**_base_context(organization, name=member.first_name or member.full_name, language=language)}
    full_context.update(context or {})
    row = Notification(
        organization=organization,
        member=member,
        kind=kind,
        language=language,
        to_email=member.user.email,
        reply_to=organization.email,
        booking_id=booking_id,
        redemption_id=redemption_id,
        session_id=session_id,
        dedupe_key=dedupe_key,
        created_at=now or clock.now(),
        next_attempt_at=now or clock.now(),
    )
    return _write(row, full_context, organization.timezone)


def notify_studio(
    *, kind: str, member: Member, context: dict | None = None, redemption_id=None, now: datetime | None = None
) -> Notification | None:
    """The studio's own copy (to `organization.email`, in the studio's language): new purchase
    requests. Nothing is written when the studio has no email."""
    organization = member.organization
    if not organization.email:
        return None
    language = language_of(organization.language)
    full_context = _base_context(organization, name=organization.name, language=language)
    full_context.update(context or {}, member_name=member.full_name, member_email=member.user.email, to_studio=True)
    row = Notification(
        organization=organization,
        member=member,
        audience=Notification.Audience.STUDIO,
        kind=kind,
        language=language,
        to_email=organization.email,
        reply_to=member.user.email,
        redemption_id=redemption_id,
        created_at=now or clock.now(),
        next_attempt_at=now or clock.now(),
    )
    return _write(row, full_context, organization.timezone)


def notify_account(*, kind: str, user: User, language: str, context: dict | None = None) -> Notification | None:
    """A message about the account itself, not a studio (a password reset)."""
    language = language_of(language)
    full_context = _base_context(None, name=user.first_name, language=language)
    full_context.update(context or {})
    row = Notification(kind=kind, language=language, to_email=user.email)
    return _write(row, full_context, settings.TIME_ZONE)
