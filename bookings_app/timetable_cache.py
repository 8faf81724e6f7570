"""The timetable from a shared cache (issue 14; docs/bookings.md "The timetable cache").

`GET /api/sessions` is the request every member app sends most, and it is the same for every
caller but three fields. The shared part of a page (the rows, the count, the links) is cached in
the default cache (the database cache, or Redis with `REDIS_URL`: every server process shares
it) under the studio, the request's path and query, and the studio's **version**. Every
transaction that changes what the timetable shows (a booking or a cancel moving `booked_count`,
a session created, changed, cancelled or closed, a waitlist entry joining or leaving, a class,
instructor or location renamed) calls `timetable_changed(organization_id)`, which bumps the
version **after its commit** (`transaction.on_commit`): the next request misses and reads the
database, so a bike taken by a committed booking is never shown free by a later request.

What is the caller's own is read per request and never cached: `my_booking_id` and
`my_waitlist_entry_id` in one small query over the page's sessions, and `booking_opens_at`,
which is earlier for a priority holder.

The cache may fail (Redis stopped): every cache call is guarded, and a failure is a miss that is
not stored, never a 500. Entries also expire after `TIMETABLE_CACHE_SECONDS` (default 30), the
bound on staleness should a process die between a commit and its bump.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import pickle
import uuid
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.db.models import CharField, Value

from bookings_app.models import LIVE, Booking, WaitlistEntry

log = logging.getLogger(__name__)


def _version_key(organization_id) -> str:
    return f"timetable:version:{organization_id}"


def _ttl() -> int:
    return int(getattr(settings, "TIMETABLE_CACHE_SECONDS", 30))


def _new_version() -> str:
    # Versions are only compared for equality: a random one is never a number an evicted or
    # flushed key had before (a counter starting again at 0 would be), and it needs no read.
    return uuid.uuid4().hex


def _bump(organization_id) -> None:
    if not getattr(settings, "TIMETABLE_CACHE", True):
        return
    key = _version_key(organization_id)
    try:
        # A new random version, not +1: one write instead of a read and a write.
        _set_forever(key, _new_version())
    except Exception:  # noqa: BLE001 - the cache is down: entries expire on their own
        log.warning("timetable cache: could not bump the version of %s", organization_id, exc_info=True)


def _set_forever(key: str, value) -> None:
    """`cache.set(key, value, None)` in one statement. Every booking commits a bump, and the
    database cache's own `set` costs five (a COUNT(*) of the table for culling, a savepoint, a
    SELECT, an UPDATE or INSERT, the release): on that cache the bump is one UPSERT of the row
    `set` would write (the same key, pickled value and expiry format). Redis: one SET."""
    backend = caches["default"]  # `cache` is a proxy: look at what it stands for
    if not isinstance(backend, DatabaseCache):
        cache.set(key, value, None)
        return
    connection = connections[router.db_for_write(backend.cache_model_class)]
    if connection.vendor not in ("postgresql", "sqlite"):
        cache.set(key, value, None)
        return
    quote = connection.ops.quote_name
    table, cache_key, column, expires = (quote(n) for n in (backend._table, "cache_key", "value", "expires"))
    encoded = base64.b64encode(pickle.dumps(value, backend.pickle_protocol)).decode("latin1")
    never = connection.ops.adapt_datetimefield_value(datetime.max.replace(microsecond=0))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({cache_key}, {column}, {expires}) VALUES (%s, %s, %s) "
            f"ON CONFLICT ({cache_key}) DO UPDATE SET {column} = EXCLUDED.{column}, {expires} = EXCLUDED.{expires}",
            [backend.make_and_validate_key(key), encoded, never],
        )


def timetable_changed(organization_id) -> None:
    """Call inside the transaction that changed what the studio's timetable shows: its cached
    pages stop being served once the transaction commits (nothing happens if it rolls back)."""
    transaction.on_commit(lambda: _bump(organization_id))


def shared_page(organization_id, request_key: str, build: Callable[[], dict]) -> dict:
    """The shared part of one timetable page: from the cache when it was built at the studio's
    current version, else `build()` (and stored). One cache round trip on a hit."""
    if not getattr(settings, "TIMETABLE_CACHE", True):
        return build()
    version_key = _version_key(organization_id)
    page_key = "timetable:page:" + hashlib.sha256(f"{organization_id}|{request_key}".encode()).hexdigest()[:40]
    try:
        found = cache.get_many([version_key, page_key])
    except Exception:  # noqa: BLE001 - no cache: read the database, store nothing
        log.warning("timetable cache unavailable", exc_info=True)
        return build()
    version = found.get(version_key)
    if version is None:
        version = _new_version()
        try:
            if not cache.add(version_key, version, None):
                version = cache.get(version_key, version)
        except Exception:  # noqa: BLE001
            return build()
    cached = found.get(page_key)
    if cached is not None and cached.get("version") == version:
        return cached["page"]
    # Build after reading the version: a change that commits meanwhile bumps it past this
    # one, so what is stored here is never served after that change.
    page = build()
    try:
        cache.set(page_key, {"version": version, "page": page}, _ttl())
    except Exception:  # noqa: BLE001
        log.warning("timetable cache: could not store a page", exc_info=True)
    return page


def member_ids(*, member, session_ids: list, starts: list) -> dict:
    """{session_id: (my_booking_id, my_waitlist_entry_id)} for the caller, in one query.

    The page's sessions are named by their start range, not by a list of ids: a member holds a
    handful of live bookings, and a list of 50 UUID parameters cost more CPU to send than the
    query takes to run."""
    if member is None or not session_ids:
        return {}
    first, last = min(starts), max(starts)
    kind = CharField()
    bookings = (
        Booking.objects.filter(
            LIVE, member=member, is_guest=False, session__starts_at__gte=first, session__starts_at__lte=last
        )
        .annotate(kind=Value("b", output_field=kind))
        .values_list("session_id", "pk", "kind")
        .order_by()
    )
    entries = (
        WaitlistEntry.objects.filter(
            member=member,
            status=WaitlistEntry.Status.WAITING,
            session__starts_at__gte=first,
            session__starts_at__lte=last,
        )
        .annotate(kind=Value("w", output_field=kind))
        .values_list("session_id", "pk", "kind")
        .order_by()
    )
    on_page = set(session_ids)
    mine: dict = {}
    for session_id, pk, what in bookings.union(entries, all=True):
        if str(session_id) not in on_page:
            continue
        booking_id, entry_id = mine.get(str(session_id), (None, None))
        mine[str(session_id)] = (str(pk), entry_id) if what == "b" else (booking_id, str(pk))
    return mine
