"""Project-wide pytest fixtures: API clients per role, the studio factories, and helpers."""

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient


def pytest_configure(config):
    """Compile our message catalogs if they are missing or stale (never committed as .mo)."""
    import django

    django.setup()
    import subprocess
    import warnings

    from spinning.i18n import compile_catalogs

    try:
        compile_catalogs()
    except subprocess.CalledProcessError as error:  # a broken .po: tests/test_translations.py says why
        warnings.warn(
            f"the message catalog does not compile ({error}); Turkish texts fall back to English", stacklevel=1
        )


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="concurrency tests need PostgreSQL (row locks); SQLite serializes writers")
    for item in items:
        if "concurrency" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache(request):
    """Every test that uses the database starts with an empty cache (the throttles' counts live in
    the database cache). Cleared at the start only: a test's own rows roll back with it, and a
    command that closes the connection (execute_from_command_line) leaves nothing to clear with."""
    names = set(request.fixturenames)
    if names & {"transactional_db", "live_server"}:
        request.getfixturevalue("transactional_db")
    elif "db" in names:
        request.getfixturevalue("db")
    elif request.node.get_closest_marker("django_db") is None:
        return  # no database: nothing can have counted anything
    cache.clear()


@pytest.fixture
def api():
    """An API client factory: api(user=None, org=None) -> APIClient with Bearer token and X-Organization."""

    def make(user=None, org=None):
        client = APIClient()
        if user is not None:
            from members_app.services.accounts import token_issue

            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user).token}")
        if org is not None:
            client.defaults["HTTP_X_ORGANIZATION"] = org.slug if hasattr(org, "slug") else org
        return client

    return make


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free local port; `.messages` holds what it received
    (email.message.Message objects). Point Django at it with `smtp_settings(server)`."""
    from spinning.smtp_test_server import LocalSMTPServer

    server = LocalSMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_settings(settings):
    """Switch Django's mail to real SMTP at `server` (and back after the test)."""

    def use(server=None, *, port=None):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port if port is not None else server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 3

    return use
