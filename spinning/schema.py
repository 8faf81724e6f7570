"""The OpenAPI schema: true to API.md, so clients can be generated from it (docs/api-clients.md).

- Views declare what a reader needs with `operation(summary, description, errors=...)`: the
  error codes the operation itself can answer (its domain refusals).
- `SpinningAutoSchema` adds what every operation of its kind can meet (the studio header, the
  token, the body, throttles) and documents each error status with the one error shape, its
  `code` an enum of exactly the codes that operation can answer. It also keeps view docstrings
  (written for developers) out of the published descriptions, lists filters only on lists,
  publishes JSON request bodies only and one security scheme, Bearer.
- `postprocess` (POSTPROCESSING_HOOKS): paths without a trailing slash (API.md; both work),
  `format: uuid` on ids, error shapes shared as components, no query parameter that repeats a
  path parameter.
"""

from __future__ import annotations

import re
from collections import Counter

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions as drf_permissions

from spinning import permissions

ERROR_CODES_KEY = "x-error-codes"
STATUS_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "RequestTooLarge",
    415: "UnsupportedMediaType",
    429: "Throttled",
    503: "ServiceUnavailable",
}
STATUS_TEXT = {
    400: "Malformed or invalid input (`validation_error` names the fields), or no studio chosen.",
    401: "Not authenticated, or the token is not valid (expired, revoked).",
    403: "Not allowed: no role in this studio, or not enough of one.",
    404: "Not found: an unknown studio, an unknown row, or another studio's row.",
    409: "A domain rule refuses the request (the code names the rule); `busy`: retry (`Retry-After`).",
    413: "The request body is too large.",
    415: "The request body is not JSON.",
    429: "Throttled; `Retry-After` says when to retry.",
    503: "The database is not answering.",
}
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# What any JSON body can be refused for (spinning.parsers, spinning.middleware, spinning.errors).
BODY_400 = ("validation_error", "parse_error", "too_deeply_nested", "null_character", "invalid_value", "out_of_range")
PUBLIC_PERMISSIONS = (drf_permissions.AllowAny, permissions.Public)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID) per intended purchase or booking: a retry with the same key and "
    "body answers what the first created; the same key with another body: 409 `idempotency_key_reused`.",
)


def operation(
    summary: str,
    description: str = "",
    *,
    errors: list[tuple[int, list[str]]] | tuple = (),
    **kwargs,
):
    """extend_schema for one operation: its summary, what a client developer should know, and the
    error codes the operation itself can answer beyond those of its kind (see module docstring),
    e.g. `errors=[(409, ["session_full", "seat_taken"]), (404, ["coupon_not_found"])]`."""
    extensions = dict(kwargs.pop("extensions", None) or {})
    codes: dict[str, list[str]] = {}
    for status, names in errors:
        codes.setdefault(str(status), []).extend(names)
    if codes:
        extensions[ERROR_CODES_KEY] = codes
    return extend_schema(summary=summary, description=description, extensions=extensions or None, **kwargs)


def error_response(description: str = "") -> OpenApiResponse:
    """A response documented only by its description; the schema class gives it the error shape."""
    return OpenApiResponse(description=description)


class SpinningAutoSchema(AutoSchema):
    def get_description(self) -> str:
        # Docstrings are written for the developers of this code base; published descriptions
        # come from `operation(...)` only.
        return ""

    def get_filter_backends(self):
        # Filters apply to the viewset's list (and plain list views), not to its other actions
        # that answer arrays (a roster, a ledger) and read none of them.
        action = getattr(self.view, "action", None)
        if action not in (None, "list"):
            return []
        return super().get_filter_backends()

    def map_parsers(self):
        return ["application/json"]

    def get_auth(self):
        if not self.view.get_authenticators():
            return []
        auth = super().get_auth()
        return [*[a for a in auth if a], *([{}] if self._is_public() else [])]

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation_ = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation_ is None:
            return None
        if not self.view.get_authenticators():
            operation_["security"] = []  # no token read at all (login, password reset, health)
        declared = operation_.pop(ERROR_CODES_KEY, {})
        codes = self._codes_of_its_kind(operation_)
        for status, names in declared.items():
            codes.setdefault(int(status), []).extend(names)
        responses = operation_.setdefault("responses", {})
        for status, names in sorted(codes.items()):
            unique = list(dict.fromkeys(names))
            response = responses.setdefault(str(status), {})
            response.setdefault("description", STATUS_TEXT.get(status, "An error."))
            response["content"] = {"application/json": {"schema": _error_schema(status, unique)}}
        return operation_

    # --- what an operation can meet, from what it is --------------------------------------------
    def _is_public(self) -> bool:
        perms = self.view.get_permissions()
        if any(isinstance(p, PUBLIC_PERMISSIONS) for p in perms):
            return True
        return self.method in drf_permissions.SAFE_METHODS and any(
            isinstance(p, permissions.PublicReadAdminWrite) for p in perms
        )

    def _resolves_studio(self) -> bool:
        from spinning.views import TenantMixin

        if isinstance(self.view, TenantMixin):
            return True
        return any(type(p).__module__ == permissions.__name__ for p in self.view.get_permissions())

    def _codes_of_its_kind(self, operation_) -> dict[int, list[str]]:
        codes: dict[int, list[str]] = {400: ["null_character"]}
        studio = self._resolves_studio()
        authenticates = bool(self.view.get_authenticators())
        public = self._is_public()
        has_body = self.method in BODY_METHODS and "requestBody" in operation_
        parameters = operation_.get("parameters", [])
        if has_body:
            codes[400].extend(BODY_400)
        if any(p.get("in") == "query" for p in parameters):
            codes[400].append("validation_error")
        if studio:
            codes[400].append("organization_required")
        if authenticates:
            codes[401] = ["authentication_failed"] if public else ["not_authenticated", "authentication_failed"]
        if studio and authenticates:
            codes[403] = ["organization_forbidden"] + ([] if public else ["permission_denied"])
        # `not_found`: a row named in the path, a page past the last (`?page=`), an unknown `?format=`.
        finds = any(p.get("in") == "path" or p.get("name") in ("page", "format") for p in parameters)
        if studio or finds:
            codes[404] = (["organization_not_found"] if studio else []) + (["not_found"] if finds else [])
        if self.method in BODY_METHODS:
            if studio:
                codes[409] = ["busy"]
            codes[413] = ["request_too_large"]
            codes[415] = ["unsupported_media_type"]
        if self.view.get_throttles():
            codes[429] = ["throttled"]
        return codes


def _error_schema(status: int, codes: list[str]) -> dict:
    properties = {
        "code": {"type": "string", "enum": codes, "description": "Machine-readable; never changes."},
        "detail": {"type": "string", "description": "A human sentence, in the caller's language."},
    }
    if "validation_error" in codes:
        properties["fields"] = {
            "type": "object",
            "description": "`validation_error` only: field -> messages (nested fields dotted).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }
    return {"type": "object", "properties": properties, "required": ["code", "detail"], ERROR_CODES_KEY: status}


# --- postprocessing -------------------------------------------------------------------------------
METHODS = {"get", "put", "post", "patch", "delete"}
ID_PARAMETER = re.compile(r"^(id|.+_id)$")


def postprocess(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry (after drf-spectacular's enum hook)."""
    paths = {}
    for path, item in result.get("paths", {}).items():
        paths[path.rstrip("/") or path] = item
    result["paths"] = paths
    result["security"] = [{"bearerAuth": []}]
    _share_error_shapes(result)
    for schema in result["components"]["schemas"].values():
        for prop in schema.get("properties", {}).values():
            # Money and rates the serializers render as text (reports): "1500.00".
            if "decimal string" in prop.get("description", "") and "format" not in prop:
                prop["format"] = "decimal"
    for item in paths.values():
        for method, operation_ in item.items():
            if method not in METHODS:
                continue
            parameters = operation_.get("parameters", [])
            in_path = {p["name"] for p in parameters if p.get("in") == "path"}
            kept = []
            for parameter in parameters:
                if parameter.get("in") == "query" and parameter["name"] in in_path:
                    continue  # a filter naming what the path already says (members/{member_id}/bookings)
                if parameter.get("in") == "path" and ID_PARAMETER.match(parameter["name"]):
                    parameter["schema"] = {"type": "string", "format": "uuid"}
                kept.append(parameter)
            if parameters:
                operation_["parameters"] = kept
    return result


def _share_error_shapes(result) -> None:
    """Each (status, codes) error shape becomes one component: the most common set of a status
    gets the plain name (`NotFoundError`), the others the name of the first operation using it
    (`BookingsCreateConflictError`)."""
    uses: list[tuple[str, dict, int, tuple]] = []
    for item in result["paths"].values():
        for method, operation_ in item.items():
            if method not in METHODS:
                continue
            for response in operation_.get("responses", {}).values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if ERROR_CODES_KEY in schema:
                    status = schema.pop(ERROR_CODES_KEY)
                    uses.append(
                        (operation_["operationId"], response, status, tuple(schema["properties"]["code"]["enum"]))
                    )
    counts = Counter((status, codes) for _, _, status, codes in uses)
    most_common: dict[int, tuple] = {}
    for (status, codes), _count in counts.most_common():
        most_common.setdefault(status, codes)
    names: dict[tuple, str] = {}
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for operation_id, response, status, codes in uses:
        key = (status, codes)
        if key not in names:
            word = STATUS_NAMES.get(status, f"Status{status}")
            if most_common[status] == codes:
                name = f"{word}Error"
            else:
                name = "".join(part.capitalize() for part in operation_id.split("_")) + f"{word}Error"
            names[key] = name
            schema = response["content"]["application/json"]["schema"]
            schema["description"] = STATUS_TEXT.get(status, "An error.")
            schemas[name] = schema
        response["content"]["application/json"]["schema"] = {"$ref": f"#/components/schemas/{names[key]}"}


def crud_schema(thing: str, things: str, *, read: str = "Public", delete_refusal: str = "in_use", tags=None):
    """`extend_schema_view` for a plain catalog viewset (list, retrieve, create, partial_update,
    destroy): reads as `read` says, writes staff ADMIN; a delete refused while in use (409)."""
    from drf_spectacular.utils import extend_schema_view

    writes = "Staff ADMIN."
    return extend_schema_view(
        list=operation(f"List {things}", f"{read}."),
        retrieve=operation(f"Get one {thing}", f"{read}."),
        create=operation(f"Create a {thing}", writes),
        partial_update=operation(f"Change a {thing}", f"{writes} Only the fields sent change."),
        destroy=operation(
            f"Delete a {thing}",
            f"{writes} Refused (409 `{delete_refusal}`) while anything still uses it.",
            errors=[(409, [delete_refusal])],
        ),
    )
