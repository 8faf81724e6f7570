"""Security checks for CI (issue 5, item 5).

- `manage.py check --deploy` is clean under production settings (DEBUG off, a long random
  SECRET_KEY, ALLOWED_HOSTS), and has teeth: a weak key fails it, a missing key stops start-up.
- No API response ever carries a password hash, somebody else's token, or (to a member) another
  member's email: every GET path of the schema is crawled with every seeded id, plus OPTIONS on
  every path and the POSTs that answer with people or tokens, as a member, as staff (ADMIN and
  FRONT_DESK) and anonymously.
- Login (`POST /api/auth/token`) and coupon-code lookups (`GET /api/coupons/code/{code}`) are
  throttled: the 429 comes with the error shape, `code == "throttled"` and `Retry-After`.
- Oversized requests (too many form fields, a body over the upload limit) answer 400 / 413 with
  the error shape, not a 500.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from members_app.models import Member, User
from members_app.services.accounts import token_issue
from members_app.tests.factories import UserFactory
from tests.seed import seed_studio

BASE_DIR = settings.BASE_DIR
HASH_MARKERS = ("pbkdf2_", "md5$", "argon2", "bcrypt", "sha1$", "scrypt$")


# --- check --deploy ---------------------------------------------------------------------------
def _manage(*args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh interpreter with production settings from the environment."""
    env = {k: v for k, v in os.environ.items() if k not in {"SPINNING_ALLOW_DEV_SECRET", "FAST_PASSWORD_HASHER"}}
    env.update(
        DJANGO_SETTINGS_MODULE="spinning.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="api.example.com",
        CSRF_TRUSTED_ORIGINS="https://api.example.com",
    )
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_fails_on_a_weak_secret_key():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY="short")
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _manage("check", SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_off_hides_tracebacks_and_settings():
    result = _manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
        "s.SECURE_CONTENT_TYPE_NOSNIFF, s.X_FRAME_OPTIONS)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True", "True", "DENY"]


# --- no leaks -----------------------------------------------------------------------------------
@pytest.fixture
def studio(db):
    studio = seed_studio()
    # Everyone has a token, so that "somebody else's token" covers every person. Only digests
    # are stored, so the secrets are kept here as they are handed out.
    studio.secrets = {token: email for email, token in _seed_tokens(studio).items()}
    for user in User.objects.all():
        studio.secrets[token_issue(user=user).token] = user.email
    return studio


def _seed_tokens(studio) -> dict[str, str]:
    users = {"member": studio.member.user, "other_member": studio.other_member.user}
    users |= {"staff": studio.admin, "front_desk": studio.front_desk}
    return {users[role].email: token for role, token in studio.tokens.items()}


def _client(studio, role: str | None) -> APIClient:
    client = APIClient()
    client.defaults["HTTP_X_ORGANIZATION"] = studio.organization.slug
    if role is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {studio.tokens[role]}")
    return client


def _role_user(studio, role: str | None) -> User | None:
    return {
        "member": studio.member.user,
        "staff": studio.admin,
        "front_desk": studio.front_desk,
        None: None,
    }[role]


def _get_paths() -> list[str]:
    """Every GET path template of the served schema."""
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return sorted(path for path, item in response.json()["paths"].items() if "get" in item)


def _expand(template: str, studio) -> list[str]:
    """A path template -> concrete paths, one per seeded id (every row, also other members')."""
    names = re.findall(r"{(\w+)}", template)
    if not names:
        return [template]
    assert len(names) == 1, template
    name = names[0]
    if name == "code":
        values = studio.ids["coupon_codes"]
    elif name in ("member_id", "redemption_id"):
        values = studio.ids[name.removesuffix("_id") + "s"]
    else:
        values = studio.ids[template.strip("/").split("/")[1]]
    return [template.replace("{" + name + "}", str(value)) for value in values]


def _forbidden_strings(studio, role: str | None) -> dict[str, str]:
    """What must never appear in a response to `role`: string -> why."""
    me = _role_user(studio, role)
    forbidden: dict[str, str] = {}
    for user in User.objects.all():
        forbidden[user.password] = f"password hash of {user.email}"
    for secret, email in studio.secrets.items():
        if me is None or email != me.email:
            forbidden[secret] = f"token of {email}"
    for digest, email in AuthToken.objects.values_list("digest", "user__email"):
        forbidden[digest] = f"token digest of {email}"
    if role in ("member", None):
        for member in Member.objects.select_related("user"):
            if me is None or member.user_id != me.pk:
                forbidden[member.user.email] = "another member's email"
    return forbidden


def _assert_no_leak(response, studio, role, forbidden, what: str) -> None:
    body = response.content.decode("utf-8", errors="replace")
    assert response.status_code < 500, f"{what}: {response.status_code} {body[:300]}"
    lowered = body.lower()
    for marker in HASH_MARKERS:
        assert marker not in lowered, f"{what} as {role}: a password hash marker {marker!r}: {body[:300]}"
    for needle, why in forbidden.items():
        assert needle.lower() not in lowered, f"{what} as {role}: {why} in the response: {body[:300]}"


ROLES = ["member", "staff", "front_desk", None]


@pytest.mark.parametrize("role", ROLES, ids=["member", "admin", "front_desk", "anonymous"])
def test_no_response_leaks_hashes_tokens_or_emails(studio, role):
    client = _client(studio, role)
    forbidden = _forbidden_strings(studio, role)
    seen = 0
    for template in _get_paths():
        for path in _expand(template, studio):
            for url in (path, path + "?page_size=200"):
                _assert_no_leak(client.get(url), studio, role, forbidden, f"GET {url}")
                seen += 1
            response = client.options(path)
            _assert_no_leak(response, studio, role, forbidden, f"OPTIONS {path}")
            seen += 1
    assert seen > 100  # the crawl did reach the rows


def test_writes_answer_without_leaks(studio):
    """POSTs that answer with people, ledger rows or tokens: the caller's own token at most."""
    member, staff = _client(studio, "member"), _client(studio, "staff")
    anonymous = _client(studio, None)
    package_id = studio.ids["packages"][0]
    session_id = studio.ids["sessions"][-1]
    calls = [
        (anonymous, None, "post", "/api/auth/token", {"email": "elif@example.com", "password": "ride-demo-2026"}),
        (anonymous, None, "post", "/api/auth/token", {"email": "elif@example.com", "password": "wrong-password"}),
        (
            anonymous,
            None,
            "post",
            "/api/auth/register",
            {"email": "new@example.com", "password": "a-long-pass-2026", "first_name": "N", "last_name": "M"},
        ),
        (
            anonymous,
            None,
            "post",
            "/api/auth/register",
            {"email": "can@example.com", "password": "a-long-pass-2026", "first_name": "C", "last_name": "D"},
        ),
        (member, "member", "post", "/api/packages/quote", {"package_id": package_id, "coupon_code": "SUMMER2024"}),
        (member, "member", "post", "/api/packages/redeem", {"package_id": package_id}),
        (member, "member", "post", "/api/bookings", {"session_id": session_id}),
        (
            member,
            "member",
            "post",
            "/api/packages/redeem",
            {"package_id": package_id, "member_id": studio.ids["members"][1]},
        ),
        (
            staff,
            "staff",
            "post",
            "/api/members",
            {"email": "can@example.com", "first_name": "Can", "last_name": "Demir", "password": "another-pass-2026"},
        ),
        (
            staff,
            "staff",
            "post",
            f"/api/members/{studio.member.pk}/credit-adjustments",
            {"amount": 2, "reason": "goodwill"},
        ),
        (staff, "staff", "patch", f"/api/members/{studio.member.pk}", {"phone": "+905551112233"}),
    ]
    for client, role, method, url, body in calls:
        forbidden = _forbidden_strings(studio, role)
        if url == "/api/auth/token":
            # The login answers with the person's own token: that one is theirs to see.
            forbidden = {k: v for k, v in forbidden.items() if v != "token of elif@example.com"}
        if url == "/api/auth/register":
            forbidden = {k: v for k, v in forbidden.items() if not v.startswith("token of new@")}
        response = getattr(client, method)(url, body, format="json")
        _assert_no_leak(response, studio, role, forbidden, f"{method.upper()} {url}")


def test_admin_pages_show_no_password_hash(studio, client):
    """The admin's member and person pages: Django shows a hash summary, never the hash."""
    client.force_login(studio.admin)
    forbidden = {user.password: f"password hash of {user.email}" for user in User.objects.all()}
    for url in (
        "/admin/members_app/member/",
        f"/admin/members_app/member/{studio.member.pk}/change/",
        "/admin/members_app/user/",
        f"/admin/members_app/user/{studio.member.user.pk}/change/",
    ):
        response = client.get(url)
        if response.status_code == 404:
            continue
        body = response.content.decode()
        assert response.status_code < 500, url
        for needle, why in forbidden.items():
            assert needle not in body, f"{url}: {why}"


# --- oversized requests -------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/auth/token", "/api/members", "/api/coupons"])
def test_a_form_with_too_many_fields_is_a_415_not_a_500(studio, url):
    """More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS (found by the fuzzer: TooManyFieldsSent was a
    500, then a 400); the API reads JSON only, so any form is refused before it is parsed."""
    body = urlencode([("code", "X"), *[("applicable_package_ids", f"id-{n}") for n in range(1500)]])
    response = _client(studio, "staff").post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_media_type"


def test_an_admin_form_with_too_many_fields_is_a_400_not_a_500(studio):
    body = urlencode([("name", "X"), *[(f"f{n}", "1") for n in range(1500)]])
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.post("/admin/bookings_app/location/add/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_a_body_over_the_upload_limit_is_a_413_not_a_500(studio):
    too_big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = _client(studio, None).post("/api/auth/token", too_big, content_type="application/json")
    assert response.status_code == 413, response.content
    assert response.json() == {"code": "request_too_large", "detail": "The request body is too large."}


# --- throttling -------------------------------------------------------------------------------
def _limit(scope: str) -> int:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]
    return int(rate.split("/")[0])


def _assert_throttled(response) -> None:
    assert response.status_code == 429, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "throttled"
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"code", "detail", "fields"}
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_login_is_throttled(studio):
    client = APIClient()
    limit = _limit("login_failures")
    for attempt in range(limit):
        response = client.post(
            "/api/auth/token", {"email": "elif@example.com", "password": f"guess-{attempt}"}, format="json"
        )
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "invalid_credentials"
    # The next try is refused, even with the right password: guessing stops here.
    response = client.post(
        "/api/auth/token", {"email": "elif@example.com", "password": "ride-demo-2026"}, format="json"
    )
    _assert_throttled(response)


@pytest.mark.django_db
def test_coupon_code_lookup_is_throttled(studio):
    client = _client(studio, "member")
    limit = _limit("coupon_lookup")
    statuses = set()
    for attempt in range(limit):
        code = "NEWMEMBER2024" if attempt == 0 else f"GUESS{attempt:04d}"
        statuses.add(client.get(f"/api/coupons/code/{code}").status_code)
    assert statuses <= {200, 404}, statuses
    assert 200 in statuses
    _assert_throttled(client.get("/api/coupons/code/NEWMEMBER2024"))
