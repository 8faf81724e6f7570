"""close_sessions (DOMAIN.md 10-11): completions and no-shows after the grace period; idempotent."""

from datetime import date, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from bookings_app import services
from bookings_app.models import AllAccessUsage, Booking, Session
from bookings_app.tests.conftest import NOW
from bookings_app.tests.factories import all_access, give_credits, make_session
from members_app.ledger_check import ledger_breaches
from members_app.tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
S = Booking.Status


def _day(org):
    session = make_session(org, NOW + timedelta(hours=1), minutes=50)  # ends NOW + 1:50
    came, missed, aa_missed = (MemberFactory(organization=org) for _ in range(3))
    give_credits(came, 1, now=NOW)
    give_credits(missed, 1, now=NOW)
    all_access(aa_missed, starts_on=date(2026, 3, 1))
    bookings = [
        services.booking_create(organization=org, session_id=session.pk, member_id=m.pk, now=NOW)
        for m in (came, missed, aa_missed)
    ]
    services.booking_check_in(organization=org, booking_id=bookings[0].pk, now=NOW + timedelta(minutes=55))
    return session, bookings


def test_close_marks_completions_and_no_shows_after_the_grace_period(org):
    session, (came, missed, aa_missed) = _day(org)
    # not yet: ends + 15 minutes grace is NOW + 2:05
    report = services.sessions_close(now=NOW + timedelta(hours=2, minutes=4))
    assert report.closed == []
    report = services.sessions_close(now=NOW + timedelta(hours=2, minutes=5))
    assert [(c.completed, c.no_shows) for c in report.closed] == [(1, 2)]
    for booking in (came, missed, aa_missed):
        booking.refresh_from_db()
    assert [came.status, missed.status, aa_missed.status] == [S.COMPLETED, S.NO_SHOW, S.NO_SHOW]
    assert AllAccessUsage.objects.get(booking=aa_missed).was_no_show
    session.refresh_from_db()
    assert session.status == Session.Status.COMPLETED
    assert session.booked_count == 3  # no-shows and completions keep their bikes
    assert ledger_breaches() == []


def test_close_sessions_twice_changes_nothing_the_second_time(org):
    session, bookings = _day(org)
    later = NOW + timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        first = StringIO()
        call_command("close_sessions", stdout=first)
        snapshot = list(Booking.objects.order_by("pk").values_list("pk", "status", "checked_in_at"))
        second = StringIO()
        call_command("close_sessions", stdout=second)
    assert "1 session(s) closed, 1 completed, 2 no-show(s)" in first.getvalue()
    assert "closed " in first.getvalue()
    assert "0 session(s) closed" in second.getvalue()
    assert list(Booking.objects.order_by("pk").values_list("pk", "status", "checked_in_at")) == snapshot


def test_close_leaves_cancelled_sessions_and_cancelled_bookings_alone(org):
    member = MemberFactory(organization=org)
    give_credits(member, 2, now=NOW)
    kept = make_session(org, NOW + timedelta(hours=20))
    cancelled = make_session(org, NOW + timedelta(hours=20))
    booking = services.booking_create(organization=org, session_id=kept.pk, member_id=member.pk, now=NOW)
    services.booking_cancel(organization=org, booking_id=booking.pk, now=NOW)
    services.session_cancel(organization=org, session_id=cancelled.pk, now=NOW)
    services.sessions_close(now=NOW + timedelta(days=2))
    booking.refresh_from_db()
    cancelled.refresh_from_db()
    kept.refresh_from_db()
    assert (booking.status, cancelled.status, kept.status) == (S.CANCELLED, Session.Status.CANCELLED, "COMPLETED")


def test_close_uses_each_studios_grace(org):
    from members_app.models import Organization

    Organization.objects.filter(pk=org.pk).update(no_show_grace_minutes=60)
    session = make_session(org, NOW, minutes=50)
    assert services.sessions_close(now=NOW + timedelta(minutes=109)).closed == []
    assert len(services.sessions_close(now=NOW + timedelta(minutes=110)).closed) == 1
    session.refresh_from_db()
    assert session.status == Session.Status.COMPLETED
