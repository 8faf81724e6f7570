"""The OpenAPI schema is what clients are generated from (docs/api-clients.md): it must build
without a warning, validate, and say for every operation the error codes it can answer."""

import io

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        # --fail-on-warn: a warning (an unresolvable field, a clashing name) is an error here.
        call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi", stdout=out)
    return yaml.safe_load(out.getvalue())


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def error_codes(schema, operation, status):
    ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["code"]["enum"]


def test_the_schema_validates_as_openapi_3_1(schema):
    assert schema["openapi"] == "3.1.0"
    validate(schema)
    assert schema["servers"]


def test_every_operation_has_a_summary_and_its_error_codes(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (method, path)
        assert not path.endswith("/"), path  # API.md writes paths without; both work
        for status in operation["responses"]:
            if int(status) >= 400:
                assert error_codes(schema, operation, status), (method, path, status)


def test_domain_refusals_are_listed_where_they_can_happen(schema):
    book = schema["paths"]["/api/bookings"]["post"]
    assert {"session_full", "seat_taken", "insufficient_credits", "idempotency_key_reused", "busy"} <= set(
        error_codes(schema, book, "409")
    )
    assert "validation_error" in error_codes(schema, book, "400")
    assert "unsupported_media_type" in error_codes(schema, book, "415")
    redeem = schema["paths"]["/api/packages/redeem"]["post"]
    assert {"coupon_expired", "package_unavailable"} <= set(error_codes(schema, redeem, "409"))
    assert "coupon_not_found" in error_codes(schema, redeem, "404")
    login = schema["paths"]["/api/auth/token"]["post"]
    assert "invalid_credentials" in error_codes(schema, login, "400")
    assert "throttled" in error_codes(schema, login, "429")
    assert login["security"] == []  # no token read there
    timetable = schema["paths"]["/api/sessions"]["get"]
    assert {} in timetable["security"] and {"bearerAuth": []} in timetable["security"]  # public, a token helps
    assert "409" not in timetable["responses"] and "415" not in timetable["responses"]


def test_one_security_scheme_json_bodies_and_no_repeated_parameters(schema):
    assert list(schema["components"]["securitySchemes"]) == ["bearerAuth"]
    for path, method, operation in operations(schema):
        body = operation.get("requestBody")
        if body:
            assert list(body["content"]) == ["application/json"], (method, path)
        names = [(p["name"], p["in"]) for p in operation.get("parameters", [])]
        assert len({n for n, _ in names}) == len(names), (method, path, names)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"].endswith("id"):
                assert parameter["schema"]["format"] == "uuid", (path, parameter)
    # lists read only their own filters: the roster and the ledger take none of the list's
    roster = schema["paths"]["/api/sessions/{id}/roster"]["get"]
    assert {p["name"] for p in roster["parameters"]} <= {"id", "page", "page_size", "X-Organization"}
    ledger = schema["paths"]["/api/members/{id}/credit-transactions"]["get"]
    assert {p["name"] for p in ledger["parameters"]} <= {"id", "page", "page_size", "X-Organization"}


def enum_of(schema, node) -> list:
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node.get("enum") or [value for option in node.get("oneOf", []) for value in enum_of(schema, option)]


def test_closed_sets_are_enums_and_money_is_decimal(schema):
    components = schema["components"]["schemas"]
    package = components["Package"]["properties"]
    assert enum_of(schema, package["benefits"]["items"]) == ["friend_pass", "priority_booking", "elite_badge"]
    assert package["price"]["format"] == "decimal"
    assert package["price_per_credit"]["format"] == "decimal"
    assert components["SalesReportRow"]["properties"]["net"]["format"] == "decimal"
    assert "COUPON_BONUS" in enum_of(schema, components["Quote"]["properties"]["redemption_type"])
    assert "ALL_ACCESS" in enum_of(schema, components["PackageRef"]["properties"]["type"])
    assert components["SessionSeat"]["properties"]["credit_cost"]["type"] == ["integer", "null"]
    assert components["PackageWriteRequest"]["properties"]["is_active"]["default"] is True
    booking = components["Booking"]
    assert set(booking["required"]) >= {"id", "session", "seat", "status", "checked_in_at"}


def test_the_docs_are_served_without_any_other_host(client):
    for path in ("/api/docs/", "/api/redoc/"):
        page = client.get(path).content.decode()
        assert "/static/drf_spectacular_sidecar/" in page, path
        assert "cdn" not in page.lower() and "https://" not in page, path
