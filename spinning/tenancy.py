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
from django.utils.translation import gettext_lazy

from spinning import clock
from spinning.errors import DomainError

ADMIN = "ADMIN"
FRONT_DESK = "FRONT_DESK"
INSTRUCTOR = "INSTRUCTOR"
STAFF_ROLES = {ADMIN, FRONT_DESK}


class OrganizationRequired(DomainError):
    status = 400
    code = "organization_required"
    detail = gettext_lazy("Send the X-Organization header to choose a studio.")


class OrganizationNotFound(DomainError):
    status = 404
    code = "organization_not_found"
    detail = gettext_lazy("No studio has that slug.")


class OrganizationForbidden(DomainError):
    status = 403
    code = "organization_forbidden"
    detail = gettext_lazy("You have no role in this studio.")


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

    One query for a signed-in member of one studio (their membership with the studio joined,
    their staff role there and whether they hold roles elsewhere as subqueries), two for staff
    without a membership or with roles in other studios (their staff roles), one for an
    anonymous caller: this runs on every request.
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

    members, role_by_org, studios = _standing(user, slug, Member, StaffRole)

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
    role = role_by_org.get(organization.pk)
    return _remember(
        request, Tenant(organization=organization, member=member, role=role, is_superuser=bool(user.is_superuser))
    )


def _standing(user, slug: str, Member, StaffRole) -> tuple[list, dict, dict]:
    """(memberships, {organization_id: role}, {organization_id: organization}) of a signed-in
    person, in the studio named by `slug` or (up to 5) in all. The memberships' query carries
    each studio's role and whether the person is staff anywhere else; only then, or without a
    membership, are the staff roles read on their own."""
    from django.db.models import Exists, OuterRef, Subquery

    role_there = StaffRole.objects.filter(user=user, organization=OuterRef("organization")).values("role")[:1]
    members_query = Member.objects.filter(user=user).select_related("organization")
    if slug:
        members_query = members_query.filter(organization__slug=slug)
    else:
        elsewhere = StaffRole.objects.filter(user=user).exclude(organization=OuterRef("organization"))
        members_query = members_query.annotate(staff_elsewhere=Exists(elsewhere))
    members = list(members_query.annotate(role_there=Subquery(role_there))[:5])
    role_by_org = {m.organization_id: m.role_there for m in members if m.role_there}
    studios = {m.organization_id: m.organization for m in members}
    if not members or (not slug and any(m.staff_elsewhere for m in members)):
        roles = StaffRole.objects.filter(user=user).select_related("organization")
        roles = roles.filter(organization__slug=slug) if slug else roles[:5]
        for role in roles:
            role_by_org[role.organization_id] = role.role
            studios.setdefault(role.organization_id, role.organization)
    return members, role_by_org, studios


def _remember(request, tenant: Tenant) -> Tenant:
    """Cache the tenant on the request and render its times in the studio's zone (API.md:
    timestamps in the studio's UTC offset); `StudioTimezoneMiddleware` resets the zone after
    the response."""
    request._tenant = tenant
    timezone.activate(clock.api_zone(tenant.organization.timezone))
    return tenant
