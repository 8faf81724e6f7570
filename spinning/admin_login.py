"""The admin login, throttled like the API login (DOMAIN.md 1, API.md "Operations").

The same `LoginFailures` counters as `POST /api/auth/token` (per client address and per email,
`THROTTLE_LOGIN_FAILURES`), so an attacker cannot switch doors to get more guesses. Chosen over
django-axes: one rule, one setting and one store for both logins, no second lockout model and
middleware to configure. Wrong passwords count; once a count is full, the login page answers 429
with `Retry-After` and says when to try again, whatever the password.
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from spinning.throttling import login_failure_keys, login_failures


def _login_failed(response) -> bool:
    form = (getattr(response, "context_data", None) or {}).get("form")
    return response.status_code == 200 and form is not None and form.has_error(NON_FIELD_ERRORS, "invalid_login")


def _throttled_page(request, wait: int, username: str) -> TemplateResponse:
    form = AdminAuthenticationForm(request, initial={"username": username})  # unbound: no authenticate()
    form.cleaned_data = {}
    minutes = max(1, round(wait / 60))
    form.add_error(
        None,
        f"Too many failed logins. Try again in {wait} seconds (about {minutes} minute{'s' if minutes > 1 else ''}).",
    )
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": form,
        "username": username,
    }
    response = TemplateResponse(request, "admin/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


@never_cache
def admin_login(request, extra_context=None):
    """`admin.site.login` behind the login-failure throttle."""
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    username = (request.POST.get("username") or "").strip().lower()
    failures = login_failures()
    keys = login_failure_keys(request, username)
    wait = failures.wait(keys)
    if wait is not None:
        return _throttled_page(request, wait, username)
    response = admin.site.login(request, extra_context)
    if _login_failed(response):
        failures.hit(keys)
    return response
