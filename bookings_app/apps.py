from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Schedule and bookings"
