"""The notifications outbox (DOMAIN.md 15, docs/NOTIFICATIONS.md).

- `outbox`: `notify`, `notify_studio`, `notify_account` write a message in the caller's
  transaction and schedule its delivery after the commit;
- `render`: the templates, in the recipient's language and the studio's time zone;
- `delivery`: claim, send, retry with backoff, the sweep, staff's resend.

Apps to the right (packages_app, bookings_app) call `notify(kind=Kind.X, member=..., context=...)`.
"""

from members_app.models import Notification
from members_app.notifications.delivery import (
    deliver,
    deliver_due,
    notification_resend,
    wait_for_thread,
)
from members_app.notifications.outbox import notify, notify_account, notify_studio

Kind = Notification.Kind

__all__ = [
    "Kind",
    "deliver",
    "deliver_due",
    "notification_resend",
    "notify",
    "notify_account",
    "notify_studio",
    "wait_for_thread",
]
