from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Studios and members"
