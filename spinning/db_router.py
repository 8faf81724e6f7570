"""Reads that may lag a little go to a read replica, when there is one (docs/SCALING.md).

Enabled only when `DATABASE_REPLICA_URL` is set (`replica_settings`, called by settings.py): the
`replica` alias then points at a streaming replica of `default`, and `ReadReplicaRouter` sends
reads there **only inside `replica_reads()`** — the staff reports and, later, the timetable —
and never inside a transaction on `default` (a write path must read its own writes and lock
what it counts). Everything else, every write and every migration stays on `default`: a
member who booked and reloads sees the booking, whatever the replica's lag.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager

import dj_database_url

REPLICA = "replica"
_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block may come from the replica (seconds behind at worst)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reads_from_replica(function):
    """A selector whose reads may all come from the replica (the reports)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with replica_reads():
            return function(*args, **kwargs)

    return wrapper


class ReadReplicaRouter:
    def db_for_read(self, model, **hints):
        if not _replica_reads.get():
            return None
        from django.db import transaction  # settings.py imports this module: no django.db at import

        if transaction.get_connection("default").in_atomic_block:
            return None  # inside a write transaction: read what it wrote
        return REPLICA

    def db_for_write(self, model, **hints):
        return None  # default

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # the replica follows default by streaming replication


def replica_settings(databases: dict, environ) -> tuple[dict, list[str]]:
    """DATABASES with a `replica` alias and the router list, when DATABASE_REPLICA_URL is set;
    unchanged and no router otherwise. The replica keeps default's options (timeouts) and
    mirrors default in tests."""
    url = (environ.get("DATABASE_REPLICA_URL") or "").strip()
    if not url:
        return databases, []
    default = databases["default"]
    replica = dj_database_url.parse(
        url, conn_max_age=default.get("CONN_MAX_AGE", 0), conn_health_checks=default.get("CONN_HEALTH_CHECKS", False)
    )
    replica["OPTIONS"] = {**default.get("OPTIONS", {}), **replica.get("OPTIONS", {})}
    replica["TEST"] = {"MIRROR": "default"}
    return {**databases, REPLICA: replica}, ["spinning.db_router.ReadReplicaRouter"]
