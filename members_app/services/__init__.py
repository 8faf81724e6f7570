"""Writes for studios, people and the credit ledger, one module per idea:

- `ledger`: the member lock and the credit ledger (grant, spend, refund, close a lot, expire, adjust);
- `people`: joining, being added by staff, a studio's record of a person, staff roles;
- `organization`: studio settings and the credit price's history;
- `accounts`: tokens, password change and reset (imported as the module: `services.accounts`).

Callers import from `members_app.services`; the names below are its public surface.
"""

from members_app.services.ledger import (
    credit_adjustment_create,
    credits_close_lot,
    credits_expire_overdue,
    credits_grant,
    credits_refund_booking,
    credits_spend,
    member_lock,
)
from members_app.services.organization import organization_update
from members_app.services.people import (
    PERSON_FIELDS,
    member_added_notify,
    member_create,
    member_register,
    member_update,
    staff_role_remove,
    staff_role_set,
)

__all__ = [
    "PERSON_FIELDS",
    "credit_adjustment_create",
    "credits_expire_overdue",
    "credits_grant",
    "credits_refund_booking",
    "credits_close_lot",
    "credits_spend",
    "member_added_notify",
    "member_create",
    "member_lock",
    "member_register",
    "member_update",
    "organization_update",
    "staff_role_remove",
    "staff_role_set",
]
