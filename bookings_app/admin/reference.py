"""The timetable's reference data: locations, classes, instructors."""

from django.contrib import admin

from bookings_app.admin.common import (
    EVERYONE,
)
from bookings_app.models import Instructor, Location, RideClass
from members_app.admin_base import PersonByEmailForm, TenantScopedAdmin


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
