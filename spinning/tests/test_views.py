"""/api/health and the API schema and docs."""

import pytest
from django.db import OperationalError

from spinning import views

pytestmark = pytest.mark.django_db


def test_health_is_ok_without_auth_or_studio(api):
    response = api().get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_is_503_in_the_error_shape_when_the_database_does_not_answer(api, monkeypatch):
    class DeadConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", DeadConnection())
    response = api().get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "service_unavailable" and body["detail"]
    assert body["database"] == "unavailable"


def test_schema_and_docs_are_served(api):
    schema = api().get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/members/{id}/credit-adjustments" in schema.content
    assert api().get("/api/docs").status_code == 200
