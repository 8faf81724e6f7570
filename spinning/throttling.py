"""Throttles that hold across every server process (DOMAIN.md 1, API.md "Operations").

They count in the default cache, which every process shares (the database cache unless
`REDIS_URL` moves it to Redis), and they key on the client address behind `NUM_PROXIES` trusted
proxies (DRF's semantics; 0 = REMOTE_ADDR, so a spoofed X-Forwarded-For buys nothing).

- `LoginFailures`: wrong passwords, per client address AND per email, for the API login and the
  admin login alike (`THROTTLE_LOGIN_FAILURES`). Only failures count; once either count is full
  every attempt is refused (429), the right password too, until the window slides on.
- `RegistrationThrottle` (per address) and `PasswordResetThrottle` (per address and per email):
  every request counts.
Rates are read when used (not at import), so `override_settings` works in tests.

The counters survive a cache that fails (Redis stopped): every read and write goes through
`guarded_cache`, which on an error of the default cache uses the database cache `fallback`
(settings, with `REDIS_URL`) and, without one, counts nothing. A throttle never answers 500;
during a Redis outage the counts start again in the database (`make faults`, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from spinning.breaker import RedisSkipped

log = logging.getLogger(__name__)


class GuardedCache:
    """`get` and `set` of the default cache that never raise: on an error (Redis unreachable) the
    `fallback` cache of settings.CACHES (the database cache) is used, else the read finds nothing
    and the write is dropped."""

    def __init__(self, primary=None):
        self.primary = primary or default_cache

    def _fallback(self):
        if "fallback" in settings.CACHES:
            return caches["fallback"]
        return None

    def get(self, key, default=None):
        try:
            return self.primary.get(key, default)
        except Exception as error:  # noqa: BLE001 - the shared cache is down: count in the fallback
            _warn("get", key, error)
            fallback = self._fallback()
            if fallback is None:
                return default
            try:
                return fallback.get(key, default)
            except Exception:  # noqa: BLE001
                return default

    def set(self, key, value, timeout=None):
        try:
            self.primary.set(key, value, timeout)
            return
        except Exception as error:  # noqa: BLE001
            _warn("set", key, error)
        fallback = self._fallback()
        if fallback is not None:
            try:
                fallback.set(key, value, timeout)
            except Exception:  # noqa: BLE001
                pass


def _warn(operation: str, key: str, error: Exception) -> None:
    # a Redis the breaker skips (spinning/breaker.py) logged its failure once: no traceback per call
    log.warning(
        "throttle cache unavailable (%s %s); using the fallback",
        operation,
        key,
        exc_info=not isinstance(error, RedisSkipped),
    )


guarded_cache = GuardedCache()


def client_address(request) -> str:
    """The client address behind `NUM_PROXIES` trusted proxies (works for Django and DRF requests)."""
    return BaseThrottle().get_ident(request)


def rate_of(scope: str) -> tuple[int, int]:
    """(number of requests, window in seconds) of a scope in DEFAULT_THROTTLE_RATES."""
    rate = api_settings.DEFAULT_THROTTLE_RATES[scope]
    return SimpleRateThrottle.parse_rate(None, rate)


def email_key(email: str) -> str:
    """A short, cache-safe key for an email (never the address itself in a cache key)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class SlidingWindow:
    """A sliding-window counter per key in the shared cache (the history of DRF's throttles).

    `wait(keys)` -> seconds until any of the keys has room again (None: all have room);
    `hit(keys)` counts one more event on each key. Under exact simultaneity two processes may
    both read the same history (the database cache has no atomic append), so a burst can pass
    the limit by the number of requests in flight at once; it never resets a count.
    """

    def __init__(self, scope: str, cache=None):
        self.scope = scope
        self.cache = cache or guarded_cache

    def _key(self, key: str) -> str:
        return f"throttle:{self.scope}:{key}"

    def _history(self, key: str, now: float, duration: int) -> list[float]:
        return [t for t in self.cache.get(self._key(key), []) if t > now - duration]

    def wait(self, keys: list[str], *, now: float | None = None) -> int | None:
        num, duration = rate_of(self.scope)
        now = time.time() if now is None else now
        waits = []
        for key in keys:
            history = self._history(key, now, duration)
            if len(history) >= num:
                waits.append(max(1, math.ceil(duration - (now - min(history)))))
        return max(waits) if waits else None

    def hit(self, keys: list[str], *, now: float | None = None) -> None:
        num, duration = rate_of(self.scope)
        now = time.time() if now is None else now
        for key in keys:
            history = self._history(key, now, duration)
            history.append(now)
            self.cache.set(self._key(key), history[-num:], duration)


def login_failure_keys(request, email: str) -> list[str]:
    return [f"addr:{client_address(request)}", f"email:{email_key(email)}"]


def login_failures(cache=None) -> SlidingWindow:
    return SlidingWindow("login_failures", cache=cache)


class _ScopedThrottle(SimpleRateThrottle):
    """A DRF throttle whose rate is read at request time from DEFAULT_THROTTLE_RATES[scope]."""

    scope = ""
    cache = guarded_cache

    def __init__(self):  # DRF reads the rate in __init__; we read it per request below
        pass

    def allow_request(self, request, view):
        self.rate = api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def wait(self):
        wait = super().wait()
        return None if wait is None else max(1, math.ceil(wait))


class RegistrationThrottle(_ScopedThrottle):
    """THROTTLE_REGISTRATION: registrations per client address."""

    scope = "registration"

    def get_cache_key(self, request, view):
        return f"throttle:registration:addr:{client_address(request)}"


class PasswordResetThrottle(_ScopedThrottle):
    """THROTTLE_PASSWORD_RESET: reset requests per client address."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        return f"throttle:password_reset:addr:{client_address(request)}"


class PasswordResetEmailThrottle(_ScopedThrottle):
    """THROTTLE_PASSWORD_RESET: reset requests per email (whether or not it has an account)."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        # An unparsable body raises here and is answered like in the view (parse_error / 415).
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return f"throttle:password_reset:email:{email_key(email)}"
