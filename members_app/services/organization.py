"""Studio settings (DOMAIN.md 1, 8): changes, with the credit price's history."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from members_app.audit import changes_between, log_action, snapshot
from members_app.models import CreditPriceChange, Organization, User
from spinning import locking
from spinning.errors import Invalid


def organization_update(
    *, organization: Organization, data: dict, changed_by: User | None, reason: str = ""
) -> Organization:
    """Change studio settings; a credit_price change is recorded in the price history."""
    with transaction.atomic(durable=True):
        org = locking.lock_one(Organization.objects.all(), pk=organization.pk)
        new_price = data.get("credit_price")
        if new_price is not None and Decimal(new_price) != org.credit_price:
            CreditPriceChange.objects.create(
                organization=org,
                credit_price_before=org.credit_price,
                credit_price_after=Decimal(new_price),
                currency=data.get("currency", org.currency),
                changed_by=changed_by,
                reason=reason,
            )
        before = snapshot(org, data.keys())
        for field, value in data.items():
            setattr(org, field, value)
        try:
            org.full_clean()
        except DjangoValidationError as exc:
            raise Invalid(exc.message_dict) from None
        org.save()
        changes = changes_between(before, snapshot(org, data.keys()))
        if changes:
            log_action(
                organization=org,
                actor=changed_by,
                action="organization.update",
                obj=org,
                reason=reason,
                changes=changes,
            )
    return org
