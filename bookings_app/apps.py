from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class BookingsConfig(AppConfig):
    name = "bookings_app"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = gettext_lazy("Schedule and bookings")

    def ready(self):
        from spinning.field_labels import translate_field_labels

        translate_field_labels("bookings_app")  # the admin's forms and columns in the user's language
        # Cancelling an All Access (packages_app) cancels the bookings it no longer covers; the
        # layers point one way, so bookings_app hands packages_app the function that does it.
        from bookings_app.services import bookings_release_for_cancelled_redemption
        from packages_app.services import redemption_cancel_bookings_release_set

        redemption_cancel_bookings_release_set(bookings_release_for_cancelled_redemption)
