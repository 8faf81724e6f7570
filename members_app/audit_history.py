"""Every admin screen's "History" page reads the audit log of that object (DOMAIN.md 18).

Django's own history page lists what was saved through the admin forms (`LogEntry`); staff
actions happen through services (the API, admin actions, custom screens), so the page shows the
studio's audit entries for the object instead: who, when, what, why, and what changed.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from members_app.models import AuditLogEntry

HISTORY_LIMIT = 200

#: what staff read for an action code (the code stays the API's, docs/audit.md)
ACTION_WORDS = {
    "organization.update": _("Studio settings changed"),
    "staff_role.set": _("Role given"),
    "staff_role.remove": _("Role taken away"),
    "member.create": _("Member added"),
    "member.update": _("Member's details changed"),
    "credits.adjust": _("Credits adjusted"),
    "redemption.sell": _("Sold at the desk"),
    "redemption.confirm": _("Purchase confirmed"),
    "redemption.reject": _("Purchase request rejected"),
    "redemption.cancel": _("Cancelled and refunded"),
    "booking.create": _("Booked by the studio"),
    "booking.cancel": _("Booking cancelled by the studio"),
    "booking.check_in": _("Checked in"),
    "booking.check_in_undo": _("Check-in undone"),
    "booking.no_show": _("Marked as a no-show"),
    "session.create": _("Class scheduled"),
    "session.update": _("Class changed"),
    "session.cancel": _("Class cancelled"),
    "waitlist.add": _("Added to the waitlist"),
    "waitlist.remove": _("Removed from the waitlist"),
    "timetable.generate": _("Sessions generated from the weekly timetable"),
}
VERB_WORDS = {"create": _("added"), "update": _("changed"), "delete": _("deleted")}


def action_words(action: str) -> str:
    """An action code in words ("booking.check_in" -> "Checked in"); an edit of reference data
    as its object and verb ("ride_class.update" -> "Ride class changed")."""
    if action in ACTION_WORDS:
        return str(ACTION_WORDS[action])
    thing, _dot, verb = action.partition(".")
    return f"{thing.replace('_', ' ').capitalize()} {VERB_WORDS.get(verb, verb.replace('_', ' '))}".strip()


def change_lines(changes) -> list[tuple[str, str]]:
    """`{field: [old, new]}` as ("field", "old → new"); any other value as itself. Field names in
    words ("payment_type" -> "payment type")."""
    lines = []
    for name, value in (changes or {}).items():
        label = name.replace("_", " ")
        if isinstance(value, list) and len(value) == 2:
            old, new = ("—" if v is None or v == "" else v for v in value)
            lines.append((label, f"{old} → {new}"))
        else:
            lines.append((label, str(value)))
    return lines


def _member_names(entries) -> None:
    """A member named by id in `changes` reads as the member's name (the object is often a
    booking or a waitlist entry: who it was for is what staff look for)."""
    from members_app.models import Member

    ids = {e.changes.get("member") for e in entries if isinstance(e.changes, dict) and e.changes.get("member")}
    names = {str(m.pk): m.full_name for m in Member.objects.filter(pk__in=[i for i in ids if isinstance(i, str)])}
    for entry in entries:
        if isinstance(entry.changes, dict) and entry.changes.get("member") in names:
            entry.changes = {**entry.changes, "member": names[entry.changes["member"]]}


def audit_entries_for(*, organization_id, object_id, limit: int = HISTORY_LIMIT, also=()) -> list[AuditLogEntry]:
    """The entries of one object, newest first; `also`: ids of rows that belong to it and have no
    page of their own (a session's waitlist entries)."""
    entries = list(
        AuditLogEntry.objects.filter(organization_id=organization_id, object_id__in=[object_id, *also])
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
    _member_names(entries)
    for entry in entries:
        entry.change_lines = change_lines(entry.changes)
        entry.words = action_words(entry.action)
        entry.about_other = entry.object_id != object_id
    return entries


class AuditHistoryMixin:
    """Mixed into the studio-scoped ModelAdmin: the object's History page is its audit log."""

    def history_also(self, obj) -> list:
        """Ids of rows whose entries belong on this object's History (none by default)."""
        return []

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
            "entries": audit_entries_for(
                organization_id=self._org_id_of(obj), object_id=obj.pk, also=self.history_also(obj)
            ),
            "limit": HISTORY_LIMIT,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/audit_history.html", context)
