"""CORS (API.md conventions): browsers on the origins of CORS_ALLOWED_ORIGINS may call the API;
a preflight needs no studio header; any other origin gets no CORS header at all."""

import pytest
from django.test import override_settings

from members_app.tests.factories import MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"


def preflight(client, path, origin, method="POST", headers="authorization, content-type, x-organization"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_a_preflight_from_an_allowed_origin_is_answered_without_a_studio(api):
    response = preflight(api(), "/api/bookings", APP, headers="authorization, content-type, idempotency-key")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-organization", "idempotency-key"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, no cookies
    # also on a trailing-slash path and on a path that needs a token
    assert preflight(api(), "/api/members/me/", APP, method="GET").status_code == 200


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_an_allowed_origin_reads_answers_and_errors(api):
    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    response = api(user=member.user, org=org).get("/api/members/me", HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    refused = api().get("/api/members/me", HTTP_ORIGIN=APP)  # 401 in the error shape, readable too
    assert refused.status_code == 401 and refused["Access-Control-Allow-Origin"] == APP
    assert "retry-after" in refused["Access-Control-Expose-Headers"].lower()


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_another_origin_gets_no_cors_headers(api):
    org = OrganizationFactory()
    for response in (
        preflight(api(), "/api/bookings", "https://evil.example.net"),
        api(org=org).get("/api/organization", HTTP_ORIGIN="https://evil.example.net"),
        api(org=org).get("/api/organization", HTTP_ORIGIN="http://app.example.com"),  # another scheme
    ):
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Headers" not in response


def test_by_default_no_origin_is_allowed(api, settings):
    assert settings.CORS_ALLOWED_ORIGINS == []  # the environment of the tests does not set it
    response = preflight(api(), "/api/bookings", APP)
    assert response.status_code == 200  # answered, but nothing a browser would accept
    assert "Access-Control-Allow-Origin" not in response


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_pages_outside_the_api_get_no_cors_headers(client):
    response = client.get("/admin/login/", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response
