"""DOMAIN.md 15 through the API: a Turkish member asks for a package and is told how to pay
(the studio's bank instructions, the reference to quote); the studio gets its copy; staff
confirm ("paket aktif"), reject, let it expire or cancel it, and the member is told each time."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from members_app.models import Notification
from packages_app import services
from packages_app.models import Redemption
from packages_app.tests.conftest import NOW
from packages_app.tests.factories import AllAccessPackageFactory, EliteFactory, PackageFactory

pytestmark = pytest.mark.django_db
Kind = Notification.Kind
BANK = "Garanti BBVA · IBAN TR12 0006 2000 0000 0012 3456 78 · Ritim Spor Ltd."


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def studio(org):
    org.name, org.language, org.email, org.bank_transfer_instructions = "Ritim", "tr", "studio@ritim.example", BANK
    org.save()
    return org


@pytest.fixture
def package(studio):
    return PackageFactory(
        organization=studio,
        name="Core Pack",
        name_tr="Core Paket",
        price=Decimal("18000.00"),
        credits=10,
        credit_validity_days=30,
    )


def test_request_confirm_in_turkish_through_the_api(
    api, studio, member, package, admin_user, django_capture_on_commit_callbacks
):
    # given a rider of a Turkish studio, who never chose a language
    rider = api(user=member.user, org=studio)
    # when they ask to buy
    with django_capture_on_commit_callbacks(execute=True):
        response = rider.post("/api/packages/redeem", {"package_id": str(package.pk)}, format="json")
    assert response.status_code == 201, response.json()
    request = response.json()
    assert request["status"] == "PENDING"
    reference = request["payment_reference"]
    assert reference.startswith("R-") and len(reference) == 10
    # then they are told how to pay, in Turkish; the studio gets its own copy
    to_member, to_studio = sorted(mail.outbox, key=lambda m: m.to[0] == "studio@ritim.example")
    assert to_member.to == [member.user.email]
    assert to_member.subject == "Siparişiniz: Core Paket, 18.000,00 TRY — ödeme bilgileri"
    assert BANK in to_member.body
    assert f"Lütfen ödemenizin açıklamasına şu referansı yazın: {reference}" in to_member.body
    assert "Ödeme 13 Mart Cuma 12:00" not in to_member.body  # the weekday comes first:
    assert "Cuma 13 Mart 12:00 tarihine kadar ulaşmazsa" in to_member.body
    assert to_studio.to == ["studio@ritim.example"]
    assert to_studio.subject.startswith("Yeni satın alma talebi")
    assert to_studio.reply_to == [member.user.email]

    # when staff confirm the payment
    mail.outbox.clear()
    staff = api(user=admin_user, org=studio)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"/api/redemptions/{request['id']}/confirm").status_code == 200
    # then "paket aktif", with what it grants
    [active] = mail.outbox
    assert active.subject == "Paketiniz aktif: Core Paket"
    assert (
        "10 kredi, Çarşamba 8 Nisan 2026 gününün sonuna kadar geçerli." in active.body
    )  # 30 days: through the 30th day

    # the member sees their own two messages, staff see the studio's copy too
    mine = rider.get(f"/api/members/{member.pk}/notifications").json()
    assert [(n["kind"], n["language"], n["status"]) for n in mine["results"]] == [
        ("purchase_confirmed", "tr", "SENT"),
        ("purchase_requested", "tr", "SENT"),
    ]
    assert set(mine["results"][0]) == {
        "id",
        "kind",
        "to",
        "subject",
        "language",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    }
    assert staff.get(f"/api/members/{member.pk}/notifications").json()["count"] == 3
    assert rider.get(f"/api/members/{admin_user.pk}/notifications").status_code == 404


def test_an_english_member_of_a_turkish_studio_reads_english(
    api, studio, member, package, django_capture_on_commit_callbacks
):
    member.language = "en"
    member.save()
    with django_capture_on_commit_callbacks(execute=True):
        api(user=member.user, org=studio).post("/api/packages/redeem", {"package_id": str(package.pk)}, format="json")
    to_member = next(m for m in mail.outbox if m.to == [member.user.email])
    assert to_member.subject == "Your order: Core Pack, 18,000.00 TRY — how to pay"
    assert "Friday 13 March 12:00" in to_member.body


def test_desk_sale_of_an_all_access_and_elite_say_what_they_grant(studio, member, admin_user):
    services.redemption_create(
        organization=studio,
        package_id=AllAccessPackageFactory(organization=studio).pk,
        member_id=member.pk,
        by_staff=True,
        performed_by=admin_user,
        now=NOW,
    )
    services.redemption_create(
        organization=studio,
        package_id=EliteFactory(organization=studio, credit_validity_days=60).pk,
        member_id=member.pk,
        by_staff=True,
        performed_by=admin_user,
        now=NOW,
    )
    all_access, elite = Notification.objects.filter(kind=Kind.PURCHASE_CONFIRMED).order_by("created_at", "subject")
    texts = {row.subject: row.body_text for row in (all_access, elite)}
    body = "\n".join(texts.values())
    assert "All Access: Salı 10 Mart 2026 – Çarşamba 8 Nisan 2026, günde en fazla 1 ders." in body
    assert "Bir arkadaş pasosu" in body and "30 kredi" in body
    assert all("Satın aldığınız için teşekkür ederiz" in text for text in texts.values())


def test_reject_expire_and_cancel_each_tell_the_member(studio, member, package, admin_user):
    def ask():
        return services.redemption_create(
            organization=studio,
            package_id=package.pk,
            member_id=member.pk,
            by_staff=False,
            performed_by=member.user,
            now=NOW,
        )

    rejected = ask()
    services.redemption_reject(
        organization=studio, redemption_id=rejected.pk, performed_by=admin_user, reason="ödeme yok", now=NOW
    )
    row = Notification.objects.get(kind=Kind.PURCHASE_REJECTED)
    assert "Sebep: ödeme yok" in row.body_text and rejected.payment_reference in row.body_text

    unpaid = ask()
    services.packages_expire(now=NOW + timedelta(hours=73))
    row = Notification.objects.get(kind=Kind.PURCHASE_EXPIRED)
    assert row.redemption_id == unpaid.pk and "zamanında ulaşmadığından" in row.body_text

    sold = services.redemption_create(
        organization=studio, package_id=package.pk, member_id=member.pk, by_staff=True, performed_by=admin_user, now=NOW
    )
    preview = services.redemption_cancel(
        organization=studio, redemption_id=sold.pk, performed_by=admin_user, dry_run=True, now=NOW
    )
    assert preview.dry_run and not Notification.objects.filter(kind=Kind.REDEMPTION_CANCELLED).exists()
    services.redemption_cancel(
        organization=studio, redemption_id=sold.pk, performed_by=admin_user, reason="iade", now=NOW
    )
    row = Notification.objects.get(kind=Kind.REDEMPTION_CANCELLED)
    assert "Bakiyenizden 10 kredi düşüldü." in row.body_text
    assert Redemption.objects.get(pk=sold.pk).status == "CANCELLED"


def test_a_studio_without_an_email_gets_no_copy(org, member):
    package = PackageFactory(organization=org)
    services.redemption_create(
        organization=org, package_id=package.pk, member_id=member.pk, by_staff=False, performed_by=member.user, now=NOW
    )
    assert list(Notification.objects.values_list("audience", flat=True)) == ["MEMBER"]


def test_staff_list_failed_messages_and_resend_one(
    api, studio, member, package, admin_user, django_capture_on_commit_callbacks
):
    services.redemption_create(
        organization=studio,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=False,
        performed_by=member.user,
        now=NOW,
    )
    failed = Notification.objects.filter(audience="MEMBER").get()
    Notification.objects.filter(pk=failed.pk).update(status="FAILED", attempts=8)
    staff = api(user=admin_user, org=studio)
    listed = staff.get("/api/notifications?status=FAILED").json()
    assert [n["id"] for n in listed["results"]] == [str(failed.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        resent = staff.post(f"/api/notifications/{failed.pk}/resend")
    assert resent.status_code == 200, resent.json()
    assert resent.json()["status"] == "QUEUED"  # queued again; delivered right after the commit
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("SENT", 1)
    again = staff.post(f"/api/notifications/{failed.pk}/resend")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert api(user=member.user, org=studio).post(f"/api/notifications/{failed.pk}/resend").status_code == 403


@pytest.mark.parametrize("query", ["status=failed", "status=DELIVERED", "status=SENDING", "kind=nonsense"])
def test_an_unknown_status_or_kind_filter_is_refused_not_ignored(api, studio, admin_user, query):
    response = api(user=admin_user, org=studio).get(f"/api/notifications?{query}")

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "validation_error" and list(body["fields"]) == [query.split("=")[0]]


def test_the_queued_filter_also_lists_a_message_being_sent(api, studio, member, package, admin_user):
    services.redemption_create(
        organization=studio,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=False,
        performed_by=member.user,
        now=NOW,
    )
    sending = Notification.objects.filter(audience="MEMBER").get()
    Notification.objects.filter(pk=sending.pk).update(status="SENDING")
    staff = api(user=admin_user, org=studio)

    queued = staff.get("/api/notifications?status=QUEUED&kind=purchase_requested").json()["results"]

    assert (str(sending.pk), "QUEUED") in [(n["id"], n["status"]) for n in queued]  # and the studio's copy
    assert staff.get("/api/notifications?status=SENT").json()["count"] == 0
