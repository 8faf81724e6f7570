"""Admin scoped to the staff user's studio.

A platform superuser sees every studio. Anyone else sees and edits only rows of the studios
where they hold a StaffRole, and only on screens their role allows (DOMAIN.md 1: ADMIN
everything; FRONT_DESK members, redemptions, bookings, check-in; INSTRUCTOR sessions and
rosters). Django's per-model permissions are not used for studio staff: the role decides.
"""

from django.contrib import admin

from members_app.models import Organization, StaffRole

ADMIN = StaffRole.Role.ADMIN
FRONT_DESK = StaffRole.Role.FRONT_DESK
INSTRUCTOR = StaffRole.Role.INSTRUCTOR


def staff_roles(request) -> dict:
    """{organization_id: role} for the logged-in user, cached on the request."""
    if not request.user.is_authenticated:
        return {}
    cached = getattr(request, "_staff_roles", None)
    if cached is None:
        cached = dict(StaffRole.objects.filter(user=request.user).values_list("organization_id", "role"))
        request._staff_roles = cached
    return cached


def orgs_with_role(request, roles) -> list:
    return [org_id for org_id, role in staff_roles(request).items() if role in roles]


class TenantScopedAdmin(admin.ModelAdmin):
    #: roles that may see this screen / change its rows
    view_roles: frozenset = frozenset({ADMIN})
    write_roles: frozenset = frozenset({ADMIN})
    #: the path from this model to its organization
    organization_field = "organization"
    #: append-only models (the ledger) set these False
    allow_add = True
    allow_delete = True
    #: True when save_model writes through a service: the service opens its own durable
    #: transaction, which may not nest inside the admin's usual atomic wrapper
    saves_through_service = False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if not self.saves_through_service:
            return super().changeform_view(request, object_id, form_url, extra_context)
        return self._changeform_view(request, object_id, form_url, extra_context)

    def _is_super(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def _allowed_org_ids(self, request, roles) -> list:
        return orgs_with_role(request, roles)

    def has_module_permission(self, request):
        return self._is_super(request) or bool(self._allowed_org_ids(request, self.view_roles))

    def has_view_permission(self, request, obj=None):
        if self._is_super(request):
            return True
        allowed = self._allowed_org_ids(request, self.view_roles | self.write_roles)
        if obj is None:
            return bool(allowed)
        return self._org_id_of(obj) in allowed

    def has_change_permission(self, request, obj=None):
        if self._is_super(request):
            return True
        allowed = self._allowed_org_ids(request, self.write_roles)
        if obj is None:
            return bool(allowed)
        return self._org_id_of(obj) in allowed

    def has_add_permission(self, request):
        return self.allow_add and (self._is_super(request) or bool(self._allowed_org_ids(request, self.write_roles)))

    def has_delete_permission(self, request, obj=None):
        return self.allow_delete and self.has_change_permission(request, obj)

    def _org_id_of(self, obj):
        target = obj
        for part in self.organization_field.split("__"):
            target = getattr(target, part)
        return target.pk if isinstance(target, Organization) else target

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self._is_super(request):
            return queryset
        allowed = self._allowed_org_ids(request, self.view_roles | self.write_roles)
        return queryset.filter(**{f"{self.organization_field}__in": allowed})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if self._is_super(request) or field is None:
            return field
        model = db_field.related_model
        allowed = self._allowed_org_ids(request, self.write_roles | self.view_roles)
        if model is Organization:
            field.queryset = field.queryset.filter(pk__in=allowed)
            if len(allowed) == 1:
                field.initial = allowed[0]
        elif any(f.name == "organization" for f in model._meta.fields):
            field.queryset = field.queryset.filter(organization__in=allowed)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if self._is_super(request) or field is None:
            return field
        model = db_field.related_model
        if any(f.name == "organization" for f in model._meta.fields):
            allowed = self._allowed_org_ids(request, self.write_roles | self.view_roles)
            field.queryset = field.queryset.filter(organization__in=allowed)
        return field


class StaffScopedAdmin(TenantScopedAdmin):
    """Screens for the front desk as well as the studio's admins."""

    view_roles = frozenset({ADMIN, FRONT_DESK})
    write_roles = frozenset({ADMIN, FRONT_DESK})
