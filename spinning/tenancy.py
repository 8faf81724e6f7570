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

from spinning import clock, rows
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


MEMBERSHIPS_READ = 5  # a person's memberships read with their token (more: the studio must be named)


@dataclass
class Memberships:
    """A person's memberships as the token's query read them (`token_with_memberships`): each
    member with its studio, `role_there` (the person's staff role in that studio) and
    `staff_elsewhere` (a role in another studio). `complete`: every membership is in the list."""

    members: list
    complete: bool


_token_sql: dict = {}


def _token_query():
    """The token, its user and the user's memberships (with studio, role there, roles elsewhere):
    one statement, written once per process (spinning/rows.py: the ORM spent ~5 ms of CPU on the
    two statements this replaces, the SQL ~0.3 ms)."""
    from django.db import connection

    if connection.vendor not in _token_sql:
        AuthToken = apps.get_model("knox", "AuthToken")
        Organization, Member, StaffRole = _models()
        User = apps.get_model("members_app", "User")
        t, u = rows.Columns(AuthToken, "t"), rows.Columns(User, "u")
        m, o = rows.Columns(Member, "m"), rows.Columns(Organization, "o")
        q = rows.quote
        roles = q(StaffRole._meta.db_table)
        m_org, t_user = m.column("organization"), t.column("user")
        sql = (
            f"SELECT {t.sql}, {u.sql}, {m.sql}, {o.sql}, "
            f"(SELECT r.{q('role')} FROM {roles} r WHERE r.{q('user_id')} = {t_user} "
            f"AND r.{q('organization_id')} = {m_org} LIMIT 1), "
            f"EXISTS(SELECT 1 FROM {roles} r WHERE r.{q('user_id')} = {t_user} "
            f"AND ({m_org} IS NULL OR r.{q('organization_id')} <> {m_org})) "
            f"FROM {t.table} t INNER JOIN {u.table} u ON {u.column('id')} = {t_user} "
            f"LEFT OUTER JOIN {m.table} m ON {m.column('user')} = {t_user} "
            f"LEFT OUTER JOIN {o.table} o ON {o.column('id')} = {m_org} "
            f"WHERE {t.column('token_key')} = %s AND {t.column('expiry')} > %s "
            f"ORDER BY {m.column('created_at')} DESC LIMIT {MEMBERSHIPS_READ + 1}"
        )
        _token_sql[connection.vendor] = (sql, (t, u, m, o))
    return _token_sql[connection.vendor]


def token_with_memberships(token_key: str, *, now) -> list[tuple[Any, Memberships]]:
    """[(auth token with its user, the user's memberships)] for an unexpired token prefix (knox
    prefixes may repeat; the caller compares digests). One statement for the token and
    everything `resolve_tenant` needs of a member of one studio."""
    from django.db import connection

    sql, (t, u, m, o) = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_key, rows.adapt_datetime(now)])
        found = cursor.fetchall()
    by_digest: dict = {}
    at = {"u": t.width, "m": t.width + u.width, "o": t.width + u.width + m.width}
    extra = at["o"] + o.width
    for row in found:
        token = t.load(row)
        if token.digest not in by_digest:
            token.user = u.load(row, at["u"])
            by_digest[token.digest] = (token, [])
        token, members = by_digest[token.digest]
        member = m.load(row, at["m"])
        if member is not None:
            member.organization = o.load(row, at["o"])
            member.user = token.user
            member.role_there, member.staff_elsewhere = row[extra], bool(row[extra + 1])
            members.append(member)
    return [
        (token, Memberships(members=members[:MEMBERSHIPS_READ], complete=len(found) <= MEMBERSHIPS_READ))
        for token, members in by_digest.values()
    ]


def _standing(user, slug: str, Member, StaffRole) -> tuple[list, dict, dict]:
    """(memberships, {organization_id: role}, {organization_id: organization}) of a signed-in
    person, in the studio named by `slug` or (up to 5) in all. The memberships come from the
    token's query when the person signed in with a token (`token_with_memberships`), else from
    one query here; each carries its studio's role and whether the person is staff anywhere
    else. Only then, or without a membership, are the staff roles read on their own."""
    members = _memberships_read(getattr(user, "_memberships", None), slug)
    if members is None:
        members = _memberships_query(user, slug, Member, StaffRole)
    role_by_org = {m.organization_id: m.role_there for m in members if m.role_there}
    studios = {m.organization_id: m.organization for m in members}
    if not members or (not slug and any(m.staff_elsewhere for m in members)):
        roles = StaffRole.objects.filter(user=user).select_related("organization")
        roles = roles.filter(organization__slug=slug) if slug else roles[:5]
        for role in roles:
            role_by_org[role.organization_id] = role.role
            studios.setdefault(role.organization_id, role.organization)
    return members, role_by_org, studios


def _memberships_read(read: Memberships | None, slug: str) -> list | None:
    """What the token's query already knows, or None when it cannot answer for `slug`."""
    if read is None:
        return None
    if not slug:
        return read.members
    named = [m for m in read.members if m.organization.slug == slug]
    return named if named or read.complete else None


def _memberships_query(user, slug: str, Member, StaffRole) -> list:
    from django.db.models import Exists, OuterRef, Subquery

    role_there = StaffRole.objects.filter(user=user, organization=OuterRef("organization")).values("role")[:1]
    members_query = Member.objects.filter(user=user).select_related("organization")
    if slug:
        members_query = members_query.filter(organization__slug=slug)
    else:
        elsewhere = StaffRole.objects.filter(user=user).exclude(organization=OuterRef("organization"))
        members_query = members_query.annotate(staff_elsewhere=Exists(elsewhere))
    return list(members_query.annotate(role_there=Subquery(role_there))[:MEMBERSHIPS_READ])


def _remember(request, tenant: Tenant) -> Tenant:
    """Cache the tenant on the request and render its times in the studio's zone (API.md:
    timestamps in the studio's UTC offset); `StudioTimezoneMiddleware` resets the zone after
    the response."""
    request._tenant = tenant
    timezone.activate(clock.api_zone(tenant.organization.timezone))
    return tenant
