"""A room's bikes: the seat layout list, its inline and the grid editor."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from bookings_app import selectors, services
from bookings_app.admin.common import ServiceRefusalMixin
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
            performed_by=request.user,
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
