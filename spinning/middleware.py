"""Last line of defence for /api/: anything that escapes DRF still answers in the error shape."""

from django.http import HttpResponse, JsonResponse

from spinning.errors import NullCharacter, error_body, exception_to_response_data

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        status, body, headers = exception_to_response_data(exception)
        response = JsonResponse(body, status=status)
        for key, value in headers.items():
            response[key] = value
        return response


class StudioTimezoneMiddleware:
    """The admin shows times in the staff user's studio time zone (DOMAIN.md 2: every calendar
    notion is studio-local). A person on the staff of several studios, or a platform superuser
    without a studio, sees UTC, labelled as such by Django. The API renders times in the zone of
    the request's studio (`spinning.tenancy` activates it); the zone is reset after every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.apps import apps
        from django.utils import timezone

        user = getattr(request, "user", None)
        if request.path.startswith("/admin/") and user is not None and user.is_authenticated:
            StaffRole = apps.get_model("members_app", "StaffRole")
            zones = set(StaffRole.objects.filter(user=user).values_list("organization__timezone", flat=True)[:2])
            if len(zones) == 1:
                timezone.activate(zones.pop())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class AdminLanguageMiddleware:
    """A staff user who chose a language (`User.language`, the admin's "Language" link) sees the
    admin in it; otherwise the browser's Accept-Language decides (LocaleMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import translation

        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if chosen and request.path.startswith("/admin/"):
            request.LANGUAGE_CODE = chosen
            with translation.override(chosen):  # reset after the response: nothing leaks to the thread's next request
                return self.get_response(request)
        return self.get_response(request)


class RequestInputMiddleware:
    """The gate every request passes before any view (API.md: never a 500 for bad input).

    - NUL (U+0000) in the path, the query string, a header or a form field (the admin) -> 400
      `null_character`: PostgreSQL text cannot hold it, so it used to fail deep in a query. JSON
      strings are checked by `spinning.parsers.JsonOnlyParser`, the API's only parser.
    - Under /api/, a request body that is not `application/json` -> 415 `unsupported_media_type`,
      also for views that never read their body (they would silently ignore it otherwise).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path_info.startswith("/api/")
        if self._has_nul(request, is_api):
            return self._refuse(is_api, 400, NullCharacter.code, NullCharacter.detail)
        if (
            is_api
            and request.method in BODY_METHODS
            and _has_body(request)
            and request.content_type != "application/json"
        ):
            return self._refuse(
                is_api, 415, "unsupported_media_type", "Request bodies must be JSON (Content-Type: application/json)."
            )
        return self.get_response(request)

    @staticmethod
    def _has_nul(request, is_api: bool) -> bool:
        if "\x00" in request.path_info:
            return True
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return True
        if any("\x00" in str(value) for key, value in request.META.items() if key.startswith("HTTP_")):
            return True
        if not is_api and request.method == "POST" and request.content_type in FORM_TYPES:
            return any("\x00" in key or "\x00" in value for key, values in request.POST.lists() for value in values)
        return False

    @staticmethod
    def _refuse(is_api: bool, status: int, code: str, detail: str) -> HttpResponse:
        if is_api:
            return JsonResponse(error_body(code, detail), status=status)
        return HttpResponse(f"{code}: {detail}", status=status, content_type="text/plain; charset=utf-8")


def _has_body(request) -> bool:
    if request.META.get("HTTP_TRANSFER_ENCODING"):
        return True
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return True
