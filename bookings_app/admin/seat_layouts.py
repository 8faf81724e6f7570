"""A room's bikes: the seat layout list, its inline and the grid editor."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from bookings_app import selectors, services
from bookings_app.admin.common import ServiceWritesMixin, sentence
from bookings_app.models import Seat, SeatLayout
from members_app.admin_base import TenantScopedAdmin
from spinning.errors import DomainError


class SeatInline(admin.TabularInline):
    model = Seat
    fields = ["label", "row", "column", "type", "credit_cost", "is_active"]
    readonly_fields = ["row", "column"]
    extra = 0
    can_delete = False
    ordering = ["row", "column"]

    def has_add_permission(self, request, obj=None):
        return False

    # The studio's role decides, as on the layout itself (obj is the layout): its ADMINs edit the
    # seats here; the changes are saved by SeatLayoutAdmin.save_related through the service.
    def has_view_permission(self, request, obj=None):
        return self.admin_site._registry[SeatLayout].has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.admin_site._registry[SeatLayout].has_change_permission(request, obj)


@admin.register(SeatLayout)
class SeatLayoutAdmin(ServiceWritesMixin, TenantScopedAdmin):
    """A room's bikes. "Edit as a grid" shows the room as it stands, one cell per position."""

    list_display = ["name", "location", "rows", "columns", "bookable_bikes", "grid_link"]
    inlines = [SeatInline]
    change_form_template = "admin/bookings_app/seatlayout/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return ["location", "rows", "columns", "organization"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:  # written with the seat inline's edits in save_related: one service call
            return
        layout = services.seat_layout_create(
            organization=obj.organization,
            location_id=obj.location_id,
            name=obj.name,
            rows=obj.rows,
            columns=obj.columns,
            performed_by=request.user,
        )
        obj.pk = layout.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """The layout's name and the seats edited in the inline, through `seat_layout_update`
        (one transaction, one audit entry); nothing is saved by the forms themselves."""
        for formset in formsets:  # what Django's own change message reads after a save
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not change:
            return
        seats = [
            {"id": seat_form.instance.pk, **{name: seat_form.cleaned_data[name] for name in seat_form.changed_data}}
            for formset in formsets
            for seat_form in formset.forms
            if seat_form.instance.pk and seat_form.has_changed()
        ]
        services.seat_layout_update(
            organization=form.instance.organization,
            layout_id=form.instance.pk,
            name=form.cleaned_data.get("name"),
            seats=seats,
            performed_by=request.user,
        )

    def delete_model(self, request, obj):
        services.seat_layout_delete(organization=obj.organization, layout_id=obj.pk, performed_by=request.user)

    def delete_queryset(self, request, queryset):
        for layout in queryset.select_related("organization", "location"):
            try:
                self.delete_model(request, layout)
            except DomainError as exc:
                messages.error(request, f"{layout}: {sentence(exc)}")

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
                services.seat_layout_update_grid(
                    organization=layout.organization, layout_id=layout.pk, seats=specs, performed_by=request.user
                )
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
