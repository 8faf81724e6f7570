"""A per-process circuit breaker for Redis (the shared cache and throttles, the Celery broker).

Redis is never needed to answer a request: a cache that fails is a miss (the timetable reads the
database), the throttles count in the database cache (`spinning/throttling.py`), a hand-off that
fails leaves the message to the sweep (`members_app/notifications/delivery.py`). What a Redis
that is down still cost was time: every call waited for its failure, up to the connect or socket
timeout (1-2 s for the cache, 2-5 s for the broker) when the server hangs or its host is gone.

So after a connection failure the process skips that Redis (host and port: the cache and the
broker usually share one) for `REDIS_BREAKER_SECONDS` (default 5; 0 turns the breaker off):
calls fail at once with `RedisSkipped`, which the callers treat like the failure itself. The
first call after the pause tries again; a success closes the breaker, a failure opens it for
another pause. Each process learns on its own (one slow call per process and pause at most).
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

import redis.exceptions
from django.conf import settings

log = logging.getLogger(__name__)

# What says "this Redis cannot be reached" (a refused or timed-out connection, a reset socket);
# kombu wraps the same in its OperationalError, which the broker's caller counts itself.
CONNECTION_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class RedisSkipped(redis.exceptions.ConnectionError):
    """Not tried: the breaker is open after a recent connection failure."""


class CircuitBreaker:
    def __init__(self, name: str):
        self.name = name
        self.open_until = 0.0  # time.time(): time-machine moves it in tests

    def pause(self) -> float:
        return float(getattr(settings, "REDIS_BREAKER_SECONDS", 5))

    def is_open(self) -> bool:
        now = time.time()
        if now >= self.open_until:
            return False
        if self.open_until - now > self.pause():  # the clock was set back: do not skip for longer
            self.open_until = 0.0
            return False
        return True

    def failed(self, error: BaseException | None = None) -> None:
        pause = self.pause()
        if pause <= 0:
            return
        self.open_until = time.time() + pause
        log.warning("redis %s unreachable (%s); skipped by this process for %.0f s", self.name, error, pause)

    def succeeded(self) -> None:
        if self.open_until:
            self.open_until = 0.0
            log.warning("redis %s reachable again", self.name)

    def check(self) -> None:
        """Raise `RedisSkipped` while open."""
        if self.is_open():
            raise RedisSkipped(f"redis {self.name} skipped after a connection failure (REDIS_BREAKER_SECONDS)")

    def call(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` unless open; a connection failure opens the breaker."""
        self.check()
        try:
            result = function(*args, **kwargs)
        except CONNECTION_ERRORS as error:
            self.failed(error)
            raise
        self.succeeded()
        return result


_breakers: dict[str, CircuitBreaker] = {}
_lock = threading.Lock()


def breaker_for(url: str) -> CircuitBreaker:
    """The process's breaker of the Redis at `url` (one per host and port, whatever the db)."""
    parts = urlsplit(url)
    name = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    with _lock:
        return _breakers.setdefault(name, CircuitBreaker(name))


def reset_all() -> None:
    """Close every breaker (tests)."""
    with _lock:
        for breaker in _breakers.values():
            breaker.open_until = 0.0
