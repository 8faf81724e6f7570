"""Small helpers shared by the packages tests."""

from members_app.models import CreditTransaction
from members_app.tests.utils import ledger_sum
from packages_app import services


def sell(org, member, package, *, coupon=None, now, by_staff=True, staff=None, **extra):
    return services.redemption_create(
        organization=org,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=by_staff,
        performed_by=staff,
        coupon_code=coupon.code if coupon is not None else None,
        now=now,
        **extra,
    )


def ledger(member):
    """The member's ledger as (type, amount, balance_after), oldest first."""
    return list(
        CreditTransaction.objects.filter(member=member).order_by("seq").values_list("type", "amount", "balance_after")
    )


def balance_is_consistent(member) -> bool:
    member.refresh_from_db()
    return member.credit_balance == ledger_sum(member)
