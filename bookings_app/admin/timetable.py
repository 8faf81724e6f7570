"""The weekly timetable, closed days and "Generate sessions" (issue 12 item 6).

Slots and closed days are edited by the studio's ADMIN (FRONT_DESK and instructors may look);
every save goes through `services.timetable` (recorded in the audit log). "Generate sessions"
picks a range of studio-local days (default: next month), previews what will be created and
what skipped (closed days, sessions already there, starts already past) with the overlaps it
warns about, then creates them through `services.sessions_generate` (idempotent).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from bookings_app import selectors, services
from bookings_app.admin.common import EVERYONE, ServiceWritesMixin, _report, sentence
from bookings_app.models import ClosedDate, TimetableSlot
from bookings_app.services.timetable import INSTRUCTOR_INACTIVE, MAX_DAYS, SLOT_FIELDS, next_month
from members_app.admin_base import ADMIN, TenantScopedAdmin
from members_app.models import Organization
from spinning import clock
from spinning.errors import DomainError

#: the browser's date picker sends 2026-12-31; typed Turkish style 31.12.2026 is accepted too
DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y"]


def date_field(label, required=True, help_text=""):
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=help_text,
        error_messages={"invalid": gettext_lazy("Enter a day, e.g. 31.12.2026.")},
    )


class TimetableSlotForm(forms.ModelForm):
    # Plain browser pickers: the admin's own time widget offers "Now" and warns about the
    # server's UTC offset, neither of which means anything for a weekly studio-local time.
    start_time = forms.TimeField(
        label=gettext_lazy("Starts at"),
        input_formats=["%H:%M", "%H.%M", "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy("Studio-local time, e.g. 18:30."),
    )
    valid_from = date_field(gettext_lazy("From"), required=False, help_text=gettext_lazy("Empty: from now on."))
    valid_until = date_field(gettext_lazy("Until"), required=False, help_text=gettext_lazy("Empty: no end."))

    class Meta:
        model = TimetableSlot
        fields = [
            "organization",
            "weekday",
            "start_time",
            "ride_class",
            "instructor",
            "seat_layout",
            "duration_minutes",
            "is_active",
            "valid_from",
            "valid_until",
        ]


@admin.register(TimetableSlot)
class TimetableSlotAdmin(ServiceWritesMixin, TenantScopedAdmin):
    form = TimetableSlotForm
    view_roles = EVERYONE
    write_roles = frozenset({ADMIN})
    # Fits a 1,366 px laptop beside the filters: the day and the hours in one column.
    list_display = ["when", "ride_class", "instructor", "room", "is_active", "valid"]
    list_filter = ["weekday", "is_active", "instructor"]
    list_select_related = ["ride_class", "instructor", "seat_layout__location"]
    ordering = ["weekday", "start_time"]
    saves_through_service = True
    change_list_template = "admin/bookings_app/timetableslot/change_list.html"

    @admin.display(description=gettext_lazy("When"), ordering="weekday")
    def when(self, obj):
        start = datetime.combine(date(2000, 1, 3), obj.start_time)  # a Monday: only the clock matters
        end = start + timedelta(minutes=obj.minutes)
        return f"{obj.get_weekday_display()} {start:%H:%M}–{end:%H:%M}"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": _("Weekly timetable"), **(extra_context or {})})

    @admin.display(description=gettext_lazy("Room"), ordering="seat_layout__name")
    def room(self, obj):
        return obj.seat_layout.name

    @admin.display(description=gettext_lazy("Runs"))
    def valid(self, obj):
        if obj.valid_from and obj.valid_until:
            return f"{obj.valid_from:%d.%m.%Y} – {obj.valid_until:%d.%m.%Y}"
        if obj.valid_from:
            return _("from %(day)s") % {"day": f"{obj.valid_from:%d.%m.%Y}"}
        if obj.valid_until:
            return _("until %(day)s") % {"day": f"{obj.valid_until:%d.%m.%Y}"}
        return _("every week")

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in SLOT_FIELDS}
        if change:
            services.timetable_slot_update(
                organization=obj.organization, slot_id=obj.pk, data=data, performed_by=request.user
            )
            return
        slot = services.timetable_slot_create(organization=obj.organization, data=data, performed_by=request.user)
        obj.pk, obj.created_at = slot.pk, slot.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.timetable_slot_delete(organization=obj.organization, slot_id=obj.pk, performed_by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("organization"):
            try:
                self.delete_model(request, obj)
            except DomainError as exc:  # gone meanwhile, or busy behind a generation
                messages.error(request, f"{obj}: {sentence(exc)}")

    def get_urls(self):
        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="bookings_app_timetableslot_generate",
            ),
            *super().get_urls(),
        ]

    def _studios(self, request) -> list[Organization]:
        if self._is_super(request):
            return list(Organization.objects.order_by("name"))
        return list(
            Organization.objects.filter(pk__in=self._allowed_org_ids(request, self.write_roles)).order_by("name")
        )

    def generate_view(self, request):
        """Pick the days, see what will happen, then create (ADMIN)."""
        studios = self._studios(request)
        if not studios:
            messages.error(request, _("Only the studio's admins may generate sessions."))
            return redirect("admin:index")
        data = request.POST if request.method == "POST" else request.GET
        studio = next((s for s in studios if str(s.pk) == data.get("organization")), studios[0])
        first, last = next_month(clock.local_date(clock.now(), studio.timezone))
        form = GenerateForm(
            data if "date_from" in data else None,
            studios=studios,
            initial={
                "organization": studio.pk,
                "date_from": first,
                "date_to": last,
            },
        )
        plan = None
        if form.is_bound and form.is_valid():
            studio = form.cleaned_data["organization"]
            date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
            try:
                if request.method == "POST":
                    done = services.sessions_generate(
                        organization=studio, date_from=date_from, date_to=date_to, performed_by=request.user
                    )
                    self._report_done(request, done)
                    url = reverse("admin:bookings_app_timetableslot_generate")
                    return redirect(
                        f"{url}?organization={studio.pk}&date_from={date_from.isoformat()}&date_to={date_to.isoformat()}"
                    )
                plan = services.timetable_plan(organization=studio, date_from=date_from, date_to=date_to)
            except DomainError as exc:
                _report(request, exc, _("Not generated"))
        if plan is not None:
            zone = ZoneInfo(studio.timezone)
            for item in plan.items:
                item.local_start, item.local_end = item.starts_at.astimezone(zone), item.ends_at.astimezone(zone)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Generate sessions from the weekly timetable"),
            "form": form,
            "plan": plan,
            "studio": studio,
            "slot_count": TimetableSlot.objects.filter(organization=studio, is_active=True).count(),
            "closed_days": ClosedDate.objects.filter(organization=studio, date__range=(plan.date_from, plan.date_to))
            if plan
            else [],
            "opts": self.model._meta,
            "max_days": MAX_DAYS,
        }
        return TemplateResponse(request, "admin/bookings_app/timetableslot/generate.html", context)

    def _report_done(self, request, plan) -> None:
        created = len(plan.created)
        span = f"{plan.date_from:%d.%m.%Y} – {plan.date_to:%d.%m.%Y}"
        text = ngettext(
            "%(count)d session created for %(span)s.", "%(count)d sessions created for %(span)s.", created
        ) % {"count": created, "span": span}
        skipped = []
        if plan.count("closed"):
            skipped.append(_("%(count)d on closed days") % {"count": plan.count("closed")})
        if plan.count("exists"):
            skipped.append(_("%(count)d already on the schedule") % {"count": plan.count("exists")})
        if plan.count("past"):
            skipped.append(_("%(count)d already started") % {"count": plan.count("past")})
        if plan.count(INSTRUCTOR_INACTIVE):
            skipped.append(_("%(count)d with an inactive instructor") % {"count": plan.count(INSTRUCTOR_INACTIVE)})
        if skipped:
            text += " " + _("Skipped: %(what)s.") % {"what": ", ".join(skipped)}
        messages.success(request, text)
        if plan.overlapping:
            messages.warning(
                request,
                ngettext(
                    "%(count)d new session overlaps another at the same location (allowed; check the rooms).",
                    "%(count)d new sessions overlap another at the same location (allowed; check the rooms).",
                    len(plan.overlapping),
                )
                % {"count": len(plan.overlapping)},
            )


class GenerateForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label=gettext_lazy("Studio"))
    date_from = date_field(gettext_lazy("First day"))
    date_to = date_field(gettext_lazy("Last day"))

    def __init__(self, *args, studios, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(pk__in=[s.pk for s in studios])
        if len(studios) == 1:
            self.fields["organization"].widget = forms.HiddenInput()

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last:
            if last < first:
                self.add_error("date_to", _("The last day is before the first day."))
            elif (last - first).days + 1 > MAX_DAYS:
                self.add_error("date_to", _("At most %(days)d days at a time.") % {"days": MAX_DAYS})
        return cleaned


class ClosedDateForm(forms.ModelForm):
    date = date_field(gettext_lazy("Day"))

    class Meta:
        model = ClosedDate
        fields = ["organization", "date", "reason"]


@admin.register(ClosedDate)
class ClosedDateAdmin(ServiceWritesMixin, TenantScopedAdmin):
    form = ClosedDateForm
    view_roles = EVERYONE
    write_roles = frozenset({ADMIN})
    list_display = ["day", "reason"]
    ordering = ["date"]
    saves_through_service = True

    @admin.display(description=gettext_lazy("Day"), ordering="date")
    def day(self, obj):
        return f"{obj.date:%a %d.%m.%Y}"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.closed_date_update(
                organization=obj.organization,
                closed_id=obj.pk,
                day=data["date"],
                reason=data.get("reason", ""),
                performed_by=request.user,
            )
            self._warn_sessions_there(request, obj.organization, data["date"])
            return
        closed = services.closed_date_create(
            organization=obj.organization, day=data["date"], reason=data.get("reason", ""), performed_by=request.user
        )
        obj.pk, obj.created_at = closed.pk, closed.created_at
        obj._state.adding = False
        self._warn_sessions_there(request, obj.organization, data["date"])

    def _warn_sessions_there(self, request, organization, day) -> None:
        """Closing a day cancels nothing (the riders would lose their rides unasked); say what is
        still on it, e.g. what a generation running at that moment made."""
        count = selectors.sessions_scheduled_on(organization=organization, day=day)
        if count:
            messages.warning(
                request,
                ngettext(
                    "%(count)d session is still scheduled on %(day)s: cancel it on the sessions list "
                    "(its riders are refunded).",
                    "%(count)d sessions are still scheduled on %(day)s: cancel them on the sessions list "
                    "(their riders are refunded).",
                    count,
                )
                % {"count": count, "day": f"{day:%d.%m.%Y}"},
            )

    def delete_model(self, request, obj):
        services.closed_date_delete(organization=obj.organization, closed_id=obj.pk, performed_by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("organization"):
            try:
                self.delete_model(request, obj)
            except DomainError as exc:  # gone meanwhile, or busy behind a generation
                messages.error(request, f"{obj}: {sentence(exc)}")
