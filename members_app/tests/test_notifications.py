"""The outbox (DOMAIN.md 15): written with the change, delivered after the commit, retried with
backoff, sent once however many workers pick it up, visible to staff who may resend it."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from members_app.models import Notification
from members_app.notifications import deliver, deliver_due, notification_resend, notify
from members_app.notifications.delivery import backoff, claim, message_id, send
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user
from spinning.smtp_test_server import free_port

pytestmark = pytest.mark.django_db
Kind = Notification.Kind
Status = Notification.Status


@pytest.fixture
def member():
    org = OrganizationFactory(name="Ritim Stüdyo", language="tr", email="studio@ritim.example")
    return MemberFactory(organization=org, first_name="Ayşe", last_name="Yılmaz")


def _queue(member, **context):
    with transaction.atomic():
        return notify(kind=Kind.MEMBER_ADDED, member=member, context={"has_password": True, **context})


def test_through_real_smtp_in_the_members_language_with_the_studio_as_reply_to(
    member, smtp_server, smtp_settings, django_capture_on_commit_callbacks
):
    smtp_settings(smtp_server)
    with django_capture_on_commit_callbacks(execute=True):
        row = _queue(member)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.language) == (Status.SENT, 1, "tr")
    [received] = smtp_server.messages
    assert received["Subject"] == "Ritim Stüdyo ailesine hoş geldiniz"
    assert received["To"] == member.user.email
    assert received["Reply-To"] == "studio@ritim.example"
    assert "Ritim Stüdyo" in received["From"]
    assert received.get_body(("plain",)).get_content().startswith("Merhaba Ayşe,")
    assert "<p>Merhaba Ayşe,</p>" in received.get_body(("html",)).get_content()


def test_a_rolled_back_change_sends_nothing(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            notify(kind=Kind.MEMBER_ADDED, member=member, context={})
            raise RuntimeError("the change fails after the message was written")
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_notify_refuses_to_run_outside_a_transaction(member, settings):
    # pytest-django's test transaction is an atomic block: leave it to see the refusal
    from members_app.notifications import outbox

    connection.in_atomic_block, saved = False, connection.in_atomic_block
    try:
        with pytest.raises(RuntimeError):
            outbox.notify(kind=Kind.MEMBER_ADDED, member=member, context={})
    finally:
        connection.in_atomic_block = saved


def test_a_server_refusing_connections_delays_the_mail_then_it_is_delivered_once(
    member, smtp_settings, django_capture_on_commit_callbacks
):
    from spinning.smtp_test_server import LocalSMTPServer

    port = free_port()
    smtp_settings(port=port)  # nobody listens there: connection refused
    with django_capture_on_commit_callbacks(execute=True):
        row = _queue(member)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.QUEUED, 1)
    assert "ConnectionRefusedError" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=50)  # backed off
    # the sweep before the backoff is over sends nothing
    assert deliver_due()["sent"] == 0
    server = LocalSMTPServer(port=port).start()
    try:
        counts = deliver_due(now=row.next_attempt_at + timedelta(seconds=1))
        again = deliver_due(now=row.next_attempt_at + timedelta(hours=1))
    finally:
        server.stop()
    assert counts["sent"] == 1 and again["sent"] == 0
    assert len(server.messages) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")


def test_backoff_doubles_and_after_the_last_attempt_the_message_fails_and_staff_resend_it(
    member, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    smtp_settings(port=free_port())
    row = _queue(member)
    at = timezone.now()
    outcomes = []
    for _ in range(3):
        outcomes.append(deliver(row.pk, now=at))
        row.refresh_from_db()
        at = row.next_attempt_at
    assert outcomes == ["retry", "retry", "failed"]
    assert (row.status, row.attempts) == (Status.FAILED, 3)
    assert deliver_due(now=at + timedelta(days=1))["sent"] == 0  # FAILED is left alone
    # staff resend: queued again, delivered after the commit
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    admin = staff_user(member.organization)
    with django_capture_on_commit_callbacks(execute=True):
        notification_resend(organization=member.organization, notification_id=row.pk, performed_by=admin)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert len(mail.outbox) == 1


def test_only_a_failed_message_can_be_resent(member):
    from spinning.errors import InvalidState, NotFound

    row = _queue(member)
    with pytest.raises(InvalidState):
        notification_resend(organization=member.organization, notification_id=row.pk)
    with pytest.raises(NotFound):
        notification_resend(organization=OrganizationFactory(), notification_id=row.pk)


def test_a_claimed_message_is_not_sent_by_a_second_worker_until_its_lease_runs_out(member):
    row = _queue(member)
    assert deliver(row.pk) == "sent"
    assert deliver(row.pk) == "skipped"
    assert len(mail.outbox) == 1
    # a worker that died while SENDING: the row comes back after its lease
    Notification.objects.filter(pk=row.pk).update(status=Status.SENDING, claimed_until=timezone.now())
    assert deliver(row.pk, now=timezone.now() - timedelta(seconds=1)) == "skipped"
    assert deliver(row.pk, now=timezone.now() + timedelta(seconds=1)) == "sent"


def test_the_lease_is_a_setting_and_every_attempt_carries_the_same_message_id(member, settings):
    """A sender SIGKILLed after the server took the message: the sweep sends it again after the
    lease, with the same Message-ID, so the copy can be recognised (the at-least-once window)."""
    settings.NOTIFY_LEASE_SECONDS = 30
    row = _queue(member)
    start = timezone.now()
    Notification.objects.filter(pk=row.pk).update(status=Status.QUEUED, attempts=0, next_attempt_at=start)
    claimed = claim(row.pk, now=start)
    assert claimed.claimed_until == start + timedelta(seconds=30)
    send(claimed)  # the server takes the message; the sender dies before marking the row SENT
    assert deliver(row.pk, now=start + timedelta(seconds=29)) == "skipped"
    assert deliver(row.pk, now=start + timedelta(seconds=31)) == "sent"
    ids = [m.message()["Message-ID"] for m in mail.outbox]
    assert len(ids) == 2 and set(ids) == {message_id(row)}, ids
    assert message_id(row).startswith(f"<notification-{row.pk}@")


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_message_send_it_once(settings):
    from members_app.notifications.delivery import claim

    settings.NOTIFY_DELIVERY = "off"  # the rows stay QUEUED for the workers below
    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    rows = []
    for _ in range(20):
        with transaction.atomic():
            rows.append(notify(kind=Kind.MEMBER_ADDED, member=member, context={}))
    won: list = []
    barrier = threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            for row in rows:
                if claim(row.pk, now=timezone.now()) is not None:
                    won.append(row.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won, key=str) == sorted((row.pk for row in rows), key=str)  # each claimed exactly once


def test_dedupe_key_writes_a_reminder_once(member):
    with transaction.atomic():
        first = notify(kind=Kind.MEMBER_ADDED, member=member, context={}, dedupe_key="x:1")
        second = notify(kind=Kind.MEMBER_ADDED, member=member, context={}, dedupe_key="x:1")
    assert first is not None and second is None
    assert Notification.objects.count() == 1


def test_the_background_thread_delivers_without_the_request_waiting(member, settings):
    """Without a broker (make run) delivery runs in a thread of the process after the commit."""
    from members_app.notifications.delivery import hand_off, wait_for_thread

    settings.NOTIFY_DELIVERY = "thread"
    row = _queue(member)
    # the thread has its own connection: it cannot see this test's uncommitted row, so it
    # finds nothing to claim and leaves the row QUEUED for the sweep
    hand_off(row.pk)
    wait_for_thread()
    row.refresh_from_db()
    assert row.status == Status.QUEUED


def test_reminders_credits_and_all_access_within_7_days_once_each(member):
    from django.core.management import call_command

    from members_app.models import CreditLot
    from members_app.services import credits_grant

    now = timezone.now()
    with transaction.atomic():
        from members_app.services import member_lock

        locked = member_lock(organization=member.organization, member_id=member.pk)
        for amount, days in ((3, 5), (2, 5), (4, 20)):  # 3 + 2 expire together in 5 days; 4 later
            credits_grant(
                member=locked,
                amount=amount,
                source=CreditLot.Source.MANUAL,
                type="MANUAL_ADD",
                expires_at=now.replace(microsecond=0) + timedelta(days=days),
                now=now,
            )
    Member = type(member)
    Member.objects.filter(pk=member.pk).update(has_all_access=True, all_access_expires_at=now + timedelta(days=3))
    call_command("send_reminders")
    call_command("send_reminders")  # a second run (or a second copy) writes nothing
    credits = Notification.objects.get(kind=Kind.CREDITS_EXPIRING)
    assert credits.subject.startswith("5 kredinizin süresi")
    assert Notification.objects.filter(kind=Kind.ALL_ACCESS_ENDING).count() == 1


def test_the_celery_tasks_run_the_same_code_as_the_commands(member, capsys):
    from members_app import tasks

    row = _queue(member)
    assert tasks.deliver_notification(str(row.pk)) == "sent"
    assert tasks.deliver_due_notifications()["sent"] == 0
    assert tasks.send_reminders() == {"credits": 0, "all_access": 0}
    tasks.check_ledger()
    assert "ledger check OK" in capsys.readouterr().out


def test_the_admin_lists_the_studios_messages_and_resends_a_failed_one(
    client, member, django_capture_on_commit_callbacks
):
    other_studio = MemberFactory()
    mine = _queue(member)
    with transaction.atomic():
        theirs = notify(kind=Kind.MEMBER_ADDED, member=other_studio, context={})
    Notification.objects.filter(pk=mine.pk).update(status=Status.FAILED, attempts=8)
    desk = staff_user(member.organization, "FRONT_DESK")
    client.force_login(desk)
    page = client.get("/admin/members_app/notification/").content.decode()
    assert mine.subject in page and theirs.subject not in page
    assert client.get(f"/admin/members_app/notification/{theirs.pk}/change/").status_code in (302, 404)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/admin/members_app/notification/", {"action": "resend", "_selected_action": [str(mine.pk)]})
    assert done.status_code == 302
    mine.refresh_from_db()
    assert mine.status == Status.SENT
    # the member page links to the member's messages
    member_page = client.get(f"/admin/members_app/member/{member.pk}/change/").content.decode()
    assert "/admin/members_app/notification/?q=" in member_page


@pytest.mark.concurrency  # the thread has its own connection: PostgreSQL (SQLite's test database is in memory)
@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_web_processs_thread_also_retries_what_is_due(settings, monkeypatch):
    """make run / gunicorn without Celery: the delivery thread sweeps when idle, so a message
    whose backoff is over goes out without cron."""
    import time
    import uuid

    from members_app.notifications import delivery

    settings.NOTIFY_DELIVERY = "off"
    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    with transaction.atomic():
        row = notify(kind=Kind.MEMBER_ADDED, member=member, context={})
    Notification.objects.filter(pk=row.pk).update(attempts=1, next_attempt_at=timezone.now() - timedelta(seconds=1))
    settings.NOTIFY_DELIVERY = "thread"
    monkeypatch.setattr(delivery, "SWEEP_EVERY", 0.2)
    delivery.hand_off(uuid.uuid4())  # wakes the thread (nothing to claim); idle, it sweeps
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if row.status == Status.SENT:
            break
        time.sleep(0.1)
    assert (row.status, row.attempts) == (Status.SENT, 2)


def test_a_sender_whose_claim_ran_out_does_not_overwrite_the_next_senders_claim(member, monkeypatch):
    from members_app.notifications import delivery

    row = _queue(member)
    now = timezone.now()
    later = now + delivery.lease() + timedelta(seconds=1)

    def slow_then_refused(message_row):
        # while the first sender hangs, its lease runs out and a second sender claims the row
        assert claim(message_row.pk, now=later) is not None
        raise ConnectionRefusedError("the first sender's server went away")

    monkeypatch.setattr(delivery, "send", slow_then_refused)
    assert deliver(row.pk, now=now) == "retry"
    row.refresh_from_db()
    # the second sender's claim stands: not put back in the queue under it
    assert (row.status, row.attempts) == (Notification.Status.SENDING, 2)
