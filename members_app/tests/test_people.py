"""People across studios (DOMAIN.md 1, 16): names, phone and language live on each studio's
member record; adding an existing person reveals nothing and changes nothing; search folds
Turkish letters."""

import pytest
from django.test import Client
from django.urls import reverse

from members_app.models import Member, User
from members_app.tests.factories import MemberFactory, UserFactory
from members_app.tests.utils import assert_error

pytestmark = pytest.mark.django_db

STRONG = "a-Strong-pass-42"
VARYING = {"id", "email", "created_at"}


@pytest.fixture
def rider_of_b(org_b):
    """A rider of studio B with her real name and phone there."""
    user = UserFactory(email="elif@example.com", first_name="Elif", last_name="Yılmaz")
    return MemberFactory(organization=org_b, user=user, phone="+90 555 000 00 01")


# --- the probe's story ---------------------------------------------------------------------------
def test_adding_another_studios_rider_reveals_nothing_and_changes_nothing(api, org_a, admin_a, admin_b, rider_of_b):
    client = api(admin_a)
    # when the ADMIN of studio A adds studio B's rider by email, and a brand-new person likewise
    known = client.post(
        "/api/members", {"email": "ELIF@example.com", "first_name": "X", "last_name": "Y"}, format="json"
    )
    new = client.post(
        "/api/members", {"email": "nobody@example.com", "first_name": "X", "last_name": "Y"}, format="json"
    )
    # then both answers are the same but for id, email and time: only what staff typed comes back
    assert known.status_code == new.status_code == 201
    known_body, new_body = known.json(), new.json()
    assert {k: v for k, v in known_body.items() if k not in VARYING} == {
        k: v for k, v in new_body.items() if k not in VARYING
    }
    assert (known_body["first_name"], known_body["last_name"], known_body["phone"]) == ("X", "Y", "")
    shown = str({k: v for k, v in known_body.items() if k != "id"})  # a random id may hold "555"
    assert "Elif" not in shown and "555" not in shown

    # when studio A renames her in its own record
    response = client.patch(
        f"/api/members/{known_body['id']}", {"first_name": "Renamed", "language": "tr"}, format="json"
    )
    assert response.status_code == 200 and response.json()["first_name"] == "Renamed"

    # then studio B's record and her account are untouched, and B's staff still see her name
    rider_of_b.refresh_from_db()
    assert (rider_of_b.first_name, rider_of_b.last_name, rider_of_b.phone) == ("Elif", "Yılmaz", "+90 555 000 00 01")
    assert rider_of_b.language is None
    user = User.objects.get(email="elif@example.com")
    assert (user.first_name, user.last_name) == ("Elif", "Yılmaz")
    assert user.check_password("pass-word-123")
    body = api(admin_b).get(f"/api/members/{rider_of_b.pk}").json()
    assert (body["first_name"], body["last_name"]) == ("Elif", "Yılmaz")
    assert user.memberships.count() == 2


def test_a_password_typed_by_staff_never_reaches_an_existing_account(api, admin_a, rider_of_b):
    response = api(admin_a).post(
        "/api/members",
        {"email": rider_of_b.user.email, "first_name": "X", "last_name": "Y", "password": "another-Pass-2026"},
        format="json",
    )
    assert response.status_code == 201
    rider_of_b.user.refresh_from_db()
    assert rider_of_b.user.check_password("pass-word-123")


def test_a_weak_password_is_refused_alike_for_a_known_and_a_new_email(api, admin_a, rider_of_b):
    client = api(admin_a)
    answers = [
        client.post(
            "/api/members", {"email": email, "first_name": "X", "last_name": "Y", "password": "123"}, format="json"
        )
        for email in (rider_of_b.user.email, "nobody@example.com")
    ]
    assert answers[0].json() == answers[1].json()
    assert_error(answers[0], 400, "validation_error")
    assert Member.objects.filter(user=rider_of_b.user).count() == 1


def test_staff_created_account_carries_no_names_the_studio_typed(api, admin_a, org_a):
    body = (
        api(admin_a)
        .post("/api/members", {"email": "new@example.com", "first_name": "Can", "last_name": "Demir"}, format="json")
        .json()
    )
    user = User.objects.get(email="new@example.com")
    assert (user.first_name, user.last_name) == ("", "")
    assert (body["first_name"], body["last_name"]) == ("Can", "Demir")


def test_registering_with_an_existing_account_keeps_its_names(api, org_a, rider_of_b):
    response = api(org=org_a).post(
        "/api/auth/register",
        {
            "email": "elif@example.com",
            "password": "pass-word-123",
            "first_name": "E",
            "last_name": "Y",
            "language": "tr",
        },
        format="json",
    )
    assert response.status_code == 201
    member = response.json()["member"]
    assert (member["first_name"], member["last_name"], member["language"]) == ("E", "Y", "tr")
    rider_of_b.refresh_from_db()
    rider_of_b.user.refresh_from_db()
    assert (rider_of_b.first_name, rider_of_b.user.first_name) == ("Elif", "Elif")


def test_registering_a_new_account_names_the_account_and_the_member(api, org_a):
    body = {"email": "ayse@example.com", "password": STRONG, "first_name": "Ayşe", "last_name": "Kaya"}
    member = api(org=org_a).post("/api/auth/register", body, format="json").json()["member"]
    assert (member["first_name"], member["last_name"], member["language"]) == ("Ayşe", "Kaya", None)
    assert User.objects.get(email="ayse@example.com").get_full_name() == "Ayşe Kaya"


def test_admin_add_form_with_an_existing_email_stores_what_staff_typed(admin_a, org_a, rider_of_b):
    client = Client()
    client.force_login(admin_a)
    data = {
        "organization": org_a.pk,
        "email": "elif@example.com",
        "first_name": "Typed",
        "last_name": "Here",
        "phone": "1",
        "language": "",
        "password": "",
    }
    response = client.post(reverse("admin:members_app_member_add"), data)
    assert response.status_code == 302
    added = Member.objects.get(organization=org_a, user=rider_of_b.user)
    assert (added.first_name, added.last_name, added.phone) == ("Typed", "Here", "1")
    rider_of_b.refresh_from_db()
    assert rider_of_b.first_name == "Elif"
    page = client.get(reverse("admin:members_app_member_change", args=[added.pk])).content.decode()
    assert "Yılmaz" not in page and "555" not in page


# --- language --------------------------------------------------------------------------------------
def test_a_member_changes_their_own_language(api, org_a, member_a):
    client = api(member_a.user, org_a)
    response = client.patch("/api/members/me", {"language": "tr"}, format="json")
    assert response.status_code == 200 and response.json()["language"] == "tr"
    member_a.refresh_from_db()
    assert member_a.language == "tr" and member_a.effective_language == "tr"
    assert client.patch("/api/members/me", {"language": None}, format="json").json()["language"] is None
    member_a.refresh_from_db()
    assert member_a.effective_language == org_a.language


def test_a_member_may_not_change_anything_else_of_their_own(api, org_a, member_a):
    client = api(member_a.user, org_a)
    body = assert_error(client.patch("/api/members/me", {"language": "tr", "first_name": "Me"}, format="json"), 400)
    assert set(body["fields"]) == {"first_name"}
    assert_error(client.patch("/api/members/me", {"language": "de"}, format="json"), 400, "validation_error")
    assert_error(client.patch(f"/api/members/{member_a.pk}", {"language": "tr"}, format="json"), 403)
    member_a.refresh_from_db()
    assert member_a.language is None


# --- search: Turkish letters match loosely (DOMAIN.md 16) ---------------------------------------
@pytest.fixture
def turkish_riders(org_a):
    yilmaz = MemberFactory(
        organization=org_a,
        user=UserFactory(email="e.y@example.com"),
        first_name="Elif",
        last_name="Yılmaz",
        phone="+90 (555) 000-0001",
    )
    sahin = MemberFactory(
        organization=org_a, user=UserFactory(email="mert@example.com"), first_name="Mert", last_name="Şahin"
    )
    other = MemberFactory(organization=org_a, user=UserFactory(email="zeynep@example.com"), first_name="Zeynep")
    return yilmaz, sahin, other


SEARCHES = [
    ("yilmaz", 0),
    ("YILMAZ", 0),
    ("Yılmaz", 0),
    ("YıLMAZ", 0),
    ("elif yilmaz", 0),
    ("yilmaz ELİF", 0),
    ("sahin", 1),
    ("şahin", 1),
    ("ŞAHİN", 1),
    ("SAHIN", 1),
    ("mert@example", 1),
    ("MERT@EXAMPLE.COM", 1),
    ("5550000001", 0),
    ("555", 0),
]


@pytest.mark.parametrize(("q", "expected"), SEARCHES)
def test_api_member_search_folds_turkish_letters(api, admin_a, turkish_riders, q, expected):
    response = api(admin_a).get("/api/members", {"q": q})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(turkish_riders[expected].pk)]


@pytest.mark.parametrize(("q", "expected"), SEARCHES)
def test_admin_member_search_folds_turkish_letters(admin_a, turkish_riders, q, expected):
    client = Client()
    client.force_login(admin_a)
    response = client.get(reverse("admin:members_app_member_changelist"), {"q": q})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [turkish_riders[expected]]


def test_search_key_follows_a_rename(api, admin_a, turkish_riders):
    yilmaz = turkish_riders[0]
    api(admin_a).patch(f"/api/members/{yilmaz.pk}", {"last_name": "Öztürk"}, format="json")
    assert [r["id"] for r in api(admin_a).get("/api/members", {"q": "ozturk"}).json()["results"]] == [str(yilmaz.pk)]
    assert api(admin_a).get("/api/members", {"q": "yilmaz"}).json()["count"] == 0


def test_search_never_matches_another_studios_record(api, admin_a, org_b, turkish_riders):
    MemberFactory(organization=org_b, user=turkish_riders[2].user, first_name="Gizli", last_name="Ad")
    assert api(admin_a).get("/api/members", {"q": "gizli"}).json()["count"] == 0


@pytest.mark.parametrize("screen", ["members_app_creditlot_changelist", "members_app_credittransaction_changelist"])
def test_ledger_screens_find_a_rider_by_a_loosely_typed_name(admin_a, org_a, turkish_riders, screen):
    from members_app import services

    for rider in turkish_riders:
        services.credit_adjustment_create(organization=org_a, member_id=rider.pk, amount=1, reason="Welcome")
    client = Client()
    client.force_login(admin_a)
    for q in ("SAHIN", "şahin"):
        rows = client.get(reverse(f"admin:{screen}"), {"q": q}).context["cl"].result_list
        assert {row.member_id for row in rows} == {turkish_riders[1].pk}
    rows = client.get(reverse("admin:members_app_credittransaction_changelist"), {"q": "welcome"})
    assert len(rows.context["cl"].result_list) == 3
