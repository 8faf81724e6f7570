"""The timetable's reference data: locations, classes, instructors.

Every save and delete goes through bookings_app.services (reference.py), which writes the row
and its audit entry in one transaction."""

from django.contrib import admin, messages

from bookings_app import services
from bookings_app.admin.common import EVERYONE, ServiceWritesMixin, sentence
from bookings_app.models import Instructor, Location, RideClass
from bookings_app.services.reference import INSTRUCTOR_FIELDS, LOCATION_FIELDS, RIDE_CLASS_FIELDS
from members_app.admin_base import PersonByEmailForm, TenantScopedAdmin
from spinning.errors import DomainError


class ReferenceAdmin(ServiceWritesMixin, TenantScopedAdmin):
    """save_model / delete_model call the model's create, update and delete services."""

    service_fields: tuple[str, ...] = ()
    id_argument = ""
    create_service = update_service = delete_service = None

    def save_model(self, request, obj, form, change):
        data = {name: getattr(obj, name) for name in self.service_fields}
        if change:
            saved = self.update_service(
                organization=obj.organization, **{self.id_argument: obj.pk}, data=data, performed_by=request.user
            )
        else:
            saved = self.create_service(organization=obj.organization, data=data, performed_by=request.user)
        obj.__dict__.update(saved.__dict__)

    def delete_model(self, request, obj):
        self.delete_service(organization=obj.organization, **{self.id_argument: obj.pk}, performed_by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("organization"):
            try:
                self.delete_model(request, obj)
            except DomainError as exc:
                messages.error(request, f"{obj}: {sentence(exc)}")


@admin.register(Location)
class LocationAdmin(ReferenceAdmin):
    list_display = ["name", "address", "organization"]
    search_fields = ["name"]
    service_fields = LOCATION_FIELDS
    id_argument = "location_id"
    create_service = staticmethod(services.location_create)
    update_service = staticmethod(services.location_update)
    delete_service = staticmethod(services.location_delete)


@admin.register(RideClass)
class RideClassAdmin(ReferenceAdmin):
    list_display = ["name", "name_tr", "music_genre", "duration_minutes", "organization"]
    search_fields = ["name", "name_tr"]
    view_roles = EVERYONE
    service_fields = RIDE_CLASS_FIELDS
    id_argument = "class_id"
    create_service = staticmethod(services.ride_class_create)
    update_service = staticmethod(services.ride_class_update)
    delete_service = staticmethod(services.ride_class_delete)


class InstructorForm(PersonByEmailForm):
    """The instructor's login, if any, is one of the studio's members or staff, picked by email."""

    person_required = False

    class Meta:
        model = Instructor
        fields = ["organization", "name", "bio", "is_active"]


@admin.register(Instructor)
class InstructorAdmin(ReferenceAdmin):
    form = InstructorForm
    fields = ["organization", "name", "person_email", "bio", "is_active"]
    list_display = ["name", "user", "is_active", "organization"]
    search_fields = ["name"]
    list_filter = ["is_active"]
    view_roles = EVERYONE
    actions = ["deactivate"]
    service_fields = INSTRUCTOR_FIELDS
    id_argument = "instructor_id"
    create_service = staticmethod(services.instructor_create)
    update_service = staticmethod(services.instructor_update)
    delete_service = staticmethod(services.instructor_delete)

    @admin.action(description="Deactivate (kept for their past sessions)", permissions=["change"])
    def deactivate(self, request, queryset):
        for instructor in queryset.filter(is_active=True).select_related("organization"):
            self.check_writable(request, instructor)
            services.instructor_deactivate(
                organization=instructor.organization, instructor_id=instructor.pk, performed_by=request.user
            )
