from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Reports"
