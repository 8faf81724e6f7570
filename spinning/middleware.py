"""Last line of defence for /api/: anything that escapes DRF still answers in the error shape."""

from django.http import JsonResponse

from spinning.errors import exception_to_response_data


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
    without a studio, sees UTC, labelled as such by Django."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.apps import apps
        from django.utils import timezone

        activated = False
        user = getattr(request, "user", None)
        if request.path.startswith("/admin/") and user is not None and user.is_authenticated:
            StaffRole = apps.get_model("members_app", "StaffRole")
            zones = set(StaffRole.objects.filter(user=user).values_list("organization__timezone", flat=True)[:2])
            if len(zones) == 1:
                timezone.activate(zones.pop())
                activated = True
        try:
            return self.get_response(request)
        finally:
            if activated:
                timezone.deactivate()
