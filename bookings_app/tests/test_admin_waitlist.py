"""The roster's waitlist (issue 11 item 4): the queue in order with position, join time and
state; staff add a member, move a waiting rider onto a bike by hand, remove an entry; each
confirmed in a sentence, each refusal a sentence, each recorded in the audit log."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from bookings_app import services
from bookings_app.models import Booking, WaitlistEntry
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import give_credits, make_layout, make_session, seat
from members_app.ledger_check import ledger_breaches
from members_app.models import AuditLogEntry, StaffRole
from members_app.tests.factories import MemberFactory, staff_user

pytestmark = pytest.mark.django_db

W = WaitlistEntry.Status


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield
    assert ledger_breaches() == []


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def desk_user(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)


@pytest.fixture
def client(desk_user):
    client = Client()
    client.force_login(desk_user)
    return client


@pytest.fixture
def full(org):
    """Tonight's class, starting within the waitlist cutoff (no automatic promotion), capacity 2,
    both bikes taken."""
    layout = make_layout(org, ["NN"])
    session = make_session(org, NOW + timedelta(minutes=40), layout=layout, capacity=2)
    for label in ("A1", "A2"):
        rider = MemberFactory(organization=org)
        give_credits(rider, 2, now=NOW)
        services.booking_create(
            organization=org, session_id=session.pk, member_id=rider.pk, seat_id=seat(layout, label).pk, now=NOW
        )
    session.refresh_from_db()
    return session


def waiting(org, first_name, last_name, credits=3):
    member = MemberFactory(organization=org, first_name=first_name, last_name=last_name)
    if credits:
        give_credits(member, credits, now=NOW)
    return member


def roster_url(session):
    return reverse("admin:bookings_app_session_roster", args=[session.pk])


def test_the_roster_lists_the_waitlist_waiting_first_then_the_rest_greyed(org, full, client):
    elif_, ayse, mert = waiting(org, "Elif", "Yılmaz"), waiting(org, "Ayşe", "Demir"), waiting(org, "Mert", "Kaya")
    for member in (elif_, ayse, mert):
        services.waitlist_join(organization=org, session_id=full.pk, member_id=member.pk, now=NOW)
    services.waitlist_leave(organization=org, entry_id=WaitlistEntry.objects.get(member=elif_).pk, member=elif_)

    page = client.get(roster_url(full)).content.decode()

    table = page[page.index('id="waitlist"') :]
    assert table.index("Ayşe Demir") < table.index("Mert Kaya") < table.index("Elif Yılmaz")
    assert '<td class="position">1</td>' in table and '<td class="position">2</td>' in table
    assert '<tr class="done">' in table and "Left" in table
    assert "Mon 02 Mar 12:00" in table  # joined, studio-local (NOW is 12:00 in Istanbul)
    assert "2 waiting" in page and "The class is full" in page
    assert "Move onto a bike" not in page  # nothing free to move anyone onto


def test_staff_add_a_member_found_loosely_and_it_is_recorded(org, full, client, desk_user):
    elif_ = waiting(org, "Elif", "Yılmaz")
    found = client.get(roster_url(full), {"wq": "yilmaz"}).content.decode()
    assert "Elif Yılmaz" in found and "Add to the waitlist" in found

    response = client.post(roster_url(full), {"op": "waitlist_add", "member": elif_.pk})

    assert said(response) == ["Elif Yılmaz joined the waitlist at position 1."]
    entry = WaitlistEntry.objects.get(session=full, member=elif_)
    assert entry.status == W.WAITING and entry.added_by == desk_user
    (logged,) = AuditLogEntry.objects.filter(object_id=entry.pk)
    assert (logged.action, logged.actor, logged.object_type) == ("waitlist.add", desk_user, "waitlistentry")
    assert "Elif Yılmaz" in logged.object_repr and str(entry.member_id) == logged.changes["member"]


def test_adding_when_a_bike_is_free_or_twice_is_refused_in_words(org, full, client):
    elif_ = waiting(org, "Elif", "Yılmaz")
    client.post(roster_url(full), {"op": "waitlist_add", "member": elif_.pk})
    again = said(client.post(roster_url(full), {"op": "waitlist_add", "member": elif_.pk}))[-1]
    assert again == "Elif Yılmaz was not added to the waitlist: The member is already waiting for this session."
    broke = waiting(org, "Can", "Öztürk", credits=0)
    refused = said(client.post(roster_url(full), {"op": "waitlist_add", "member": broke.pk}))[-1]
    assert refused.startswith("Can Öztürk was not added to the waitlist: ") and "insufficient" not in refused
    services.booking_cancel(organization=org, booking_id=full.bookings.first().pk, by_staff=True, refund=True)
    free = said(client.post(roster_url(full), {"op": "waitlist_add", "member": waiting(org, "Ali", "Şahin").pk}))[-1]
    assert free == (
        "Ali Şahin was not added to the waitlist: This session has a free spot: book it instead of joining the waitlist."
    )
    assert AuditLogEntry.objects.filter(action="waitlist.add").count() == 1


def test_staff_move_the_first_rider_onto_the_freed_bike_by_hand(org, full, client, desk_user):
    elif_ = waiting(org, "Elif", "Yılmaz")
    entry = services.waitlist_join(organization=org, session_id=full.pk, member_id=elif_.pk, now=NOW)
    leaving = Booking.objects.get(session=full, seat__label="A2")
    # Inside the cutoff: the cancel frees the bike but promotes nobody automatically.
    services.booking_cancel(organization=org, booking_id=leaving.pk, by_staff=True, refund=True)
    assert "Move onto a bike" in client.get(roster_url(full)).content.decode()

    response = client.post(roster_url(full), {"op": "waitlist_promote", "entry": entry.pk})

    assert said(response) == ["Elif Yılmaz was moved from the waitlist onto bike A2. Paid with 1 credit."]
    entry.refresh_from_db()
    assert entry.status == W.PROMOTED and entry.booking.seat.label == "A2" and entry.booking.booked_by == desk_user
    elif_.refresh_from_db()
    assert elif_.credit_balance == 2
    logged = AuditLogEntry.objects.get(object_id=entry.booking_id)
    assert logged.action == "booking.create" and logged.changes["waitlist_entry"] == str(entry.pk)
    page = client.get(roster_url(full)).content.decode()
    assert "Promoted" in page[page.index('id="waitlist"') :]


def test_moving_a_rider_into_a_full_class_is_refused_in_words(org, full, client):
    entry = services.waitlist_join(
        organization=org, session_id=full.pk, member_id=waiting(org, "Elif", "Yılmaz").pk, now=NOW
    )
    response = client.post(roster_url(full), {"op": "waitlist_promote", "entry": entry.pk})
    assert said(response) == ["Elif Yılmaz was not moved onto a bike: This session is full."]
    entry.refresh_from_db()
    assert entry.status == W.WAITING


def test_staff_remove_an_entry_and_it_is_recorded(org, full, client, desk_user):
    entry = services.waitlist_join(
        organization=org, session_id=full.pk, member_id=waiting(org, "Elif", "Yılmaz").pk, now=NOW
    )
    response = client.post(roster_url(full), {"op": "waitlist_remove", "entry": entry.pk})
    assert said(response) == ["Elif Yılmaz was removed from the waitlist."]
    entry.refresh_from_db()
    assert entry.status == W.REMOVED
    (logged,) = AuditLogEntry.objects.filter(object_id=entry.pk)
    assert logged.action == "waitlist.remove" and logged.actor == desk_user
    assert logged.changes["status"] == ["WAITING", "REMOVED"]
    again = said(client.post(roster_url(full), {"op": "waitlist_remove", "entry": entry.pk}))[-1]
    assert again == "Elif Yılmaz was not removed: Only a waiting entry can leave the waitlist."


def test_an_instructor_sees_the_waitlist_but_cannot_change_it(org, full):
    entry = services.waitlist_join(
        organization=org, session_id=full.pk, member_id=waiting(org, "Elif", "Yılmaz").pk, now=NOW
    )
    client = Client()
    client.force_login(staff_user(org, StaffRole.Role.INSTRUCTOR))
    page = client.get(roster_url(full)).content.decode()
    assert "Elif Yılmaz" in page and "Remove" not in page and 'id="waitlist-find"' not in page
    response = client.post(roster_url(full), {"op": "waitlist_remove", "entry": entry.pk})
    assert said(response) == ["You may not do that."]
    entry.refresh_from_db()
    assert entry.status == W.WAITING


def test_a_member_leaving_on_their_own_is_not_a_staff_action(org, full):
    member = waiting(org, "Elif", "Yılmaz")
    entry = services.waitlist_join(organization=org, session_id=full.pk, member_id=member.pk, now=NOW)
    services.waitlist_leave(organization=org, entry_id=entry.pk, member=member, performed_by=member.user)
    assert not AuditLogEntry.objects.filter(object_id=entry.pk).exists()


@pytest.mark.parametrize(
    "post",
    [
        {"op": "check_in", "booking": "abc"},
        {"op": "cancel_refund", "booking": "1' OR 1=1"},
        {"op": "waitlist_add", "member": "abc"},
        {"op": "waitlist_remove", "entry": "not-an-id"},
        {"op": "waitlist_promote", "entry": "x" * 36},
    ],
)
def test_a_mangled_roster_post_is_a_sentence_not_a_500(org, full, client, post):
    response = client.post(roster_url(full), post)
    assert response.status_code == 302
    assert said(response)[-1] in {
        "That booking is not on this roster.",
        "Choose a member of this studio.",
        "That entry is not on this class's waitlist.",
    }
