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

from django.db import IntegrityError, transaction

from members_app.models import IdempotencyRecord
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
        raise Invalid({"Idempotency-Key": "At most 255 characters."})
    return IdempotencyRequest(user_id=request.user.pk, scope=scope, key=key, request_hash=request_hash(data))


def _replay_or_refuse(record: IdempotencyRecord, idem: IdempotencyRequest):
    if record.request_hash != idem.request_hash:
        raise IdempotencyKeyReused()
    raise IdempotentReplay(record.resource_id, record.response_status)


def idempotency_claim(*, organization, idem: IdempotencyRequest | None) -> IdempotencyRecord | None:
    """Claim the key inside the caller's transaction; replay or refuse if it was used before."""
    if idem is None:
        return None
    lookup = {"organization": organization, "user_id": idem.user_id, "scope": idem.scope, "key": idem.key}
    existing = IdempotencyRecord.objects.filter(**lookup).first()
    if existing is not None:
        _replay_or_refuse(existing, idem)
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(request_hash=idem.request_hash, **lookup)
    except IntegrityError:
        # A concurrent request with the same key committed first (we waited on its index entry).
        _replay_or_refuse(IdempotencyRecord.objects.get(**lookup), idem)


def idempotency_complete(record: IdempotencyRecord | None, *, resource_id, status: int = 201) -> None:
    if record is None:
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(resource_id=resource_id, response_status=status)
