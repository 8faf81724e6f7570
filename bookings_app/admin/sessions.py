"""Sessions: the list, the form (created through the services) and the roster page."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings_app import selectors, services
from bookings_app.admin import desk
from bookings_app.admin import waitlist as roster_waitlist
from bookings_app.admin.common import (
    EVERYONE,
    STAFF,
    ServiceRefusalMixin,
    StudioDayFilter,
    _local,
    _report,
    posted_uuid,
)
from bookings_app.models import LIVE, Booking, Session, WaitlistEntry
from members_app.admin_base import ADMIN, TenantScopedAdmin, orgs_with_role
from members_app.models import Member
from spinning import clock
from spinning.errors import DomainError


class RosterInline(admin.TabularInline):
    """Who rides: live bookings, read-only here; check-in and no-show are on the roster page and
    as actions of the booking list."""

    model = Booking
    fk_name = "session"
    fields = ["seat", "rider", "guest_name", "status", "payment_type", "credits_used", "checked_in_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    verbose_name = "rider"
    verbose_name_plural = "Roster (live bookings)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(LIVE).select_related("member__user", "seat")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True

    @admin.display(description="Rider")
    def rider(self, obj):
        return obj.member.full_name


class SessionForm(forms.ModelForm):
    class Meta:
        model = Session
        fields = [
            "organization",
            "ride_class",
            "instructor",
            "location",
            "seat_layout",
            "starts_at",
            "ends_at",
            "capacity",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "capacity" in self.fields:
            self.fields["capacity"].required = False
            self.fields["capacity"].help_text = "Empty: every bookable bike of the layout."
        zone = timezone.get_current_timezone_name()  # the studio's (StudioTimezoneMiddleware)
        if "starts_at" in self.fields:
            self.fields["starts_at"].help_text = _("Studio time (%(zone)s).") % {"zone": zone}
        if "ends_at" in self.fields:
            self.fields["ends_at"].required = False
            self.fields["ends_at"].help_text = _(
                "Studio time (%(zone)s). Empty: the class's duration after the start."
            ) % {"zone": zone}

    def clean(self):
        """The end defaults from the class's duration; an end before the start is a sentence on the
        field, not the database constraint's name (issue 12 items 7-8)."""
        cleaned = super().clean()
        starts_at, ends_at, ride_class = cleaned.get("starts_at"), cleaned.get("ends_at"), cleaned.get("ride_class")
        if starts_at and not ends_at and "ends_at" in self.fields and not self.has_error("ends_at"):
            if ride_class is not None:
                cleaned["ends_at"] = starts_at + timedelta(minutes=ride_class.duration_minutes)
            else:
                self.add_error("ends_at", "Choose the class (its duration gives the end) or enter the end.")
        elif starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The class must end after it starts.")
        return cleaned

    def validate_constraints(self):
        if not self.has_error("ends_at"):
            super().validate_constraints()


@admin.register(Session)
class SessionAdmin(ServiceRefusalMixin, TenantScopedAdmin):
    view_roles = EVERYONE
    write_roles = frozenset({ADMIN})
    form = SessionForm
    # Fits a 1,366 px laptop (issue 12 item 7): the day and the hours in one column.
    list_display = ["when", "ride_class", "instructor", "location", "booked", "status", "roster_link"]
    list_filter = [StudioDayFilter, "status", "location", "instructor"]
    list_select_related = ["ride_class", "instructor", "location", "organization"]
    search_fields = ["ride_class__name", "instructor__name"]
    ordering = ["starts_at"]
    inlines = [RosterInline]
    actions = ["cancel_sessions"]
    allow_delete = False
    saves_through_service = True
    change_form_template = "admin/bookings_app/session/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["status", "booked_count"]
        return [
            "organization",
            "location",
            "seat_layout",
            "starts_at",
            "ends_at",
            "status",
            "booked_count",
            "cancelled_at",
        ]

    def get_fields(self, request, obj=None):
        base = [
            "organization",
            "ride_class",
            "instructor",
            "location",
            "seat_layout",
            "starts_at",
            "ends_at",
            "capacity",
        ]
        return base + (["status", "booked_count", "cancelled_at"] if obj is not None else [])

    @admin.display(description=gettext_lazy("When"), ordering="starts_at")
    def when(self, obj):
        tz = obj.organization.timezone
        start = _local(obj.starts_at, tz)
        return f"{start:%a %d.%m.%Y} {start:%H:%M}–{_local(obj.ends_at, tz):%H:%M}"

    @admin.display(description=gettext_lazy("Booked"))
    def booked(self, obj):
        return f"{obj.booked_count} / {obj.capacity}"

    @admin.display(description="Roster")
    def roster_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:bookings_app_session_roster", args=[obj.pk]), _("Roster & check-in")
        )

    def save_model(self, request, obj, form, change):
        if not change:
            session = services.session_create(
                organization=obj.organization,
                class_id=obj.ride_class_id,
                instructor_id=obj.instructor_id,
                location_id=obj.location_id,
                seat_layout_id=obj.seat_layout_id,
                starts_at=obj.starts_at,
                ends_at=obj.ends_at,
                capacity=form.cleaned_data.get("capacity"),
                performed_by=request.user,
            )
            obj.pk, obj.capacity = session.pk, session.capacity
            obj._state.adding = False
            overlapping = Session.objects.filter(
                organization=obj.organization,
                location=obj.location,
                status=Session.Status.SCHEDULED,
                starts_at__lt=obj.ends_at,
                ends_at__gt=obj.starts_at,
            ).exclude(pk=obj.pk)
            if overlapping.exists():
                messages.warning(request, "Another session overlaps this one at the same location.")
            return
        data = {}
        if "ride_class" in form.changed_data:
            data["class_id"] = obj.ride_class_id
        if "instructor" in form.changed_data:
            data["instructor_id"] = obj.instructor_id
        if "capacity" in form.changed_data and obj.capacity:
            data["capacity"] = obj.capacity
        if data:
            services.session_update(
                organization=obj.organization, session_id=obj.pk, data=data, performed_by=request.user
            )

    def history_also(self, obj) -> list:
        # The waitlist has no page of its own: staff adding or removing riders shows on the class.
        return list(WaitlistEntry.objects.filter(session=obj).values_list("pk", flat=True))

    def _can(self, request, obj, roles) -> bool:
        if self._is_super(request):
            return True
        return obj.organization_id in orgs_with_role(request, roles)

    @admin.action(description="Cancel the selected sessions (every booking refunded)")
    def cancel_sessions(self, request, queryset):
        done = 0
        for session in queryset.select_related("organization"):
            if not self._can(request, session, STAFF):
                messages.error(request, f"{session}: only the studio's staff may cancel sessions.")
                continue
            try:
                services.session_cancel(
                    organization=session.organization, session_id=session.pk, cancelled_by=request.user
                )
                done += 1
            except DomainError as exc:
                _report(request, exc, str(session))
        if done:
            messages.success(request, f"Cancelled {done} session(s); every booking on them was refunded.")

    def get_urls(self):
        return [
            path(
                "<uuid:session_id>/roster/",
                self.admin_site.admin_view(self.roster_view),
                name="bookings_app_session_roster",
            ),
            path(
                "book-for/<uuid:member_id>/",
                self.admin_site.admin_view(self.book_for_member_view),
                name="bookings_app_session_book_for_member",
            ),
            path(
                "<uuid:session_id>/book/",
                self.admin_site.admin_view(self.book_view),
                name="bookings_app_session_book",
            ),
            *super().get_urls(),
        ]

    def _session(self, request, session_id):
        return (
            self.get_queryset(request)
            .filter(pk=session_id)
            .select_related("ride_class", "instructor", "location", "organization", "seat_layout")
            .first()
        )

    def _title(self, session) -> str:
        local = _local(session.starts_at, session.organization.timezone)
        return f"{session.ride_class.name}, {local:%a %d %b %H:%M}"

    def roster_view(self, request, session_id):
        """The instructor's and front desk's page: who rides where, check in, no-show, cancel,
        add a friend-pass guest; cancelled rows stay, greyed."""
        session = self._session(request, session_id)
        if session is None:
            messages.error(request, "No such session.")
            return redirect("admin:bookings_app_session_changelist")
        organization = session.organization
        if request.method == "POST":
            self._roster_post(request, session)
            return redirect("admin:bookings_app_session_roster", session_id=session.pk)
        bookings = list(selectors.session_roster(organization=organization, session=session, include_cancelled=True))
        live = [booking for booking in bookings if booking.status == Booking.Status.CONFIRMED]
        for booking in bookings:
            booking.rider = desk.rider_name(booking)
            booking.local_checked_in = booking.checked_in_at and _local(booking.checked_in_at, organization.timezone)
            booking.can_host = (
                booking.status == Booking.Status.CONFIRMED
                and not booking.is_guest
                and booking.member.friend_passes_available > 0
            )
        wq = request.GET.get("wq", "").strip()
        waitlist = roster_waitlist.waitlist_rows(session)
        is_staff = self._can(request, session, STAFF)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Roster: {self._title(session)}",
            "session": session,
            "bookings": bookings,
            "seat_map": desk.seat_map(session, live),
            "is_staff": is_staff,
            "check_in_open": services.check_in_is_open(session=session, organization=organization, now=clock.now()),
            "waitlist": waitlist,
            "waiting_count": sum(1 for entry in waitlist if entry.status == WaitlistEntry.Status.WAITING),
            "waitlist_q": wq,
            "waitlist_found": roster_waitlist.waitlist_candidates(session, wq) if wq and is_staff else [],
            "free_spots": max(session.capacity - session.booked_count, 0),
            "opts": self.model._meta,
            "original": session,
        }
        return TemplateResponse(request, "admin/bookings_app/session/roster.html", context)

    def _roster_post(self, request, session) -> None:
        organization = session.organization
        op, booking_id = request.POST.get("op"), posted_uuid(request.POST.get("booking"))
        allowed = {
            "check_in": EVERYONE,
            "undo_check_in": EVERYONE,
            "no_show": STAFF,
            "cancel_refund": STAFF,
            "cancel_no_refund": STAFF,
            "add_guest": STAFF,
            "waitlist_add": STAFF,
            "waitlist_promote": STAFF,
            "waitlist_remove": STAFF,
        }
        if op not in allowed or not self._can(request, session, allowed[op]):
            messages.error(request, "You may not do that.")
            return
        if op.startswith("waitlist_"):
            roster_waitlist.handle_post(request, session, op)
            return
        booking = (
            Booking.objects.filter(organization=organization, session=session, pk=booking_id)
            .select_related("member__user", "seat")
            .first()
            if booking_id
            else None
        )
        if booking is None:
            messages.error(request, "That booking is not on this roster.")
            return
        who = booking.guest_name if booking.is_guest else booking.member.full_name
        bike = f" on bike {booking.seat.label}" if booking.seat else ""
        try:
            if op == "check_in":
                services.booking_check_in(organization=organization, booking_id=booking.pk, performed_by=request.user)
                messages.success(request, f"{who} checked in{bike}.")
            elif op == "undo_check_in":
                services.booking_undo_check_in(
                    organization=organization, booking_id=booking.pk, performed_by=request.user
                )
                messages.success(request, f"{who}'s check-in{bike} undone.")
            elif op == "no_show":
                services.booking_mark_no_show(
                    organization=organization, booking_id=booking.pk, performed_by=request.user
                )
                messages.success(request, f"{who} marked as a no-show.")
            elif op == "add_guest":
                guest = services.booking_create(
                    organization=organization,
                    session_id=session.pk,
                    member_id=booking.member_id,
                    seat_id=request.POST.get("seat") or None,
                    payment_method="FRIEND_PASS",
                    guest_name=request.POST.get("guest_name", ""),
                    host_booking_id=booking.pk,
                    booked_by=request.user,
                    by_staff=True,
                )
                guest_bike = f" on bike {guest.seat.label}" if guest.seat_id else ""
                messages.success(request, f"{guest.guest_name} rides{guest_bike} as {who}'s friend-pass guest.")
            else:
                refund = op == "cancel_refund"
                cancelled = services.booking_cancel(
                    organization=organization,
                    booking_id=booking.pk,
                    cancelled_by=request.user,
                    by_staff=True,
                    refund=refund,
                )
                if refund and getattr(cancelled, "refunded", False):
                    what = f"{cancelled.credits_used} credit(s) refunded" if cancelled.credits_used else "refunded"
                    messages.success(request, f"{who}'s booking{bike} cancelled; {what}.")
                else:
                    messages.success(request, f"{who}'s booking{bike} cancelled without a refund.")
        except DomainError as exc:
            _report(request, exc, "Not done", session=session)

    def book_for_member_view(self, request, member_id):
        """From a member's page: the coming week's classes of their studio, each a link to the
        desk booking with the member already chosen."""
        member = Member.objects.filter(pk=member_id).select_related("user", "organization").first()
        if member is None or not (self._is_super(request) or member.organization_id in orgs_with_role(request, STAFF)):
            messages.error(request, "No such member.")
            return redirect("admin:index")
        organization = member.organization
        now = clock.now()
        sessions = list(
            Session.objects.filter(
                organization=organization,
                status=Session.Status.SCHEDULED,
                starts_at__gt=now,
                starts_at__lt=now + timedelta(days=8),
            )
            .select_related("ride_class", "instructor", "location", "organization")
            .order_by("starts_at")
        )
        for session in sessions:
            session.local_start = _local(session.starts_at, organization.timezone)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Book a class for {member.full_name}",
            "member": member,
            "sessions": sessions,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/bookings_app/session/book_for_member.html", context)

    def book_view(self, request, session_id):
        """Book at the desk: find the member, pick a bike on the map, choose how they pay."""
        session = self._session(request, session_id)
        if session is None or not self._can(request, session, STAFF):
            messages.error(request, "No such session, or you may not book on it.")
            return redirect("admin:bookings_app_session_changelist")
        organization = session.organization
        member_id = posted_uuid(request.POST.get("member") or request.GET.get("member"))
        member = (
            Member.objects.filter(organization=organization, pk=member_id).select_related("user").first()
            if member_id
            else None
        )
        if request.method == "POST" and member is not None:
            payment = request.POST.get("payment") or "AUTO"
            if payment not in dict(desk.DESK_PAYMENTS):
                messages.error(request, "Choose how the rider pays.")
            else:
                try:
                    booking = services.booking_create(
                        organization=organization,
                        session_id=session.pk,
                        member_id=member.pk,
                        seat_id=request.POST.get("seat") or None,
                        payment_method=payment,
                        booked_by=request.user,
                        by_staff=True,
                    )
                except DomainError as exc:
                    _report(request, exc, "Not booked")
                else:
                    bike = f" on bike {booking.seat.label}" if booking.seat_id else ""
                    paid = booking.get_payment_type_display()
                    if booking.credits_used:
                        paid = f"{booking.credits_used} credit{'s' if booking.credits_used != 1 else ''}"
                    messages.success(request, f"{member.full_name} booked{bike} ({paid}).")
                    return redirect("admin:bookings_app_session_roster", session_id=session.pk)
        q = request.GET.get("q", "")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Book: {self._title(session)}",
            "session": session,
            "member": member,
            "q": q,
            "found": desk.find_members(organization, q) if member is None else [],
            "seat_map": desk.seat_map(session) if member is not None else [],
            "payments": desk.DESK_PAYMENTS,
            "opts": self.model._meta,
            "original": session,
        }
        return TemplateResponse(request, "admin/bookings_app/session/book.html", context)
