"""Close the lots of redemptions cancelled before lots could be closed (DOMAIN.md 5).

Credits that came back to such a lot (a booking refunded after the cancel: the defect of issue 8)
are taken back with a REDEMPTION_CANCELLED ledger row, as the cancel would do today, so the
ledger stays an unbroken chain and `check_ledger` stays clean.
"""

from django.db import migrations
from django.utils import timezone


def close_lots(apps, schema_editor):
    Redemption = apps.get_model("packages_app", "Redemption")
    CreditLot = apps.get_model("members_app", "CreditLot")
    CreditTransaction = apps.get_model("members_app", "CreditTransaction")
    Member = apps.get_model("members_app", "Member")
    now = timezone.now()
    cancelled = Redemption.objects.filter(status="CANCELLED").values_list(
        "pk", "credit_lot_id", "bonus_lot_id"
    )
    for redemption_id, *lot_ids in cancelled.order_by("pk").iterator():
        for lot in CreditLot.objects.filter(pk__in=[pk for pk in lot_ids if pk], closed_at__isnull=True).order_by("pk"):
            if lot.remaining > 0:
                member = Member.objects.select_for_update().get(pk=lot.member_id)
                before, amount = member.credit_balance, lot.remaining
                member.ledger_seq += 1
                member.credit_balance = before - amount
                CreditTransaction.objects.create(
                    organization_id=lot.organization_id,
                    member_id=member.pk,
                    seq=member.ledger_seq,
                    type="REDEMPTION_CANCELLED",
                    amount=-amount,
                    balance_before=before,
                    balance_after=member.credit_balance,
                    lot_id=lot.pk,
                    redemption_id=redemption_id,
                    description="Lot of a cancelled redemption closed: credits that had come back removed",
                    created_at=now,
                )
                Member.objects.filter(pk=member.pk).update(
                    credit_balance=member.credit_balance, ledger_seq=member.ledger_seq
                )
            CreditLot.objects.filter(pk=lot.pk).update(remaining=0, closed_at=now)


class Migration(migrations.Migration):
    dependencies = [
        ("members_app", "0005_creditlot_closed_at"),
        ("packages_app", "0003_coupon_member_use_protect"),
    ]

    operations = [migrations.RunPython(close_lots, migrations.RunPython.noop)]
