from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from members_app.models import Organization
from packages_app.services import packages_expire


class Command(BaseCommand):
    help = (
        "Expiry job (DOMAIN.md 11): lots past their date drop to 0 with EXPIRATION ledger rows, "
        "redemptions that ran out become EXPIRED or USED, friend passes lapse, member flags are "
        "recomputed. Idempotent; safe beside traffic and beside another copy of itself (members "
        "busy elsewhere are skipped and settled by the next run). Run it from cron every 15 minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this studio (slug); default: every studio.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--now", help="Pretend it is this ISO-8601 instant (with offset), for catch-up runs.")

    def handle(self, *args, **options):
        organization = None
        if options.get("organization"):
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No studio with slug '{options['organization']}'.")
        now = None
        if options.get("now"):
            now = parse_datetime(options["now"])
            if now is None or now.tzinfo is None:
                raise CommandError("--now needs an ISO-8601 timestamp with its UTC offset.")
        report = packages_expire(organization=organization, now=now, dry_run=options["dry_run"])
        if report.dry_run:
            self.stdout.write("Dry run: nothing written.")
        for line in report.lines():
            self.stdout.write(line)
