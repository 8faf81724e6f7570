"""The catalog a studio sells, promo coupons, and every package bought (DOMAIN.md 3-5)."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from members_app.models import CreditLot, Member, Organization

BENEFIT_FRIEND_PASS = "friend_pass"
BENEFIT_PRIORITY_BOOKING = "priority_booking"
BENEFIT_ELITE_BADGE = "elite_badge"
BENEFITS = (BENEFIT_FRIEND_PASS, BENEFIT_PRIORITY_BOOKING, BENEFIT_ELITE_BADGE)


class Package(models.Model):
    class Type(models.TextChoices):
        SINGLE_RIDE = "SINGLE_RIDE", "Single ride"
        CREDIT_PACK = "CREDIT_PACK", "Credit pack"
        ELITE_30 = "ELITE_30", "Elite 30"
        ALL_ACCESS = "ALL_ACCESS", "All Access"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="packages")
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    name_tr = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    description_tr = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=Type.choices)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    credits = models.PositiveIntegerField(null=True, blank=True)
    all_access_days = models.PositiveIntegerField(null=True, blank=True)
    daily_ride_limit = models.PositiveIntegerField(default=1)
    credit_validity_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Credits are valid this many studio-local days counting the activation day; empty = never expire.",
    )
    friend_pass_days = models.PositiveIntegerField(default=30)
    benefits = models.JSONField(default=list, blank=True, help_text=f"Any of: {', '.join(BENEFITS)}.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    display_order = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("package")
        verbose_name_plural = gettext_lazy("packages")
        ordering = ["display_order", "name"]
        constraints = [
            models.UniqueConstraint("organization", Lower("code"), name="package_code_unique_per_org"),
            models.CheckConstraint(condition=Q(price__gte=0), name="package_price_gte_0"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="package_valid_window_ordered",
            ),
            models.CheckConstraint(
                condition=(Q(type="ALL_ACCESS") & Q(credits__isnull=True) & Q(all_access_days__gt=0))
                | (~Q(type="ALL_ACCESS") & Q(credits__gt=0)),
                name="package_credits_or_all_access",
            ),
            models.CheckConstraint(
                condition=~Q(type="SINGLE_RIDE") | Q(credits=1), name="package_single_ride_one_credit"
            ),
            models.CheckConstraint(condition=Q(daily_ride_limit__gte=1), name="package_daily_limit_gte_1"),
            # The check above lets NULLs through (a CHECK passes when it is unknown): these close that.
            models.CheckConstraint(
                condition=Q(type="ALL_ACCESS") | Q(credits__isnull=False), name="package_credit_types_have_credits"
            ),
            models.CheckConstraint(
                condition=~Q(type="ALL_ACCESS") | Q(all_access_days__isnull=False),
                name="package_all_access_has_days",
            ),
        ]
        indexes = [models.Index(fields=["organization", "is_active", "display_order"])]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def has_benefit(self, benefit: str) -> bool:
        return benefit in (self.benefits or [])


class Coupon(models.Model):
    class Type(models.TextChoices):
        DISCOUNT = "DISCOUNT", "Discount"
        PACKAGE = "PACKAGE", "Package deal"
        CREDIT_BONUS = "CREDIT_BONUS", "Credit bonus"

    class DiscountType(models.TextChoices):
        PERCENTAGE = "PERCENTAGE", "Percentage"
        FIXED_AMOUNT = "FIXED_AMOUNT", "Fixed amount"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="coupons")
    code = models.CharField(max_length=64, help_text="Matched case-insensitively.")
    name = models.CharField(max_length=200)
    name_tr = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    description_tr = models.TextField(blank=True)
    coupon_type = models.CharField(max_length=16, choices=Type.choices)
    discount_type = models.CharField(max_length=16, choices=DiscountType.choices, null=True, blank=True)
    discount_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    applicable_packages = models.ManyToManyField(
        Package, blank=True, related_name="+", help_text="Empty: every package."
    )
    package = models.ForeignKey(
        Package,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="PACKAGE coupons: the package of the deal.",
    )
    custom_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    custom_credits = models.PositiveIntegerField(null=True, blank=True)
    bonus_credits = models.PositiveIntegerField(null=True, blank=True)
    first_purchase_only = models.BooleanField(default=False)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True, help_text="Total uses; empty = unlimited.")
    max_redemptions_per_member = models.PositiveIntegerField(
        null=True, blank=True, default=1, help_text="Empty = unlimited."
    )
    # Uses held by PENDING, ACTIVE, USED or EXPIRED redemptions; moved only by conditional F() updates.
    times_redeemed = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("coupon")
        verbose_name_plural = gettext_lazy("coupons")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint("organization", Lower("code"), name="coupon_code_ci_unique_per_org"),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True) | Q(times_redeemed__lte=F("max_redemptions")),
                name="coupon_times_redeemed_lte_max",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="coupon_valid_window_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(discount_type="PERCENTAGE") | (Q(discount_value__gt=0) & Q(discount_value__lte=100)),
                name="coupon_percentage_range",
            ),
            models.CheckConstraint(
                condition=~Q(discount_type="FIXED_AMOUNT") | Q(discount_value__gt=0), name="coupon_fixed_amount_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(discount_type__isnull=True) | Q(discount_value__isnull=False),
                name="coupon_discount_has_value",
            ),
            models.CheckConstraint(
                condition=Q(custom_price__isnull=True) | Q(custom_price__gte=0), name="coupon_custom_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponMemberUse(models.Model):
    """Uses of one coupon by one member, with the per-member limit copied in at first use, so
    the database refuses a member going past it (check constraint), even under a race."""

    id = models.BigAutoField(primary_key=True)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="member_uses")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    uses = models.PositiveIntegerField(default=0)
    limit = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "member"], name="coupon_member_use_unique"),
            models.CheckConstraint(
                condition=Q(limit__isnull=True) | Q(uses__lte=F("limit")), name="coupon_member_uses_lte_limit"
            ),
        ]


class Redemption(models.Model):
    """A package bought by a member: one record for a desk sale, a member's request, a coupon deal."""

    class Type(models.TextChoices):
        PACKAGE_DIRECT = "PACKAGE_DIRECT", "Package"
        COUPON_PACKAGE = "COUPON_PACKAGE", "Coupon package deal"
        COUPON_DISCOUNT = "COUPON_DISCOUNT", "Coupon discount"
        COUPON_BONUS = "COUPON_BONUS", "Coupon bonus credits"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        ACTIVE = "ACTIVE", "Active"
        USED = "USED", "Used"
        EXPIRED = "EXPIRED", "Expired"
        CANCELLED = "CANCELLED", "Cancelled"

    class PaymentMethod(models.TextChoices):
        CASH = "CASH", "Cash"
        CARD = "CARD", "Card"
        BANK_TRANSFER = "BANK_TRANSFER", "Bank transfer"
        OTHER = "OTHER", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="redemptions")
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions")
    redemption_type = models.CharField(max_length=20, choices=Type.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    original_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    final_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    credits_added = models.PositiveIntegerField(
        default=0, help_text="Package or coupon custom credits; bonus excluded."
    )
    bonus_credits = models.PositiveIntegerField(default=0)
    credit_validity_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Copied from the package at sale."
    )
    credit_lot = models.OneToOneField(
        CreditLot, null=True, blank=True, on_delete=models.PROTECT, related_name="redemption"
    )
    bonus_lot = models.OneToOneField(
        CreditLot, null=True, blank=True, on_delete=models.PROTECT, related_name="bonus_redemption"
    )
    credits_expire_at = models.DateTimeField(null=True, blank=True)
    # What the package granted, copied at sale so later catalog edits do not change a bought package.
    benefits = models.JSONField(default=list, blank=True)
    all_access_days = models.PositiveIntegerField(null=True, blank=True)
    daily_ride_limit = models.PositiveIntegerField(default=1)
    friend_pass_days = models.PositiveIntegerField(null=True, blank=True)
    requested_starts_on = models.DateField(
        null=True, blank=True, help_text="All Access: a later start chosen by staff."
    )
    all_access_starts_on = models.DateField(null=True, blank=True)
    all_access_ends_on = models.DateField(null=True, blank=True)
    all_access_expires_at = models.DateTimeField(null=True, blank=True)
    friend_pass_granted = models.BooleanField(default=False)
    friend_pass_expires_at = models.DateTimeField(null=True, blank=True)
    friend_pass_used_at = models.DateTimeField(null=True, blank=True)
    friend_pass_booking_id = models.UUIDField(null=True, blank=True)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices, blank=True)
    payment_reference = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    redeemed_at = models.DateTimeField(default=timezone.now)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = gettext_lazy("redemption")
        verbose_name_plural = gettext_lazy("redemptions")
        ordering = ["-redeemed_at"]
        constraints = [
            models.CheckConstraint(condition=Q(final_price__gte=0), name="redemption_final_price_gte_0"),
            models.CheckConstraint(condition=Q(discount_amount__gte=0), name="redemption_discount_gte_0"),
            models.CheckConstraint(
                condition=Q(all_access_starts_on__isnull=True)
                | Q(all_access_ends_on__isnull=True)
                | Q(all_access_ends_on__gte=F("all_access_starts_on")),
                name="redemption_all_access_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "redeemed_at"]),
            # the sales and coupons reports select by activation instant (docs/PERFORMANCE.md)
            models.Index(fields=["organization", "confirmed_at"], name="redemption_org_confirmed"),
            models.Index(fields=["member", "status"]),
            models.Index(fields=["member", "all_access_starts_on", "all_access_ends_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.package.name} for {self.member.full_name} ({self.get_status_display().lower()})"

    def has_benefit(self, benefit: str) -> bool:
        return benefit in (self.benefits or [])

    # Derived state, read from the row and its lots (select_related them for lists).
    def lots(self) -> list[CreditLot]:
        return [lot for lot in (self.credit_lot, self.bonus_lot) if lot is not None]

    def credits_remaining_at(self, now) -> int:
        """Unexpired credits left on this redemption's lots (0 unless ACTIVE or USED)."""
        if self.status not in (self.Status.ACTIVE, self.Status.USED):
            return 0
        return sum(lot.remaining for lot in self.lots() if lot.expires_at is None or lot.expires_at > now)

    def friend_pass_available_at(self, now) -> bool:
        return bool(
            self.status == self.Status.ACTIVE
            and self.friend_pass_granted
            and self.friend_pass_used_at is None
            and self.friend_pass_expires_at is not None
            and self.friend_pass_expires_at > now
        )

    def all_access_active_at(self, now) -> bool:
        """Holds an All Access that has not ended yet (it may start later: stacked or chosen by staff)."""
        return bool(
            self.status == self.Status.ACTIVE
            and self.all_access_expires_at is not None
            and self.all_access_expires_at > now
        )
