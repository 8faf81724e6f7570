"""Reads for studios, people and the ledger. Every query starts from the organization."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from members_app.models import CreditPriceChange, CreditTransaction, Member, Organization


def member_list(*, organization: Organization) -> QuerySet[Member]:
    return Member.objects.filter(organization=organization).select_related("user").order_by("-created_at", "pk")


def member_search(queryset: QuerySet[Member], q: str) -> QuerySet[Member]:
    q = q.strip()
    if not q:
        return queryset
    condition = Q(user__email__icontains=q) | Q(user__first_name__icontains=q) | Q(user__last_name__icontains=q)
    parts = q.split()
    if len(parts) >= 2:
        condition |= Q(user__first_name__icontains=parts[0], user__last_name__icontains=" ".join(parts[1:]))
    return queryset.filter(condition)


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
