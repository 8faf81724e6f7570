"""Verification of DOMAIN.md 6 for every member (used by `check_ledger` and by tests)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Max, Min, Sum

from members_app.models import CreditLot, CreditTransaction, Member


@dataclass
class Breach:
    member_id: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"member {self.member_id}: {self.rule}: {self.detail}"


def ledger_breaches(*, organization=None, batch_size: int = 2000, progress=None) -> list[Breach]:
    """Every breach of the ledger invariants; empty when all is well.

    Per member: cached balance == sum of ledger amounts == balance_after of the latest row ==
    sum of lot remaining; balance >= 0; seq runs 1..n with no gap; each row's balance_before is
    the previous row's balance_after; every lot's remaining == granted + the sum of its rows.
    A closed lot (its redemption was cancelled, DOMAIN.md 5) holds nothing and nothing was added
    to it after it closed.
    """
    members = Member.objects.all().order_by("pk")
    if organization is not None:
        members = members.filter(organization=organization)
    breaches: list[Breach] = []
    ids = list(members.values_list("pk", "credit_balance", "ledger_seq"))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        pks = [row[0] for row in chunk]
        sums = {
            row["member_id"]: row
            for row in CreditTransaction.objects.filter(member_id__in=pks)
            .values("member_id")
            .annotate(total=Sum("amount"), n=Count("id"), first=Min("seq"), last=Max("seq"))
        }
        lot_sums = dict(
            CreditLot.objects.filter(member_id__in=pks)
            .values("member_id")
            .annotate(r=Sum("remaining"))
            .values_list("member_id", "r")
        )
        chains: dict = {}
        for member_id, seq, before, after in (
            CreditTransaction.objects.filter(member_id__in=pks)
            .order_by("member_id", "seq")
            .values_list("member_id", "seq", "balance_before", "balance_after")
        ):
            chains.setdefault(member_id, []).append((seq, before, after))
        for pk, balance, ledger_seq in chunk:
            agg = sums.get(pk)
            total = agg["total"] if agg else 0
            count = agg["n"] if agg else 0
            if balance < 0:
                breaches.append(Breach(str(pk), "negative_balance", f"balance {balance}"))
            if total != balance:
                breaches.append(Breach(str(pk), "sum_mismatch", f"ledger sum {total} != cached balance {balance}"))
            if (lot_sums.get(pk) or 0) != balance:
                breaches.append(
                    Breach(str(pk), "lots_mismatch", f"lots hold {lot_sums.get(pk) or 0} != balance {balance}")
                )
            if count != ledger_seq or (count and (agg["first"] != 1 or agg["last"] != count)):
                breaches.append(Breach(str(pk), "seq_gap", f"{count} rows, member seq {ledger_seq}"))
            previous_after = 0
            for seq, before, after in chains.get(pk, []):
                if before != previous_after:
                    breaches.append(
                        Breach(
                            str(pk), "broken_chain", f"row {seq} starts at {before}, previous ended at {previous_after}"
                        )
                    )
                    break
                previous_after = after
            if chains.get(pk) and previous_after != balance:
                breaches.append(
                    Breach(str(pk), "last_row_mismatch", f"last balance_after {previous_after} != balance {balance}")
                )
        if progress:
            progress(min(start + batch_size, len(ids)), len(ids))

    lot_rows = CreditLot.objects.all()
    if organization is not None:
        lot_rows = lot_rows.filter(organization=organization)
    lot_totals = dict(
        CreditTransaction.objects.filter(lot__isnull=False, lot__in=lot_rows)
        .values("lot_id")
        .annotate(t=Sum("amount"))
        .values_list("lot_id", "t")
    )
    for lot_id, member_id, granted, remaining in lot_rows.values_list(
        "pk", "member_id", "credits_granted", "remaining"
    ):
        if lot_totals.get(lot_id, 0) != remaining:
            breaches.append(
                Breach(
                    str(member_id),
                    "lot_mismatch",
                    f"lot {lot_id}: remaining {remaining} != ledger {lot_totals.get(lot_id, 0)} (granted {granted})",
                )
            )
    breaches += _closed_lot_breaches(lot_rows)
    return breaches


def _closed_lot_breaches(lot_rows) -> list[Breach]:
    """Credits of a cancelled redemption must never come back: a closed lot holds 0 (the database
    refuses more, `lot_closed_holds_nothing`), and no row added credits to it after it closed."""
    closed = lot_rows.filter(closed_at__isnull=False)
    breaches = [
        Breach(str(member_id), "credits_on_closed_lot", f"lot {lot_id} closed at {closed_at} holds {remaining}")
        for lot_id, member_id, closed_at, remaining in closed.exclude(remaining=0).values_list(
            "pk", "member_id", "closed_at", "remaining"
        )
    ]
    added_after = CreditTransaction.objects.filter(
        lot__in=closed, amount__gt=0, created_at__gt=F("lot__closed_at")
    ).values_list("member_id", "lot_id", "seq", "type", "amount")
    for member_id, lot_id, seq, type_, amount in added_after.order_by("member_id", "seq"):
        breaches.append(
            Breach(str(member_id), "credits_into_closed_lot", f"row {seq} ({type_} +{amount}) on closed lot {lot_id}")
        )
    return breaches
