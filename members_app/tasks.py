"""Celery tasks of members_app (spinning/celery.py). Each is safe beside a second copy of
itself: a message is claimed by one sender (conditional UPDATE), the ledger check only reads."""

import logging

from celery import shared_task
from django.core.management import call_command

from members_app.notifications import deliver, deliver_due
from members_app.notifications.reminders import reminders_send

log = logging.getLogger("members_app.tasks")


@shared_task(name="members_app.tasks.deliver_notification", ignore_result=True)
def deliver_notification(notification_id: str) -> str:
    """Send one queued email (handed off right after the commit that wrote it). A failure is
    recorded on the row with its backoff; the sweep retries it, so the task itself never retries."""
    outcome = deliver(notification_id)
    log.info("deliver_notification %s: %s", notification_id, outcome)
    return outcome


@shared_task(name="members_app.tasks.deliver_due_notifications", ignore_result=True)
def deliver_due_notifications() -> dict:
    counts = deliver_due()
    if any(counts[k] for k in ("sent", "retry", "failed")):
        log.info("deliver_due_notifications: %s", counts)
    return counts


@shared_task(name="members_app.tasks.send_reminders", ignore_result=True)
def send_reminders() -> dict:
    report = reminders_send()
    return {"credits": report.credits, "all_access": report.all_access}


@shared_task(name="members_app.tasks.check_ledger", ignore_result=True)
def check_ledger() -> None:
    """The same command cron would run; a breach is logged as an error (CommandError)."""
    call_command("check_ledger")
