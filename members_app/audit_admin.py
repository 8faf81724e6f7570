"""The audit log in the admin: read-only, for the studio's ADMINs (DOMAIN.md 18: nobody edits it)."""

from django.contrib import admin
from django.utils.html import format_html_join

from members_app.admin_base import ADMIN, TenantScopedAdmin
from members_app.audit_history import action_words, change_lines


class AuditLogEntryAdmin(TenantScopedAdmin):
    view_roles = frozenset({ADMIN})
    write_roles = frozenset()
    allow_add = False
    allow_delete = False
    list_display = ["created_at", "actor", "what", "object_repr", "reason"]
    list_filter = ["action", "object_type"]
    search_fields = ["=object_id", "actor__email", "reason", "object_repr"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    fields = ["created_at", "actor", "action", "object_type", "object_id", "object_repr", "reason", "changes_table"]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    @admin.display(description="What", ordering="action")
    def what(self, entry):
        return action_words(entry.action)

    @admin.display(description="Changes")
    def changes_table(self, entry):
        lines = change_lines(entry.changes)
        if not lines:
            return "—"
        return format_html_join("", "<div><strong>{}</strong>: {}</div>", lines)
