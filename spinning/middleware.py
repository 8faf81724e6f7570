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
