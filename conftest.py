"""Project-wide pytest fixtures: API clients per role, the studio factories, and helpers."""

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="concurrency tests need PostgreSQL (row locks); SQLite serializes writers")
    for item in items:
        if "concurrency" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    """An API client factory: api(user=None, org=None) -> APIClient with Bearer token and X-Organization."""

    def make(user=None, org=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
        if org is not None:
            client.defaults["HTTP_X_ORGANIZATION"] = org.slug if hasattr(org, "slug") else org
        return client

    return make


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"
