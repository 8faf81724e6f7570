"""Row locks, taken one way everywhere.

Lock order for the whole code base (docs/ARCHITECTURE.md): Member -> Redemption -> Session ->
Booking -> Coupon -> CreditLot; rows of one kind are locked in primary-key order.

`lock()` returns the queryset with `SELECT ... FOR UPDATE OF <table>` in pk order (jobs pass
`skip_locked=True`: a row held by live traffic is left for the next run). Tests can switch locks
off with `locks_disabled()` to show the race a lock prevents (control tests only).
"""

from contextlib import contextmanager

from django.db import connections, router, transaction
from django.db.models import QuerySet

_enabled = True


def lock(queryset: QuerySet, *, skip_locked: bool = False) -> QuerySet:
    if not _enabled:
        return queryset.order_by("pk")
    return queryset.select_for_update(of=("self",), skip_locked=skip_locked).order_by("pk")


def hold(queryset: QuerySet) -> set:
    """Keep the rows a new row will point at from being deleted until this transaction ends, and
    return the primary keys of those still there: `SELECT pk ... FOR KEY SHARE`, the lock that a
    foreign-key check takes. Django checks foreign keys at commit (they are deferred), so without
    this a parent deleted meanwhile (a class, a location) only shows as an IntegrityError at the
    commit of the row pointing at it. Key-share locks do not block each other, nor plain updates
    of the parent; they block a delete (`lock` + DELETE), which then sees the new child. Use it on
    queries of one table (no joins). Elsewhere than PostgreSQL, or with locks off, a plain read."""
    db = router.db_for_write(queryset.model)
    ids = queryset.using(db).order_by("pk").values_list("pk", flat=True)
    if not _enabled or connections[db].vendor != "postgresql":
        return set(ids)
    sql, params = ids.query.sql_with_params()
    with connections[db].cursor() as cursor:
        cursor.execute(f"{sql} FOR KEY SHARE", params)
        return {row[0] for row in cursor.fetchall()}


def require_transaction(what: str) -> None:
    """Fail loudly when a building block that must share its caller's transaction (and the
    caller's locks) is called outside one: its writes would commit piecemeal, unlocked."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{what} must run inside the caller's transaction, with the member locked.")


def lock_skip_locked(queryset: QuerySet) -> QuerySet:
    """For jobs: lock the rows nobody else holds and leave the others for the next run, so a job
    never queues behind live traffic (`SELECT ... FOR UPDATE SKIP LOCKED OF <table>`)."""
    if not _enabled:
        return queryset.order_by("pk")
    return queryset.select_for_update(skip_locked=True, of=("self",)).order_by("pk")


def lock_one(queryset: QuerySet, **lookup):
    """Lock and return one row (raises the model's DoesNotExist)."""
    return lock(queryset.filter(**lookup)).get()


@contextmanager
def locks_disabled():
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True


def locks_enabled() -> bool:
    return _enabled


# Test hook: a concurrency test may install a callable that runs at named points right after a
# lock was taken or a check was made, to widen the window a missing lock would leave open.
_pause_hook = None


def pause(point: str) -> None:
    if _pause_hook is not None:
        _pause_hook(point)


@contextmanager
def pause_hook(hook):
    global _pause_hook
    _pause_hook = hook
    try:
        yield
    finally:
        _pause_hook = None
