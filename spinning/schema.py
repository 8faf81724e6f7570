"""drf-spectacular postprocessing: document the error responses every operation can give.

API.md: every status >= 400 has one shape, `{"code", "detail", "fields"?}`; 400 bad input,
401 not authenticated, 403 not allowed (also `organization_forbidden`), 404 not found (also an
unknown studio or another studio's row), 409 a domain rule refuses it (also `busy` on a lock
timeout), 413 a body too large, 429 throttled. Any operation can meet most of them (the studio
header, the token, the body), so they are added centrally here instead of on each view; an
operation that documents a status itself keeps its own description.
"""

from __future__ import annotations

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error response (API.md, Conventions).",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable, stable (e.g. `insufficient_credits`)."},
        "detail": {"type": "string", "description": "A human sentence."},
        "fields": {
            "type": "object",
            "description": "Validation errors only (`validation_error`): field -> messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "detail"],
}
ERROR_RESPONSES = {
    "400": "Malformed or invalid input (`validation_error` with `fields`), or `organization_required`.",
    "401": "Not authenticated, or the token is not valid.",
    "403": "Not allowed: no role in this studio (`organization_forbidden`) or not enough of one.",
    "404": "Not found: an unknown studio, an unknown row, or another studio's row.",
    "409": "A domain rule refuses the request (the code names the rule), or `busy` (retry).",
    "413": "The request body is too large (`request_too_large`).",
    "429": "Throttled (`throttled`); `Retry-After` says when to retry.",
}
METHODS = {"get", "put", "post", "patch", "delete"}


def document_error_responses(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry: add the shared error responses to every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
            # An operation that lists its own error codes (OpenApiResponse(description=...)) gets
            # the shared body too.
            for status, response in responses.items():
                if status[:1] in {"4", "5"} and "content" not in response:
                    response["content"] = {"application/json": {"schema": reference}}
    return result
