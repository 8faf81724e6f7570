from django.core.management.base import BaseCommand, CommandError

from bookings_app.services import sessions_close, waitlists_sweep
from members_app.models import Organization


class Command(BaseCommand):
    help = (
        "Close sessions past ends_at + no_show_grace_minutes (DOMAIN.md 10): checked-in bookings "
        "become COMPLETED, the other confirmed ones NO_SHOW (their All Access day stays used), the "
        "session COMPLETED. Idempotent; safe beside live traffic and beside another run (sessions "
        "held by a request are skipped and closed by the next run). Also the waitlists (DOMAIN.md "
        "14): waiting entries of sessions that have started or were cancelled EXPIRE, and a free "
        "spot outside the cutoff that nobody took is given to the first waiting rider."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this studio (slug).")

    def handle(self, *args, **options):
        organization = None
        if options.get("organization"):
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organization with slug {options['organization']!r}.")
        report = sessions_close(organization=organization)
        for closed in report.closed:
            self.stdout.write(
                f"closed {closed.label} ({closed.session_id}): {closed.completed} completed, {closed.no_shows} no-show(s)"
            )
        if report.skipped_busy:
            self.stdout.write(
                f"skipped {report.skipped_busy} session(s) held by other requests; the next run closes them"
            )
        sweep = waitlists_sweep(organization=organization)
        if sweep.expired or sweep.promoted or sweep.skipped:
            self.stdout.write(
                f"waitlists: {sweep.expired} entr(y/ies) expired, {sweep.promoted} promoted, {sweep.skipped} skipped"
            )
        completed = sum(c.completed for c in report.closed)
        no_shows = sum(c.no_shows for c in report.closed)
        self.stdout.write(
            self.style.SUCCESS(
                f"close_sessions: {len(report.closed)} session(s) closed, {completed} completed, {no_shows} no-show(s)."
            )
        )
