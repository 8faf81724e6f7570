"""Tenancy (API.md "Organization", DOMAIN.md 1): no request reads or changes another studio's rows."""

import pytest

from members_app import services
from members_app.models import CreditTransaction, Organization, StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, StaffRoleFactory, UserFactory
from members_app.tests.utils import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_b_with_credits(member_b):
    services.credit_adjustment_create(
        organization=member_b.organization, member_id=member_b.pk, amount=5, reason="gift"
    )
    member_b.refresh_from_db()
    return member_b


def member_urls(member):
    return {
        "detail": f"/api/members/{member.pk}",
        "ledger": f"/api/members/{member.pk}/credit-transactions",
        "adjust": f"/api/members/{member.pk}/credit-adjustments",
    }


def test_positive_control_studio_b_staff_see_their_member(api, admin_b, member_b_with_credits):
    client = api(admin_b)
    urls = member_urls(member_b_with_credits)
    assert client.get(urls["detail"]).status_code == 200
    assert client.get(urls["ledger"]).json()["count"] == 1


@pytest.mark.parametrize("role", [StaffRole.Role.ADMIN, StaffRole.Role.FRONT_DESK])
def test_staff_of_a_get_404_for_studio_b_member_and_ledger(api, org_a, member_b_with_credits, role):
    # given a staff user of studio A (no header: their one studio)
    staff = StaffRoleFactory(organization=org_a, role=role).user
    client = api(staff)
    urls = member_urls(member_b_with_credits)
    # then B's member and ledger are "not found"
    assert_error(client.get(urls["detail"]), 404)
    assert_error(client.get(urls["ledger"]), 404)
    assert_error(client.patch(urls["detail"], {"first_name": "Hacked", "status": "SUSPENDED"}, format="json"), 404)
    assert_error(client.post(urls["adjust"], {"amount": -5, "reason": "steal"}, format="json"), 404)
    # and not listed
    assert str(member_b_with_credits.pk) not in {m["id"] for m in client.get("/api/members").json()["results"]}
    # and nothing changed in studio B
    member_b_with_credits.refresh_from_db()
    member_b_with_credits.user.refresh_from_db()
    assert "Hacked" not in (member_b_with_credits.first_name, member_b_with_credits.user.first_name)
    assert member_b_with_credits.status == "ACTIVE"
    assert member_b_with_credits.credit_balance == 5
    assert CreditTransaction.objects.filter(member=member_b_with_credits).count() == 1


def test_staff_of_a_naming_their_own_studio_still_get_404_for_b(api, org_a, admin_a, member_b_with_credits):
    client = api(admin_a, org=org_a)
    urls = member_urls(member_b_with_credits)
    assert_error(client.get(urls["detail"]), 404)
    assert_error(client.get(urls["ledger"]), 404)
    assert_error(client.post(urls["adjust"], {"amount": 1, "reason": "x"}, format="json"), 404)


def test_member_of_a_cannot_read_or_change_studio_b_member(api, member_a, member_b_with_credits):
    client = api(member_a.user)
    urls = member_urls(member_b_with_credits)
    assert_error(client.get(urls["detail"]), 404)
    assert_error(client.get(urls["ledger"]), 404)
    # writes are staff-only: refused before any lookup
    assert_error(client.patch(urls["detail"], {"first_name": "Hacked"}, format="json"), 403)
    assert_error(client.post(urls["adjust"], {"amount": -5, "reason": "x"}, format="json"), 403)
    member_b_with_credits.refresh_from_db()
    assert member_b_with_credits.credit_balance == 5


def test_member_sees_only_their_own_rows_in_their_studio(api, org_a, member_a):
    # given another member of the same studio
    other = MemberFactory(organization=org_a)
    services.credit_adjustment_create(organization=org_a, member_id=other.pk, amount=2, reason="gift")
    client = api(member_a.user)
    # then the other member and their ledger are not found, the list is staff-only
    assert_error(client.get(f"/api/members/{other.pk}"), 404)
    assert_error(client.get(f"/api/members/{other.pk}/credit-transactions"), 404)
    assert_error(client.get("/api/members"), 403)
    # and their own rows are there
    assert client.get(f"/api/members/{member_a.pk}").json()["id"] == str(member_a.pk)
    assert client.get(f"/api/members/{member_a.pk}/credit-transactions").status_code == 200


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/members", None),
        ("get", "/api/members/me", None),
        ("post", "/api/members", {"email": "new@example.com", "first_name": "N", "last_name": "M"}),
        ("get", "/api/organization", None),
        ("patch", "/api/organization", {"name": "Taken over"}),
        ("get", "/api/organization/price-history", None),
    ],
)
@pytest.mark.parametrize("who", ["member", "admin"])
def test_a_token_with_x_organization_b_is_forbidden(api, org_b, member_a, admin_a, who, method, path, body):
    user = member_a.user if who == "member" else admin_a
    client = api(user, org=org_b)
    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
    assert_error(response, 403, "organization_forbidden")
    org_b.refresh_from_db()
    assert org_b.name == "Studio B"


def test_x_organization_b_with_a_token_is_forbidden_on_b_member_rows(api, org_b, admin_a, member_b_with_credits):
    client = api(admin_a, org=org_b)
    urls = member_urls(member_b_with_credits)
    assert_error(client.get(urls["detail"]), 403, "organization_forbidden")
    assert_error(client.get(urls["ledger"]), 403, "organization_forbidden")
    assert_error(
        client.post(urls["adjust"], {"amount": -5, "reason": "x"}, format="json"), 403, "organization_forbidden"
    )
    member_b_with_credits.refresh_from_db()
    assert member_b_with_credits.credit_balance == 5


def test_admin_of_a_patching_the_organization_changes_only_a(api, org_a, org_b, admin_a):
    response = api(admin_a).patch("/api/organization", {"name": "A renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["slug"] == "studio-a"
    assert Organization.objects.get(pk=org_a.pk).name == "A renamed"
    assert Organization.objects.get(pk=org_b.pk).name == "Studio B"


def test_unknown_slug_is_404(api, member_a):
    assert_error(api(member_a.user, org="no-such-studio").get("/api/members/me"), 404, "organization_not_found")
    assert_error(api(org="no-such-studio").get("/api/organization"), 404, "organization_not_found")


def test_no_header_and_one_studio_resolves_to_that_studio(api, org_a, org_b, member_a):
    client = api(member_a.user)
    assert client.get("/api/members/me").json()["id"] == str(member_a.pk)
    assert client.get("/api/organization").json()["slug"] == "studio-a"


def test_no_header_and_one_staff_role_resolves_to_that_studio(api, org_a, org_b, desk_a):
    assert api(desk_a).get("/api/organization").json()["slug"] == "studio-a"


def test_no_header_and_two_studios_needs_the_header(api, org_a, org_b):
    # given a rider of A who works the front desk at B
    user = UserFactory()
    member = MemberFactory(organization=org_a, user=user)
    StaffRoleFactory(organization=org_b, user=user, role=StaffRole.Role.FRONT_DESK)
    # then without the header the studio is ambiguous
    assert_error(api(user).get("/api/members/me"), 400, "organization_required")
    assert_error(api(user).get("/api/organization"), 400, "organization_required")
    # and with it each studio answers for its own role
    assert api(user, org=org_a).get("/api/members/me").json()["id"] == str(member.pk)
    assert api(user, org=org_b).get("/api/members").status_code == 200
    assert_error(api(user, org=org_a).get("/api/members"), 403)


def test_member_of_two_studios_needs_the_header(api, org_a, org_b):
    user = UserFactory()
    MemberFactory(organization=org_a, user=user)
    member_in_b = MemberFactory(organization=org_b, user=user)
    assert_error(api(user).get("/api/members/me"), 400, "organization_required")
    assert api(user, org=org_b).get("/api/members/me").json()["id"] == str(member_in_b.pk)


def test_anonymous_public_endpoints_need_the_header(api, org_a):
    assert_error(api().get("/api/organization"), 400, "organization_required")
    body = {"email": "rider@example.com", "password": "a-Strong-pass-42", "first_name": "R", "last_name": "D"}
    assert_error(api().post("/api/auth/register", body, format="json"), 400, "organization_required")
    # with the header they answer
    assert api(org=org_a).get("/api/organization").json()["slug"] == "studio-a"


def test_user_with_no_studio_is_told_to_pick_one(api, org_a):
    lonely = UserFactory()
    assert_error(api(lonely).get("/api/members/me"), 400, "organization_required")
    assert_error(api(lonely, org=org_a).get("/api/members/me"), 403, "organization_forbidden")


def test_superuser_acts_as_admin_in_every_studio(api, org_a, org_b, member_b):
    root = UserFactory(is_superuser=True, is_staff=True)
    OrganizationFactory()  # more than one studio: the header is needed
    assert_error(api(root).get("/api/members"), 400, "organization_required")
    client = api(root, org=org_b)
    assert client.get(f"/api/members/{member_b.pk}").status_code == 200
    assert client.patch("/api/organization", {"name": "B by root"}, format="json").status_code == 200
    # but the header still scopes the rows: B's member is not in A
    assert_error(api(root, org=org_a).get(f"/api/members/{member_b.pk}"), 404)


# --- how the studio is resolved: the queries it costs ------------------------------------------------
def _resolve(user, slug="", django_assert_num_queries=None, queries=None):
    from django.test import RequestFactory

    from spinning.tenancy import resolve_tenant

    request = RequestFactory().get("/api/sessions", **({"HTTP_X_ORGANIZATION": slug} if slug else {}))
    request.user = user
    with django_assert_num_queries(queries):
        return resolve_tenant(request)


def test_a_member_of_one_studio_is_resolved_in_one_query(django_assert_num_queries):
    member = MemberFactory()
    tenant = _resolve(member.user, django_assert_num_queries=django_assert_num_queries, queries=1)
    assert (tenant.organization, tenant.member, tenant.role) == (member.organization, member, None)
    named = _resolve(member.user, member.organization.slug, django_assert_num_queries, 1)
    assert named.member == member


def test_staff_of_their_own_studio_have_their_role_from_the_same_query(django_assert_num_queries):
    member = MemberFactory()
    StaffRoleFactory(user=member.user, organization=member.organization, role=StaffRole.Role.FRONT_DESK)
    tenant = _resolve(member.user, django_assert_num_queries=django_assert_num_queries, queries=1)
    assert (tenant.member, tenant.role) == (member, StaffRole.Role.FRONT_DESK)


def test_staff_elsewhere_or_without_membership_read_their_roles(django_assert_num_queries):
    from spinning.tenancy import OrganizationRequired

    member = MemberFactory()
    other = OrganizationFactory()
    StaffRoleFactory(user=member.user, organization=other, role=StaffRole.Role.ADMIN)
    with pytest.raises(OrganizationRequired):  # two studios and no X-Organization
        _resolve(member.user, django_assert_num_queries=django_assert_num_queries, queries=2)
    there = _resolve(member.user, other.slug, django_assert_num_queries, 2)  # no membership there
    assert (there.organization, there.member, there.role) == (other, None, StaffRole.Role.ADMIN)
    staff_only = StaffRoleFactory(organization=other, role=StaffRole.Role.INSTRUCTOR)
    alone = _resolve(staff_only.user, django_assert_num_queries=django_assert_num_queries, queries=2)
    assert (alone.organization, alone.role) == (other, StaffRole.Role.INSTRUCTOR)


# --- the token's query carries the memberships (spinning/auth.py, tenancy.token_with_memberships) ---
def _authenticate(user, slug="", django_assert_num_queries=None, queries=None):
    """A Bearer request through authentication and tenancy, counting the statements of both."""
    from django.test import RequestFactory

    from members_app.services.accounts import token_issue
    from spinning.auth import BearerTokenAuthentication
    from spinning.tenancy import resolve_tenant

    token = token_issue(user=user).token
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} | ({"HTTP_X_ORGANIZATION": slug} if slug else {})
    request = RequestFactory().get("/api/sessions", **headers)
    with django_assert_num_queries(queries):
        request.user, _ = BearerTokenAuthentication().authenticate(request)
        return resolve_tenant(request)


def test_a_member_signed_in_with_a_token_costs_one_statement_for_token_and_studio(django_assert_num_queries):
    member = MemberFactory()
    StaffRoleFactory(user=member.user, organization=member.organization, role=StaffRole.Role.FRONT_DESK)
    tenant = _authenticate(member.user, django_assert_num_queries=django_assert_num_queries, queries=1)
    assert (tenant.organization, tenant.member, tenant.role) == (member.organization, member, StaffRole.Role.FRONT_DESK)
    # the instances are what the ORM would give: typed values, the member's user and studio joined
    assert tenant.member.credit_balance == member.credit_balance
    assert tenant.member.created_at == member.created_at and tenant.member.created_at.tzinfo is not None
    assert tenant.organization.credit_price == member.organization.credit_price
    assert tenant.member.user.email == member.user.email
    named = _authenticate(member.user, member.organization.slug, django_assert_num_queries, 1)
    assert named.member == member


def test_a_token_of_someone_in_many_studios_still_finds_the_studio_named(api):
    # given a rider in more studios than the token's query reads
    user = UserFactory()
    members = [MemberFactory(user=user) for _ in range(7)]
    # then each studio named answers with that studio's membership
    for member in (members[0], members[-1]):
        assert api(user, org=member.organization).get("/api/members/me").json()["id"] == str(member.pk)
    assert_error(api(user).get("/api/members/me"), 400, "organization_required")


def test_staff_elsewhere_signed_in_with_a_token_read_their_roles(api, org_a, org_b):
    user = UserFactory()
    MemberFactory(organization=org_a, user=user)
    StaffRoleFactory(organization=org_b, user=user, role=StaffRole.Role.ADMIN)
    assert_error(api(user).get("/api/organization"), 400, "organization_required")
    assert api(user, org=org_b).get("/api/members").status_code == 200
    lonely_staff = StaffRoleFactory(organization=org_b, role=StaffRole.Role.FRONT_DESK).user
    assert api(lonely_staff).get("/api/organization").json()["slug"] == org_b.slug
