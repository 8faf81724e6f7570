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
from django.utils import timezone

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
    """Resolve (once per request) the organization and the caller's standing in it.

    Two queries for a signed-in caller (their memberships and their staff roles, each with the
    studio joined), one for an anonymous caller: this runs on every request.
    """
    cached = getattr(request, "_tenant", None)
    if cached is not None:
        return cached
    Organization, Member, StaffRole = _models()
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    slug = (request.headers.get("X-Organization") or "").strip()

    if not authenticated:
        if not slug:
            raise OrganizationRequired()
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise OrganizationNotFound()
        return _remember(request, Tenant(organization=organization, member=None, role=None))

    if slug:
        members = list(Member.objects.filter(user=user, organization__slug=slug).select_related("organization"))
        roles = list(StaffRole.objects.filter(user=user, organization__slug=slug).select_related("organization"))
    else:
        members = list(Member.objects.filter(user=user).select_related("organization")[:5])
        roles = list(StaffRole.objects.filter(user=user).select_related("organization")[:5])
    studios = {row.organization_id: row.organization for row in [*members, *roles]}

    if slug:
        organization = next(iter(studios.values()), None)
        if organization is None:
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                raise OrganizationNotFound()
            if not user.is_superuser:
                raise OrganizationForbidden()
    elif len(studios) == 1:
        organization = next(iter(studios.values()))
    elif not studios and user.is_superuser:
        only = list(Organization.objects.all()[:2])
        if len(only) != 1:
            raise OrganizationRequired()
        organization = only[0]
    else:
        raise OrganizationRequired()

    member = next((m for m in members if m.organization_id == organization.pk), None)
    if member is not None:
        member.organization = organization
        member.user = user
    role = next((r.role for r in roles if r.organization_id == organization.pk), None)
    return _remember(
        request, Tenant(organization=organization, member=member, role=role, is_superuser=bool(user.is_superuser))
    )


def _remember(request, tenant: Tenant) -> Tenant:
    """Cache the tenant on the request and render its times in the studio's zone (API.md:
    timestamps in the studio's UTC offset); `StudioTimezoneMiddleware` resets the zone after
    the response."""
    request._tenant = tenant
    timezone.activate(tenant.organization.timezone)
    return tenant
