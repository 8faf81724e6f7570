from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from spinning.admin_language import admin_language
from spinning.admin_login import admin_login
from spinning.views import health

urlpatterns = [
    # Before the admin's own URLs: its login, behind the login-failure throttle.
    path("admin/login/", admin_login, name="admin-login-throttled"),
    path("admin/reports/", include("reports_app.admin_urls")),
    path("admin/language/", admin_language, name="admin-language"),
    path("admin/", admin.site.urls),
    re_path(r"^api/health/?$", health, name="health"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^api/redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include("members_app.urls")),
    path("api/", include("packages_app.urls")),
    path("api/", include("bookings_app.urls")),
    path("api/", include("reports_app.urls")),
]


def _not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": gettext("Not found.")}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def _server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "server_error", "detail": gettext("An unexpected error occurred.")}, status=500)
    from django.views.defaults import server_error

    return server_error(request)


# Unknown API paths: JSON 404, also with DEBUG on. CSRF-exempt like every API view, or a POST
# from a client without a CSRF cookie would get Django's HTML 403 page instead of the 404.
urlpatterns.append(re_path(r"^api/", csrf_exempt(_not_found)))

handler404 = _not_found
handler500 = _server_error
