"""Celery tasks of bookings_app: closing sessions, exactly the `close_sessions` command (one
short transaction per session, SKIP LOCKED: two copies never close one session twice)."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="bookings_app.tasks.close_sessions", ignore_result=True)
def close_sessions() -> None:
    call_command("close_sessions")
