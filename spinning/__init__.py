"""The project package. The Celery app is loaded with Django (when celery is installed) so that
`@shared_task`s bind to it and `apply_async` publishes to the configured broker."""

try:
    from spinning.celery import app as celery_app
except ImportError:  # celery is a runtime dependency; tolerate its absence in odd tooling
    celery_app = None

__all__ = ["celery_app"]
