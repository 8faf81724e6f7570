"""The credit ledger (DOMAIN.md 6): every change of a member's balance is one appended row.

The rules, enforced here and backed by the database:
- every change of a balance appends one CreditTransaction (amount != 0, balance_after >= 0,
  balance_after = balance_before + amount, (member, seq) unique: check constraints);
- a member's ledger is only written while the member row is locked (`member_lock`); the seq
  counter on the member makes an unlocked second writer fail on the unique constraint;
- lots never go below 0 (check constraint) and are decremented with conditional F() updates;
- spending takes from the lot that expires soonest, never-expiring lots last, then the oldest;
- a refund returns credits to the lot they came from.

Functions named `credits_*` are building blocks: they run inside the caller's transaction with
the member already locked, and refuse loudly outside a transaction. `credit_adjustment_create`
is a top-level service and opens its own durable transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy

from members_app.audit import log_action
from members_app.errors import InsufficientCredits
from members_app.models import CreditLot, CreditTransaction, Member, Organization, User
from spinning import clock, locking, rows
from spinning.errors import Invalid, NotFound

Type = CreditTransaction.Type


def _require_transaction() -> None:
    """The ledger's building blocks write several rows that stand or fall together."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Ledger building blocks run inside the caller's transaction, member locked.")


# --- locking -----------------------------------------------------------------------------------
def member_lock(*, organization: Organization, member_id) -> Member:
    """Lock the member row (first in the lock order) and return it fresh from the database."""
    member = _member_with_user(organization.pk, member_id, lock=True)
    if member is None:
        raise NotFound(gettext_lazy("No such member."))
    member.organization = organization
    locking.pause("member_locked")
    return member


def _member_with_user(organization_id, member_id, *, lock: bool) -> Member | None:
    """The member row (FOR UPDATE OF the member only) with its user, in one hand-written
    statement: every booking, cancel and sale starts here (spinning/rows.py)."""
    member_id = _as_uuid(member_id)
    if member_id is None:
        return None
    m, u = rows.columns(Member, "m"), rows.columns(User, "u")
    sql = (
        f"SELECT {m.sql}, {u.sql} FROM {m.table} m INNER JOIN {u.table} u ON {u.column('id')} = {m.column('user')} "
        f"WHERE {m.column('organization')} = %s AND {m.column('id')} = %s" + (rows.for_update("m") if lock else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, rows.adapt([organization_id, member_id]))
        row = cursor.fetchone()
    if row is None:
        return None
    member = m.load(row)
    member.user = u.load(row, m.width)
    return member


def _as_uuid(value) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- ledger building blocks (caller holds the member lock) ------------------------------------
def _append(
    member: Member,
    *,
    type: str,
    amount: int,
    lot: CreditLot | None,
    now: datetime,
    booking_id=None,
    redemption_id=None,
    performed_by: User | None = None,
    description: str = "",
) -> CreditTransaction:
    if amount == 0:
        raise ValueError("A ledger row never has amount 0.")
    before = member.credit_balance
    after = before + amount
    if after < 0:
        raise InsufficientCredits()
    member.credit_balance = after
    member.ledger_seq += 1
    rows.update(Member, "{credit_balance} = %s, {ledger_seq} = %s", "{id} = %s", [after, member.ledger_seq, member.pk])
    row = CreditTransaction(
        organization_id=member.organization_id,
        member=member,
        seq=member.ledger_seq,
        type=type,
        amount=amount,
        balance_before=before,
        balance_after=after,
        lot=lot,
        booking_id=booking_id,
        redemption_id=redemption_id,
        performed_by=performed_by,
        description=description[:500],
        created_at=now,
    )
    rows.insert(row)  # the hot path's statements are hand-written (spinning/rows.py)
    return row


def _take_from_lot(lot: CreditLot, amount: int) -> None:
    updated = rows.update(
        CreditLot, "{remaining} = {remaining} - %s", "{id} = %s AND {remaining} >= %s", [amount, lot.pk, amount]
    )
    if updated != 1:
        raise InsufficientCredits()
    lot.remaining -= amount


def credits_grant(
    *,
    member: Member,
    amount: int,
    source: str,
    type: str,
    expires_at: datetime | None,
    now: datetime | None = None,
    redemption_id=None,
    performed_by: User | None = None,
    description: str = "",
) -> tuple[CreditLot, CreditTransaction]:
    """Grant `amount` credits as a new lot with its own expiry, and write its ledger row."""
    _require_transaction()
    now = now or clock.now()
    if amount <= 0:
        raise Invalid({"amount": gettext_lazy("Credits granted must be a positive whole number.")})
    lot = CreditLot.objects.create(
        organization_id=member.organization_id,
        member=member,
        source=source,
        credits_granted=amount,
        remaining=amount,
        expires_at=expires_at,
        created_at=now,
    )
    txn = _append(
        member,
        type=type,
        amount=amount,
        lot=lot,
        now=now,
        redemption_id=redemption_id,
        performed_by=performed_by,
        description=description,
    )
    return lot, txn


def _expire_lots(member: Member, lots, now: datetime) -> list[CreditTransaction]:
    rows = []
    for lot in lots:
        amount = lot.remaining
        CreditLot.objects.filter(pk=lot.pk).update(remaining=0, expired_at=now)
        lot.remaining = 0
        rows.append(
            _append(member, type=Type.EXPIRATION, amount=-amount, lot=lot, now=now, description="Credits expired")
        )
    return rows


def credits_expire_overdue(*, member: Member, now: datetime | None = None) -> list[CreditTransaction]:
    """Lots past their expiry drop to 0, each with an EXPIRATION row (lazy and job-driven)."""
    _require_transaction()
    now = now or clock.now()
    overdue = CreditLot.objects.filter(member=member, remaining__gt=0, expires_at__lte=now).order_by("expires_at", "pk")
    return _expire_lots(member, overdue, now)


def _lots_with_credit(member: Member, now: datetime) -> tuple[list[CreditLot], list[CreditLot]]:
    """(overdue, spendable) in one query; spendable in spending order: soonest expiry first,
    never-expiring last, then the oldest."""
    lots = rows.select(
        CreditLot,
        "{member} = %s AND {remaining} > 0",
        [member.pk],
        order_by="{expires_at} IS NULL, {expires_at}, {created_at}, {id}",
    )
    overdue = [lot for lot in lots if lot.expires_at is not None and lot.expires_at <= now]
    spendable = [lot for lot in lots if lot.expires_at is None or lot.expires_at > now]
    return overdue, spendable


def credits_spend(
    *,
    member: Member,
    amount: int,
    type: str = Type.BOOKING_PAYMENT,
    now: datetime | None = None,
    booking_id=None,
    redemption_id=None,
    performed_by: User | None = None,
    description: str = "",
) -> list[CreditTransaction]:
    """Spend `amount` credits, soonest-expiring lot first; one ledger row per lot touched.

    Refuses with `insufficient_credits` (nothing written) when the unexpired balance is short.
    """
    _require_transaction()
    now = now or clock.now()
    if amount <= 0:
        raise Invalid({"amount": gettext_lazy("Credits spent must be a positive whole number.")})
    overdue, spendable = _lots_with_credit(member, now)
    _expire_lots(member, overdue, now)
    if member.credit_balance < amount:
        raise InsufficientCredits()
    locking.pause("credits_checked")
    rows = []
    left = amount
    for lot in spendable:
        take = min(left, lot.remaining)
        _take_from_lot(lot, take)
        rows.append(
            _append(
                member,
                type=type,
                amount=-take,
                lot=lot,
                now=now,
                booking_id=booking_id,
                redemption_id=redemption_id,
                performed_by=performed_by,
                description=description,
            )
        )
        left -= take
        if left == 0:
            break
    if left:
        # The cached balance promised credits the lots do not hold: never let that pass silently.
        raise InsufficientCredits()
    return rows


def credits_refund_booking(
    *,
    member: Member,
    booking_id,
    now: datetime | None = None,
    performed_by: User | None = None,
    description: str = "Booking refund",
    except_lot_ids=(),
) -> list[CreditTransaction]:
    """Return what a booking paid to the lots it came from (BOOKING_REFUND rows).

    Idempotent per booking: only what was paid and not yet refunded goes back. A lot that has
    expired meanwhile gets its credits back and loses them again at once (EXPIRATION row), so
    the ledger tells the whole story and the balance never holds expired credits. A closed lot
    (its redemption was cancelled, DOMAIN.md 5) gets nothing back, ever; nor do `except_lot_ids`
    (the lots a cancel in progress is about to close).
    """
    _require_transaction()
    now = now or clock.now()
    per_lot: dict = defaultdict(int)
    for lot_id, amount in CreditTransaction.objects.filter(
        member=member, booking_id=booking_id, type__in=[Type.BOOKING_PAYMENT, Type.BOOKING_REFUND]
    ).values_list("lot_id", "amount"):
        per_lot[lot_id] += amount
    rows = []
    lots = CreditLot.objects.filter(pk__in=[k for k, v in per_lot.items() if v < 0], closed_at__isnull=True)
    lots = list(lots.exclude(pk__in=list(except_lot_ids)).order_by("pk"))
    locking.pause("refund_lots_read")
    for lot in lots:
        give = -per_lot[lot.pk]
        give = min(give, lot.credits_granted - lot.remaining)
        if give <= 0:
            continue
        CreditLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") + give)
        lot.remaining += give
        rows.append(
            _append(
                member,
                type=Type.BOOKING_REFUND,
                amount=give,
                lot=lot,
                now=now,
                booking_id=booking_id,
                performed_by=performed_by,
                description=description,
            )
        )
    if rows:
        credits_expire_overdue(member=member, now=now)
    return rows


def credits_close_lot(
    *,
    member: Member,
    lot: CreditLot,
    type: str = Type.REDEMPTION_CANCELLED,
    now: datetime | None = None,
    redemption_id=None,
    performed_by: User | None = None,
    description: str = "",
) -> CreditTransaction | None:
    """Close one lot for good (its redemption was cancelled, DOMAIN.md 5): what is left of it is
    taken back (one ledger row; spent credits stay spent) and nothing is ever added to it again
    (refunds skip it; the database refuses a closed lot holding credits). The lot is locked."""
    _require_transaction()
    now = now or clock.now()
    lot.refresh_from_db(fields=["remaining", "closed_at"])
    if lot.closed_at is not None:
        return None
    amount = lot.remaining
    if CreditLot.objects.filter(pk=lot.pk, remaining=amount).update(remaining=0, closed_at=now) != 1:
        raise RuntimeError(f"credit lot {lot.pk} changed under its lock")
    lot.remaining, lot.closed_at = 0, now
    if amount <= 0:
        return None
    return _append(
        member,
        type=type,
        amount=-amount,
        lot=lot,
        now=now,
        redemption_id=redemption_id,
        performed_by=performed_by,
        description=description,
    )


# --- top-level services --------------------------------------------------------------------------
def credit_adjustment_create(
    *,
    organization: Organization,
    member_id,
    amount: int,
    reason: str,
    expires_at: datetime | None = None,
    performed_by: User | None = None,
    now: datetime | None = None,
) -> CreditTransaction:
    """Staff add (MANUAL_ADD, a new lot) or deduct (MANUAL_DEDUCT, soonest expiry first) credits.

    A deduct larger than the balance is refused with `insufficient_credits`.
    """
    now = now or clock.now()
    if amount == 0:
        raise Invalid({"amount": gettext_lazy("Must be a non-zero whole number.")})
    if expires_at is not None and expires_at <= now:
        raise Invalid({"expires_at": gettext_lazy("Must be in the future.")})
    with transaction.atomic(durable=True):
        member = member_lock(organization=organization, member_id=member_id)
        member_balance_before = member.credit_balance
        if amount > 0:
            _, txn = credits_grant(
                member=member,
                amount=amount,
                source=CreditLot.Source.MANUAL,
                type=Type.MANUAL_ADD,
                expires_at=expires_at,
                now=now,
                performed_by=performed_by,
                description=reason,
            )
        else:
            txn = credits_spend(
                member=member,
                amount=-amount,
                type=Type.MANUAL_DEDUCT,
                now=now,
                performed_by=performed_by,
                description=reason,
            )[-1]
        log_action(
            organization=organization,
            actor=performed_by,
            action="credits.adjust",
            obj=member,
            reason=reason,
            changes={
                "amount": amount,
                "expires_at": expires_at,
                "credit_balance": [member_balance_before, txn.balance_after],
            },
            now=now,
        )
        return txn
