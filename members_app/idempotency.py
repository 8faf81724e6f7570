"""Idempotency-Key support for POSTs that create a redemption or a booking (DOMAIN.md 12).

A service calls `idempotency_claim()` first thing inside its transaction and
`idempotency_complete()` once it knows what it created. A repeat with the same key and body
from the same user raises `IdempotentReplay` (the view renders the first resource again with
the first status); the same key with a different body raises 409 `idempotency_key_reused`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy

from members_app.models import IdempotencyRecord
from spinning import rows
from spinning.errors import IdempotencyKeyReused, Invalid


@dataclass(frozen=True)
class IdempotencyRequest:
    user_id: object
    scope: str
    key: str
    request_hash: str


class IdempotentReplay(Exception):
    def __init__(self, resource_id, status: int):
        super().__init__(str(resource_id))
        self.resource_id = resource_id
        self.status = status


def request_hash(data) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_from_request(request, *, scope: str, data) -> IdempotencyRequest | None:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key:
        return None
    if len(key) > 255:
        raise Invalid({"Idempotency-Key": gettext_lazy("At most 255 characters.")})
    return IdempotencyRequest(user_id=request.user.pk, scope=scope, key=key, request_hash=request_hash(data))


def _replay_or_refuse(record: IdempotencyRecord, idem: IdempotencyRequest):
    if record.request_hash != idem.request_hash:
        raise IdempotencyKeyReused()
    raise IdempotentReplay(record.resource_id, record.response_status)


def _insert_if_absent(values: dict) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: one round trip on the normal path.

    On PostgreSQL a concurrent insert of the same key makes this wait for that transaction: if it
    commits we get no row (and replay it), if it rolls back our row goes in. SQLite (3.35+)
    speaks the same SQL; its writers are serialized anyway.
    """
    meta = IdempotencyRecord._meta
    fields = [meta.get_field(name) for name in values]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    conflict = ", ".join(
        connection.ops.quote_name(meta.get_field(name).column) for name in ("organization", "user", "scope", "key")
    )
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({conflict}) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def idempotency_claim(
    *, organization, idem: IdempotencyRequest | None, resource_id=None, status: int = 201
) -> IdempotencyRecord | None:
    """Claim the key inside the caller's transaction; replay or refuse if it was used before.

    Pass `resource_id` when the id of what will be created is known up front (a UUID made by
    the caller): the record is then complete at once and `idempotency_complete` costs nothing.
    """
    if idem is None:
        return None
    values = {
        "organization": organization.pk,
        "user": idem.user_id,
        "scope": idem.scope,
        "key": idem.key,
        "request_hash": idem.request_hash,
        "resource_id": resource_id,
        "response_status": status,
        "created_at": timezone.now(),
    }
    record_id = _insert_if_absent(values)
    if record_id is None:
        existing = IdempotencyRecord.objects.get(
            organization=organization, user_id=idem.user_id, scope=idem.scope, key=idem.key
        )
        _replay_or_refuse(existing, idem)
    return IdempotencyRecord(
        id=record_id,
        organization=organization,
        user_id=idem.user_id,
        scope=idem.scope,
        key=idem.key,
        request_hash=idem.request_hash,
        resource_id=resource_id,
        response_status=status,
    )


def idempotency_replay_if_used(*, organization, idem: IdempotencyRequest | None) -> None:
    """Before answering a refusal made outside the transaction (the booking's early refusal in a
    schedule-drop rush): a key already used answers as the claim would (replay, or 409
    `idempotency_key_reused`), so a retry of a booking that went through is never told its bike
    is taken. One indexed read, paid only on that refusal."""
    if idem is None:
        return
    found = rows.select(
        IdempotencyRecord,
        "{organization} = %s AND {user} = %s AND {scope} = %s AND {key} = %s",
        [organization.pk, idem.user_id, idem.scope, idem.key],
    )
    if found:
        _replay_or_refuse(found[0], idem)


def idempotency_complete(record: IdempotencyRecord | None, *, resource_id, status: int = 201) -> None:
    if record is None or (record.resource_id == resource_id and record.response_status == status):
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(resource_id=resource_id, response_status=status)
    record.resource_id, record.response_status = resource_id, status
