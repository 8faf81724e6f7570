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

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinning.settings")

app = Celery("spinning")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
