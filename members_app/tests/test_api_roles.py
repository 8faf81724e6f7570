"""Who may call what (API.md): member, staff (ADMIN, FRONT_DESK), ADMIN only, anonymous."""

import pytest

from members_app.tests.utils import assert_error

pytestmark = pytest.mark.django_db


def staff_endpoints(member):
    """Every staff-only call of "Auth and people" and "Organization", aimed at `member`."""
    return [
        ("get", "/api/members", None),
        ("post", "/api/members", {"email": "new@example.com", "first_name": "N", "last_name": "M"}),
        ("patch", f"/api/members/{member.pk}", {"first_name": "Changed"}),
        ("post", f"/api/members/{member.pk}/credit-adjustments", {"amount": 5, "reason": "gift"}),
        ("get", "/api/organization/price-history", None),
        ("patch", "/api/organization", {"name": "Changed"}),
    ]


def call(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize("index", range(6))
def test_member_on_every_staff_endpoint_gets_403(api, member_a, index):
    # the member aims at themself: still not allowed
    method, path, body = staff_endpoints(member_a)[index]
    assert_error(call(api(member_a.user), method, path, body), 403, "permission_denied")
    member_a.refresh_from_db()
    assert member_a.credit_balance == 0
    assert member_a.first_name != "Changed"


@pytest.mark.parametrize("index", range(6))
def test_instructor_is_not_staff_for_member_endpoints(api, instructor_a, member_a, index):
    method, path, body = staff_endpoints(member_a)[index]
    assert_error(call(api(instructor_a), method, path, body), 403, "permission_denied")


def test_instructor_cannot_read_a_member_or_their_ledger(api, instructor_a, member_a):
    client = api(instructor_a)
    assert_error(client.get(f"/api/members/{member_a.pk}"), 403)
    assert_error(client.get(f"/api/members/{member_a.pk}/credit-transactions"), 403)
    assert_error(client.get("/api/members/me"), 403)


def test_front_desk_may_do_member_work_but_not_patch_the_organization(api, org_a, desk_a, member_a):
    client = api(desk_a)
    assert client.get("/api/members").status_code == 200
    assert client.get(f"/api/members/{member_a.pk}").status_code == 200
    assert client.patch(f"/api/members/{member_a.pk}", {"phone": "+90 555"}, format="json").status_code == 200
    adjust = client.post(
        f"/api/members/{member_a.pk}/credit-adjustments", {"amount": 3, "reason": "gift"}, format="json"
    )
    assert adjust.status_code == 201
    assert client.get("/api/organization/price-history").status_code == 200
    assert client.get("/api/organization").status_code == 200
    # when the front desk tries to change the studio's policy or price
    response = client.patch("/api/organization", {"credit_price": "1.00", "reason": "oops"}, format="json")
    # then it is refused and nothing changed
    assert_error(response, 403, "permission_denied")
    org_a.refresh_from_db()
    assert str(org_a.credit_price) == "1500.00"
    assert org_a.price_history.count() == 0


def test_admin_may_patch_the_organization(api, org_a, admin_a):
    response = api(admin_a).patch("/api/organization", {"booking_window_days": 10}, format="json")
    assert response.status_code == 200
    assert response.json()["booking_window_days"] == 10


@pytest.mark.parametrize("with_header", [True, False])
def test_anonymous_gets_401_where_auth_is_needed(api, org_a, member_a, with_header):
    client = api(org=org_a if with_header else None)
    calls = [
        *staff_endpoints(member_a),
        ("get", "/api/members/me", None),
        ("get", f"/api/members/{member_a.pk}", None),
        ("get", f"/api/members/{member_a.pk}/credit-transactions", None),
    ]
    for method, path, body in calls:
        response = call(client, method, path, body)
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer"), path


def test_a_bad_token_is_401(api, org_a):
    client = api(org=org_a)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    assert_error(client.get("/api/members/me"), 401, "authentication_failed")
    # a public endpoint with a bad token: still 401, never silently anonymous
    assert_error(client.get("/api/organization"), 401, "authentication_failed")


def test_anonymous_may_read_the_public_organization(api, org_a):
    body = api(org=org_a).get("/api/organization").json()
    assert body == {
        "slug": "studio-a",
        "name": "Studio A",
        "timezone": "Europe/Istanbul",
        "currency": "TRY",
        "credit_price": "1500.00",
        "booking_window_days": 7,
        "priority_booking_hours": 24,
        "cancellation_window_hours": 12,
        "no_show_grace_minutes": 15,
        "check_in_opens_minutes": 60,
        "waitlist_cutoff_minutes": 60,
        "waitlist_max_size": 20,
        "pending_request_hours": 72,
        "language": "en",
        "email": "",
        "bank_transfer_instructions": "",
    }
