"""DOMAIN.md 16: Turkish and English. Every text of our code has its Turkish translation (this
test fails on a new untranslated or fuzzy text: run `make messages` and translate it);
Accept-Language picks the API's language with the same `code`s; the admin speaks Turkish to a
staff user who chose it."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "tr" / "LC_MESSAGES" / "django.po"
needs_gettext = pytest.mark.skipif(not shutil.which("msgfmt") or not shutil.which("xgettext"), reason="gettext tools")


def _statistics(po: Path) -> str:
    done = subprocess.run(
        ["msgfmt", "--check-format", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr.strip()


@needs_gettext
def test_the_catalog_has_no_untranslated_or_fuzzy_text():
    stats = _statistics(PO)
    assert re.fullmatch(r"\d+ translated messages?\.", stats), stats


@needs_gettext
def test_every_text_of_the_code_is_in_the_catalog_and_translated(tmp_path):
    """makemessages over a copy of the sources: a text added to the code without its Turkish
    translation shows up as untranslated."""
    copy = tmp_path / "src"
    skip = {".venv", ".git", "var", "bench", "staticfiles", "node_modules", "__pycache__", "tests"}
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if path.is_file() and path.suffix in {".py", ".html", ".txt", ".po"} and not skip & set(relative.parts):
            target = copy / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "tr",
            "--no-location",
            "--ignore",
            "*/tests/*",
            "--ignore",
            "tests/*",
            "--ignore",
            "var/*",
        ],
        cwd=copy,
        env={
            "PATH": "/usr/bin:/bin",
            "SPINNING_ALLOW_DEV_SECRET": "1",
            "DJANGO_SETTINGS_MODULE": "spinning.settings",
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        },
        check=True,
        capture_output=True,
    )
    stats = _statistics(copy / "locale" / "tr" / "LC_MESSAGES" / "django.po")
    assert re.fullmatch(r"\d+ translated messages?\.", stats), (
        f"{stats} — run `make messages` and translate the new texts in locale/tr/LC_MESSAGES/django.po"
    )


def test_the_catalog_is_compiled_for_the_run():
    assert (PO.with_suffix(".mo")).exists()
    assert settings.LOCALE_PATHS and ("tr", "Türkçe") in settings.LANGUAGES


@pytest.mark.django_db
def test_accept_language_picks_the_apis_language_and_codes_never_change(api):
    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    client = api(user=member.user, org=org)
    english = client.get("/api/bookings/00000000-0000-0000-0000-000000000000")
    turkish = client.get("/api/bookings/00000000-0000-0000-0000-000000000000", HTTP_ACCEPT_LANGUAGE="tr")
    assert english.status_code == turkish.status_code == 404
    assert english.json()["code"] == turkish.json()["code"]
    assert english.json()["detail"] != turkish.json()["detail"]
    assert turkish.json()["detail"] in {"Böyle bir rezervasyon yok.", "Bulunamadı."}
    # a domain refusal and a validation message (ours and DRF's own)
    refused = client.post(
        "/api/packages/redeem",
        {"package_id": "00000000-0000-0000-0000-000000000000"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9",
    )
    assert refused.status_code in (400, 404)
    assert refused.json()["detail"] in {"Geçersiz girdi.", "Bulunamadı.", "Bu stüdyoda böyle bir paket yok."}
    invalid = client.post("/api/packages/redeem", {}, format="json", HTTP_ACCEPT_LANGUAGE="tr")
    assert invalid.json()["code"] == "validation_error"
    assert invalid.json()["detail"] == "Geçersiz girdi."
    assert invalid.json()["fields"]["package_id"] == ["Bu alan zorunlu."]


@pytest.mark.django_db
def test_ledger_descriptions_are_shown_in_the_requests_language(api):
    from django.db import transaction

    from members_app.models import CreditLot
    from members_app.services import credits_grant, credits_spend, member_lock

    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    with transaction.atomic():
        locked = member_lock(organization=org, member_id=member.pk)
        credits_grant(member=locked, amount=2, source=CreditLot.Source.MANUAL, type="MANUAL_ADD", expires_at=None)
        credits_spend(member=locked, amount=1, description="Booking: Sunset Ride 2026-03-05 18:00 +03:00, bike B2")
    client = api(user=member.user, org=org)
    rows = client.get(f"/api/members/{member.pk}/credit-transactions", HTTP_ACCEPT_LANGUAGE="tr").json()["results"]
    assert rows[0]["description"] == "Rezervasyon: Sunset Ride 2026-03-05 18:00 +03:00, bisiklet B2"
    rows = client.get(f"/api/members/{member.pk}/credit-transactions").json()["results"]
    assert rows[0]["description"] == "Booking: Sunset Ride 2026-03-05 18:00 +03:00, bike B2"


@pytest.mark.django_db
def test_the_admin_speaks_turkish_to_a_staff_user_who_chose_it(client):
    org = OrganizationFactory()
    admin = staff_user(org)
    client.force_login(admin)
    english = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Log out" in english.content.decode() and "Türkçe" in english.content.decode()
    # they choose Türkçe in the header: kept on their account, whatever the browser says
    chosen = client.post("/admin/language/", {"language": "tr", "next": "/admin/"})
    assert chosen.status_code == 302 and chosen["Location"] == "/admin/"
    admin.refresh_from_db()
    assert admin.language == "tr"
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Oturumu kapat" in page  # Django's own catalog
    assert "Dil" in page and "Stüdyo yönetimi" in page  # ours
    # and back
    client.post("/admin/language/", {"language": "en", "next": "/admin/"})
    assert "Log out" in client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_the_language_switch_refuses_a_foreign_redirect_and_anonymous_users(client):
    org = OrganizationFactory()
    client.force_login(staff_user(org))
    response = client.post("/admin/language/", {"language": "tr", "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"
    client.logout()
    assert client.post("/admin/language/", {"language": "tr"}).status_code == 302  # to the login
