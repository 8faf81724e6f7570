from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PackagesConfig(AppConfig):
    name = "packages_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = gettext_lazy("Packages and sales")

    def ready(self):
        from spinning.field_labels import translate_field_labels

        translate_field_labels("packages_app")  # the admin's forms and columns in the user's language
