"""The admin's "Language" choice (DOMAIN.md 16: staff can use the admin in Turkish): a staff user
picks English or Türkçe in the header; it is kept on their account (`User.language`) and
`AdminLanguageMiddleware` applies it on every admin page, on any device."""

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from members_app.services.accounts import user_language_set
from spinning.errors import Invalid


@require_POST
@staff_member_required
def admin_language(request):
    try:
        user_language_set(user=request.user, language=request.POST.get("language", ""))
    except Invalid:
        pass
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "admin:index"
    return redirect(target)
