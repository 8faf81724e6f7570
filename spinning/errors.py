"""One family of domain errors and the one DRF exception handler that renders every error.

Every error body has the shape of API.md: {"code", "detail", "fields"?}.
Services raise `DomainError` subclasses (or `DomainError(code=..., detail=...)`); views never
build error bodies by hand.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, OperationalError
from django.http import Http404
from django.utils.translation import gettext, gettext_lazy
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger("spinning.errors")


class DomainError(Exception):
    """A rule of the domain refuses the request. `code` is machine readable and stable."""

    status = 409
    code = "conflict"
    detail = gettext_lazy("The request conflicts with the current state.")

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict | None = None,
    ):
        if detail is not None:
            self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = fields
        super().__init__(self.detail)


class BadRequest(DomainError):
    status = 400
    code = "bad_request"
    detail = gettext_lazy("The request is malformed.")


class Invalid(DomainError):
    """Validation error raised from a service: renders as 400 validation_error with fields."""

    status = 400
    code = "validation_error"
    detail = gettext_lazy("Invalid input.")

    def __init__(self, fields: dict[str, list[str] | str], detail: str | None = None):
        normalized = {k: (v if isinstance(v, list) else [v]) for k, v in fields.items()}
        super().__init__(detail or gettext_lazy("Invalid input."), fields=normalized)


class NotFound(DomainError):
    status = 404
    code = "not_found"
    detail = gettext_lazy("Not found.")


class Forbidden(DomainError):
    status = 403
    code = "permission_denied"
    detail = gettext_lazy("You do not have permission to perform this action.")


class Conflict(DomainError):
    status = 409


class InvalidState(Conflict):
    code = "invalid_state"
    detail = gettext_lazy("This action is not allowed in the current state.")


class Busy(Conflict):
    code = "busy"
    detail = gettext_lazy("Another request is changing the same data; please retry.")


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    detail = gettext_lazy("The service is temporarily unavailable; please retry.")


class NullCharacter(BadRequest):
    """U+0000 in a path, a query parameter, a header, a form field or a JSON string: no text
    column can hold it (PostgreSQL refuses it outright), so every input refuses it up front."""

    code = "null_character"
    detail = gettext_lazy("The request contains a NUL character (U+0000), which no text may hold.")


class TooDeeplyNested(BadRequest):
    code = "too_deeply_nested"
    detail = gettext_lazy("The JSON body is nested too deeply.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    detail = gettext_lazy("This Idempotency-Key was already used with a different request.")


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"code": code, "detail": str(detail)}
    if fields:
        body["fields"] = fields
    return body


def _flatten_fields(data) -> dict[str, list[str]]:
    """DRF validation detail -> {"field": ["message", ...]}; nested errors use dotted names."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, inner in enumerate(value):
                    walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", data)
    return out


_DRF_CODES = {
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.ParseError: "parse_error",
    drf.Throttled: "throttled",
}


def is_lock_timeout(exc: BaseException) -> bool:
    cause = getattr(exc, "__cause__", None)
    name = type(cause).__name__ if cause is not None else ""
    if name in {"LockNotAvailable", "QueryCanceled"}:
        return True
    text = str(exc).lower()
    return "lock timeout" in text or "database is locked" in text


def exception_to_response_data(exc: BaseException) -> tuple[int, dict, dict]:
    """Map any exception to (status, body, headers). Unknown exceptions become a JSON 500."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        return exc.status, error_body(exc.code, exc.detail, exc.fields), headers
    if isinstance(exc, Http404):
        return 404, error_body("not_found", gettext("Not found.")), headers
    if isinstance(exc, DjangoPermissionDenied):
        return (
            403,
            error_body("permission_denied", gettext("You do not have permission to perform this action.")),
            headers,
        )
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return 400, error_body("validation_error", gettext("Invalid input."), fields), headers
    if isinstance(exc, drf.ValidationError):
        return 400, error_body("validation_error", gettext("Invalid input."), _flatten_fields(exc.detail)), headers
    if isinstance(exc, drf.APIException):
        code = _DRF_CODES.get(type(exc))
        if code is None:
            for klass, mapped in _DRF_CODES.items():
                if isinstance(exc, klass):
                    code = mapped
                    break
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return exc.status_code, error_body(code or "error", detail), headers
    if isinstance(exc, OperationalError) and is_lock_timeout(exc):
        return 409, error_body(Busy.code, Busy.detail), {"Retry-After": "1"}
    if isinstance(exc, RequestDataTooBig):
        return 413, error_body("request_too_large", gettext("The request body is too large.")), headers
    if isinstance(exc, SuspiciousOperation):
        # e.g. TooManyFieldsSent: a form body with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS.
        logger.warning("suspicious request: %s", exc)
        return 400, error_body("bad_request", gettext("The request is malformed.")), headers
    if isinstance(exc, OverflowError):
        # Date arithmetic on an input past the calendar (year 1 or 9999 in a filter, a start day,
        # a policy of a billion days). The input is what is wrong, so never a 500; the views
        # should still refuse such values with a field error before they get this far.
        logger.warning("out-of-range input: %s", exc)
        return (
            400,
            error_body("out_of_range", gettext("A date or number in the request is out of the supported range.")),
            headers,
        )
    if isinstance(exc, DataError):
        # A value the database cannot store (a string past its column, a number past its type).
        # Serializers bound every string and number first (a test walks them all); this is the
        # safety net, so a field that slips through is a 400 naming nothing, never a 500.
        logger.warning("value refused by the database: %s", exc)
        return 400, error_body("invalid_value", gettext("A value in the request cannot be stored.")), headers
    if isinstance(exc, DatabaseError) and isinstance(exc, OperationalError):
        logger.warning("database unavailable: %s", exc)
        return 503, error_body(ServiceUnavailable.code, ServiceUnavailable.detail), {"Retry-After": "2"}
    if isinstance(exc, DatabaseError) and type(getattr(exc, "__cause__", None)).__name__ in {
        "AdminShutdown",
        "ConnectionFailure",
        "OperationalError",
        "InterfaceError",
    }:
        return 503, error_body(ServiceUnavailable.code, ServiceUnavailable.detail), {"Retry-After": "2"}
    logger.exception("unhandled error", exc_info=exc)
    return 500, error_body("server_error", gettext("An unexpected error occurred.")), headers


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error leaves as the API.md error shape."""
    if isinstance(exc, drf.NotAuthenticated) or isinstance(exc, drf.AuthenticationFailed):
        request = context.get("request")
        view = context.get("view")
        if request is not None and view is not None:
            exc.auth_header = view.get_authenticate_header(request)
    status, body, headers = exception_to_response_data(exc)
    set_rollback()
    response = Response(body, status=status, headers=headers)
    if status == 401 and "WWW-Authenticate" not in headers:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
