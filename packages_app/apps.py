from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "packages_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Packages and sales"
