"""The standard catalog (DOMAIN.md 13) into a studio, from fixtures/standard_catalog.json.

Idempotent: a package or coupon whose code the studio already has is left as it is (the studio
may have changed it since), so a second run adds nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from members_app.models import Organization
from packages_app import services
from packages_app.models import Coupon, Package
from spinning import clock

CATALOG_PATH = Path(settings.BASE_DIR) / "fixtures" / "standard_catalog.json"
PACKAGE_KEYS = (
    "code",
    "name",
    "name_tr",
    "description",
    "description_tr",
    "type",
    "price",
    "credits",
    "all_access_days",
    "daily_ride_limit",
    "credit_validity_days",
    "friend_pass_days",
    "benefits",
    "display_order",
)
COUPON_KEYS = (
    "code",
    "name",
    "name_tr",
    "description",
    "description_tr",
    "coupon_type",
    "discount_type",
    "discount_value",
    "bonus_credits",
    "max_redemptions",
    "max_redemptions_per_member",
)


def load_catalog(path: Path = CATALOG_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def seed_catalog(*, organization: Organization, now: datetime | None = None, path: Path = CATALOG_PATH) -> list[str]:
    """Create the missing packages and coupons of the standard catalog; return printable lines."""
    now = now or clock.now()
    catalog = load_catalog(path)
    lines = []
    by_code = {}
    for spec in catalog["packages"]:
        existing = Package.objects.filter(organization=organization, code__iexact=spec["code"]).first()
        if existing is None:
            data = {key: spec[key] for key in PACKAGE_KEYS if key in spec}
            data["price"] = Decimal(data["price"])
            existing = services.package_create(organization=organization, data=data)
            lines.append(f"  package {spec['code']}: created")
        else:
            lines.append(f"  package {spec['code']}: already there")
        by_code[spec["code"]] = existing
    today_start = clock.start_of_local_day(clock.local_date(now, organization.timezone), organization.timezone)
    for spec in catalog["coupons"]:
        if Coupon.objects.filter(organization=organization, code__iexact=spec["code"]).exists():
            lines.append(f"  coupon {spec['code']}: already there")
            continue
        data = {key: spec[key] for key in COUPON_KEYS if key in spec}
        if data.get("discount_value") is not None:
            data["discount_value"] = Decimal(data["discount_value"])
        codes = spec.get("applicable_package_codes") or []
        data["applicable_package_ids"] = [by_code[code].pk for code in codes if code in by_code]
        data["valid_from"] = today_start
        data["valid_until"] = today_start + timedelta(days=spec.get("valid_days", 365))
        services.coupon_create(organization=organization, data=data)
        lines.append(f"  coupon {spec['code']}: created")
    return [f"Catalog for '{organization.slug}':", *lines]
