from django.core.management.base import BaseCommand

from members_app.notifications import deliver_due


class Command(BaseCommand):
    help = (
        "Send every queued email that is due (first tries, retries whose backoff is over, messages whose "
        "sender died). Each message is claimed by one sender, so two copies of this command never send "
        "one twice. The beat schedule runs the same sweep every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many messages per run.")

    def handle(self, *args, **options):
        counts = deliver_due(limit=options["limit"])
        self.stdout.write(
            f"notifications: {counts['sent']} sent, {counts['retry']} to retry, {counts['failed']} failed, "
            f"{counts['skipped']} taken by another sender"
        )
