"""Calculated pricing (DOMAIN.md 3) and coupon arithmetic (DOMAIN.md 4), Decimal half-up."""

from decimal import Decimal

import pytest

from packages_app.models import Coupon, Package
from packages_app.pricing import money, package_pricing, quote_price
from packages_app.seeds import seed_catalog

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.mark.parametrize(
    "code, per_credit, base, discount, percentage",
    [
        ("SINGLE-RIDE", "1500.00", "1500.00", "0.00", "0.00"),
        ("EXPLORER-5", "1000.00", "7500.00", "2500.00", "33.33"),
        ("CORE-10", "800.00", "15000.00", "7000.00", "46.67"),
        ("ELITE-20", "700.00", "30000.00", "16000.00", "53.33"),
        ("ELITE-30", "600.00", "45000.00", "27000.00", "60.00"),
        ("ALL-ACCESS-30", None, None, None, None),
    ],
)
def test_pricing_of_the_six_seeded_packages(org, code, per_credit, base, discount, percentage):
    # given the standard catalog in a studio whose credit costs 1500
    seed_catalog(organization=org)
    package = Package.objects.get(organization=org, code=code)
    # when the pricing is calculated
    pricing = package_pricing(package=package, credit_price=org.credit_price)
    # then it is the one the studio advertises (all empty for ALL_ACCESS)
    as_text = [None if v is None else f"{v:.2f}" for v in (pricing.price_per_credit, pricing.base_price)]
    as_text += [None if v is None else f"{v:.2f}" for v in (pricing.discount_amount, pricing.discount_percentage)]
    assert as_text == [per_credit, base, discount, percentage]


def test_discount_percentage_is_zero_when_credit_price_is_zero(org):
    package = Package(organization=org, type=Package.Type.CREDIT_PACK, price=D("100"), credits=3)
    pricing = package_pricing(package=package, credit_price=D("0"))
    assert (pricing.base_price, pricing.discount_percentage, pricing.price_per_credit) == (
        D("0.00"),
        D("0.00"),
        D("33.33"),
    )


def test_money_rounds_half_up_and_refuses_floats():
    assert money(D("0.005")) == D("0.01")
    assert money(D("2.675")) == D("2.68")
    with pytest.raises(TypeError):
        money(0.1)


def _package(**kw):
    fields = {"type": Package.Type.CREDIT_PACK, "price": D("5000.00"), "credits": 5} | kw
    return Package(**fields)


def test_percentage_discount_rounds_half_up_to_the_cent():
    coupon = Coupon(coupon_type="DISCOUNT", discount_type="PERCENTAGE", discount_value=D("15"))
    quote = quote_price(package=_package(price=D("1234.50")), coupon=coupon, currency="TRY")
    # 15 % of 1234.50 = 185.175 -> 185.18
    assert (quote.original_price, quote.discount_amount, quote.final_price) == (D("1234.50"), D("185.18"), D("1049.32"))
    assert quote.redemption_type == "COUPON_DISCOUNT"


def test_fixed_discount_never_goes_below_zero():
    coupon = Coupon(coupon_type="DISCOUNT", discount_type="FIXED_AMOUNT", discount_value=D("9000"))
    quote = quote_price(package=_package(), coupon=coupon, currency="TRY")
    assert (quote.discount_amount, quote.final_price) == (D("5000.00"), D("0.00"))


def test_package_deal_replaces_price_and_credits():
    coupon = Coupon(coupon_type="PACKAGE", custom_price=D("4000"), custom_credits=6)
    quote = quote_price(package=_package(), coupon=coupon, currency="TRY")
    assert (quote.original_price, quote.discount_amount, quote.final_price, quote.credits) == (
        D("5000.00"),
        D("1000.00"),
        D("4000.00"),
        6,
    )
    assert quote.redemption_type == "COUPON_PACKAGE"


def test_package_deal_above_list_price_has_no_negative_discount():
    coupon = Coupon(coupon_type="PACKAGE", custom_price=D("6000"), custom_credits=8)
    quote = quote_price(package=_package(), coupon=coupon, currency="TRY")
    assert (quote.original_price, quote.discount_amount, quote.final_price, quote.credits) == (
        D("6000.00"),
        D("0.00"),
        D("6000.00"),
        8,
    )


def test_credit_bonus_keeps_the_price_and_adds_credits():
    coupon = Coupon(coupon_type="CREDIT_BONUS", bonus_credits=2)
    quote = quote_price(package=_package(), coupon=coupon, currency="TRY")
    assert (quote.final_price, quote.credits, quote.bonus_credits, quote.redemption_type) == (
        D("5000.00"),
        5,
        2,
        "COUPON_BONUS",
    )
