"""Every admin screen's "History" page reads the audit log of that object (DOMAIN.md 18).

Django's own history page lists what was saved through the admin forms (`LogEntry`); staff
actions happen through services (the API, admin actions, custom screens), so the page shows the
studio's audit entries for the object instead: who, when, what, why, and what changed.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from members_app.models import AuditLogEntry

HISTORY_LIMIT = 200


def change_lines(changes) -> list[tuple[str, str]]:
    """`{field: [old, new]}` as ("field", "old → new"); any other value as itself."""
    lines = []
    for name, value in (changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            old, new = ("—" if v is None or v == "" else v for v in value)
            lines.append((name, f"{old} → {new}"))
        else:
            lines.append((name, str(value)))
    return lines


def audit_entries_for(*, organization_id, object_id, limit: int = HISTORY_LIMIT) -> list[AuditLogEntry]:
    entries = list(
        AuditLogEntry.objects.filter(organization_id=organization_id, object_id=object_id)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
    for entry in entries:
        entry.change_lines = change_lines(entry.changes)
    return entries


class AuditHistoryMixin:
    """Mixed into the studio-scoped ModelAdmin: the object's History page is its audit log."""

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "entries": audit_entries_for(organization_id=self._org_id_of(obj), object_id=obj.pk),
            "limit": HISTORY_LIMIT,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/audit_history.html", context)
