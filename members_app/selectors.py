"""Reads for studios, people and the ledger. Every query starts from the organization."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from members_app.models import CreditPriceChange, CreditTransaction, Member, Notification, Organization
from members_app.search import fold


def member_list(*, organization: Organization) -> QuerySet[Member]:
    return Member.objects.filter(organization=organization).select_related("user").order_by("-created_at", "pk")


def member_search(queryset: QuerySet, q: str, *, path: str = "") -> QuerySet:
    """Rows whose member matches every word of `q` in this studio's names and phone (Turkish
    letters and case folded: `yilmaz` finds "Yılmaz", DOMAIN.md 16) or in the email.

    `path` leads from the queryset's model to the member (`"member__"` for lots, ledger rows,
    bookings, redemptions), so every admin search by rider uses the same rule."""
    for word in fold(q).split():
        queryset = queryset.filter(
            Q(**{f"{path}search_key__contains": word}) | Q(**{f"{path}user__email__contains": word})
        )
    return queryset


def member_get(*, organization: Organization, member_id) -> Member:
    return member_list(organization=organization).get(pk=member_id)


def credit_transaction_list(*, organization: Organization, member: Member) -> QuerySet[CreditTransaction]:
    return (
        CreditTransaction.objects.filter(organization=organization, member=member)
        .select_related("lot", "performed_by")
        .order_by("-seq")
    )


def price_history_list(*, organization: Organization) -> QuerySet[CreditPriceChange]:
    return (
        CreditPriceChange.objects.filter(organization=organization).select_related("changed_by").order_by("-created_at")
    )


def member_notifications(member: Member, *, for_member: bool = False) -> QuerySet:
    """The messages sent or queued for a member, newest first (API.md; the admin's member page).
    `for_member`: what the member themselves may see (not the studio's copy of their request)."""
    rows = Notification.objects.filter(organization_id=member.organization_id, member=member)
    if for_member:
        rows = rows.filter(audience=Notification.Audience.MEMBER)
    return rows.order_by("-created_at", "-id")
