"""The audit log's one writer (DOMAIN.md 18), in the style of pretix's `log_action`.

Every service that makes a staff change calls `log_action` inside its own durable transaction,
after the change, with what it knows: the acting user, the object, a reason if one was given
and the fields that changed. Nothing else writes the log: no signals, no admin hooks. A service
that rolls back takes its entry with it. Action codes are `<object>.<verb>` (docs/audit.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from members_app.models import AuditLogEntry, Organization, User


class AuditOutsideTransaction(RuntimeError):
    """`log_action` was called outside a transaction: its entry could outlive a rolled-back change."""


def _plain(value: Any) -> Any:
    """A JSON-friendly value that reads the same in the API and the admin."""
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields) -> dict[str, Any]:
    """The values of `fields` on `obj` now (foreign keys as their id), to diff after a change."""
    values = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        values[name] = _plain(getattr(obj, attname))
    return values


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """`{field: [old, new]}` for every field whose value differs (missing counts as None)."""
    out = {}
    for name in sorted(set(before) | set(after)):
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            out[name] = [old, new]
    return out


def log_action(
    *,
    organization: Organization,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id=None,
    reason: str = "",
    changes: dict | None = None,
    now: datetime | None = None,
) -> AuditLogEntry | None:
    """Record one staff action on one object, in the caller's transaction.

    Without an actor (seeds, management commands, jobs) nothing is written: those are not staff
    actions, and the rows they write carry their own history (the ledger, timestamps).

    `obj` names the object (its model name and primary key); `object_type`/`object_id` do so
    when the caller holds only an id. `changes` is `{field: [old, new]}` (see `changes_between`)
    or any small JSON-able dict that says what was done (credits, amounts, a bike).
    """
    if not transaction.get_connection().in_atomic_block:
        raise AuditOutsideTransaction(f"log_action({action!r}) must run inside the service's transaction.")
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
    if not object_type or object_id is None:
        raise ValueError("log_action needs the object (obj=, or object_type= and object_id=).")
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None  # the system (seeds, jobs) acts for nobody: the log is of staff actions
    return AuditLogEntry.objects.create(
        organization=organization,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=(str(obj) if obj is not None else "")[:200],
        reason=reason or "",
        changes=_plain(changes or {}),
        created_at=now or timezone.now(),
    )
