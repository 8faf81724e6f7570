import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinning.settings")
application = get_wsgi_application()

# Without a broker, emails go out from a thread of this process, which also retries what is due
# (docs/NOTIFICATIONS.md); with CELERY_BROKER_URL this does nothing.
from members_app.notifications.delivery import start_delivery_thread  # noqa: E402

start_delivery_thread()
