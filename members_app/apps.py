from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class MembersConfig(AppConfig):
    name = "members_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = gettext_lazy("Studios and members")

    def ready(self):
        from spinning.field_labels import translate_field_labels

        translate_field_labels("members_app")  # the admin's forms and columns in the user's language
        # After the admin's autodiscover (django.contrib.admin comes first in INSTALLED_APPS):
        # replace knox's token admin with one that shows no secret.
        from django.contrib import admin

        from members_app import admin_tokens, notifications_admin  # noqa: F401 (registers the outbox)

        admin_tokens.register(admin.site)
