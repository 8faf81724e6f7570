"""Every error leaves in the API.md shape ({code, detail, fields?}); bad input is never a 500."""

import uuid

import pytest
from django.test import Client

from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) <= {"code", "detail", "fields"}, body
    assert body["code"] and isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    if "fields" in body:
        assert body["code"] == "validation_error"
        assert all(isinstance(v, list) and v for v in body["fields"].values()), body
    return body


@pytest.fixture
def studio():
    return OrganizationFactory(slug="errors")


@pytest.fixture
def member(studio):
    return MemberFactory(organization=studio)


@pytest.fixture
def admin(api, studio):
    return api(staff_user(studio, StaffRole.Role.ADMIN))


# --- malformed bodies -----------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["{bad json", '{"email": "a@b.c",}', "\xff\xfe", "[1, 2"])
def test_bad_json_is_400_parse_error(api, studio, raw):
    response = api(org=studio).post("/api/auth/token", raw, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_empty_json_body_is_a_validation_error(api):
    response = api().post("/api/auth/token", "", content_type="application/json")
    assert {"email", "password"} <= set(assert_error(response, 400, "validation_error")["fields"])


def test_bad_json_on_an_authenticated_write_is_400(admin, member):
    response = admin.patch(f"/api/members/{member.pk}", "{nope", content_type="application/json")
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null", "[1, 2]"])
def test_json_that_is_not_an_object_is_400(admin, member, body):
    response = admin.post(f"/api/members/{member.pk}/credit-adjustments", body, content_type="application/json")
    assert_error(response, 400)


def test_unsupported_media_type_is_415(admin, member):
    response = admin.post(f"/api/members/{member.pk}/credit-adjustments", "amount=1", content_type="text/csv")
    assert_error(response, 415, "unsupported_media_type")


def test_a_nul_character_in_a_json_string_is_400_null_character(admin, member):
    """The one parser refuses it for every field alike (it used to be each field's own rule)."""
    body = {"amount": 1, "reason": "a\x00b"}
    response = admin.post(f"/api/members/{member.pk}/credit-adjustments", body, format="json")
    assert_error(response, 400, "null_character")


def test_unacceptable_accept_header_is_406(api, studio):
    assert_error(api(org=studio).get("/api/organization", HTTP_ACCEPT="text/csv"), 406, "not_acceptable")


# --- wrong types ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path_kind, body, field",
    [
        ("adjust", {"amount": "three", "reason": "x"}, "amount"),
        ("adjust", {"amount": 1.5, "reason": "x"}, "amount"),
        ("adjust", {"amount": [1], "reason": "x"}, "amount"),
        ("adjust", {"amount": 10**30, "reason": "x"}, "amount"),
        ("adjust", {"amount": 1, "reason": {"a": 1}}, "reason"),
        ("adjust", {"amount": 1, "reason": "x", "expires_at": "tomorrow"}, "expires_at"),
        ("member", {"first_name": ["A"]}, "first_name"),
        ("member", {"first_name": "x" * 500}, "first_name"),
        ("member", {"status": 1}, "status"),
        ("org", {"credit_price": [1, 2]}, "credit_price"),
        ("org", {"credit_price": "1e20"}, "credit_price"),
        ("org", {"booking_window_days": "seven"}, "booking_window_days"),
        ("org", {"booking_window_days": 10**20}, "booking_window_days"),
        ("org", {"name": "x" * 300}, "name"),
        ("org", {"timezone": 5}, "timezone"),
    ],
)
def test_wrong_types_are_400_validation_error_naming_the_field(admin, member, path_kind, body, field):
    method, path = {
        "adjust": ("post", f"/api/members/{member.pk}/credit-adjustments"),
        "member": ("patch", f"/api/members/{member.pk}"),
        "org": ("patch", "/api/organization"),
    }[path_kind]
    response = getattr(admin, method)(path, body, format="json")
    assert field in assert_error(response, 400, "validation_error")["fields"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "x"},
        {"email": ["a@b.c"], "password": "x"},
        {"email": "a@b.c", "password": None},
    ],
)
def test_wrong_types_on_token_login(api, body):
    assert_error(api().post("/api/auth/token", body, format="json"), 400, "validation_error")


def test_nul_on_token_login(api):
    body = {"email": "a\x00@b.c", "password": "x"}
    assert_error(api().post("/api/auth/token", body, format="json"), 400, "null_character")


def test_nul_in_a_filter_is_400_not_a_database_error(admin):
    assert_error(admin.get("/api/members?q=%00"), 400, "null_character")


@pytest.mark.parametrize("query", ["?page=999", "?page=abc", "?page=0"])
def test_pages_that_do_not_exist_are_404(admin, query):
    assert_error(admin.get(f"/api/members{query}"), 404, "not_found")


def test_page_size_is_capped(admin, studio):
    MemberFactory.create_batch(3, organization=studio)
    assert len(admin.get("/api/members?page_size=100000").json()["results"]) == 3
    assert len(admin.get("/api/members?page_size=abc").json()["results"]) == 3


# --- ids ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", "/credit-transactions"])
def test_unknown_member_id_is_404(admin, suffix):
    assert_error(admin.get(f"/api/members/{uuid.uuid4()}{suffix}"), 404, "not_found")


def test_unknown_member_id_on_writes_is_404(admin):
    unknown = uuid.uuid4()
    assert_error(admin.patch(f"/api/members/{unknown}", {"phone": "1"}, format="json"), 404)
    assert_error(admin.post(f"/api/members/{unknown}/credit-adjustments", {"amount": 1, "reason": "x"}), 404)


NON_UUIDS = [
    "not-a-uuid",
    "123",
    "0000000000000000000000000000000000-0",  # 36 characters of hex and dashes, still not a UUID
    "------------------------------------",
    "g" * 32,
]


@pytest.mark.parametrize("suffix", ["", "/credit-transactions", "/credit-adjustments"])
def test_a_nul_in_a_path_id_is_400_null_character(admin, suffix):
    assert_error(admin.get(f"/api/members/%00{suffix}"), 400, "null_character")
    assert_error(admin.post(f"/api/members/a%00b{suffix}", {"amount": 1, "reason": "x"}), 400, "null_character")


@pytest.mark.parametrize("bad_id", NON_UUIDS)
@pytest.mark.parametrize("suffix", ["", "/credit-transactions"])
def test_non_uuid_member_id_is_404_for_staff(admin, bad_id, suffix):
    assert_error(admin.get(f"/api/members/{bad_id}{suffix}"), 404, "not_found")


def test_member_ids_are_matched_as_uuids_not_as_text(api, admin, member):
    upper = str(member.pk).upper()
    assert admin.get(f"/api/members/{upper}").json()["id"] == str(member.pk)
    assert api(member.user).get(f"/api/members/{upper}").json()["id"] == str(member.pk)
    assert api(member.user).get(f"/api/members/{upper}/credit-transactions").status_code == 200


@pytest.mark.parametrize("bad_id", NON_UUIDS)
def test_non_uuid_member_id_is_404_for_a_member(api, member, bad_id):
    assert_error(api(member.user).get(f"/api/members/{bad_id}"), 404, "not_found")


@pytest.mark.parametrize("bad_id", NON_UUIDS)
def test_non_uuid_member_id_on_writes_is_404(admin, bad_id):
    assert_error(admin.patch(f"/api/members/{bad_id}", {"phone": "1"}, format="json"), 404)
    assert_error(admin.post(f"/api/members/{bad_id}/credit-adjustments", {"amount": 1, "reason": "x"}), 404)


# --- paths and methods ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/nope", "/api/nope/", "/api/members/me/extra", "/api/v2/members"])
def test_unknown_api_path_is_a_json_404(api, studio, method, path):
    assert_error(getattr(api(org=studio), method)(path), 404, "not_found")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_api_path_is_404_also_for_a_browser_like_client_with_csrf_checks(method):
    # A real client has no CSRF exemption: the 404 must not turn into Django's HTML 403 page.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/nope", "{}", content_type="application/json")
    assert_error(response, 404, "not_found")


def test_405_has_the_error_shape(admin, member, api, studio):
    assert_error(admin.delete(f"/api/members/{member.pk}"), 405, "method_not_allowed")
    assert_error(admin.put(f"/api/members/{member.pk}", {}, format="json"), 405, "method_not_allowed")
    assert_error(admin.put("/api/organization", {}, format="json"), 405, "method_not_allowed")
    assert_error(admin.delete("/api/organization"), 405, "method_not_allowed")
    assert_error(admin.post("/api/members/me"), 405, "method_not_allowed")
    assert_error(admin.post("/api/organization/price-history"), 405, "method_not_allowed")
    assert_error(api().get("/api/auth/token"), 405, "method_not_allowed")
    assert_error(api().delete("/api/health"), 405, "method_not_allowed")


def test_401_has_the_error_shape_and_a_challenge(api, studio):
    response = api(org=studio).get("/api/members")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer nope", "Token nope"])
def test_bad_authorization_headers(api, studio, header):
    client = api(org=studio)
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/members")
    assert response.status_code == 401
    assert_error(response, 401)


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/health"),
        ("get", "/api/organization"),
        ("get", "/api/organization/price-history"),
        ("get", "/api/members"),
        ("get", "/api/members/me"),
        ("get", "/api/members/{id}"),
        ("patch", "/api/members/{id}"),
        ("get", "/api/members/{id}/credit-transactions"),
        ("post", "/api/members/{id}/credit-adjustments"),
        ("post", "/api/auth/token"),
        ("post", "/api/auth/register"),
    ],
)
@pytest.mark.parametrize("slash", ["", "/"])
def test_paths_answer_with_and_without_a_trailing_slash_without_redirect(api, studio, member, method, path, slash):
    user = staff_user(studio, StaffRole.Role.ADMIN)
    MemberFactory(organization=studio, user=user)  # so that /members/me answers too
    client = api(user, org=studio)
    bodies = {
        "/api/members/{id}": {"phone": "1"},
        "/api/members/{id}/credit-adjustments": {"amount": 1, "reason": "x"},
        "/api/auth/token": {"email": user.email, "password": "pass-word-123"},
        "/api/auth/register": {
            "email": "n@example.com",
            "password": "a-Strong-pass-42",
            "first_name": "N",
            "last_name": "M",
        },
    }
    url = path.replace("{id}", str(member.pk)) + slash
    response = getattr(client, method)(url, bodies.get(path), format="json")
    assert response.status_code in (200, 201), (url, response.status_code, response.content[:200])


def test_health(api):
    response = api().get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
