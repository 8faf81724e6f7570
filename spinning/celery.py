"""The Celery app (background work, DOMAIN.md 11 and 15; docs/NOTIFICATIONS.md).

Redis is the broker (`CELERY_BROKER_URL`, e.g. redis://127.0.0.1:6379/0). Tasks live in each
app's `tasks.py` and call the same code as the management commands:

    celery -A spinning worker -l info        # delivers emails, runs the jobs
    celery -A spinning beat -l info          # the schedule: CELERY_BEAT_SCHEDULE in settings

Without a broker nothing here is needed: emails go out from a thread of the web process and
the jobs run from cron (`manage.py expire_packages`, ...).
"""

import os

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinning.settings")

app = Celery("spinning")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def worker_rides_out_a_hung_broker(conf=None, **_) -> None:
    """A worker waits up to CELERY_WORKER_BROKER_SOCKET_TIMEOUT (60 s) for the broker's answer,
    not the web processes' 5 s. When the ack of a finished task times out (a Redis that hangs:
    `make faults` freezes it 10 s), kombu keeps the message in the prefetch window, and a
    worker whose window is full never takes another task (it logs "Couldn't ack" and goes
    quiet until restarted). Waiting for the broker instead lets the ack go through once it
    answers. The web processes keep the short timeout: they must not hold a request."""
    from django.conf import settings

    timeout = getattr(settings, "CELERY_WORKER_BROKER_SOCKET_TIMEOUT", 60)
    conf.broker_transport_options = {**(conf.broker_transport_options or {}), "socket_timeout": timeout}
