"""Celery tasks of packages_app: the expiry job, exactly the `expire_packages` command (it locks
members with SKIP LOCKED, so two copies never do the same work twice)."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="packages_app.tasks.expire_packages", ignore_result=True)
def expire_packages() -> None:
    call_command("expire_packages")
