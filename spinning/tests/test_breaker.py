"""The Redis circuit breaker (spinning/breaker.py): after a connection failure a process skips
that Redis for REDIS_BREAKER_SECONDS instead of waiting for a timeout on every call.

The failure is real where it matters: a server that accepts connections and never answers (a
hung or frozen Redis, the case where every call used to wait for its socket timeout)."""

from __future__ import annotations

import socket
import time

import pytest
import redis.exceptions
from django.core.cache import caches
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from members_app.models import Notification
from members_app.notifications import delivery
from members_app.tests.factories import MemberFactory, OrganizationFactory
from spinning import breaker as breakers
from spinning.breaker import CircuitBreaker, RedisSkipped, breaker_for

START = "2026-12-03 10:00:00+00:00"


@pytest.fixture(autouse=True)
def closed_breakers():
    breakers.reset_all()
    yield
    breakers.reset_all()


@pytest.fixture
def silent_redis():
    """A TCP server that takes connections and never answers: every call waits its socket timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def _timed(call):
    started = time.perf_counter()
    try:
        call()
    except Exception as error:  # noqa: BLE001
        return time.perf_counter() - started, error
    return time.perf_counter() - started, None


def test_a_failure_opens_the_breaker_for_the_pause_then_one_call_tries_again(settings, time_machine):
    settings.REDIS_BREAKER_SECONDS = 5
    time_machine.move_to(START, tick=False)
    breaker, calls = CircuitBreaker("test:1"), []

    def down():
        calls.append(1)
        raise redis.exceptions.ConnectionError("refused")

    with pytest.raises(redis.exceptions.ConnectionError):
        breaker.call(down)
    # within the pause: not tried at all
    time_machine.shift(4.9)
    with pytest.raises(RedisSkipped):
        breaker.call(down)
    assert len(calls) == 1
    # after it: tried again; failing again opens it for another pause
    time_machine.shift(0.2)
    with pytest.raises(redis.exceptions.ConnectionError):
        breaker.call(down)
    assert len(calls) == 2
    time_machine.shift(1)
    with pytest.raises(RedisSkipped):
        breaker.call(down)
    # once Redis answers, every call goes through
    time_machine.shift(5)
    assert breaker.call(lambda: "ok") == "ok"
    assert not breaker.is_open()


def test_errors_other_than_the_connection_do_not_open_it(settings):
    breaker = CircuitBreaker("test:2")
    with pytest.raises(redis.exceptions.ResponseError):
        breaker.call(lambda: (_ for _ in ()).throw(redis.exceptions.ResponseError("WRONGTYPE")))
    assert not breaker.is_open()


def test_zero_seconds_turns_it_off_and_a_clock_set_back_does_not_prolong_it(settings, time_machine):
    time_machine.move_to(START, tick=False)
    breaker = CircuitBreaker("test:3")
    settings.REDIS_BREAKER_SECONDS = 0
    breaker.failed(OSError("refused"))
    assert not breaker.is_open()
    settings.REDIS_BREAKER_SECONDS = 5
    breaker.failed(OSError("refused"))
    assert breaker.is_open()
    time_machine.shift(-3600)  # the clock was set back an hour
    assert not breaker.is_open()


def test_one_breaker_per_server_whatever_the_database():
    assert breaker_for("redis://127.0.0.1:6390/0") is breaker_for("redis://127.0.0.1:6390/1")
    assert breaker_for("redis://127.0.0.1:6390/0") is not breaker_for("redis://127.0.0.1:6391/0")


@pytest.mark.django_db
def test_a_hung_redis_costs_the_cache_one_timeout_per_pause_not_one_per_call(settings, silent_redis, time_machine):
    settings.REDIS_BREAKER_SECONDS = 5
    settings.CACHES = {
        "default": {
            "BACKEND": "spinning.cache.BreakerRedisCache",
            "LOCATION": silent_redis,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    time_machine.move_to(START, tick=True)
    cache = caches.create_connection("default")
    took, error = _timed(lambda: cache.get("k"))
    assert isinstance(error, redis.exceptions.TimeoutError) and took >= 0.45
    for call in (lambda: cache.get("k"), lambda: cache.set("k", 1), lambda: cache.get_many(["k", "j"])):
        took, error = _timed(call)
        assert isinstance(error, RedisSkipped) and took < 0.05
    time_machine.shift(5.1)
    took, error = _timed(lambda: cache.get("k"))
    assert isinstance(error, redis.exceptions.TimeoutError) and took >= 0.45  # tried again


@pytest.mark.django_db
def test_with_redis_hung_wrong_logins_are_counted_in_the_database_without_waiting(settings, silent_redis):
    from spinning.tests.test_throttling import PASSWORD, assert_throttled, login, rates

    settings.CACHES = {
        "default": {
            "BACKEND": "spinning.cache.BreakerRedisCache",
            "LOCATION": silent_redis,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
        "fallback": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "spinning_cache"},
    }
    rates(settings, login_failures="3/min")
    member = MemberFactory(organization=OrganizationFactory(slug="studio-a"))
    client = APIClient()
    started = time.perf_counter()
    for n in range(3):
        assert login(client, member.user.email, f"wrong-{n}").status_code == 400
    assert_throttled(login(client, member.user.email, PASSWORD))
    # one socket timeout (0.5 s) in all, not one per cache call (about 16 here)
    assert time.perf_counter() - started < 2.5


@pytest.mark.django_db
def test_a_broker_that_failed_is_not_tried_again_until_the_pause_is_over(
    settings, monkeypatch, time_machine, django_capture_on_commit_callbacks
):
    from members_app.notifications import notify
    from members_app.tasks import deliver_notification

    settings.NOTIFY_DELIVERY = "celery"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6399/0"
    settings.REDIS_BREAKER_SECONDS = 5
    time_machine.move_to(START, tick=False)
    published: list[str] = []

    def broker_down(*, args, retry):
        published.append(args[0])
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(deliver_notification, "apply_async", broker_down)
    member = MemberFactory()

    def write():
        from django.db import transaction

        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return notify(kind=Notification.Kind.MEMBER_ADDED, member=member)

    first, second = write(), write()
    assert published == [str(first.pk)]  # the second hand-off was skipped, not tried
    time_machine.shift(6)
    third = write()
    assert published == [str(first.pk), str(third.pk)]
    # every row stays QUEUED for the sweep, which sends them
    assert set(Notification.objects.values_list("status", flat=True)) == {Notification.Status.QUEUED}
    assert delivery.deliver_due()["sent"] == 3
    assert second.pk
