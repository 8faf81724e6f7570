"""Settings for the test suite: the production settings with a throwaway key and a fast hasher."""

import os

os.environ.setdefault("SPINNING_ALLOW_DEV_SECRET", "1")
os.environ.setdefault("FAST_PASSWORD_HASHER", "1")

from spinning.settings import *  # noqa: E402,F403

# The admin pages render without `collectstatic`: no manifest in tests.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# No STATIC_ROOT scan at start-up (there is no collectstatic in tests, so nothing to find).
WHITENOISE_AUTOREFRESH = True

# Messages are delivered in the test's own thread right after the commit (pytest-django's
# locmem backend collects them in mail.outbox); a test that wants the other modes sets them.
NOTIFY_DELIVERY = "inline"
CELERY_BROKER_URL = ""
# Tests run inside a transaction that never commits, so the timetable cache's version would never
# move: it is off here and on in bookings_app/tests/test_timetable_cache.py (committed transactions).
TIMETABLE_CACHE = False
