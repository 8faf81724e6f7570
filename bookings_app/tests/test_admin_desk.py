"""Book at the desk and the roster (issue 12 items 2-3): find the member loosely, pick a bike on
the room's map, choose the payment, book through the service; the roster shows who sits where,
keeps cancelled rows, adds a friend-pass guest and confirms in words."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from bookings_app.models import Booking
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import elite_30, give_credits, make_layout, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield
    assert ledger_breaches() == []


def desk(org, role=StaffRole.Role.FRONT_DESK) -> Client:
    client = Client()
    client.force_login(staff_user(org, role))
    return client


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def tonight(org):
    return make_session(org, NOW + timedelta(hours=7), layout=make_layout(org, ["PNEN", "NCNN"]))


@pytest.fixture
def elif_(org):
    member = MemberFactory(organization=org, first_name="Elif", last_name="Yılmaz", phone="+90 555 000 00 01")
    give_credits(member, 5, now=NOW)
    return member


def test_find_pick_a_premium_bike_and_book(org, tonight, elif_):
    client = desk(org)
    book_url = reverse("admin:bookings_app_session_book", args=[tonight.pk])
    found = client.get(book_url, {"q": "yilmaz"}).content.decode()
    assert "Elif Yılmaz" in found
    assert "Elif Yılmaz" in client.get(book_url, {"q": "5550000001"}).content.decode()
    page = client.get(book_url, {"member": elif_.pk}).content.decode()
    assert 'id="seatmap"' in page and "Podium" in page and "Column" in page and "2 credits" in page
    response = client.post(
        book_url, {"member": elif_.pk, "seat": seat(tonight.seat_layout, "A3").pk, "payment": "AUTO"}
    )
    assert response.status_code == 302
    assert said(response) == ["Elif Yılmaz booked on bike A3 (2 credits)."]
    booking = Booking.objects.get(session=tonight, member=elif_)
    assert booking.seat.label == "A3" and booking.credits_used == 2 and booking.booked_by is not None
    roster = client.get(reverse("admin:bookings_app_session_roster", args=[tonight.pk])).content.decode()
    assert 'title="Elif Yılmaz"' in roster  # the map shows who sits where


def test_refusals_are_sentences(org, tonight, elif_):
    client = desk(org)
    book_url = reverse("admin:bookings_app_session_book", args=[tonight.pk])
    client.post(book_url, {"member": elif_.pk, "seat": seat(tonight.seat_layout, "A2").pk, "payment": "AUTO"})
    other = MemberFactory(organization=org)
    response = client.post(
        book_url, {"member": other.pk, "seat": seat(tonight.seat_layout, "A2").pk, "payment": "FREE"}
    )
    message = said(response)[-1]
    assert message.startswith("Not booked: ") and "seat_taken" not in message and "_" not in message


def test_free_comp_and_instructor_cannot_book(org, tonight, elif_):
    response = desk(org).post(
        reverse("admin:bookings_app_session_book", args=[tonight.pk]), {"member": elif_.pk, "payment": "FREE"}
    )
    assert said(response)[0].startswith("Elif Yılmaz booked")
    assert Booking.objects.get(session=tonight, member=elif_).payment_type == "FREE"
    instructor = desk(org, StaffRole.Role.INSTRUCTOR)
    response = instructor.post(
        reverse("admin:bookings_app_session_book", args=[tonight.pk]),
        {"member": MemberFactory(organization=org).pk, "payment": "FREE"},
    )
    assert Booking.objects.filter(session=tonight).count() == 1


def test_roster_check_in_guest_and_cancel_with_refund_keeps_the_row(org, tonight, elif_):
    elite_30(elif_, now=NOW)
    elif_.refresh_from_db()
    client = desk(org)
    client.post(
        reverse("admin:bookings_app_session_book", args=[tonight.pk]),
        {"member": elif_.pk, "seat": seat(tonight.seat_layout, "B1").pk, "payment": "CREDIT"},
    )
    host = Booking.objects.get(session=tonight, member=elif_)
    roster_url = reverse("admin:bookings_app_session_roster", args=[tonight.pk])
    assert "Add friend-pass guest" in client.get(roster_url).content.decode()
    response = client.post(
        roster_url,
        {"op": "add_guest", "booking": host.pk, "guest_name": "Ayşe Demir", "seat": seat(tonight.seat_layout, "B3").pk},
    )
    assert said(response)[-1] == "Ayşe Demir rides on bike B3 as Elif Yılmaz's friend-pass guest."
    response = client.post(roster_url, {"op": "cancel_refund", "booking": host.pk})
    assert said(response)[-1] == "Elif Yılmaz's booking on bike B1 cancelled; 1 credit(s) refunded."
    page = client.get(roster_url).content.decode()
    assert 'class="inactive"' in page and "Elif Yılmaz" in page and "(refunded)" in page


def test_book_from_the_members_page(org, tonight, elif_):
    client = desk(org)
    member_page = client.get(reverse("admin:members_app_member_change", args=[elif_.pk])).content.decode()
    for_member = reverse("admin:bookings_app_session_book_for_member", args=[elif_.pk])
    assert for_member in member_page
    listing = client.get(for_member).content.decode()
    book_url = reverse("admin:bookings_app_session_book", args=[tonight.pk])
    assert f"{book_url}?member={elif_.pk}" in listing and "19:00" in listing
    other_studio = desk(MemberFactory().organization)
    assert other_studio.get(for_member).status_code == 302


def test_adjust_credits_with_a_turkish_expiry_day(org, elif_):
    url = reverse("admin:members_app_member_credit_adjustment", args=[elif_.pk])
    client = desk(org, StaffRole.Role.ADMIN)
    page = client.get(url).content.decode()
    assert 'type="date"' in page
    response = client.post(url, {"amount": "3", "reason": "goodwill", "expires_at": "31.12.2026"})
    assert response.status_code == 302
    lot = elif_.credit_lots.get(credits_granted=3)
    assert lot.expires_at.astimezone(IST).date().isoformat() == "2027-01-01"  # end of 31 Dec in Istanbul
    assert lot.expires_at.astimezone(IST).hour == 0
    bad = client.post(url, {"amount": "3", "reason": "goodwill", "expires_at": "31-12"}).content.decode()
    assert "Enter a day, e.g. 31.12.2026." in bad


def test_a_mangled_desk_booking_is_a_sentence_not_a_500(org, tonight, elif_):
    client = desk(org)
    book_url = reverse("admin:bookings_app_session_book", args=[tonight.pk])
    assert client.get(book_url, {"member": "abc"}).status_code == 200  # no member picked yet
    response = client.post(book_url, {"member": elif_.pk, "seat": "abc", "payment": "AUTO"})
    assert response.status_code in (200, 302)
    assert any("No such seat" in text for text in said(response))
    assert not Booking.objects.filter(session=tonight).exists()
