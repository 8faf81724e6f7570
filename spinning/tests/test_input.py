"""Bad input never answers 500 (issue 8 items 7-8, API.md conventions): JSON only, bounded depth,
no NUL character anywhere a request carries text."""

import json
import re
import uuid

import pytest
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user
from packages_app.models import Coupon, Package
from spinning.errors import NullCharacter, TooDeeplyNested
from spinning.parsers import MAX_DEPTH, JsonOnlyParser, check_depth

DEEP = "[" * 1000 + "]" * 1000


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# --- the parser ---------------------------------------------------------------------------------
def test_the_json_parser_is_the_only_parser():
    assert settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] == ["spinning.parsers.JsonOnlyParser"]


def test_the_parser_refuses_a_form_with_415():
    raw = APIRequestFactory().post("/x", {"a": "1"}, format="multipart")
    request = Request(raw, parsers=[JsonOnlyParser()])
    with pytest.raises(UnsupportedMediaType):
        request.data  # noqa: B018


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1, 1000])
def test_depth_is_bounded_at_the_edge(depth):
    text = _nested(depth)
    if depth <= MAX_DEPTH:
        check_depth(text)
        assert json.loads(text)
    else:
        with pytest.raises(TooDeeplyNested):
            check_depth(text)


def test_brackets_inside_strings_do_not_count():
    check_depth(json.dumps({"note": "[" * 500 + '\\"{' * 200}))


def test_a_nul_escape_is_refused_and_an_escaped_backslash_is_not():
    parser = JsonOnlyParser()

    def parse(text):
        from io import BytesIO

        return parser.parse(BytesIO(text.encode()), "application/json", {})

    with pytest.raises(NullCharacter):
        parse('{"name": "a\\u0000b"}')
    with pytest.raises(NullCharacter):
        parse('{"a\\u0000": 1}')
    with pytest.raises(NullCharacter):
        parse('[[{"x": ["\\u0000"]}]]')
    assert parse('{"name": "a\\\\u0000b"}') == {"name": "a\\u0000b"}


# --- through the API ------------------------------------------------------------------------------
@pytest.fixture
def org(db):
    return OrganizationFactory(timezone="Europe/Istanbul")


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/register", "/api/packages/quote"])
def test_json_nested_1000_deep_is_a_400(api, org, path):
    member = MemberFactory(organization=org)
    client = api(user=member.user, org=org) if path.endswith("quote") else api(org=org)
    response = client.post(path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "too_deeply_nested"


def test_nul_in_a_path_parameter_is_a_400(api, org):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    response = api(user=admin, org=org).get("/api/coupons/code/%00")
    assert response.status_code == 400
    assert response.json()["code"] == "null_character"


def test_nul_in_a_query_parameter_is_a_400(api, org):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    for query in ("?status=%00", "?q=a%00b", "?page=%00"):
        response = api(user=admin, org=org).get("/api/members" + query)
        assert response.status_code == 400, query
        assert response.json()["code"] == "null_character"


def test_nul_in_a_header_is_a_400(api, org):
    response = api().get("/api/packages", HTTP_X_ORGANIZATION="de\x00mo")
    assert response.status_code == 400
    assert response.json()["code"] == "null_character"


def test_nul_in_a_json_string_is_a_400(api, org):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    response = api(user=admin, org=org).post(
        "/api/packages", '{"code": "X\\u0000", "name": "n"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "null_character"
    assert not Package.objects.filter(organization=org).exists()


def test_a_form_body_never_stores_a_package_or_coupon(api, org):
    """The form body used to store the package INACTIVE: a missing boolean read as false."""
    admin = staff_user(org, StaffRole.Role.ADMIN)
    client = api(user=admin, org=org)
    package = {"code": "P1", "name": "Pack", "type": "CREDIT_PACK", "price": "100.00", "credits": "5"}
    for fmt in ("multipart",):
        response = client.post("/api/packages", package, format=fmt)
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"
    response = client.post("/api/packages", "code=P1&name=Pack", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    response = client.post(
        "/api/coupons", "code=C1&name=C&coupon_type=DISCOUNT", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    response = client.post("/api/packages", "<xml/>", content_type="text/plain")
    assert response.status_code == 415
    assert not Package.objects.exists()
    assert not Coupon.objects.exists()
    # JSON still works, and the package is active
    created = client.post("/api/packages", package, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["is_active"] is True


def _api_write_paths():
    """Every (method, concrete path) of the URL conf under /api/ that takes POST, PUT or PATCH."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method in operations:
            if method in {"post", "put", "patch"}:
                yield method, re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_every_write_path_refuses_a_form_body_with_415(api, org):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    writes = sorted(set(_api_write_paths()))
    assert len(writes) > 20  # the walk found the API
    for client in (api(), api(user=admin, org=org)):
        for method, path in writes:
            for body, content_type in (
                ("a=1", "application/x-www-form-urlencoded"),
                (
                    "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--\r\n",
                    "multipart/form-data; boundary=b",
                ),
                ("a", "text/plain"),
            ):
                response = getattr(client, method)(path, body, content_type=content_type)
                assert response.status_code == 415, (method, path, content_type, response.status_code)
                assert response.json()["code"] == "unsupported_media_type"


def test_the_schema_declares_json_only(api):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    types = {
        media
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and "requestBody" in operation
        for media in operation["requestBody"]["content"]
    }
    assert types == {"application/json"}


def test_the_browsable_api_still_renders(client, org, db):
    admin = staff_user(org, StaffRole.Role.ADMIN)
    client.force_login(admin)
    response = client.get("/api/packages", HTTP_ACCEPT="text/html", HTTP_X_ORGANIZATION=org.slug)
    assert response.status_code == 200
    assert b"application/json" in response.content


# --- string lengths -------------------------------------------------------------------------------
def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _unbounded_strings(schema):
    """(body, property) for every string a request body may carry without a maxLength."""
    components = schema["components"]["schemas"]

    def resolve(node):
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def walk(name, node, found):
        node = resolve(node)
        for alternative in node.get("allOf") or node.get("oneOf") or node.get("anyOf") or [node]:
            alternative = resolve(alternative)
            if alternative.get("type") == "array":
                walk(f"{name}[]", alternative.get("items", {}), found)
            for key, prop in alternative.get("properties", {}).items():
                if prop.get("readOnly"):
                    continue
                inner = resolve(prop)
                if (
                    inner.get("type") == "string"
                    and "enum" not in inner
                    and inner.get("format") not in {"uuid", "date", "date-time", "decimal"}
                    and "maxLength" not in inner
                ):
                    found.append(f"{name}.{key}")
                walk(f"{name}.{key}", prop, found)

    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                for content in operation["requestBody"]["content"].values():
                    walk(f"{method.upper()} {path}", content["schema"], found)
    return sorted(set(found))


def test_every_string_a_request_may_carry_is_bounded():
    assert _unbounded_strings(_schema()) == []


def test_model_serializers_bound_strings_by_their_column():
    """A serializer bound longer than its varchar would let the database refuse it (a 500)."""
    import importlib

    from rest_framework import serializers

    for module in ("members_app", "packages_app", "bookings_app"):
        importlib.import_module(f"{module}.serializers")

    def subclasses(klass):
        for sub in klass.__subclasses__():
            yield sub
            yield from subclasses(sub)

    checked = 0
    for klass in set(subclasses(serializers.ModelSerializer)):
        if klass.__module__.split(".")[0] not in {"members_app", "packages_app", "bookings_app", "spinning"}:
            continue
        model = klass.Meta.model
        for name, field in klass().fields.items():
            if field.read_only or not isinstance(field, serializers.CharField) or "." in field.source:
                continue
            try:
                column = model._meta.get_field(field.source)
            except FieldDoesNotExist:
                continue  # a declared input (e.g. a `reason`): bounded by the schema test above
            if column.max_length is not None:
                assert field.max_length is not None and field.max_length <= column.max_length, (klass, name)
                checked += 1
    assert checked > 10


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/members"])
def test_an_email_past_its_column_is_a_field_error(api, org, path):
    """A 257-character email overflowed the varchar on PostgreSQL: a 500."""
    admin = staff_user(org, StaffRole.Role.ADMIN)
    client = api(user=admin, org=org) if path == "/api/members" else api(org=org)
    email = "a" * 245 + "@example.com"
    assert len(email) == 257
    body = {"email": email, "password": "a-long-passw0rd!", "first_name": "A", "last_name": "B"}
    response = client.post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert "email" in response.json()["fields"]
