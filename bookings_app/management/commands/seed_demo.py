from django.core.management.base import BaseCommand

from bookings_app import seeds as booking_seeds
from members_app import seeds as member_seeds
from members_app.models import StaffRole, User
from packages_app.seeds import seed_catalog

DEFAULT_ADMIN_PASSWORD = "spin-admin-2026"


class Command(BaseCommand):
    help = (
        "Create or complete a demo studio (default slug 'demo'): the studio, a staff ADMIN and a "
        "front-desk login, demo members with credits, the standard catalog and coupons, the seat "
        "layout, classes, instructors and sessions for the next 14 days. Idempotent: a second run "
        "adds nothing twice. Prints the logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", default="demo", help="Studio slug (default: demo).")
        parser.add_argument("--admin-email", default="admin@example.com")
        parser.add_argument("--admin-password", default=DEFAULT_ADMIN_PASSWORD)

    def handle(self, *args, **options):
        self.admin_email = options["admin_email"]
        self.admin_email = options["admin_email"]
        slug = options["organization"]
        organization, created = member_seeds.seed_studio(slug=slug)
        self.stdout.write(f"{'Created' if created else 'Found'} studio '{organization.slug}' ({organization.name}).")
        member_seeds.seed_staff(
            organization=organization,
            email=options["admin_email"],
            password=options["admin_password"],
            role=StaffRole.Role.ADMIN,
            first_name="Studio",
            last_name="Admin",
        )
        member_seeds.seed_staff(
            organization=organization,
            email=member_seeds.FRONT_DESK_EMAIL,
            password=member_seeds.FRONT_DESK_PASSWORD,
            role=StaffRole.Role.FRONT_DESK,
            first_name="Front",
            last_name="Desk",
        )
        members = member_seeds.seed_members(organization=organization)
        self.stdout.write(f"Demo members: {len(members)}.")
        for line in self.extra_seeds(organization):
            self.stdout.write(line)

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Logins (X-Organization: {organization.slug})"))
        self.stdout.write(f"  staff ADMIN      {options['admin_email']} / {options['admin_password']}")
        self.stdout.write(f"  staff FRONT_DESK {member_seeds.FRONT_DESK_EMAIL} / {member_seeds.FRONT_DESK_PASSWORD}")
        for email, *_ in member_seeds.DEMO_MEMBERS:
            self.stdout.write(f"  member           {email} / {member_seeds.DEMO_MEMBER_PASSWORD}")

    def extra_seeds(self, organization):
        """The catalog, the schedule and the demo riders' packages and bookings, seeded by their
        own apps (each idempotent; the schedule and the sales need the catalog first)."""
        admin = User.objects.filter(email__iexact=self.admin_email).first()
        return [
            *seed_catalog(organization=organization),
            *booking_seeds.seed_schedule(organization=organization),
            *booking_seeds.seed_holdings(organization=organization, performed_by=admin),
        ]
