"""Admin scoped to the staff user's studio.

A platform superuser sees every studio. Anyone else sees and edits only rows of the studios
where they hold a StaffRole, and only on screens their role allows (DOMAIN.md 1: ADMIN
everything; FRONT_DESK members, redemptions, bookings, check-in; INSTRUCTOR sessions and
rosters). Django's per-model permissions are not used for studio staff: the role decides.

Choices follow what the user may WRITE: an organization dropdown offers only the studios where
the user's role may write the screen's model, related rows come only from those studios, and a
person is picked by email among the studio's own members and staff (`PersonByEmailForm`), never
from a list of the platform's users. Every save re-checks the organization (`save_form`), so a
forged POST is refused even if it gets past the form.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy

from members_app.audit_history import AuditHistoryMixin
from members_app.models import Organization, StaffRole, User
from spinning.admin_safety import SafeAdminMixin

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


def studio_people(organization_ids) -> QuerySet[User]:
    """The people a studio knows: its members and its staff."""
    return User.objects.filter(
        Q(pk__in=StaffRole.objects.filter(organization__in=organization_ids).values("user_id"))
        | Q(memberships__organization__in=organization_ids)
    ).distinct()


def find_person(*, organization: Organization | None, email: str, any_account: bool = False) -> User | None:
    """The person with this email among the studio's members and staff (any account for a
    platform superuser, who sets up a new studio's first staff)."""
    people = User.objects.all() if any_account else studio_people([organization.pk] if organization else [])
    return people.filter(email__iexact=email.strip()).first()


class PersonByEmailForm(forms.ModelForm):
    """A ModelForm whose `user` is picked by typing an email: it must be a member or staff of the
    chosen studio. Nobody browses the platform's users, and no user id is ever shown."""

    person_email = forms.EmailField(
        label="Person (email)", help_text="The email of one of this studio's members or staff."
    )
    #: set by the admin for a platform superuser: any existing account may be picked
    any_account = False
    person_required = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["person_email"]
        field.required = self.person_required
        if self.instance.pk and self.instance.user_id:
            field.initial = self.instance.user.email

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("person_email")
        organization = cleaned.get("organization") or (
            self.instance.organization if self.instance.organization_id else None
        )
        if not email:
            if "person_email" not in self.errors:
                self.instance.user = None
            return cleaned
        person = find_person(organization=organization, email=email, any_account=self.any_account)
        if person is None:
            self.add_error("person_email", "No member or staff of this studio has this email.")
        else:
            self.instance.user = person
        return cleaned


class TenantScopedAdmin(AuditHistoryMixin, SafeAdminMixin, admin.ModelAdmin):
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
        if self.organization_field == "organization":
            return obj.organization_id
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

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if issubclass(form, PersonByEmailForm) and self._is_super(request):
            form = type(form.__name__, (form,), {"any_account": True})
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Choices are what the user may write: studios where their role writes this screen,
        rows of those studios, people of those studios (no list of the platform's users)."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if self._is_super(request) or field is None:
            return field
        model = db_field.related_model
        writable = self._allowed_org_ids(request, self.write_roles)
        if model is Organization:
            field.queryset = field.queryset.filter(pk__in=writable)
            if len(writable) == 1:
                field.initial = writable[0]
        elif model is User:
            field.queryset = studio_people(writable)
        elif any(f.name == "organization" for f in model._meta.fields):
            field.queryset = field.queryset.filter(organization__in=writable)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if self._is_super(request) or field is None:
            return field
        model = db_field.related_model
        if any(f.name == "organization" for f in model._meta.fields):
            writable = self._allowed_org_ids(request, self.write_roles)
            field.queryset = field.queryset.filter(organization__in=writable)
        return field

    def check_writable(self, request, obj) -> None:
        """Refuse a save into a studio where the user's role may not write this model."""
        if self._is_super(request):
            return
        if self._org_id_of(obj) not in self._allowed_org_ids(request, self.write_roles):
            raise PermissionDenied(gettext_lazy("You may not write into this studio."))

    def save_form(self, request, form, change):
        # Every save path of the admin passes here before save_model, whatever the form offered.
        obj = super().save_form(request, form, change)
        self.check_writable(request, obj)
        return obj


class StaffScopedAdmin(TenantScopedAdmin):
    """Screens for the front desk as well as the studio's admins."""

    view_roles = frozenset({ADMIN, FRONT_DESK})
    write_roles = frozenset({ADMIN, FRONT_DESK})
