"""The studio's admin for the schedule and bookings, scoped to the staff user's studio.

ADMIN: everything. FRONT_DESK: sessions and bookings (cancel, check-in, no-show; not the room
or the timetable's reference data). INSTRUCTOR: sessions, rosters and check-in. Every change of a
booking or a session goes through bookings_app.services (never a model save).
"""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from bookings_app import selectors, services
from bookings_app.models import LIVE, Booking, Instructor, Location, RideClass, Seat, SeatLayout, Session
from members_app.admin_base import ADMIN, FRONT_DESK, INSTRUCTOR, PersonByEmailForm, TenantScopedAdmin, orgs_with_role
from members_app.models import Organization
from spinning import clock
from spinning.errors import DomainError

STAFF = frozenset({ADMIN, FRONT_DESK})
EVERYONE = frozenset({ADMIN, FRONT_DESK, INSTRUCTOR})


def _studio_tz(request) -> str:
    """The time zone the admin shows days in: the staff user's (first) studio."""
    org_ids = orgs_with_role(request, EVERYONE)
    organization = Organization.objects.filter(pk__in=org_ids).first() if org_ids else Organization.objects.first()
    return organization.timezone if organization else "UTC"


def _local(moment, tz_name):
    return moment.astimezone(ZoneInfo(tz_name))


def _report(request, exc: DomainError, what: str) -> None:
    messages.error(request, f"{what}: {exc.detail} ({exc.code})")


class StudioDayFilter(admin.SimpleListFilter):
    """Sessions by studio-local day: yesterday, today and the next 13 days."""

    title = "day"
    parameter_name = "day"
    field = "starts_at"

    def lookups(self, request, model_admin):
        tz_name = _studio_tz(request)
        today = clock.local_date(clock.now(), tz_name)
        days = [today + timedelta(days=offset) for offset in range(-1, 14)]
        names = {today: "Today", today + timedelta(days=1): "Tomorrow", today - timedelta(days=1): "Yesterday"}
        return [(day.isoformat(), names.get(day, f"{day:%a %d %b}")) for day in days]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        tz_name = _studio_tz(request)
        try:
            day = date.fromisoformat(self.value())
            start, end = clock.start_of_local_day(day, tz_name), clock.end_of_local_day(day, tz_name)
        except (ValueError, OverflowError) as exc:  # not a date, or its day ends past the calendar
            raise IncorrectLookupParameters(exc) from None
        return queryset.filter(**{f"{self.field}__gte": start, f"{self.field}__lt": end})


class BookingDayFilter(StudioDayFilter):
    title = "session day"
    parameter_name = "session_day"
    field = "session__starts_at"


class ServiceRefusalMixin:
    """A service refusing an admin save (e.g. a capacity above the room's bikes) becomes an error
    message on the same form instead of a 500; the service's transaction wrote nothing."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            detail = f"{exc.detail} {exc.fields}" if exc.fields else exc.detail
            messages.error(request, f"Not saved: {detail} ({exc.code})")
            return redirect(request.get_full_path())


# --- reference data ---------------------------------------------------------------------------------
@admin.register(Location)
class LocationAdmin(TenantScopedAdmin):
    list_display = ["name", "address", "organization"]
    search_fields = ["name"]


@admin.register(RideClass)
class RideClassAdmin(TenantScopedAdmin):
    list_display = ["name", "name_tr", "music_genre", "duration_minutes", "organization"]
    search_fields = ["name", "name_tr"]
    view_roles = EVERYONE


class InstructorForm(PersonByEmailForm):
    """The instructor's login, if any, is one of the studio's members or staff, picked by email."""

    person_required = False

    class Meta:
        model = Instructor
        fields = ["organization", "name", "bio", "is_active"]


@admin.register(Instructor)
class InstructorAdmin(TenantScopedAdmin):
    form = InstructorForm
    fields = ["organization", "name", "person_email", "bio", "is_active"]
    list_display = ["name", "user", "is_active", "organization"]
    search_fields = ["name"]
    list_filter = ["is_active"]
    view_roles = EVERYONE


class SeatInline(admin.TabularInline):
    model = Seat
    fields = ["label", "row", "column", "type", "credit_cost", "is_active"]
    readonly_fields = ["row", "column"]
    extra = 0
    can_delete = False
    ordering = ["row", "column"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SeatLayout)
class SeatLayoutAdmin(ServiceRefusalMixin, TenantScopedAdmin):
    """A room's bikes. "Edit as a grid" shows the room as it stands, one cell per position."""

    list_display = ["name", "location", "rows", "columns", "bookable_bikes", "grid_link"]
    inlines = [SeatInline]
    change_form_template = "admin/bookings_app/seatlayout/change_form.html"
    saves_through_service = True

    def get_readonly_fields(self, request, obj=None):
        return ["location", "rows", "columns", "organization"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        layout = services.seat_layout_create(
            organization=obj.organization,
            location_id=obj.location_id,
            name=obj.name,
            rows=obj.rows,
            columns=obj.columns,
        )
        obj.pk = layout.pk
        obj._state.adding = False

    @admin.display(description="Bookable bikes")
    def bookable_bikes(self, obj):
        return selectors.bookable_seat_count(layout=obj)

    @admin.display(description="Grid")
    def grid_link(self, obj):
        return format_html(
            '<a href="{}">Edit as a grid</a>', reverse("admin:bookings_app_seatlayout_grid", args=[obj.pk])
        )

    def get_urls(self):
        return [
            path(
                "<uuid:layout_id>/grid/",
                self.admin_site.admin_view(self.grid_view),
                name="bookings_app_seatlayout_grid",
            ),
            *super().get_urls(),
        ]

    def grid_view(self, request, layout_id):
        layout = self.get_queryset(request).filter(pk=layout_id).first()
        if layout is None or not self.has_view_permission(request, layout):
            messages.error(request, "No such seat layout.")
            return redirect("admin:bookings_app_seatlayout_changelist")
        can_change = self.has_change_permission(request, layout)
        seats = list(layout.seats.order_by("row", "column"))
        if request.method == "POST" and can_change:
            specs = [
                {
                    "id": seat.pk,
                    "label": request.POST.get(f"label-{seat.pk}", seat.label),
                    "type": request.POST.get(f"type-{seat.pk}", seat.type),
                    "credit_cost": request.POST.get(f"cost-{seat.pk}", seat.credit_cost) or 1,
                    "is_active": request.POST.get(f"active-{seat.pk}") == "on",
                }
                for seat in seats
            ]
            try:
                services.seat_layout_update_grid(organization=layout.organization, layout_id=layout.pk, seats=specs)
            except (DomainError, ValueError) as exc:
                messages.error(request, f"Not saved: {getattr(exc, 'fields', None) or exc}")
            else:
                messages.success(request, "Seat layout saved.")
                return redirect("admin:bookings_app_seatlayout_grid", layout_id=layout.pk)
        by_position = {(s.row, s.column): s for s in seats}
        grid = [
            [by_position.get((row, column)) for column in range(1, layout.columns + 1)]
            for row in range(1, layout.rows + 1)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Seat layout: {layout}",
            "layout": layout,
            "grid": grid,
            "types": Seat.Type.choices,
            "can_change": can_change,
            "opts": self.model._meta,
            "original": layout,
        }
        return TemplateResponse(request, "admin/bookings_app/seatlayout/grid.html", context)


# --- sessions -------------------------------------------------------------------------------------
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


@admin.register(Session)
class SessionAdmin(ServiceRefusalMixin, TenantScopedAdmin):
    view_roles = EVERYONE
    write_roles = frozenset({ADMIN})
    form = SessionForm
    list_display = ["day", "time", "ride_class", "instructor", "location", "booked", "status", "roster_link"]
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

    @admin.display(description="Day", ordering="starts_at")
    def day(self, obj):
        return f"{_local(obj.starts_at, obj.organization.timezone):%a %d %b %Y}"

    @admin.display(description="Time")
    def time(self, obj):
        tz = obj.organization.timezone
        return f"{_local(obj.starts_at, tz):%H:%M}-{_local(obj.ends_at, tz):%H:%M}"

    @admin.display(description="Booked / capacity")
    def booked(self, obj):
        return f"{obj.booked_count} / {obj.capacity}"

    @admin.display(description="Roster")
    def roster_link(self, obj):
        return format_html(
            '<a href="{}">Roster & check-in</a>', reverse("admin:bookings_app_session_roster", args=[obj.pk])
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
            services.session_update(organization=obj.organization, session_id=obj.pk, data=data)

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
            *super().get_urls(),
        ]

    def roster_view(self, request, session_id):
        """The instructor's and front desk's page: who rides, check in, no-show, cancel."""
        session = self.get_queryset(request).filter(pk=session_id).select_related("ride_class", "organization").first()
        if session is None:
            messages.error(request, "No such session.")
            return redirect("admin:bookings_app_session_changelist")
        organization = session.organization
        if request.method == "POST":
            op, booking_id = request.POST.get("op"), request.POST.get("booking")
            allowed = {
                "check_in": EVERYONE,
                "undo_check_in": EVERYONE,
                "no_show": STAFF,
                "cancel_refund": STAFF,
                "cancel_no_refund": STAFF,
            }
            if op not in allowed or not self._can(request, session, allowed[op]):
                messages.error(request, "You may not do that.")
            else:
                try:
                    if op == "check_in":
                        services.booking_check_in(organization=organization, booking_id=booking_id)
                    elif op == "undo_check_in":
                        services.booking_undo_check_in(organization=organization, booking_id=booking_id)
                    elif op == "no_show":
                        services.booking_mark_no_show(organization=organization, booking_id=booking_id)
                    else:
                        services.booking_cancel(
                            organization=organization,
                            booking_id=booking_id,
                            cancelled_by=request.user,
                            by_staff=True,
                            refund=op == "cancel_refund",
                        )
                    messages.success(request, "Done.")
                except DomainError as exc:
                    _report(request, exc, "Refused")
            return redirect("admin:bookings_app_session_roster", session_id=session.pk)
        bookings = selectors.session_roster(organization=organization, session=session)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Roster: {session.ride_class.name}, {_local(session.starts_at, organization.timezone):%a %d %b %H:%M}",
            "session": session,
            "bookings": bookings,
            "is_staff": self._can(request, session, STAFF),
            "check_in_open": services.check_in_is_open(session=session, organization=organization, now=clock.now()),
            "opts": self.model._meta,
            "original": session,
        }
        return TemplateResponse(request, "admin/bookings_app/session/roster.html", context)


# --- bookings -------------------------------------------------------------------------------------
@admin.register(Booking)
class BookingAdmin(TenantScopedAdmin):
    """Bookings are made through the API (or the roster); here staff find them and act on them."""

    view_roles = EVERYONE
    write_roles = STAFF
    allow_add = False
    allow_delete = False
    list_display = [
        "session_start",
        "session_class",
        "rider",
        "guest_name",
        "seat",
        "status",
        "payment_type",
        "credits_used",
        "refunded",
        "checked_in_at",
    ]
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
        return f"{_local(obj.session.starts_at, obj.session.organization.timezone):%a %d %b %H:%M}"

    @admin.display(description="Class")
    def session_class(self, obj):
        return obj.session.ride_class.name

    @admin.display(description="Rider", ordering="member__last_name")
    def rider(self, obj):
        return obj.member.full_name

    def _each(self, request, queryset, roles, call, verb):
        done = 0
        allowed = None if self._is_super(request) else set(orgs_with_role(request, roles))
        for booking in queryset.select_related("organization"):
            if allowed is not None and booking.organization_id not in allowed:
                messages.error(request, f"{booking}: not allowed.")
                continue
            try:
                call(booking)
                done += 1
            except DomainError as exc:
                _report(request, exc, f"{booking.member} ({booking.status})")
        if done:
            messages.success(request, f"{verb}: {done} booking(s).")

    @admin.action(description="Check in", permissions=["checkin"])
    def check_in(self, request, queryset):
        self._each(
            request,
            queryset,
            EVERYONE,
            lambda b: services.booking_check_in(organization=b.organization, booking_id=b.pk),
            "Checked in",
        )

    @admin.action(description="Undo check-in", permissions=["checkin"])
    def undo_check_in(self, request, queryset):
        self._each(
            request,
            queryset,
            EVERYONE,
            lambda b: services.booking_undo_check_in(organization=b.organization, booking_id=b.pk),
            "Check-in undone",
        )

    @admin.action(description="Mark no-show", permissions=["staff"])
    def mark_no_show(self, request, queryset):
        self._each(
            request,
            queryset,
            STAFF,
            lambda b: services.booking_mark_no_show(organization=b.organization, booking_id=b.pk),
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
