"""A real Celery worker (a separate process) against the local Redis delivers a booking's email
to a real SMTP server: the production path of docs/NOTIFICATIONS.md, end to end.

Skipped only when Redis is unreachable at 127.0.0.1:6379 (or on SQLite, whose test database
lives in this process's memory). Uses Redis database 11, emptied first."""

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from members_app.models import Notification

REDIS_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
ROOT = Path(__file__).resolve().parent.parent


def _redis_or_skip():
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    client.flushdb()


class Worker:
    """`celery -A spinning worker` in a subprocess on the test database; its log is kept."""

    def __init__(self, smtp_port: int):
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "spinning.settings",
            "SPINNING_ALLOW_DEV_SECRET": "1",
            "DATABASE_URL": f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": REDIS_URL,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_USE_TLS": "0",
            "LOG_LEVEL": "INFO",
        }
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "spinning",
                "worker",
                "-l",
                "info",
                "--pool=solo",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                "test-worker@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker never logged {text!r}:\n" + "\n".join(self.lines[-40:]))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_booking_email_goes_through_redis_and_a_worker_process(api, smtp_server, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the test database on PostgreSQL")
    _redis_or_skip()
    from bookings_app.tests.factories import give_credits, make_layout, make_session
    from members_app.tests.factories import MemberFactory, OrganizationFactory
    from spinning.celery import app as celery_app

    settings.NOTIFY_DELIVERY = "celery"
    settings.CELERY_BROKER_URL = REDIS_URL
    saved_broker = celery_app.conf.broker_url
    celery_app.conf.broker_url = REDIS_URL
    worker = Worker(smtp_server.port)
    try:
        worker.wait_for("ready")
        org = OrganizationFactory(language="tr", name="Ritim")
        member = MemberFactory(organization=org)
        give_credits(member, 2, now=timezone.now())
        session = make_session(org, timezone.now() + timedelta(days=2), layout=make_layout(org, ["NN"]))
        response = api(user=member.user, org=org).post("/api/bookings", {"session_id": str(session.pk)}, format="json")
        assert response.status_code == 201, response.json()
        row = Notification.objects.get(kind="booking_confirmed")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row.refresh_from_db()
            if row.status == "SENT":
                break
            time.sleep(0.3)
        assert row.status == "SENT", "\n".join(worker.lines[-40:])
        worker.wait_for(f"deliver_notification {row.pk}: sent")
        [received] = [m for m in smtp_server.messages if m["To"] == member.user.email]
        assert str(received["Subject"]).strip().startswith("Rezervasyonunuz onaylandı")  # folded header
    finally:
        worker.stop()
        celery_app.conf.broker_url = saved_broker
