"""Which studio a request is about, and what the caller is there (API.md "Organization").

`X-Organization: <slug>` picks the studio. Without it, a user who belongs to exactly one studio
gets that one; otherwise 400 `organization_required`. Unknown slug: 404. A user with no role in
that studio: 403 `organization_forbidden`. A platform superuser acts as ADMIN everywhere.

The models live in members_app; they are looked up through the app registry so that this core
module stays importable before the apps (spinning <- members_app <- ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps

from spinning.errors import DomainError

ADMIN = "ADMIN"
FRONT_DESK = "FRONT_DESK"
INSTRUCTOR = "INSTRUCTOR"
STAFF_ROLES = {ADMIN, FRONT_DESK}


class OrganizationRequired(DomainError):
    status = 400
    code = "organization_required"
    detail = "Send the X-Organization header to choose a studio."


class OrganizationNotFound(DomainError):
    status = 404
    code = "organization_not_found"
    detail = "No studio has that slug."


class OrganizationForbidden(DomainError):
    status = 403
    code = "organization_forbidden"
    detail = "You have no role in this studio."


@dataclass(frozen=True)
class Tenant:
    organization: Any
    member: Any | None
    role: str | None
    is_superuser: bool = False

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == ADMIN

    @property
    def is_staff(self) -> bool:
        return self.is_superuser or self.role in STAFF_ROLES

    @property
    def can_check_in(self) -> bool:
        return self.is_staff or self.role == INSTRUCTOR

    @property
    def is_member(self) -> bool:
        return self.member is not None


def _models():
    return (
        apps.get_model("members_app", "Organization"),
        apps.get_model("members_app", "Member"),
        apps.get_model("members_app", "StaffRole"),
    )


def resolve_tenant(request) -> Tenant:
    """Resolve (once per request) the organization and the caller's standing in it."""
    cached = getattr(request, "_tenant", None)
    if cached is not None:
        return cached
    Organization, Member, StaffRole = _models()
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    slug = (request.headers.get("X-Organization") or "").strip()

    if slug:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise OrganizationNotFound()
    elif not authenticated:
        raise OrganizationRequired()
    else:
        org_ids = set(Member.objects.filter(user=user).values_list("organization_id", flat=True))
        org_ids |= set(StaffRole.objects.filter(user=user).values_list("organization_id", flat=True))
        if len(org_ids) != 1 and user.is_superuser and not org_ids:
            all_ids = list(Organization.objects.values_list("id", flat=True)[:2])
            org_ids = set(all_ids)
        if len(org_ids) != 1:
            raise OrganizationRequired()
        organization = Organization.objects.get(pk=next(iter(org_ids)))

    member = role = None
    if authenticated:
        member = Member.objects.filter(organization=organization, user=user).select_related("user").first()
        if member is not None:
            member.organization = organization
        role = StaffRole.objects.filter(organization=organization, user=user).values_list("role", flat=True).first()
        if member is None and role is None and not user.is_superuser:
            raise OrganizationForbidden()
    tenant = Tenant(
        organization=organization,
        member=member,
        role=role,
        is_superuser=bool(authenticated and user.is_superuser),
    )
    request._tenant = tenant
    return tenant
