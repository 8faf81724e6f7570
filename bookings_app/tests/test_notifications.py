"""DOMAIN.md 15: a booking, its cancellation, a class the studio cancels, a no-show and the
waitlist each tell the member, once, in their language, after the commit."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail

from bookings_app import services
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import elite_30, give_credits, make_session, seat
from members_app.models import Notification, StaffRole
from members_app.services import credit_adjustment_create
from members_app.tests.factories import MemberFactory, staff_user

pytestmark = pytest.mark.django_db
Kind = Notification.Kind


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def session(org, layout):
    # Thursday 5 March 2026, 18:00 in Istanbul
    return make_session(org, datetime(2026, 3, 5, 18, 0, tzinfo=IST), layout=layout)


def _book(api, org, member, session, **body):
    return api(user=member.user, org=org).post(
        "/api/bookings", {"session_id": str(session.pk), **{k: str(v) for k, v in body.items()}}, format="json"
    )


def test_a_booking_and_its_cancellation_each_send_one_message_in_the_members_language(
    api, org, layout, session, member, django_capture_on_commit_callbacks
):
    # given a Turkish-speaking rider with credits
    member.language = "tr"
    member.save(update_fields=["language"])
    session.ride_class.name_tr = "Gün Batımı"
    session.ride_class.save()
    give_credits(member, 5, now=NOW)
    mail.outbox.clear()
    # when they book a bike
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(api, org, member, session, seat_id=seat(layout, "B2").pk)
    assert response.status_code == 201
    # then exactly one message, sent, in Turkish, studio-local time in words
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [member.user.email]
    assert message.subject == "Rezervasyonunuz onaylandı: Gün Batımı, Perşembe 5 Mart 18:00"
    assert "Bisiklet: B2" in message.body and "2 kredi ile ödendi." in message.body
    assert message.alternatives and message.alternatives[0][1] == "text/html"
    row = Notification.objects.get()
    assert (row.kind, row.language, row.status, row.attempts) == (Kind.BOOKING_CONFIRMED, "tr", "SENT", 1)
    assert str(row.booking_id) == response.json()["id"]

    # when they cancel it on time
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = api(user=member.user, org=org).post(f"/api/bookings/{response.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.json()
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject.startswith("Rezervasyon iptal edildi: Gün Batımı")
    assert "2 kredi bakiyenize iade edildi." in mail.outbox[1].body
    assert Notification.objects.filter(kind=Kind.BOOKING_CANCELLED, status="SENT").count() == 1


def test_english_member_reads_english_with_the_studio_as_sender_and_reply_to(
    api, org, layout, session, member, django_capture_on_commit_callbacks
):
    org.email = "hello@studio.example"
    org.save()
    give_credits(member, 1, now=NOW)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert _book(api, org, member, session).status_code == 201
    message = mail.outbox[0]
    assert message.subject == f"You're booked: {session.ride_class.name}, Thursday 5 March 18:00"
    assert message.reply_to == ["hello@studio.example"]
    assert org.name in message.from_email
    assert "Paid with 1 credit." in message.body
    assert "You can cancel for free until Thursday 5 March 06:00" in message.body


def test_a_refused_booking_writes_nothing(api, org, layout, session, member, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(api, org, member, session)  # no credits
    assert response.status_code == 409
    assert not Notification.objects.exists() and mail.outbox == []


def test_a_late_cancel_says_nothing_comes_back(api, org, layout, member, django_capture_on_commit_callbacks):
    soon = make_session(org, NOW + timedelta(hours=3), layout=layout)
    give_credits(member, 1, now=NOW)
    booking = services.booking_create(organization=org, session_id=soon.pk, member_id=member.pk, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(organization=org, booking_id=booking.pk, member=member, now=NOW)
    row = Notification.objects.get(kind=Kind.BOOKING_CANCELLED)
    assert "late cancellation" in row.body_text and "not refunded" in row.body_text


def test_the_studio_cancelling_a_class_tells_every_rider_and_every_waiting_rider(org, layout, session):
    riders = [MemberFactory(organization=org) for _ in range(2)]
    for rider in riders:
        give_credits(rider, 1, now=NOW)
        services.booking_create(organization=org, session_id=session.pk, member_id=rider.pk, now=NOW)
    type(session).objects.filter(pk=session.pk).update(capacity=2)
    waiting = MemberFactory(organization=org)
    give_credits(waiting, 1, now=NOW)
    services.waitlist_join(organization=org, session_id=session.pk, member_id=waiting.pk, now=NOW)
    services.session_cancel(organization=org, session_id=session.pk, now=NOW)
    told = Notification.objects.filter(kind=Kind.SESSION_CANCELLED)
    assert sorted(told.values_list("member_id", flat=True)) == sorted(r.pk for r in riders)
    assert "1 credit went back" in told.first().body_text
    expired = Notification.objects.get(kind=Kind.WAITLIST_EXPIRED)
    assert expired.member_id == waiting.pk and "cancelled by the studio" in expired.body_text


def test_a_freed_spot_promotes_and_tells_the_waiting_rider(org, layout, session, member):
    session.capacity = 1
    session.save()
    give_credits(member, 1, now=NOW)
    booking = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    broke, able = MemberFactory(organization=org), MemberFactory(organization=org)
    give_credits(able, 1, now=NOW)
    give_credits(broke, 1, now=NOW)
    services.waitlist_join(organization=org, session_id=session.pk, member_id=broke.pk, now=NOW)
    services.waitlist_join(organization=org, session_id=session.pk, member_id=able.pk, now=NOW)
    credit_adjustment_create(organization=org, member_id=broke.pk, amount=-1, reason="test", now=NOW)
    services.booking_cancel(organization=org, booking_id=booking.pk, member=member, now=NOW)
    services.waitlist_promote(organization=org, session_id=session.pk, now=NOW)
    skipped = Notification.objects.get(kind=Kind.WAITLIST_SKIPPED)
    assert skipped.member_id == broke.pk and "enough credits" in skipped.body_text
    promoted = Notification.objects.get(kind=Kind.WAITLIST_PROMOTED)
    assert promoted.member_id == able.pk and promoted.subject.startswith("A spot opened up")
    assert not Notification.objects.filter(kind=Kind.BOOKING_CONFIRMED, member=able).exists()


def test_closing_a_session_tells_the_no_shows(org, layout, session, member):
    give_credits(member, 1, now=NOW)
    services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    services.sessions_close(organization=org, now=session.ends_at + timedelta(hours=1))
    row = Notification.objects.get(kind=Kind.BOOKING_NO_SHOW)
    assert row.member_id == member.pk and "no-show" in row.body_text


def test_a_guests_cancellation_tells_the_host_and_a_hosts_names_the_guest(
    org, layout, session, member, django_capture_on_commit_callbacks
):
    # given an Elite 30 member booked with a friend-pass guest, both on time to cancel
    elite_30(member, now=NOW)
    host = services.booking_create(
        organization=org, session_id=session.pk, member_id=member.pk, seat_id=seat(layout, "A1").pk, now=NOW
    )
    guest = services.booking_create(
        organization=org,
        session_id=session.pk,
        member_id=member.pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=host.pk,
        seat_id=seat(layout, "A2").pk,
        now=NOW,
    )
    mail.outbox.clear()

    # when the guest's booking alone is cancelled
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(organization=org, booking_id=guest.pk, member=member, now=NOW)

    # then the host is told, about the guest's booking, once
    (row,) = Notification.objects.filter(kind=Kind.BOOKING_CANCELLED)
    assert (row.to_email, row.booking_id) == (member.user.email, guest.pk)
    assert mail.outbox[-1].subject.startswith("Guest booking cancelled: ")
    assert "The booking of your guest Ayşe (friend pass) is cancelled. Your own booking stays." in row.body_text
    assert "Your friend pass can be used again." in row.body_text

    # when the guest comes back and the host cancels: one message, naming the guest cancelled with it
    again = services.booking_create(
        organization=org,
        session_id=session.pk,
        member_id=member.pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=host.pk,
        now=NOW,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(organization=org, booking_id=host.pk, member=member, now=NOW)
    rows = Notification.objects.filter(kind=Kind.BOOKING_CANCELLED).exclude(pk=row.pk)
    assert [r.booking_id for r in rows] == [host.pk]
    assert "Your booking is cancelled. Your guest Ayşe (friend pass) is cancelled with it." in rows[0].body_text
    again.refresh_from_db()
    assert again.status == "CANCELLED"


def test_a_guests_cancellation_in_turkish(org, layout, session, member):
    member.language = "tr"
    member.save(update_fields=["language"])
    elite_30(member, now=NOW)
    host = services.booking_create(organization=org, session_id=session.pk, member_id=member.pk, now=NOW)
    guest = services.booking_create(
        organization=org,
        session_id=session.pk,
        member_id=member.pk,
        payment_method="FRIEND_PASS",
        guest_name="Ayşe",
        host_booking_id=host.pk,
        now=NOW,
    )
    admin = staff_user(org, StaffRole.Role.ADMIN)

    services.booking_cancel(organization=org, booking_id=guest.pk, by_staff=True, cancelled_by=admin, now=NOW)

    row = Notification.objects.get(kind=Kind.BOOKING_CANCELLED)
    assert row.subject.startswith("Misafir rezervasyonu iptal edildi: ")
    assert "Stüdyo, misafiriniz Ayşe için yapılan rezervasyonu (arkadaş pasosu) iptal etti." in row.body_text
    assert "Kendi rezervasyonunuz geçerli." in row.body_text
