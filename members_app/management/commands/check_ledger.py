from django.core.management.base import BaseCommand, CommandError

from members_app.ledger_check import ledger_breaches
from members_app.models import Organization


class Command(BaseCommand):
    help = (
        "Verify the credit ledger (DOMAIN.md 6) for every member: cached balance == sum of ledger "
        "amounts == last balance_after == sum of lot remaining, never negative, an unbroken chain; "
        "a closed lot (cancelled redemption) holds nothing and never got credits after it closed. "
        "Exits non-zero on any breach."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this studio (slug).")

    def handle(self, *args, **options):
        organization = None
        if options.get("organization"):
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organization with slug {options['organization']!r}.")

        def progress(done, total):
            if options["verbosity"] >= 2 or total >= 10000:
                self.stdout.write(f"  checked {done}/{total} members")

        breaches = ledger_breaches(organization=organization, progress=progress)
        if breaches:
            for breach in breaches[:200]:
                self.stderr.write(str(breach))
            raise CommandError(f"ledger check FAILED: {len(breaches)} breach(es).")
        self.stdout.write(self.style.SUCCESS("ledger check OK: every balance matches its ledger and lots."))
