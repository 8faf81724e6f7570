"""Deliver queued messages: claim, send, record (docs/NOTIFICATIONS.md).

- The claim is one conditional UPDATE (QUEUED and due, or SENDING with its lease run out ->
  SENDING, attempts + 1): of two workers that pick the same row, exactly one gets it, on
  PostgreSQL and SQLite alike. The send happens outside any transaction, so a slow mail server
  holds no lock.
- A failed send goes back to QUEUED with `next_attempt_at` backed off exponentially
  (NOTIFY_RETRY_BASE_SECONDS * 2^(attempts-1), capped at 6 hours); after NOTIFY_MAX_ATTEMPTS it
  is FAILED, shown to staff, who may resend it.
- After the commit that wrote a row (`deliver_after_commit`): with CELERY_BROKER_URL a Celery
  task; without it (`make run`, the embedded default) a background thread of this process; the
  test settings deliver inline. A mail server that is down or slow therefore never fails,
  blocks or slows the request that wrote the message, and the sweep (`deliver_due`, the
  `deliver_notifications` command, the beat schedule) retries what is due.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from datetime import datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy

from members_app.audit import log_action
from members_app.models import Notification
from spinning import clock
from spinning.breaker import RedisSkipped, breaker_for
from spinning.errors import InvalidState, NotFound

log = logging.getLogger("members_app.notifications")
Status = Notification.Status

LEASE = timedelta(minutes=10)  # far above the SMTP timeout: a live sender always finishes first


def lease() -> timedelta:
    """How long a claim holds (NOTIFY_LEASE_SECONDS, default 10 min): a sender that died
    mid-send leaves its row to the sweep after this. Keep it well above EMAIL_TIMEOUT."""
    seconds = getattr(settings, "NOTIFY_LEASE_SECONDS", None)
    return timedelta(seconds=int(seconds)) if seconds else LEASE


def message_id(row: Notification) -> str:
    """One Message-ID per outbox row, the same on every attempt: should a sender die after the
    mail server accepted the message but before the row was marked SENT, the sweep sends it
    again (at least once), and mail clients and archives see the same Message-ID twice and
    keep one (docs/NOTIFICATIONS.md, "The at-least-once window")."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<notification-{row.pk}@{domain}>"


MAX_BACKOFF = timedelta(hours=6)


def _max_attempts() -> int:
    return int(getattr(settings, "NOTIFY_MAX_ATTEMPTS", 8))


def backoff(attempts: int) -> timedelta:
    base = int(getattr(settings, "NOTIFY_RETRY_BASE_SECONDS", 60))
    return min(timedelta(seconds=base * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _due(now: datetime) -> Q:
    return Q(status=Status.QUEUED, next_attempt_at__lte=now) | Q(status=Status.SENDING, claimed_until__lt=now)


def claim(notification_id, *, now: datetime) -> Notification | None:
    """Take one due message for sending; None if another worker has it, or it is not due."""
    won = Notification.objects.filter(_due(now), pk=notification_id).update(
        status=Status.SENDING, attempts=F("attempts") + 1, claimed_until=now + lease()
    )
    if won != 1:
        return None
    return Notification.objects.select_related("organization").get(pk=notification_id)


def _email(row: Notification) -> EmailMultiAlternatives:
    studio = row.organization.name if row.organization_id else ""
    from_email = settings.DEFAULT_FROM_EMAIL
    if studio:
        from_email = formataddr((studio, from_email))
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=from_email,
        to=[row.to_email],
        reply_to=[row.reply_to] if row.reply_to else None,
        headers={
            "X-Spinning-Notification": str(row.pk),
            "Content-Language": row.language,
            "Message-ID": message_id(row),
        },
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    return message


def send(row: Notification) -> None:
    """One SMTP conversation, bounded by EMAIL_TIMEOUT (settings)."""
    with get_connection(fail_silently=False) as mail:
        mail.send_messages([_email(row)])


def deliver(notification_id, *, now: datetime | None = None) -> str:
    """Claim and send one message. Returns "sent", "retry", "failed" or "skipped" (not ours)."""
    now = now or clock.now()
    row = claim(notification_id, now=now)
    if row is None:
        return "skipped"
    # The outcome is written only while the claim is still ours: `attempts` counts claims, so a
    # sender whose lease ran out (and whose row another sender claimed since) changes nothing.
    try:
        send(row)
    except Exception as exc:  # any failure of the mail server or the network: retry later
        error = f"{type(exc).__name__}: {exc}"[:500]
        if row.attempts >= _max_attempts():
            Notification.objects.filter(pk=row.pk, status=Status.SENDING, attempts=row.attempts).update(
                status=Status.FAILED, last_error=error, claimed_until=None
            )
            log.warning("notification %s %s to %s failed for good: %s", row.pk, row.kind, row.to_email, error)
            return "failed"
        Notification.objects.filter(pk=row.pk, status=Status.SENDING, attempts=row.attempts).update(
            status=Status.QUEUED, last_error=error, claimed_until=None, next_attempt_at=now + backoff(row.attempts)
        )
        log.warning("notification %s %s attempt %s failed, retrying: %s", row.pk, row.kind, row.attempts, error)
        return "retry"
    Notification.objects.filter(pk=row.pk, status=Status.SENDING, attempts=row.attempts).update(
        status=Status.SENT, sent_at=clock.now(), last_error="", claimed_until=None
    )
    log.info("notification %s %s [%s] sent to %s: %s", row.pk, row.kind, row.language, row.to_email, row.subject)
    return "sent"


def due_ids(*, now: datetime, limit: int = 200) -> list:
    return list(Notification.objects.filter(_due(now)).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> dict:
    """The sweep: send every message that is due (first tries the after-commit hand-off missed,
    retries whose backoff is over, SENDING rows whose sender died). Safe beside a copy of itself:
    each row is claimed by exactly one."""
    now = now or clock.now()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    for notification_id in due_ids(now=now, limit=limit):
        counts[deliver(notification_id, now=now)] += 1
    return counts


# --- after the commit ---------------------------------------------------------------------------
def delivery_mode() -> str:
    mode = getattr(settings, "NOTIFY_DELIVERY", "")
    if mode:
        return mode
    return "celery" if getattr(settings, "CELERY_BROKER_URL", "") else "thread"


def deliver_after_commit(notification_id) -> None:
    transaction.on_commit(lambda: hand_off(notification_id))


def hand_off(notification_id) -> None:
    """Right after the commit: start the delivery without making the request wait for it."""
    mode = delivery_mode()
    try:
        if mode == "celery":
            _publish(notification_id)
        elif mode == "inline":
            deliver(notification_id)
        elif mode == "thread":
            _thread_queue().put(notification_id)
        # "off": left for the sweep
    except RedisSkipped:  # the broker failed moments ago (spinning/breaker.py): not tried
        log.warning(
            "notification %s: hand-off (%s) skipped, broker down; the sweep will deliver it", notification_id, mode
        )
    except Exception:  # a broker that is down: the row is queued, the sweep delivers it
        log.exception("notification %s: hand-off (%s) failed; the sweep will deliver it", notification_id, mode)


def _publish(notification_id) -> None:
    """One `deliver_notification` task, through the broker's circuit breaker: a broker that
    just failed is not tried again for REDIS_BREAKER_SECONDS, so during an outage a request
    pays no connect or socket timeout (at most one per process and pause)."""
    from members_app.tasks import deliver_notification

    broker = breaker_for(settings.CELERY_BROKER_URL)
    broker.check()
    try:
        deliver_notification.apply_async(args=[str(notification_id)], retry=False)
    except Exception as error:  # kombu's OperationalError around the connection failure
        broker.failed(error)
        raise
    broker.succeeded()


_queue: queue.Queue | None = None
_queue_lock = threading.Lock()
SWEEP_EVERY = 60.0  # seconds between the thread's own sweeps when it has nothing to do


def _thread_queue() -> queue.Queue:
    """One daemon thread per process delivers what this process queued (no broker) and, when
    idle, sweeps what is due (retries after backoff; rows another process left behind), so a
    web process without Celery also retries. At exit, a command waits a little for it."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = queue.Queue()
            threading.Thread(target=_thread_main, args=(_queue,), name="notifications", daemon=True).start()
            atexit.register(wait_for_thread)
    return _queue


def start_delivery_thread() -> None:
    """Called where a server starts (spinning/wsgi.py): without a broker, the thread's sweep
    runs from the start, not only after the first new message."""
    if delivery_mode() == "thread":
        _thread_queue()


def _thread_main(jobs: queue.Queue) -> None:
    while True:
        try:
            notification_id = jobs.get(timeout=SWEEP_EVERY)
        except queue.Empty:
            notification_id = None
        try:
            close_old_connections()
            if notification_id is None:
                deliver_due()
            else:
                deliver(notification_id)
        except Exception:
            log.exception("notifications: delivery thread failed (%s)", notification_id or "sweep")
        finally:
            connection.close()
            if notification_id is not None:
                jobs.task_done()


def wait_for_thread(timeout: float = 10.0) -> None:
    """Wait (at most `timeout` seconds) until the delivery thread has sent what it was given:
    a management command's messages go out before the process ends; what does not is left
    QUEUED for the next sweep."""
    if _queue is None:
        return
    deadline = time.monotonic() + timeout
    while _queue.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.05)


def notification_resend(*, organization, notification_id, performed_by=None, now: datetime | None = None):
    """Staff send a FAILED message again: it is queued now with a fresh count of attempts."""
    now = now or clock.now()
    with transaction.atomic(durable=True):
        row = Notification.objects.filter(organization=organization, pk=notification_id).first()
        if row is None:
            raise NotFound(gettext_lazy("No such notification."))
        moved = Notification.objects.filter(pk=row.pk, status=Status.FAILED).update(
            status=Status.QUEUED, attempts=0, next_attempt_at=now, claimed_until=None
        )
        if moved != 1:
            raise InvalidState(
                gettext_lazy("Only a FAILED message can be sent again; this one is %(status)s.")
                % {"status": row.status}
            )
        if performed_by is not None:
            log_action(
                organization=organization,
                actor=performed_by,
                action="notification.resend",
                obj=row,
                changes={"kind": row.kind, "to": row.to_email},
                now=now,
            )
        deliver_after_commit(row.pk)
    row.refresh_from_db()
    return row
