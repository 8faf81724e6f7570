"""Auth and people (API.md): registration, token login, members, the ledger and adjustments."""

from datetime import timedelta

import pytest
from django.utils import timezone

from members_app import services
from members_app.models import CreditLot, CreditTransaction, Member, User
from members_app.tests.factories import MemberFactory, OrganizationFactory, UserFactory
from members_app.tests.utils import assert_error

pytestmark = pytest.mark.django_db

MEMBER_FIELDS = {
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "language",
    "status",
    "credit_balance",
    "is_elite_member",
    "has_all_access",
    "all_access_expires_at",
    "friend_passes_available",
    "created_at",
}
LEDGER_FIELDS = {
    "id",
    "type",
    "amount",
    "balance_before",
    "balance_after",
    "lot_id",
    "lot_expires_at",
    "booking_id",
    "redemption_id",
    "description",
    "performed_by",
    "created_at",
}
STRONG = "a-Strong-pass-42"


def registration(**overrides):
    body = {"email": "ayse@example.com", "password": STRONG, "first_name": "Ayşe", "last_name": "Yılmaz"}
    body.update(overrides)
    return body


# --- registration ---------------------------------------------------------------------------------
def test_register_creates_person_and_member_and_returns_a_working_token(api, org_a):
    response = api(org=org_a).post("/api/auth/register", registration(phone="+90 555 000"), format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "member"}
    assert set(body["member"]) == MEMBER_FIELDS
    assert body["member"]["email"] == "ayse@example.com"
    assert body["member"]["status"] == "ACTIVE"
    assert body["member"]["credit_balance"] == 0
    assert body["member"]["phone"] == "+90 555 000"
    # the token works for the member apps
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get("/api/members/me").json()["id"] == body["member"]["id"]


def test_register_normalizes_the_email_to_lower_case(api, org_a):
    response = api(org=org_a).post("/api/auth/register", registration(email="Ayse@Example.COM"), format="json")
    assert response.json()["member"]["email"] == "ayse@example.com"
    assert User.objects.get().email == "ayse@example.com"


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "ayseyilmaz"])
def test_register_with_a_weak_password_is_a_validation_error(api, org_a, password):
    response = api(org=org_a).post(
        "/api/auth/register", registration(password=password, email="ayseyilmaz@example.com"), format="json"
    )
    body = assert_error(response, 400, "validation_error")
    assert body["fields"]["password"]
    assert not User.objects.exists()


def test_register_with_missing_fields_names_them(api, org_a):
    body = assert_error(api(org=org_a).post("/api/auth/register", {"email": "bad"}, format="json"), 400)
    assert {"email", "password", "first_name", "last_name"} <= set(body["fields"])


def test_existing_person_with_the_right_password_joins_another_studio(api, org_a, org_b):
    api(org=org_a).post("/api/auth/register", registration(), format="json")
    response = api(org=org_b).post("/api/auth/register", registration(email="AYSE@example.com"), format="json")
    assert response.status_code == 201
    assert User.objects.count() == 1
    assert set(Member.objects.values_list("organization__slug", flat=True)) == {"studio-a", "studio-b"}


def test_existing_person_with_a_wrong_password_is_email_taken(api, org_a, org_b):
    api(org=org_a).post("/api/auth/register", registration(), format="json")
    response = api(org=org_b).post("/api/auth/register", registration(password="another-Pass-99"), format="json")
    assert_error(response, 409, "email_taken")
    assert not Member.objects.filter(organization=org_b).exists()


def test_registering_twice_in_the_same_studio_is_member_exists(api, org_a):
    assert api(org=org_a).post("/api/auth/register", registration(), format="json").status_code == 201
    assert_error(api(org=org_a).post("/api/auth/register", registration(), format="json"), 409, "member_exists")
    assert Member.objects.count() == 1


# --- token login ----------------------------------------------------------------------------------
def test_token_login_needs_no_organization_and_is_the_persons(api, member_a):
    response = api().post(
        "/api/auth/token", {"email": member_a.user.email.upper(), "password": "pass-word-123"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get("/api/members/me").json()["id"] == str(member_a.pk)


@pytest.mark.parametrize("email, password", [("person-unknown@example.com", "pass-word-123"), (None, "wrong-password")])
def test_token_login_with_wrong_credentials_is_invalid_credentials(api, member_a, email, password):
    response = api().post(
        "/api/auth/token", {"email": email or member_a.user.email, "password": password}, format="json"
    )
    assert_error(response, 400, "invalid_credentials")


def test_token_login_of_an_inactive_person_is_refused(api, member_a):
    User.objects.filter(pk=member_a.user.pk).update(is_active=False)
    response = api().post("/api/auth/token", {"email": member_a.user.email, "password": "pass-word-123"}, format="json")
    assert_error(response, 400, "invalid_credentials")


@pytest.fixture
def auth_rate_of_two(settings):
    # The throttles read their rates per request, so a settings override is enough.
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_failures": "2/min", "registration": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def test_token_login_is_throttled(api, member_a, auth_rate_of_two):
    client = api()
    body = {"email": member_a.user.email, "password": "wrong"}
    for _ in range(2):
        assert client.post("/api/auth/token", body, format="json").status_code == 400
    response = client.post("/api/auth/token", body, format="json")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # even the right password waits
    right = {"email": member_a.user.email, "password": "pass-word-123"}
    assert_error(client.post("/api/auth/token", right, format="json"), 429, "throttled")


def test_registration_is_throttled(api, org_a, auth_rate_of_two):
    client = api(org=org_a)
    for n in range(2):
        assert (
            client.post("/api/auth/register", registration(email=f"r{n}@example.com"), format="json").status_code == 201
        )
    response = client.post("/api/auth/register", registration(email="r3@example.com"), format="json")
    assert_error(response, 429, "throttled")
    assert not User.objects.filter(email="r3@example.com").exists()


# --- members --------------------------------------------------------------------------------------
def test_me_returns_the_callers_member(api, member_a):
    body = api(member_a.user).get("/api/members/me").json()
    assert set(body) == MEMBER_FIELDS
    assert body["id"] == str(member_a.pk)
    assert body["email"] == member_a.user.email


def test_me_for_staff_without_a_member_record_is_404(api, admin_a):
    assert_error(api(admin_a).get("/api/members/me"), 404)


def test_staff_list_members_with_filters_and_search(api, org_a, admin_a):
    ann = MemberFactory(organization=org_a, user=UserFactory(first_name="Ann", last_name="Lee", email="ann@x.com"))
    bob = MemberFactory(organization=org_a, user=UserFactory(first_name="Bob", last_name="Kaya"), status="SUSPENDED")
    MemberFactory(organization=OrganizationFactory(), user=UserFactory(first_name="Ann"))  # another studio
    Member.objects.filter(pk=bob.pk).update(has_all_access=True)
    client = api(admin_a)

    def ids(query=""):
        response = client.get(f"/api/members{query}")
        assert response.status_code == 200, response.content
        return {m["id"] for m in response.json()["results"]}

    assert ids() == {str(ann.pk), str(bob.pk)}
    assert ids("?q=ann") == {str(ann.pk)}
    assert ids("?q=Bob%20Kaya") == {str(bob.pk)}
    assert ids("?status=SUSPENDED") == {str(bob.pk)}
    assert ids("?has_all_access=true") == {str(bob.pk)}
    assert ids("?is_elite_member=true") == set()
    assert_error(client.get("/api/members?status=NOPE"), 400, "validation_error")


def test_member_list_is_paginated(api, org_a, admin_a):
    MemberFactory.create_batch(5, organization=org_a)
    body = api(admin_a).get("/api/members?page=2&page_size=2").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] and body["previous"]


def test_member_list_has_no_n_plus_one(api, org_a, admin_a, django_assert_max_num_queries):
    MemberFactory.create_batch(30, organization=org_a)
    client = api(admin_a)
    with django_assert_max_num_queries(8):
        response = client.get("/api/members")
    assert response.json()["count"] == 30


def test_staff_create_a_member(api, org_a, desk_a):
    response = api(desk_a).post(
        "/api/members", {"email": "New@Example.com", "first_name": "New", "last_name": "Rider"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new@example.com"
    member = Member.objects.get(pk=body["id"])
    assert member.organization == org_a
    assert not member.user.has_usable_password()


def test_staff_adding_a_rider_of_a_sister_studio_attaches_the_person(api, org_a, admin_a, member_b):
    response = api(admin_a).post(
        "/api/members",
        {"email": member_b.user.email, "first_name": "X", "last_name": "Y", "password": "a-New-pass-77"},
        format="json",
    )
    assert response.status_code == 201
    member_b.user.refresh_from_db()
    assert member_b.user.check_password("pass-word-123")  # staff never set another studio's password
    assert_error(
        api(admin_a).post(
            "/api/members", {"email": member_b.user.email, "first_name": "X", "last_name": "Y"}, format="json"
        ),
        409,
        "member_exists",
    )


def test_staff_create_member_with_a_weak_password_is_refused(api, admin_a):
    response = api(admin_a).post(
        "/api/members",
        {"email": "n@example.com", "first_name": "N", "last_name": "M", "password": "123"},
        format="json",
    )
    assert "password" in assert_error(response, 400, "validation_error")["fields"]


def test_staff_patch_a_member(api, admin_a, member_a):
    response = api(admin_a).patch(
        f"/api/members/{member_a.pk}/", {"first_name": "Zeynep", "phone": "123", "status": "SUSPENDED"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["first_name"], body["phone"], body["status"]) == ("Zeynep", "123", "SUSPENDED")
    member_a.refresh_from_db()
    assert member_a.status == "SUSPENDED"


def test_staff_patch_with_a_bad_status_is_a_validation_error(api, admin_a, member_a):
    body = assert_error(api(admin_a).patch(f"/api/members/{member_a.pk}", {"status": "GONE"}, format="json"), 400)
    assert "status" in body["fields"]


# --- ledger and adjustments -----------------------------------------------------------------------
def test_credit_transactions_newest_first_for_staff_and_the_member(api, org_a, admin_a, member_a):
    for amount in (5, 3, -2):
        services.credit_adjustment_create(organization=org_a, member_id=member_a.pk, amount=amount, reason=f"r{amount}")
    for client in (api(admin_a), api(member_a.user)):
        body = client.get(f"/api/members/{member_a.pk}/credit-transactions").json()
        assert body["count"] == 3
        rows = body["results"]
        assert set(rows[0]) == LEDGER_FIELDS
        assert [(r["type"], r["amount"], r["balance_before"], r["balance_after"]) for r in rows] == [
            ("MANUAL_DEDUCT", -2, 8, 6),
            ("MANUAL_ADD", 3, 5, 8),
            ("MANUAL_ADD", 5, 0, 5),
        ]


def test_credit_adjustment_add_with_expiry_creates_a_lot(api, org_a, admin_a, member_a):
    expires = (timezone.now() + timedelta(days=10)).replace(microsecond=0)
    response = api(admin_a).post(
        f"/api/members/{member_a.pk}/credit-adjustments",
        {"amount": 4, "reason": "Birthday", "expires_at": expires.isoformat()},
        format="json",
    )
    assert response.status_code == 201
    row = response.json()
    assert set(row) == LEDGER_FIELDS
    assert (row["type"], row["amount"], row["balance_before"], row["balance_after"]) == ("MANUAL_ADD", 4, 0, 4)
    assert row["description"] == "Birthday"
    assert row["performed_by"] == admin_a.get_full_name()
    lot = CreditLot.objects.get(pk=row["lot_id"])
    assert (lot.source, lot.credits_granted, lot.remaining, lot.expires_at) == ("MANUAL", 4, 4, expires)
    assert row["lot_expires_at"] is not None
    member_a.refresh_from_db()
    assert member_a.credit_balance == 4


def test_credit_adjustment_with_a_past_expiry_is_refused(api, admin_a, member_a):
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = api(admin_a).post(
        f"/api/members/{member_a.pk}/credit-adjustments",
        {"amount": 4, "reason": "x", "expires_at": past},
        format="json",
    )
    assert "expires_at" in assert_error(response, 400, "validation_error")["fields"]


@pytest.mark.parametrize("body", [{"amount": 0, "reason": "x"}, {"amount": 2}, {"amount": "lots", "reason": "x"}])
def test_credit_adjustment_validation(api, admin_a, member_a, body):
    assert_error(api(admin_a).post(f"/api/members/{member_a.pk}/credit-adjustments", body, format="json"), 400)
    assert not CreditTransaction.objects.exists()


def test_deduct_below_zero_via_the_api_is_insufficient_credits(api, org_a, admin_a, member_a):
    services.credit_adjustment_create(organization=org_a, member_id=member_a.pk, amount=2, reason="gift")
    response = api(admin_a).post(
        f"/api/members/{member_a.pk}/credit-adjustments", {"amount": -3, "reason": "too much"}, format="json"
    )
    assert_error(response, 409, "insufficient_credits")
    member_a.refresh_from_db()
    assert member_a.credit_balance == 2
    assert CreditTransaction.objects.filter(member=member_a).count() == 1


def test_deduct_takes_soonest_expiring_lot_first(api, org_a, admin_a, member_a):
    now = timezone.now()
    services.credit_adjustment_create(organization=org_a, member_id=member_a.pk, amount=5, reason="forever")
    soon = services.credit_adjustment_create(
        organization=org_a, member_id=member_a.pk, amount=5, reason="soon", expires_at=now + timedelta(days=3)
    )
    response = api(admin_a).post(
        f"/api/members/{member_a.pk}/credit-adjustments", {"amount": -2, "reason": "fix"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["lot_id"] == str(soon.lot_id)


def test_ledger_rows_written_at_the_same_instant_list_in_writing_order(api, org_a, admin_a, member_a):
    same_instant = timezone.now()
    for amount in (1, 1, 1):
        services.credit_adjustment_create(
            organization=org_a, member_id=member_a.pk, amount=amount, reason="x", now=same_instant
        )
    services.credit_adjustment_create(
        organization=org_a, member_id=member_a.pk, amount=-3, reason="y", now=same_instant
    )
    rows = api(admin_a).get(f"/api/members/{member_a.pk}/credit-transactions").json()["results"]
    assert len({r["created_at"] for r in rows}) == 1
    # a deduct of 3 from three lots writes three rows, newest first
    assert [r["balance_after"] for r in rows] == [0, 1, 2, 3, 2, 1]


def test_ledger_list_has_no_n_plus_one(api, org_a, admin_a, member_a, django_assert_max_num_queries):
    for _ in range(30):
        services.credit_adjustment_create(organization=org_a, member_id=member_a.pk, amount=1, reason="x")
    client = api(admin_a)
    # token, studio and role (5), the member, count, page: the same for 3 rows or 300
    with django_assert_max_num_queries(9):
        response = client.get(f"/api/members/{member_a.pk}/credit-transactions")
    assert response.json()["count"] == 30
