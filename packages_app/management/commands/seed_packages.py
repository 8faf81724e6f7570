from django.core.management.base import BaseCommand, CommandError

from members_app.models import Organization
from packages_app.seeds import seed_catalog


class Command(BaseCommand):
    help = (
        "Put the standard catalog (DOMAIN.md 13: six packages, two coupons; fixtures/standard_catalog.json) "
        "into an existing studio. Idempotent: codes the studio already has are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="Studio slug.")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No studio with slug '{options['organization']}'.")
        for line in seed_catalog(organization=organization):
            self.stdout.write(line)
