"""Throttles (issue 8 item 5; DOMAIN.md 1, API.md "Operations").

Before the fix: 40 wrong logins with 40 spoofed X-Forwarded-For addresses all got through (DRF
trusted the header with NUM_PROXIES unset, and counted in a per-process memory cache), the admin
login had no throttle, password reset did not exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from rest_framework.test import APIClient

from members_app.models import User
from members_app.tests.factories import MemberFactory, OrganizationFactory
from members_app.tests.utils import assert_error
from spinning.throttling import SlidingWindow, login_failure_keys

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"


@pytest.fixture
def member():
    return MemberFactory(organization=OrganizationFactory(slug="studio-a"))


def rates(settings, **changes):
    """Override DEFAULT_THROTTLE_RATES (and other REST_FRAMEWORK keys) for one test."""
    rest = dict(settings.REST_FRAMEWORK)
    num_proxies = changes.pop("NUM_PROXIES", rest.get("NUM_PROXIES"))
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **changes}
    rest["NUM_PROXIES"] = num_proxies
    settings.REST_FRAMEWORK = rest


def limit(scope: str) -> int:
    return int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])


def login(client, email, password, **extra):
    return client.post("/api/auth/token", {"email": email, "password": password}, format="json", **extra)


def assert_throttled(response):
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


# --- the shared cache ---------------------------------------------------------------------------
def test_the_default_cache_is_the_database_shared_by_every_process():
    assert caches["default"].__class__.__name__ == "DatabaseCache"
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == 0  # REMOTE_ADDR unless told otherwise


@pytest.mark.parametrize("redis_url, backend", [("", "DatabaseCache"), ("redis://127.0.0.1:6379/0", "BreakerRedisCache")])
def test_redis_url_moves_the_cache_to_redis(redis_url, backend):
    env = {**os.environ, "SPINNING_ALLOW_DEV_SECRET": "1", "REDIS_URL": redis_url}
    code = "import spinning.settings as s; print(s.CACHES['default']['BACKEND'].rsplit('.', 1)[1])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == backend


def test_two_cache_clients_share_the_count(settings):
    """Two separate cache clients (as two server processes hold) see one count."""
    rates(settings, login_failures="3/min")
    one, other = caches.create_connection("default"), caches.create_connection("default")
    assert one is not other
    keys = ["addr:203.0.113.9", "email:x"]
    for _ in range(3):
        assert SlidingWindow("login_failures", cache=one).wait(keys) is None
        SlidingWindow("login_failures", cache=one).hit(keys)
    assert SlidingWindow("login_failures", cache=other).wait(keys) > 0


@pytest.mark.django_db(transaction=True)
def test_failures_counted_on_one_connection_throttle_another(member):
    """Wrong logins served on one thread (its own database connection and cache client); the next
    login on another thread is refused: nothing lives in one process's memory."""
    email = member.user.email

    def wrong_logins():
        try:
            for n in range(limit("login_failures")):
                assert login(APIClient(), email, f"guess-{n}").status_code == 400
        finally:
            from django.db import connection

            connection.close()

    worker = threading.Thread(target=wrong_logins)
    worker.start()
    worker.join()
    assert_throttled(login(APIClient(), email, PASSWORD))


@pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"], reason="needs a server DB")
@pytest.mark.django_db(transaction=True)
def test_a_separate_process_sees_the_count(member):
    """A real second process reads the count the test process wrote."""
    from django.db import connection

    for n in range(limit("login_failures")):
        assert login(APIClient(), member.user.email, f"guess-{n}").status_code == 400
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    code = (
        "import django; django.setup()\n"
        "from spinning.throttling import SlidingWindow, email_key\n"
        f"print(SlidingWindow('login_failures').wait(['email:' + email_key({member.user.email!r})]))\n"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "spinning.settings_test"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(result.stdout.strip()) > 0, result.stdout


# --- login: spoofed X-Forwarded-For, per address and per email ----------------------------------
def test_forty_wrong_logins_with_forty_spoofed_addresses_are_throttled(member):
    """The probe's scenario: each guess claims another X-Forwarded-For; only `limit` get an answer."""
    client = APIClient()
    statuses = [
        login(client, member.user.email, f"guess-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(40)
    ]
    assert statuses == [400] * limit("login_failures") + [429] * (40 - limit("login_failures"))
    assert_throttled(login(client, member.user.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.200"))


def test_wrong_logins_for_many_emails_from_one_address_are_throttled(member):
    """Per client address: spraying one password over many emails stops too."""
    client = APIClient()
    statuses = [
        login(client, f"person-{n}@example.com", "Summer2026!", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(limit("login_failures") + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {400}


def test_wrong_logins_for_one_email_from_many_real_addresses_are_throttled(settings, member):
    """Per email: behind one trusted proxy, 40 real addresses guessing one person's password."""
    rates(settings, NUM_PROXIES=1)
    statuses = [
        login(APIClient(), member.user.email, f"g-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(40)
    ]
    assert statuses.count(400) == limit("login_failures")


def test_behind_a_trusted_proxy_the_address_it_saw_is_counted(settings, member):
    """NUM_PROXIES=1: the proxy's entry (right-most) is the client; a forged left part is ignored,
    and two clients behind the proxy have counts of their own."""
    rates(settings, NUM_PROXIES=1, login_failures="2/min")
    for n in range(2):
        forged = f"10.0.0.{n}, 203.0.113.7"  # the client sent "10.0.0.n", the proxy appended its view
        assert login(APIClient(), f"nobody-{n}@example.com", "x", HTTP_X_FORWARDED_FOR=forged).status_code == 400
    assert_throttled(login(APIClient(), "nobody-9@example.com", "x", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7"))
    assert login(APIClient(), member.user.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


def test_right_logins_do_not_count(member):
    client = APIClient()
    for _ in range(limit("login_failures") + 2):
        assert login(client, member.user.email, PASSWORD).status_code == 200


def test_the_window_slides_on(settings, member, time_machine):
    rates(settings, login_failures="2/min")
    time_machine.move_to("2026-12-03 10:00:00+00:00", tick=False)
    for n in range(2):
        login(APIClient(), member.user.email, f"guess-{n}")
    response = login(APIClient(), member.user.email, PASSWORD)
    assert_throttled(response)
    assert 1 <= int(response["Retry-After"]) <= 60
    time_machine.move_to("2026-12-03 10:01:01+00:00", tick=False)
    assert login(APIClient(), member.user.email, PASSWORD).status_code == 200


def test_register_with_an_existing_email_and_a_wrong_password_counts_as_a_failed_login(settings, member):
    """Registering with someone's email checks their password: the same guard as the login."""
    rates(settings, login_failures="2/min")
    org = OrganizationFactory(slug="studio-b")
    client = APIClient()
    client.defaults["HTTP_X_ORGANIZATION"] = org.slug
    body = {"email": member.user.email, "first_name": "A", "last_name": "B"}
    for n in range(2):
        assert_error(client.post("/api/auth/register", {**body, "password": f"guess-{n}-long"}, format="json"), 409)
    assert_throttled(client.post("/api/auth/register", {**body, "password": PASSWORD}, format="json"))


# --- admin login -------------------------------------------------------------------------------
@pytest.fixture
def superuser():
    return User.objects.create_superuser(email="root@example.com", password=PASSWORD)


def admin_login(client, username, password, **extra):
    return client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"}, **extra)


def test_admin_login_is_throttled(client, superuser):
    for n in range(limit("login_failures")):
        response = admin_login(client, superuser.email, f"guess-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 200 and b"correct email" in response.content.lower()
    response = admin_login(client, superuser.email, PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_admin_login_still_works_below_the_limit(client, superuser):
    admin_login(client, superuser.email, "wrong")
    response = admin_login(client, superuser.email, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_admin_and_api_logins_share_one_count(client, superuser):
    half = limit("login_failures") // 2
    for n in range(half):
        assert login(APIClient(), superuser.email, f"api-{n}").status_code == 400
    for n in range(limit("login_failures") - half):
        assert admin_login(client, superuser.email, f"admin-{n}").status_code == 200
    assert_throttled(login(APIClient(), superuser.email, PASSWORD))


# --- registration and password reset ------------------------------------------------------------
def registration(n: int) -> dict:
    return {"email": f"new-{n}@example.com", "password": "a-long-pass-2026", "first_name": "N", "last_name": "M"}


def test_registration_is_throttled_per_address_whatever_x_forwarded_for_says(settings):
    rates(settings, registration="3/hour")
    OrganizationFactory(slug="studio-a")
    client = APIClient()
    client.defaults["HTTP_X_ORGANIZATION"] = "studio-a"
    for n in range(3):
        response = client.post("/api/auth/register", registration(n), format="json", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
        assert response.status_code == 201
    response = client.post("/api/auth/register", registration(9), format="json", HTTP_X_FORWARDED_FOR="1.2.3.9")
    assert_throttled(response)
    assert not User.objects.filter(email="new-9@example.com").exists()


def test_password_reset_is_throttled_per_address(settings, mailoutbox):
    client = APIClient()
    answers = [
        client.post("/api/auth/password-reset", {"email": f"p{n}@example.com"}, format="json").status_code
        for n in range(limit("password_reset") + 1)
    ]
    assert answers == [202] * limit("password_reset") + [429]


def test_password_reset_is_throttled_per_email(settings, member):
    from members_app.models import Notification

    rates(settings, NUM_PROXIES=1)
    email = {"email": member.user.email}
    answers = [
        APIClient()
        .post("/api/auth/password-reset", email, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        .status_code
        for n in range(limit("password_reset") + 1)
    ]
    assert answers == [202] * limit("password_reset") + [429]
    # one reset message queued in the outbox per answered request (delivered after the commit)
    assert Notification.objects.filter(kind="password_reset").count() == limit("password_reset")


def test_throttle_keys_never_hold_an_email(rf):
    request = rf.post("/api/auth/token", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    keys = login_failure_keys(request, "Someone@Example.com")
    assert keys[0] == "addr:192.0.2.1"
    assert "example" not in keys[1].lower()
    assert keys == login_failure_keys(request, "someone@example.com ")


# --- Redis down (issue 14, `make faults`) -------------------------------------------------------
def _redis_down(settings):
    """The default cache is a Redis nobody listens on (Redis stopped); the database cache is the
    fallback, as settings.py makes it with REDIS_URL."""
    from bench.common import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
        "fallback": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "spinning_cache"},
    }


def test_with_redis_down_wrong_logins_are_still_counted_in_the_database_not_a_500(settings, member):
    _redis_down(settings)
    rates(settings, login_failures="3/min")
    client = APIClient()
    for n in range(3):
        assert login(client, member.user.email, f"wrong-{n}").status_code == 400
    assert_throttled(login(client, member.user.email, PASSWORD))


def test_with_redis_down_and_no_fallback_the_throttle_lets_requests_through(settings):
    _redis_down(settings)
    del settings.CACHES["fallback"]
    rates(settings, registration="1/hour")
    OrganizationFactory(slug="studio-a")
    client = APIClient()
    client.defaults["HTTP_X_ORGANIZATION"] = "studio-a"
    for n in range(2):  # nothing to count in: no 429, and above all no 500
        assert client.post("/api/auth/register", registration(n), format="json").status_code == 201
