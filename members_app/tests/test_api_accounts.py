"""Accounts (issue 8 item 6; DOMAIN.md 1, API.md "Auth and people"): tokens stored hashed and
expiring after disuse, logout, password change, password reset end to end.

Before the fix: DRF's tokens were stored in plain text (and shown in the admin), never expired,
survived a password change, and none of logout / password-change / password-reset existed.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from members_app.models import User
from members_app.tests.factories import MemberFactory, OrganizationFactory
from members_app.tests.utils import assert_error
from spinning.auth import BearerTokenAuthentication

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
NEW_PASSWORD = "a-brand-new-secret-2026"


@pytest.fixture
def member():
    return MemberFactory(organization=OrganizationFactory(slug="studio-a"))


def login(email, password=PASSWORD) -> dict:
    response = APIClient().post("/api/auth/token", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def me_status(token: str) -> int:
    return bearer(token).get("/api/members/me", HTTP_X_ORGANIZATION="studio-a").status_code


# --- storage and lifetime -----------------------------------------------------------------------
def test_tokens_are_stored_hashed(member):
    body = login(member.user.email)
    token = body["token"]
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    row = AuthToken.objects.get(user=member.user)
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    assert row.token_key == token[:15]  # the lookup prefix; the rest of the secret is nowhere
    assert datetime.fromisoformat(body["expires_at"]) == row.expiry


def test_a_token_expires_after_thirty_days_without_use(member, time_machine):
    time_machine.move_to("2026-12-01 10:00:00+00:00", tick=False)
    body = login(member.user.email)
    assert body["expires_at"].startswith("2026-12-31")
    time_machine.move_to("2026-12-31 09:59:00+00:00", tick=False)
    assert me_status(body["token"]) == 200
    other = login(member.user.email)["token"]
    time_machine.move_to("2027-01-31 10:00:00+00:00", tick=False)
    assert me_status(other) == 401  # not used for 31 days
    assert me_status(body["token"]) == 401  # used on day 30, then not for 31 days


def test_use_pushes_the_expiry_out(member, time_machine):
    time_machine.move_to("2026-12-01 10:00:00+00:00", tick=False)
    token = login(member.user.email)["token"]
    for day in (20, 40, 60, 80):
        time_machine.move_to(datetime(2026, 12, 1, 10, tzinfo=UTC) + timedelta(days=day), tick=False)
        assert me_status(token) == 200, day
    assert AuthToken.objects.get().expiry.date().isoformat() == "2027-03-21"


def test_use_writes_the_expiry_at_most_once_an_hour(member, time_machine):
    time_machine.move_to("2026-12-01 10:00:00+00:00", tick=False)
    token = login(member.user.email)["token"]
    first = AuthToken.objects.get().expiry
    time_machine.move_to("2026-12-01 10:59:00+00:00", tick=False)
    assert me_status(token) == 200
    assert AuthToken.objects.get().expiry == first  # no write within the hour
    time_machine.move_to("2026-12-01 11:01:00+00:00", tick=False)
    assert me_status(token) == 200
    assert AuthToken.objects.get().expiry > first


def test_token_authentication_is_one_query(member, rf):
    token = login(member.user.email)["token"]
    request = rf.get("/api/members/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    with CaptureQueriesContext(connection) as queries:
        user, auth = BearerTokenAuthentication().authenticate(request)
    assert user == member.user and isinstance(auth, AuthToken)
    assert len(queries) == 1, [q["sql"] for q in queries]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer " + "g" * 64,
        "Bearer " + "a" * 63,
        "Bearer " + "A" * 64,
        "Bearer \u00e9\u00e9",
        "Bearer " + "0" * 64,
    ],
)
def test_a_malformed_or_unknown_token_is_a_401(member, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get("/api/members/me", HTTP_X_ORGANIZATION="studio-a"), 401, "authentication_failed")


def test_a_nul_in_the_token_is_refused_before_any_lookup(member):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer \x00" + "a" * 63)
    # the input middleware refuses it first; the authentication would answer 401 by its pattern
    assert_error(client.get("/api/members/me", HTTP_X_ORGANIZATION="studio-a"), 400, "null_character")
    with pytest.raises(AuthenticationFailed):
        BearerTokenAuthentication().authenticate_credentials(b"\x00" + b"a" * 63)


def test_a_token_of_a_deactivated_person_is_refused(member):
    token = login(member.user.email)["token"]
    User.objects.filter(pk=member.user.pk).update(is_active=False)
    assert me_status(token) == 401


def test_logging_in_again_deletes_the_persons_expired_tokens(member, time_machine):
    time_machine.move_to("2026-12-01 10:00:00+00:00", tick=False)
    login(member.user.email)
    time_machine.move_to("2027-02-01 10:00:00+00:00", tick=False)
    login(member.user.email)
    assert AuthToken.objects.filter(user=member.user).count() == 1


# --- logout ---------------------------------------------------------------------------------
def test_logout_revokes_the_token_in_use_only(member):
    used, other = login(member.user.email)["token"], login(member.user.email)["token"]
    response = bearer(used).post("/api/auth/logout")
    assert response.status_code == 204
    assert me_status(used) == 401
    assert me_status(other) == 200
    assert_error(bearer(used).post("/api/auth/logout"), 401)


def test_logout_needs_authentication():
    assert_error(APIClient().post("/api/auth/logout"), 401, "not_authenticated")


# --- password change ------------------------------------------------------------------------
def test_password_change_revokes_every_token_and_returns_a_new_one(member):
    used, other = login(member.user.email)["token"], login(member.user.email)["token"]
    response = bearer(used).post(
        "/api/auth/password-change", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    assert me_status(used) == 401 and me_status(other) == 401
    assert me_status(body["token"]) == 200
    assert AuthToken.objects.filter(user=member.user).count() == 1
    login(member.user.email, NEW_PASSWORD)


def test_password_change_with_a_wrong_old_password_is_invalid_credentials(member):
    token = login(member.user.email)["token"]
    response = bearer(token).post(
        "/api/auth/password-change", {"old_password": "not-it", "new_password": NEW_PASSWORD}, format="json"
    )
    assert_error(response, 400, "invalid_credentials")
    assert me_status(token) == 200
    login(member.user.email)


def test_password_change_to_a_weak_password_is_a_validation_error(member):
    token = login(member.user.email)["token"]
    response = bearer(token).post(
        "/api/auth/password-change", {"old_password": PASSWORD, "new_password": "12345678"}, format="json"
    )
    body = assert_error(response, 400, "validation_error")
    assert "new_password" in body["fields"]
    assert me_status(token) == 200


def test_password_change_needs_authentication():
    response = APIClient().post("/api/auth/password-change", {"old_password": "a", "new_password": "b"}, format="json")
    assert_error(response, 401)


# --- password reset -------------------------------------------------------------------------
def reset_link(mailoutbox) -> dict[str, str]:
    (message,) = mailoutbox
    url = re.search(r"https?://\S+", message.body).group(0)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://app.example.com/reset"
    query = parse_qs(parts.query)
    return {"uid": query["uid"][0], "token": query["token"][0]}


@pytest.fixture
def reset_url(settings):
    settings.PASSWORD_RESET_URL = "https://app.example.com/reset"


def test_password_reset_end_to_end(member, mailoutbox, reset_url, django_capture_on_commit_callbacks):
    old_token = login(member.user.email)["token"]
    with django_capture_on_commit_callbacks(execute=True):  # the outbox delivers after the commit
        response = APIClient().post("/api/auth/password-reset", {"email": member.user.email.upper()}, format="json")
    assert response.status_code == 202
    assert mailoutbox[0].to == [member.user.email]
    link = reset_link(mailoutbox)

    response = APIClient().post(
        "/api/auth/password-reset/confirm", {**link, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    assert me_status(old_token) == 401  # every token revoked
    assert me_status(login(member.user.email, NEW_PASSWORD)["token"]) == 200

    # the link works once
    again = APIClient().post(
        "/api/auth/password-reset/confirm", {**link, "new_password": "yet-another-2026"}, format="json"
    )
    assert_error(again, 400, "invalid_token")


def test_password_reset_answers_the_same_for_an_unknown_email(member, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = APIClient().post("/api/auth/password-reset", {"email": member.user.email}, format="json")
        unknown = APIClient().post("/api/auth/password-reset", {"email": "nobody@example.com"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(mailoutbox) == 1


def test_a_reset_link_expires(
    member, mailoutbox, reset_url, settings, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to("2026-12-01 10:00:00+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post("/api/auth/password-reset", {"email": member.user.email}, format="json")
    link = reset_link(mailoutbox)
    time_machine.move_to(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1), tick=False)
    response = APIClient().post(
        "/api/auth/password-reset/confirm", {**link, "new_password": NEW_PASSWORD}, format="json"
    )
    assert_error(response, 400, "invalid_token")


@pytest.mark.parametrize(
    "uid, token",
    [("bm9wZQ", "abc-def"), ("!!!", "x"), ("\x00", "\x00"), ("", "x"), (None, None)],
)
def test_a_wrong_reset_link_is_invalid_token(member, uid, token):
    body = {"new_password": NEW_PASSWORD}
    if uid is not None:
        body |= {"uid": uid, "token": token}
    else:  # a real uid with a made-up token
        from django.utils.encoding import force_bytes
        from django.utils.http import urlsafe_base64_encode

        body |= {"uid": urlsafe_base64_encode(force_bytes(member.user.pk)), "token": "cu2b3c-0123456789abcdef"}
    response = APIClient().post("/api/auth/password-reset/confirm", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_token", "validation_error", "null_character"}
    if uid not in ("", "\x00"):
        assert response.json()["code"] == "invalid_token"


def test_reset_confirm_with_a_weak_password_keeps_the_link_usable(
    member, mailoutbox, reset_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post("/api/auth/password-reset", {"email": member.user.email}, format="json")
    link = reset_link(mailoutbox)
    weak = APIClient().post("/api/auth/password-reset/confirm", {**link, "new_password": "123"}, format="json")
    assert_error(weak, 400, "validation_error")
    ok = APIClient().post("/api/auth/password-reset/confirm", {**link, "new_password": NEW_PASSWORD}, format="json")
    assert ok.status_code == 200


# --- admin --------------------------------------------------------------------------------------
def test_the_admin_shows_no_token_secret(member, client):
    token = login(member.user.email)["token"]
    row = AuthToken.objects.get()
    root = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    client.force_login(root)
    listing = client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert member.user.email in body
    for secret in (token, row.token_key):  # (the digest may show: it is one-way)
        assert secret not in body
    assert client.get("/admin/knox/authtoken/add/").status_code == 403
    assert client.get("/admin/authtoken/").status_code == 404  # DRF's plain-text token admin is gone


@pytest.mark.django_db(transaction=True)
def test_migrate_leaves_the_cache_table_and_no_plain_text_tokens():
    tables = connection.introspection.table_names()
    assert "spinning_cache" in tables
    assert "authtoken_token" not in tables
