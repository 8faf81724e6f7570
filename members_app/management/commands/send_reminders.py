from django.core.management.base import BaseCommand, CommandError

from members_app.models import Organization
from members_app.notifications.reminders import reminders_send


class Command(BaseCommand):
    help = (
        "Queue the reminders of DOMAIN.md 15: credits expiring and All Access ending within 7 days, "
        "one each, never twice (safe to run any number of times, also two at once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this studio (slug).")

    def handle(self, *args, **options):
        organization = None
        if options.get("organization"):
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organization with slug {options['organization']!r}.")
        report = reminders_send(organization=organization)
        self.stdout.write(f"reminders queued: {report.credits} credits expiring, {report.all_access} All Access ending")
