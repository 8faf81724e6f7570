from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ReportsConfig(AppConfig):
    name = "reports_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = gettext_lazy("Reports")
