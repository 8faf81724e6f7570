"""The outbox in the admin (DOMAIN.md 15: every message's state is visible to staff): the
studio's emails, filtered by state and kind, searchable by rider; a FAILED one can be sent
again (the same `notification_resend` service as the API). Nothing is edited by hand."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from members_app.admin_base import ADMIN, FRONT_DESK, TenantScopedAdmin
from members_app.models import Notification
from members_app.notifications import notification_resend
from spinning.errors import DomainError


@admin.register(Notification)
class NotificationAdmin(TenantScopedAdmin):
    view_roles = frozenset({ADMIN, FRONT_DESK})
    write_roles = frozenset({ADMIN, FRONT_DESK})
    # Fits a 1,366 px laptop (issue 12 item 7): the rider's name, the subject (it says the kind),
    # the state with its attempts; kind and language are filters.
    list_display = ["created_at", "rider", "subject", "state"]
    list_filter = ["status", "kind", "language", "audience"]
    search_fields = ["to_email", "subject", "member__first_name", "member__last_name", "member__user__email"]
    list_select_related = ["member__user"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    fields = [
        "created_at",
        "member",
        "audience",
        "kind",
        "language",
        "to_email",
        "reply_to",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
        "body_text",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("To"), ordering="member__last_name")
    def rider(self, obj):
        return obj.member.full_name if obj.member_id else obj.to_email

    @admin.display(description=gettext_lazy("State"), ordering="status")
    def state(self, obj):
        if obj.attempts > 1 or obj.status == Notification.Status.FAILED:
            return ngettext("%(state)s (%(n)d attempt)", "%(state)s (%(n)d attempts)", obj.attempts) % {
                "state": obj.get_status_display(),
                "n": obj.attempts,
            }
        return obj.get_status_display()

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=gettext_lazy("Send the selected failed messages again"))
    def resend(self, request, queryset):
        sent, refused = 0, 0
        for row in queryset.filter(status=Notification.Status.FAILED).select_related("organization"):
            try:
                notification_resend(organization=row.organization, notification_id=row.pk, performed_by=request.user)
                sent += 1
            except DomainError:
                refused += 1
        skipped = queryset.exclude(status=Notification.Status.FAILED).count() + refused
        if sent:
            self.message_user(
                request,
                ngettext("%(n)d message queued again.", "%(n)d messages queued again.", sent) % {"n": sent},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)d message was not failed and was left alone.",
                    "%(n)d messages were not failed and were left alone.",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )
