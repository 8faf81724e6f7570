from django.utils.translation import gettext_lazy
from rest_framework import serializers

from members_app.ledger_text import ledger_description
from members_app.models import LANGUAGES, CreditPriceChange, CreditTransaction, Member, Organization, User
from spinning.limits import PASSWORD_MAX_LENGTH

EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class MemberSerializer(serializers.ModelSerializer):
    """A member as this studio knows them (names, phone, language are this studio's record)."""

    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Member
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "language",
            "status",
            "credit_balance",
            "is_elite_member",
            "has_all_access",
            "all_access_expires_at",
            "friend_passes_available",
            "created_at",
        ]
        read_only_fields = fields


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, allow_null=True, default=None)
    password = serializers.CharField(
        max_length=PASSWORD_MAX_LENGTH,
        required=False,
        allow_blank=True,
        write_only=True,
        style={"input_type": "password"},
    )


class MemberUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False)
    last_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Member.Status.choices, required=False)
    language = serializers.ChoiceField(
        choices=LANGUAGES, required=False, allow_null=True, help_text="null: the studio's language."
    )


class MemberSelfUpdateSerializer(serializers.Serializer):
    """What a member may change of their own record: their language (null = the studio's)."""

    language = serializers.ChoiceField(choices=LANGUAGES, allow_null=True, help_text="null: the studio's language.")

    def validate(self, attrs):
        others = sorted(set(self.initial_data) - {"language"}) if isinstance(self.initial_data, dict) else []
        if others:
            raise serializers.ValidationError({field: ["Only staff change this."] for field in others})
        return attrs


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, write_only=True, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, allow_null=True, default=None)


class RegisterResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    member = MemberSerializer()


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, write_only=True, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`; shown only once.")
    expires_at = serializers.DateTimeField(help_text="Expires then unless used before (each use pushes it out).")


class MessageSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A human sentence.")


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class CreditTransactionSerializer(serializers.ModelSerializer):
    lot_expires_at = serializers.DateTimeField(source="lot.expires_at", read_only=True, allow_null=True, default=None)
    performed_by = serializers.SerializerMethodField()

    class Meta:
        model = CreditTransaction
        fields = [
            "id",
            "type",
            "amount",
            "balance_before",
            "balance_after",
            "lot_id",
            "lot_expires_at",
            "booking_id",
            "redemption_id",
            "description",
            "performed_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_performed_by(self, obj) -> str | None:
        user = obj.performed_by
        return user.get_full_name() if user is not None else None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["description"] = ledger_description(data["description"])  # in the request's language
        return data


class CreditAdjustmentSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=-100000, max_value=100000)
    reason = serializers.CharField(max_length=500)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_amount(self, value):
        if value == 0:
            raise serializers.ValidationError(gettext_lazy("Must be a non-zero whole number."))
        return value


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "slug",
            "name",
            "timezone",
            "currency",
            "credit_price",
            "booking_window_days",
            "priority_booking_hours",
            "cancellation_window_hours",
            "no_show_grace_minutes",
            "check_in_opens_minutes",
            "waitlist_cutoff_minutes",
            "waitlist_max_size",
            "pending_request_hours",
            "language",
            "email",
            "bank_transfer_instructions",
        ]
        read_only_fields = ["slug"]


class OrganizationUpdateSerializer(OrganizationSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)
    credit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)

    class Meta(OrganizationSerializer.Meta):
        fields = OrganizationSerializer.Meta.fields + ["reason"]
        extra_kwargs = {f: {"required": False} for f in OrganizationSerializer.Meta.fields}


class PriceHistorySerializer(serializers.ModelSerializer):
    changed_by = serializers.SerializerMethodField()

    class Meta:
        model = CreditPriceChange
        fields = ["credit_price_before", "credit_price_after", "currency", "changed_by", "reason", "created_at"]

    def get_changed_by(self, obj) -> str | None:
        return obj.changed_by.email if obj.changed_by else None
