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

The page is kept rendered (`Page`: the JSON body for everyone and for a priority holder, whose
`booking_opens_at` are earlier, and each row in pieces). What is the caller's own is read per
request and never cached: `my_booking_id`, `my_waitlist_entry_id` and whether they hold the
priority benefit, in one statement with the studio's version (`_member_read`); the ids are
spliced into the rendered rows. The versions live in the database cache, also beside Redis
(`_versions`), and each process keeps the pages it read last (`_memo`, by version): a page held
at the current version costs that one statement and no cache call.

The cache may fail (Redis stopped): every cache call is guarded, and a failure is a miss that is
not stored, never a 500. Entries also expire after `TIMETABLE_CACHE_SECONDS` (default 30), the
bound on staleness should a process die between a commit and its bump.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import pickle
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from rest_framework.renderers import JSONRenderer

from bookings_app.models import LIVE_BOOKING_STATUSES, Booking, Session, WaitlistEntry
from members_app.models import Member
from packages_app.models import BENEFIT_PRIORITY_BOOKING, Redemption
from spinning import clock

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
        _set_forever(_versions(), key, _new_version())
    except Exception:  # noqa: BLE001 - the cache is down: entries expire on their own
        log.warning("timetable cache: could not bump the version of %s", organization_id, exc_info=True)


def _set_forever(backend, key: str, value) -> None:
    """`cache.set(key, value, None)` in one statement. Every booking commits a bump, and the
    database cache's own `set` costs five (a COUNT(*) of the table for culling, a savepoint, a
    SELECT, an UPDATE or INSERT, the release): on that cache the bump is one UPSERT of the row
    `set` would write (the same key, pickled value and expiry format). Redis: one SET."""
    if not isinstance(backend, DatabaseCache):
        backend.set(key, value, None)
        return
    connection = connections[router.db_for_write(backend.cache_model_class)]
    if connection.vendor not in ("postgresql", "sqlite"):
        backend.set(key, value, None)
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


# --- a page, rendered once ----------------------------------------------------------------------
# Markers put where a caller's own values go: rendered as JSON strings (quotes included) they
# cannot occur inside the rendering of any other value, so splitting on them is exact.
_MARK_OPENS, _MARK_BOOKING, _MARK_ENTRY, _MARK_RESULTS = (f"\ue000{name}\ue000" for name in ("o", "b", "e", "r"))
_NULL = b"null"


def _render(value) -> bytes:
    """DRF's JSONRenderer, the API's renderer (compact, UTF-8, U+2028/9 escaped): the spliced
    body is byte for byte what rendering the whole page would give."""
    return _RENDERER.render(value) if value is not None else _NULL


_RENDERER = JSONRenderer()


@dataclass(frozen=True)
class Page:
    """One timetable page as every caller sees it, already rendered as JSON: the whole body for
    everyone and for a priority holder (whose `booking_opens_at` are earlier), and each row in
    pieces to splice a member's `my_booking_id` / `my_waitlist_entry_id` into."""

    version: str | None
    built_at: float  # time.time() when the rows were read: the page expires _ttl() after it
    session_ids: tuple[str, ...]
    session_array: str  # the ids as a PostgreSQL array literal
    first: datetime | None  # the earliest and latest start on the page (bound the member's read)
    last: datetime | None
    # per row: (everyone's row, a priority holder's row, before the opening, the opening for
    # everyone, for a priority holder, then what comes before the booking id, before the entry
    # id, and after it)
    rows: tuple[tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes], ...]
    head: bytes
    tail: bytes
    separator: bytes
    body_everyone: bytes
    body_priority: bytes

    def body(self, mine: dict, priority: bool) -> bytes:
        """The page as the caller sees it: `mine` is {session_id: (booking_id, entry_id)}."""
        if not mine:
            return self.body_priority if priority else self.body_everyone
        out = []
        for session_id, row in zip(self.session_ids, self.rows, strict=True):
            ids = mine.get(session_id)
            if ids is None:
                out.append(row[1] if priority else row[0])
                continue
            _, _, before_opens, opens, opens_priority, before_booking, before_entry, after = row
            out.append(
                b"".join(
                    (
                        before_opens,
                        opens_priority if priority else opens,
                        before_booking,
                        _id(ids[0]),
                        before_entry,
                        _id(ids[1]),
                        after,
                    )
                )
            )
        return self.head + self.separator.join(out) + self.tail


def _id(value: str | None) -> bytes:
    return _NULL if value is None else b'"' + value.encode() + b'"'


def render_page(rows: list[dict], *, starts: list[datetime], priority_opens: list, paginated: dict | None) -> Page:
    """`rows` (serializers.session_rows, as everyone but a priority holder sees them) with the
    envelope (`paginated`: the page's count and links, None for a bare list) as a `Page`;
    `priority_opens[i]` is row i's `booking_opens_at` (rendered) for a priority holder."""
    separator = _render([0, 0])[1:-1].replace(b"0", b"")
    if paginated is None:
        head, tail = b"[", b"]"
    else:
        envelope = _render({**paginated, "results": _MARK_RESULTS})
        head, tail = envelope.split(_render(_MARK_RESULTS))
        head, tail = head + b"[", b"]" + tail
    marks = {"booking_opens_at": _MARK_OPENS, "my_booking_id": _MARK_BOOKING, "my_waitlist_entry_id": _MARK_ENTRY}
    rendered = []
    for row, opens_priority in zip(rows, priority_opens, strict=True):
        whole = _render({**row, **marks})
        before_opens, rest = whole.split(_render(_MARK_OPENS))
        before_booking, rest = rest.split(_render(_MARK_BOOKING))
        before_entry, after = rest.split(_render(_MARK_ENTRY))
        opens, opens_priority = _render(row["booking_opens_at"]), _render(opens_priority)

        def whole_row(
            opening, before_opens=before_opens, before_booking=before_booking, before_entry=before_entry, after=after
        ):
            return b"".join((before_opens, opening, before_booking, _NULL, before_entry, _NULL, after))

        rendered.append(
            (
                whole_row(opens),
                whole_row(opens_priority),
                before_opens,
                opens,
                opens_priority,
                before_booking,
                before_entry,
                after,
            )
        )
    return Page(
        version=None,
        built_at=time.time(),
        session_ids=tuple(row["id"] for row in rows),
        session_array="{" + ",".join(row["id"] for row in rows) + "}",
        first=min(starts) if starts else None,
        last=max(starts) if starts else None,
        rows=tuple(rendered),
        head=head,
        tail=tail,
        separator=separator,
        body_everyone=head + separator.join(row[0] for row in rendered) + tail,
        body_priority=head + separator.join(row[1] for row in rendered) + tail,
    )


# --- the page for one caller --------------------------------------------------------------------
# The pages this process read or built last, by page key (each at the version it was read at):
# a request whose version is still current is answered from here without fetching the page.
_memo: dict[str, Page] = {}
_MEMO_PAGES = 64
_UNREAD, _FAILED = object(), object()  # the version was not asked for / the cache did not answer


def personal_page(*, organization_id, request_key: str, member, build: Callable[[], Page]) -> tuple[Page, dict, bool]:
    """The page (`build()` renders it from the database), the caller's own ids on it
    ({session_id: (my_booking_id, my_waitlist_entry_id)}) and whether they hold priority booking.

    A page this process already holds at the studio's current version costs one statement: the
    version (in the database cache, also beside Redis: `_versions`), the member's ids and their
    priority benefit read together. Without a database cache (a test's local-memory cache): the
    version from the cache, then that statement without it."""
    now = clock.now()
    if not getattr(settings, "TIMETABLE_CACHE", True):
        page = build()
        mine, priority, _ = _member_read(member, page, None, now)
        return page, mine, priority
    version_key = _version_key(organization_id)
    page_key = (
        f"timetable:page:{_FORMAT}:" + hashlib.sha256(f"{organization_id}|{request_key}".encode()).hexdigest()[:40]
    )
    in_database = _version_in_database()
    known = _UNREAD
    held = _memo.get(page_key)
    if held is not None and held.built_at + _ttl() <= time.time():
        held = None
    if held is None and in_database and _versions() is not caches["default"]:
        known = _member_read(None, None, version_key, now)[2]  # the version here, the pages in Redis
    elif held is not None:
        if in_database:
            mine, priority, known = _member_read(member, held, version_key, now)
        else:
            known = _cache_version(version_key)
        if known is not None and known == held.version:
            if not in_database:
                mine, priority, _ = _member_read(member, held, None, now)
            return held, mine, priority
    page = _shared_page(page_key, version_key, build, known)
    # A read for the page held before still serves if the new page's sessions were all on it.
    if not (in_database and held is not None and _covers(held, page)):
        mine, priority, _ = _member_read(member, page, None, now)
    return page, mine, priority


_FORMAT = "3"  # in the page key: a process of another release never reads a page it cannot use


def _covers(held: Page, page: Page) -> bool:
    return set(page.session_ids) <= set(held.session_ids)


def _cache_version(version_key: str):
    try:
        return _versions().get(version_key)
    except Exception:  # noqa: BLE001 - the cache is down: the database answers, nothing is kept
        log.warning("timetable cache unavailable", exc_info=True)
        return _FAILED


def _shared_page(page_key: str, version_key: str, build: Callable[[], Page], known) -> Page:
    """The page from the shared cache when it was built at the studio's current version (`known`
    when already read), else `build()` (and stored). One cache round trip on a hit."""
    if known is _FAILED:
        return build()
    try:
        if known is _UNREAD and _versions() is caches["default"]:
            found = cache.get_many([version_key, page_key])
            version, cached = found.get(version_key), found.get(page_key)
        elif known is _UNREAD:
            version = _versions().get(version_key)
            cached = cache.get(page_key) if version is not None else None
        else:
            version = known
            cached = cache.get(page_key) if version is not None else None
    except Exception:  # noqa: BLE001 - no cache: read the database, store nothing
        log.warning("timetable cache unavailable", exc_info=True)
        return build()
    if version is None:
        version = _new_version()
        try:
            if not _versions().add(version_key, version, None):
                version = _versions().get(version_key, version)
        except Exception:  # noqa: BLE001
            return build()
    if isinstance(cached, Page) and cached.version == version:
        _remember(page_key, cached)
        return cached
    # Build after reading the version: a change that commits meanwhile bumps it past this
    # one, so what is stored here is never served after that change.
    page = replace(build(), version=version)
    try:
        cache.set(page_key, page, _ttl())
    except Exception:  # noqa: BLE001
        log.warning("timetable cache: could not store a page", exc_info=True)
        return page
    _remember(page_key, page)
    return page


def _remember(page_key: str, page: Page) -> None:
    _memo.pop(page_key, None)
    _memo[page_key] = page
    while len(_memo) > _MEMO_PAGES:
        try:
            del _memo[next(iter(_memo))]
        except (KeyError, RuntimeError, StopIteration):  # another thread got there first
            break


def _versions():
    """Where the studios' versions live: the database cache whenever there is one (the default
    cache, or `fallback` beside Redis), else the default cache. Every timetable request reads a
    version and every booking writes one: in the database the read rides along with the member's
    own statement (a Redis GET costs ~0.4 ms of CPU through Django's client, the UPSERT of a bump
    less than a Redis SET), and pages held in process keep being served while Redis is down."""
    backend = caches["default"]
    if not isinstance(backend, DatabaseCache) and "fallback" in settings.CACHES:
        fallback = caches["fallback"]
        if isinstance(fallback, DatabaseCache):
            return fallback
    return backend


def _version_in_database() -> bool:
    """The version lives in the database cache on the default database: it is read in the same
    statement as the member's ids."""
    backend = _versions()
    return (
        isinstance(backend, DatabaseCache)
        and router.db_for_read(backend.cache_model_class) == DEFAULT_DB_ALIAS
        and connection.vendor in ("postgresql", "sqlite")
    )


def _member_read(member, page: Page | None, version_key: str | None, now: datetime) -> tuple[dict, bool, object]:
    """In one statement (a UNION ALL): the member's live bookings and waiting entries on the
    page's sessions, their ACTIVE redemptions that may grant priority booking and, with
    `version_key`, the studio's version in the database cache. Returns (mine, priority,
    version); no statement at all when there is nothing to read.

    The page's sessions are named by their start range, not by a list of ids: a member holds a
    handful of live bookings, and a list of 50 UUID parameters cost more CPU to send than the
    query takes to run. Raw SQL: composing these through the ORM cost more CPU than the rest of
    a cached page."""
    quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
    text = "::text" if connection.vendor == "postgresql" else ""
    branches: list[str] = []
    params: list = []
    if member is not None and page is not None and page.first is not None:
        member_id = Member._meta.pk.get_db_prep_value(member.pk, connection)
        if text:
            # PostgreSQL: the page's sessions as one array literal (rendered with the page), which
            # plans faster than a join on the start range (0.44 against 0.60 ms for the statement).
            join, on_page, page_params = "", "{0}.session_id = ANY(%s::uuid[])", [page.session_array]
        else:
            join = f"INNER JOIN {quote(Session._meta.db_table)} s ON s.id = {{0}}.session_id "
            on_page, page_params = "s.starts_at >= %s AND s.starts_at <= %s", [adapt(page.first), adapt(page.last)]
        branches.append(
            f"SELECT 'b', b.session_id{text}, b.id{text} FROM {quote(Booking._meta.db_table)} b {join.format('b')}"
            f"WHERE b.member_id = %s AND b.status IN ({', '.join(['%s'] * len(LIVE_BOOKING_STATUSES))}) "
            f"AND NOT b.is_guest AND {on_page.format('b')}"
        )
        params += [member_id, *LIVE_BOOKING_STATUSES, *page_params]
        branches.append(
            f"SELECT 'w', w.session_id{text}, w.id{text} FROM {quote(WaitlistEntry._meta.db_table)} w "
            f"{join.format('w')}WHERE w.member_id = %s AND w.status = %s AND {on_page.format('w')}"
        )
        params += [member_id, WaitlistEntry.Status.WAITING.value, *page_params]
        # The benefit is checked on the decoded list below; LIKE only narrows the rows sent.
        branches.append(
            f"SELECT 'p', r.benefits{text}, NULL FROM {quote(Redemption._meta.db_table)} r "
            "WHERE r.member_id = %s AND r.status = %s AND (r.credits_expire_at IS NULL OR r.credits_expire_at > %s) "
            f"AND r.benefits{text} LIKE %s"
        )
        params += [member_id, Redemption.Status.ACTIVE.value, adapt(now), f"%{BENEFIT_PRIORITY_BOOKING}%"]
    if version_key is not None:
        backend = _versions()
        branches.append(
            f"SELECT 'v', c.value, NULL FROM {quote(backend._table)} c WHERE c.cache_key = %s AND c.expires > %s"
        )
        params += [backend.make_key(version_key), adapt(now)]
    mine: dict = {}
    priority = False
    version = None if version_key is not None else _UNREAD
    if not branches:
        return mine, priority, version
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), params)
        found = cursor.fetchall()
    normal = str if text else (lambda value: str(uuid.UUID(value)))
    for kind, first_value, second_value in found:
        if kind == "b" or kind == "w":
            session_id = normal(first_value)
            booking_id, entry_id = mine.get(session_id, (None, None))
            if kind == "b":
                mine[session_id] = (normal(second_value), entry_id)
            else:
                mine[session_id] = (booking_id, normal(second_value))
        elif kind == "p":
            benefits = json.loads(first_value) if first_value else None
            priority = priority or BENEFIT_PRIORITY_BOOKING in (benefits or [])
        else:
            try:
                version = pickle.loads(base64.b64decode(first_value.encode()))  # noqa: S301 - the cache's own rows
            except Exception:  # noqa: BLE001 - unreadable: as if missing
                version = None
    return mine, priority, version
