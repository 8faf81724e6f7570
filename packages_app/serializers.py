"""Shapes of API.md "Packages", "Coupons", "Redemptions". Parsing and rendering only: the rules
live in packages_app.services (validation included) and packages_app.pricing."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from packages_app.models import BENEFITS, Coupon, Package, Redemption
from packages_app.pricing import package_pricing
from spinning import clock
from spinning.limits import LONG_TEXT_MAX_LENGTH

MONEY = {"max_digits": 12, "decimal_places": 2}


def _money_or_none(value) -> str | None:
    return None if value is None else f"{value:.2f}"


MONEY_OR_NULL = {"type": ["string", "null"], "format": "decimal", "pattern": r"^-?\d{0,10}(?:\.\d{0,2})?$"}
BENEFITS_SCHEMA = {"type": "array", "items": {"type": "string", "enum": list(BENEFITS)}, "maxItems": 10}


@extend_schema_field(BENEFITS_SCHEMA)
class BenefitsField(serializers.ListField):
    """A package's benefits: any of BENEFITS (the services refuse others)."""


class PackageSerializer(serializers.ModelSerializer):
    """Package with the calculated pricing; `organization` comes from the serializer context."""

    currency = serializers.SerializerMethodField()
    benefits = BenefitsField(read_only=True)
    price_per_credit = serializers.SerializerMethodField()
    base_price = serializers.SerializerMethodField()
    discount_amount = serializers.SerializerMethodField()
    discount_percentage = serializers.SerializerMethodField()

    class Meta:
        model = Package
        fields = [
            "id",
            "code",
            "name",
            "name_tr",
            "description",
            "description_tr",
            "type",
            "price",
            "currency",
            "credits",
            "all_access_days",
            "daily_ride_limit",
            "credit_validity_days",
            "friend_pass_days",
            "benefits",
            "valid_from",
            "valid_until",
            "is_active",
            "display_order",
            "price_per_credit",
            "base_price",
            "discount_amount",
            "discount_percentage",
        ]
        read_only_fields = fields

    def _pricing(self, obj):
        cache = self.context.setdefault("_pricing", {})
        if obj.pk not in cache:
            organization = self.context["organization"]
            cache[obj.pk] = package_pricing(package=obj, credit_price=organization.credit_price)
        return cache[obj.pk]

    def get_currency(self, obj) -> str:
        return self.context["organization"].currency

    @extend_schema_field(MONEY_OR_NULL)
    def get_price_per_credit(self, obj):
        return _money_or_none(self._pricing(obj).price_per_credit)

    @extend_schema_field(MONEY_OR_NULL)
    def get_base_price(self, obj):
        return _money_or_none(self._pricing(obj).base_price)

    @extend_schema_field(MONEY_OR_NULL)
    def get_discount_amount(self, obj):
        return _money_or_none(self._pricing(obj).discount_amount)

    @extend_schema_field(MONEY_OR_NULL)
    def get_discount_percentage(self, obj):
        return _money_or_none(self._pricing(obj).discount_percentage)


class PackageWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    name_tr = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, required=False, allow_blank=True)
    description_tr = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=Package.Type.choices)
    price = serializers.DecimalField(**MONEY)
    credits = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100000)
    all_access_days = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=3660)
    daily_ride_limit = serializers.IntegerField(required=False, default=1, min_value=0, max_value=100)
    credit_validity_days = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=3660)
    friend_pass_days = serializers.IntegerField(required=False, default=30, min_value=0, max_value=3660)
    benefits = BenefitsField(child=serializers.CharField(max_length=64), required=False, max_length=10)
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_until = serializers.DateTimeField(required=False, allow_null=True)
    # Defaults are the model's (a PATCH applies none: only the fields sent change).
    is_active = serializers.BooleanField(required=False, default=True)
    display_order = serializers.IntegerField(required=False, default=0, min_value=-100000, max_value=100000)


class CouponSerializer(serializers.ModelSerializer):
    applicable_package_ids = serializers.SerializerMethodField()
    package_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "name",
            "name_tr",
            "description",
            "description_tr",
            "coupon_type",
            "discount_type",
            "discount_value",
            "applicable_package_ids",
            "package_id",
            "custom_price",
            "custom_credits",
            "bonus_credits",
            "first_purchase_only",
            "valid_from",
            "valid_until",
            "max_redemptions",
            "max_redemptions_per_member",
            "times_redeemed",
            "is_active",
        ]
        read_only_fields = fields

    def get_applicable_package_ids(self, obj) -> list[str]:
        return sorted(str(p.pk) for p in obj.applicable_packages.all())


class CouponPublicSerializer(CouponSerializer):
    """What a member sees of a usable coupon: what it gives and until when; no counters, no limits."""

    class Meta(CouponSerializer.Meta):
        fields = [
            "code",
            "name",
            "name_tr",
            "description",
            "description_tr",
            "coupon_type",
            "discount_type",
            "discount_value",
            "applicable_package_ids",
            "package_id",
            "custom_price",
            "custom_credits",
            "bonus_credits",
            "first_purchase_only",
            "valid_until",
        ]
        read_only_fields = fields


class CouponLookupSerializer(CouponPublicSerializer):
    """Schema of GET /api/coupons/code/{code}: the public part always; staff also get the rest."""

    id = serializers.UUIDField(required=False, help_text="Staff only.")
    valid_from = serializers.DateTimeField(required=False, allow_null=True, help_text="Staff only.")
    max_redemptions = serializers.IntegerField(required=False, allow_null=True, help_text="Staff only.")
    max_redemptions_per_member = serializers.IntegerField(required=False, allow_null=True, help_text="Staff only.")
    times_redeemed = serializers.IntegerField(required=False, help_text="Staff only.")
    is_active = serializers.BooleanField(required=False, help_text="Staff only.")

    class Meta(CouponPublicSerializer.Meta):
        fields = CouponSerializer.Meta.fields
        read_only_fields = [
            f
            for f in CouponSerializer.Meta.fields
            if f
            not in {"id", "valid_from", "max_redemptions", "max_redemptions_per_member", "times_redeemed", "is_active"}
        ]


class CouponWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    name_tr = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, required=False, allow_blank=True)
    description_tr = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, required=False, allow_blank=True)
    coupon_type = serializers.ChoiceField(choices=Coupon.Type.choices)
    discount_type = serializers.ChoiceField(choices=Coupon.DiscountType.choices, required=False, allow_null=True)
    discount_value = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    applicable_package_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=500)
    package_id = serializers.UUIDField(required=False, allow_null=True)
    custom_price = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    custom_credits = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100000)
    bonus_credits = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100000)
    first_purchase_only = serializers.BooleanField(required=False, default=False)
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_until = serializers.DateTimeField(required=False, allow_null=True)
    max_redemptions = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10**9)
    max_redemptions_per_member = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10**6)
    is_active = serializers.BooleanField(required=False, default=True)


class QuoteRequestSerializer(serializers.Serializer):
    package_id = serializers.UUIDField()
    coupon_code = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    member_id = serializers.UUIDField(required=False, allow_null=True)


class CouponRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    package_id = serializers.UUIDField(source="package.pk")
    original_price = serializers.DecimalField(**MONEY)
    discount_amount = serializers.DecimalField(**MONEY)
    final_price = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    credits = serializers.IntegerField()
    bonus_credits = serializers.IntegerField()
    redemption_type = serializers.ChoiceField(choices=Redemption.Type.choices)
    coupon = CouponRefSerializer(allow_null=True)


class RedeemRequestSerializer(QuoteRequestSerializer):
    payment_method = serializers.ChoiceField(
        choices=Redemption.PaymentMethod.choices, required=False, allow_blank=True, allow_null=True
    )
    payment_reference = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True)


class ConfirmRequestSerializer(serializers.Serializer):
    starts_on = serializers.DateField(required=False, allow_null=True)


class CancelRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RedemptionCancelRequestSerializer(CancelRequestSerializer):
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Only report what the cancel would take; change nothing."
    )


class PackageRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Package.Type.choices)


class CouponCodeRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()


class RedemptionSerializer(serializers.ModelSerializer):
    package = PackageRefSerializer()
    coupon = CouponCodeRefSerializer(allow_null=True)
    benefits = BenefitsField(read_only=True)
    credits_remaining = serializers.SerializerMethodField()
    friend_pass_available = serializers.SerializerMethodField()
    friend_pass_used = serializers.SerializerMethodField()
    redeemed_by = serializers.SerializerMethodField()
    payment_method = serializers.ChoiceField(
        choices=Redemption.PaymentMethod.choices, allow_blank=True, read_only=True, help_text="Empty when not given."
    )

    class Meta:
        model = Redemption
        fields = [
            "id",
            "member_id",
            "package",
            "coupon",
            "redemption_type",
            "status",
            "original_price",
            "discount_amount",
            "final_price",
            "currency",
            "credits_added",
            "bonus_credits",
            "credits_remaining",
            "credits_expire_at",
            "benefits",
            "all_access_days",
            "daily_ride_limit",
            "all_access_starts_on",
            "all_access_ends_on",
            "all_access_expires_at",
            "friend_pass_available",
            "friend_pass_expires_at",
            "friend_pass_used",
            "friend_pass_used_at",
            "friend_pass_booking_id",
            "payment_method",
            "payment_reference",
            "notes",
            "redeemed_at",
            "redeemed_by",
            "confirmed_at",
            "cancelled_at",
            "cancel_reason",
        ]
        read_only_fields = fields

    def _now(self):
        if "now" not in self.context:
            self.context["now"] = clock.now()
        return self.context["now"]

    def get_credits_remaining(self, obj) -> int:
        return obj.credits_remaining_at(self._now())

    def get_friend_pass_available(self, obj) -> bool:
        return obj.friend_pass_available_at(self._now())

    def get_friend_pass_used(self, obj) -> bool:
        return obj.friend_pass_used_at is not None

    def get_redeemed_by(self, obj) -> str | None:
        return obj.redeemed_by.get_full_name() if obj.redeemed_by_id else None


class CancelEffectsSerializer(serializers.Serializer):
    """What a redemption cancel takes (DOMAIN.md 5); the same with `dry_run: true`."""

    credits_removed = serializers.IntegerField(help_text="Credits left on its lots, taken back.")
    all_access_ends_on = serializers.DateField(
        allow_null=True, help_text="The last day its All Access covers after the cancel (null: no All Access)."
    )
    booking_ids_cancelled = serializers.ListField(
        child=serializers.UUIDField(), help_text="Bookings cancelled with nothing given back (and their guests)."
    )


class RedemptionCancelSerializer(RedemptionSerializer):
    """The redemption (as it is after the cancel, or unchanged on a dry run) and `cancel_effects`."""

    cancel_effects = serializers.SerializerMethodField()

    class Meta(RedemptionSerializer.Meta):
        fields = [*RedemptionSerializer.Meta.fields, "cancel_effects"]
        read_only_fields = fields

    @extend_schema_field(CancelEffectsSerializer)
    def get_cancel_effects(self, obj) -> dict:
        effects = self.context["cancel_effects"]
        return CancelEffectsSerializer(
            {
                "credits_removed": effects.credits_removed,
                "all_access_ends_on": effects.all_access_ends_on,
                "booking_ids_cancelled": list(effects.booking_ids_cancelled),
            }
        ).data
