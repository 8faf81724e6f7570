"""Money arithmetic of the catalog (DOMAIN.md 2, 3, 4): pure functions, Decimal, 2 places, half-up.

Nothing here reads or writes the database; services and serializers call it with the rows they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from packages_app.models import Coupon, Package, Redemption

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def money(value) -> Decimal:
    """A Decimal with exactly 2 places, rounded half-up (never a float on the way)."""
    if isinstance(value, float):
        raise TypeError("Money is never a float.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PackagePricing:
    price_per_credit: Decimal | None
    base_price: Decimal | None
    discount_amount: Decimal | None
    discount_percentage: Decimal | None


NO_PRICING = PackagePricing(None, None, None, None)


def package_pricing(*, package: Package, credit_price: Decimal) -> PackagePricing:
    """The four calculated figures shown with every credit package (all empty for ALL_ACCESS).

    discount_amount is negative when the package costs more than its credits at list price.
    """
    if package.type == Package.Type.ALL_ACCESS or not package.credits:
        return NO_PRICING
    price = money(package.price)
    base = money(Decimal(credit_price) * package.credits)
    discount = money(base - price)
    percentage = money(discount / base * HUNDRED) if base else ZERO
    return PackagePricing(
        price_per_credit=money(price / package.credits),
        base_price=base,
        discount_amount=discount,
        discount_percentage=percentage,
    )


@dataclass(frozen=True)
class Quote:
    """What a sale would cost and grant: the body of POST /api/packages/quote and of a redemption."""

    package: Package
    coupon: Coupon | None
    redemption_type: str
    original_price: Decimal
    discount_amount: Decimal
    final_price: Decimal
    currency: str
    credits: int
    bonus_credits: int


def quote_price(*, package: Package, coupon: Coupon | None, currency: str) -> Quote:
    """Price a package with an (already validated, applicable) coupon.

    - no coupon: the package price, its credits;
    - DISCOUNT: PERCENTAGE off (rounded half-up to the cent) or FIXED_AMOUNT off; never below 0;
    - PACKAGE: custom_price and/or custom_credits replace the package's; a deal priced above the
      list price shows that price as original_price with no discount (a discount is never < 0);
    - CREDIT_BONUS: price unchanged, bonus_credits on top.
    """
    price = money(package.price)
    credits = package.credits or 0
    bonus = 0
    final = price
    kind = Redemption.Type.PACKAGE_DIRECT
    if coupon is not None:
        if coupon.coupon_type == Coupon.Type.DISCOUNT:
            kind = Redemption.Type.COUPON_DISCOUNT
            value = Decimal(coupon.discount_value or 0)
            if coupon.discount_type == Coupon.DiscountType.PERCENTAGE:
                off = money(price * value / HUNDRED)
            else:
                off = money(value)
            final = max(price - off, ZERO)
        elif coupon.coupon_type == Coupon.Type.PACKAGE:
            kind = Redemption.Type.COUPON_PACKAGE
            if coupon.custom_price is not None:
                final = money(coupon.custom_price)
            if coupon.custom_credits:
                credits = coupon.custom_credits
            price = max(price, final)
        elif coupon.coupon_type == Coupon.Type.CREDIT_BONUS:
            kind = Redemption.Type.COUPON_BONUS
            bonus = coupon.bonus_credits or 0
    return Quote(
        package=package,
        coupon=coupon,
        redemption_type=kind,
        original_price=price,
        discount_amount=money(price - final),
        final_price=money(final),
        currency=currency,
        credits=credits,
        bonus_credits=bonus,
    )
