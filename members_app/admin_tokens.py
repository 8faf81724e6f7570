"""The admin's view of tokens: who has one and until when, never a secret (DOMAIN.md 1).

knox registers its own AuthToken admin, which lists digests and searches by `token_key` (the
first 15 characters of the secret). This one replaces it: person, created, expires; no search
by token, no adding or editing; deleting a row revokes that token.
"""

from django.contrib import admin
from knox.models import AuthToken


class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    ordering = ("-created",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


def register(site: admin.AdminSite) -> None:
    if site.is_registered(AuthToken):
        site.unregister(AuthToken)
    site.register(AuthToken, AuthTokenAdmin)
