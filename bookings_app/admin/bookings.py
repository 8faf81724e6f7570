"""Bookings: staff find them and act on them (check-in, no-show, cancel) through the services."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings_app import services
from bookings_app.admin import desk
from bookings_app.admin.common import EVERYONE, STAFF, BookingDayFilter, _local, _report
from bookings_app.models import Booking
from members_app.admin_base import TenantScopedAdmin, orgs_with_role
from spinning.errors import DomainError


@admin.register(Booking)
class BookingAdmin(TenantScopedAdmin):
    """Bookings are made through the API (or the roster); here staff find them and act on them."""

    view_roles = EVERYONE
    write_roles = STAFF
    allow_add = False
    allow_delete = False
    # Fits a 1,366 px laptop (issue 12 item 7): a guest in the rider's column, refund and check-in
    # in the state's, credits beside how it was paid.
    list_display = ["session_start", "session_class", "rider", "seat", "state", "paid"]
    list_filter = [BookingDayFilter, "status", "payment_type", "is_guest", ("member", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["member__user__email", "member__first_name", "member__last_name", "guest_name"]
    list_select_related = ["member__user", "seat", "session__ride_class", "session__organization"]
    readonly_fields = [
        "session",
        "member",
        "seat",
        "status",
        "payment_type",
        "credit_cost",
        "credits_used",
        "redemption",
        "credit_lot",
        "is_guest",
        "guest_name",
        "host_booking",
        "refunded",
        "checked_in_at",
        "cancelled_at",
        "cancelled_by",
        "booked_by",
        "created_at",
    ]
    fields = readonly_fields
    actions = ["check_in", "undo_check_in", "mark_no_show", "cancel_with_refund", "cancel_without_refund"]

    def has_change_permission(self, request, obj=None):
        return False  # read-only form; the actions below change bookings through the services

    def has_checkin_permission(self, request):
        return self._is_super(request) or bool(orgs_with_role(request, EVERYONE))

    def has_staff_permission(self, request):
        return self._is_super(request) or bool(orgs_with_role(request, STAFF))

    @admin.display(description="Session", ordering="session__starts_at")
    def session_start(self, obj):
        return f"{_local(obj.session.starts_at, obj.session.organization.timezone):%a %d.%m. %H:%M}"

    @admin.display(description="Class")
    def session_class(self, obj):
        return obj.session.ride_class.name

    @admin.display(description="Rider", ordering="member__last_name")
    def rider(self, obj):
        return desk.rider_name(obj)

    @admin.display(description=gettext_lazy("State"), ordering="status")
    def state(self, obj):
        text = obj.get_status_display()
        if obj.refunded:
            text += " " + _("(refunded)")
        if obj.checked_in_at:
            local = _local(obj.checked_in_at, obj.session.organization.timezone)
            text += " · " + _("checked in %(time)s") % {"time": f"{local:%H:%M}"}
        return text

    @admin.display(description=gettext_lazy("Paid with"), ordering="payment_type")
    def paid(self, obj):
        if obj.credits_used:
            return f"{obj.get_payment_type_display()} ({obj.credits_used})"
        return obj.get_payment_type_display()

    def _each(self, request, queryset, roles, call, verb):
        done = 0
        allowed = None if self._is_super(request) else set(orgs_with_role(request, roles))
        for booking in queryset.select_related("organization", "member__user", "session__organization"):
            if allowed is not None and booking.organization_id not in allowed:
                messages.error(request, f"{booking}: not allowed.")
                continue
            try:
                call(booking)
                done += 1
            except DomainError as exc:
                _report(request, exc, booking.member.full_name, session=booking.session)
        if done:
            messages.success(request, f"{verb}: {done} booking(s).")

    @admin.action(description="Check in", permissions=["checkin"])
    def check_in(self, request, queryset):
        self._each(
            request,
            queryset,
            EVERYONE,
            lambda b: services.booking_check_in(
                organization=b.organization, booking_id=b.pk, performed_by=request.user
            ),
            "Checked in",
        )

    @admin.action(description="Undo check-in", permissions=["checkin"])
    def undo_check_in(self, request, queryset):
        self._each(
            request,
            queryset,
            EVERYONE,
            lambda b: services.booking_undo_check_in(
                organization=b.organization, booking_id=b.pk, performed_by=request.user
            ),
            "Check-in undone",
        )

    @admin.action(description="Mark no-show", permissions=["staff"])
    def mark_no_show(self, request, queryset):
        self._each(
            request,
            queryset,
            STAFF,
            lambda b: services.booking_mark_no_show(
                organization=b.organization, booking_id=b.pk, performed_by=request.user
            ),
            "Marked no-show",
        )

    @admin.action(description="Cancel with refund", permissions=["staff"])
    def cancel_with_refund(self, request, queryset):
        self._each(
            request,
            queryset,
            STAFF,
            lambda b: services.booking_cancel(
                organization=b.organization, booking_id=b.pk, cancelled_by=request.user, by_staff=True, refund=True
            ),
            "Cancelled with refund",
        )

    @admin.action(description="Cancel without refund", permissions=["staff"])
    def cancel_without_refund(self, request, queryset):
        self._each(
            request,
            queryset,
            STAFF,
            lambda b: services.booking_cancel(
                organization=b.organization, booking_id=b.pk, cancelled_by=request.user, by_staff=True, refund=False
            ),
            "Cancelled without refund",
        )
