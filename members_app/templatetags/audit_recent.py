"""The admin home's "Recent actions": the staff user's own latest audit entries in words
(DOMAIN.md 18). Django's own box reads `LogEntry`, which the services never write, so it stayed
"None available" however much staff did."""

from django import template

from members_app.audit_history import action_words
from members_app.models import AuditLogEntry

register = template.Library()

SHOWN = 10


@register.inclusion_tag("admin/recent_actions.html", takes_context=True)
def my_recent_actions(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"entries": []}
    entries = list(AuditLogEntry.objects.filter(actor=user).order_by("-created_at", "-id")[:SHOWN])
    for entry in entries:
        entry.words = action_words(entry.action)
    return {"entries": entries}
