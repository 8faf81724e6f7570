"""Studios, people, and the credit ledger (DOMAIN.md 1, 2, 6)."""

import uuid
import zoneinfo
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy

from members_app.search import fold_expression, strip_phone_separators

LANGUAGES = [("en", "English"), ("tr", "Türkçe")]


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(gettext_lazy("'%(value)s' is not an IANA time zone name.") % {"value": value})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person's login across studios. Email is the login; it is stored lower-cased and unique.

    What a studio knows of the person (names, phone, language) is on their `Member` record in
    that studio (DOMAIN.md 1). The names here are the account's own: set when the person
    registers a new account themselves, or by a platform superuser, and shown only where the
    account acts as staff (the admin header, `performed_by`, `changed_by`). No studio writes them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin site.")
    language = models.CharField(
        max_length=2, choices=LANGUAGES, blank=True, default="", help_text="The admin's language; empty: the browser's."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = gettext_lazy("user")
        verbose_name_plural = gettext_lazy("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    def __str__(self) -> str:
        return self.email


class Organization(models.Model):
    """One studio business. Every other row belongs to exactly one organization."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="Europe/Istanbul", validators=[validate_timezone])
    currency = models.CharField(
        max_length=3, default="TRY", validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO-4217 code such as TRY.")]
    )
    credit_price = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    # Bounded so that every instant computed from them stays on the calendar (a window of 10^9
    # days would make every timetable read fail); far above anything a studio means.
    booking_window_days = models.PositiveIntegerField(default=7, validators=[MaxValueValidator(365)])
    priority_booking_hours = models.PositiveIntegerField(default=24, validators=[MaxValueValidator(24 * 365)])
    cancellation_window_hours = models.PositiveIntegerField(default=12, validators=[MaxValueValidator(24 * 365)])
    no_show_grace_minutes = models.PositiveIntegerField(default=15, validators=[MaxValueValidator(24 * 60)])
    check_in_opens_minutes = models.PositiveIntegerField(
        default=60, validators=[MaxValueValidator(24 * 60)], help_text="Check-in opens this long before the start."
    )
    waitlist_cutoff_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MaxValueValidator(24 * 60)],
        help_text="No waitlist promotion closer to the start than this.",
    )
    waitlist_max_size = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=20,
        validators=[MaxValueValidator(1000)],
        help_text="Waiting entries per session; empty = unlimited.",
    )
    pending_request_hours = models.PositiveIntegerField(
        default=72,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 365)],
        help_text="A purchase request not confirmed within this many hours is cancelled (not paid in time).",
    )
    language = models.CharField(
        max_length=2,
        choices=LANGUAGES,
        default="en",
        help_text="The studio's default language for members and emails.",
    )
    email = models.EmailField(
        blank=True, help_text="The studio's own address: reply-to of its emails; gets new purchase requests."
    )
    bank_transfer_instructions = models.TextField(
        blank=True,
        max_length=2000,
        help_text="How to pay by bank transfer (bank, IBAN, account holder); sent with every purchase request.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("organization")
        verbose_name_plural = gettext_lazy("organizations")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(credit_price__gte=0), name="org_credit_price_gte_0")]

    def __str__(self) -> str:
        return self.name


class CreditPriceChange(models.Model):
    """History of the organization's credit price (append-only)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="price_history")
    credit_price_before = models.DecimalField(max_digits=12, decimal_places=2)
    credit_price_after = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("credit price change")
        verbose_name_plural = gettext_lazy("credit price changes")
        ordering = ["-created_at"]


class StaffRole(models.Model):
    class Role(models.TextChoices):
        ADMIN = "ADMIN", "Admin"
        FRONT_DESK = "FRONT_DESK", "Front desk"
        INSTRUCTOR = "INSTRUCTOR", "Instructor"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="staff_roles")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_roles")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("staff role")
        verbose_name_plural = gettext_lazy("staff roles")
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="staffrole_one_per_org")]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} @ {self.organization.slug}"


class Member(models.Model):
    """A rider in one studio. The cached fields are kept true by the services that change them."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        INACTIVE = "INACTIVE", "Inactive"
        SUSPENDED = "SUSPENDED", "Suspended"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    # What this studio knows of the person (DOMAIN.md 1): another studio never reads or writes it.
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    language = models.CharField(
        max_length=2, choices=LANGUAGES, null=True, blank=True, help_text="Empty: the studio's language."
    )
    # Names and phone folded for search (members_app/search.py); the database keeps it true.
    search_key = models.GeneratedField(
        expression=Concat(
            fold_expression(Concat("first_name", Value(" "), "last_name")),
            Value(" "),
            "phone",
            Value(" "),
            strip_phone_separators(F("phone")),
        ),
        output_field=models.CharField(max_length=400),
        db_persist=True,
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Cached: sum of the remaining credits of the member's lots == balance_after of the last ledger row.
    credit_balance = models.IntegerField(default=0, editable=False)
    # Number of ledger rows written for this member; each row takes the next number, so two
    # writers that did not lock the member cannot both append (unique constraint on the ledger).
    ledger_seq = models.PositiveIntegerField(default=0, editable=False)
    is_elite_member = models.BooleanField(default=False, editable=False)
    has_all_access = models.BooleanField(default=False, editable=False)
    all_access_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    friend_passes_available = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("member")
        verbose_name_plural = gettext_lazy("members")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="member_one_per_org"),
            models.CheckConstraint(condition=Q(credit_balance__gte=0), name="member_balance_gte_0"),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.user.email}>"

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def full_name(self) -> str:
        """The name this studio knows the member by; the email when it has none."""
        return f"{self.first_name} {self.last_name}".strip() or self.user.email

    @property
    def effective_language(self) -> str:
        """The member's own language, else the studio's (DOMAIN.md 16)."""
        return self.language or self.organization.language


class CreditLot(models.Model):
    """Credits granted together, with one expiry. Spending takes from the soonest-expiring lot."""

    class Source(models.TextChoices):
        PACKAGE = "PACKAGE", "Package"
        BONUS = "BONUS", "Coupon bonus"
        MANUAL = "MANUAL", "Manual add"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="credit_lots")
    source = models.CharField(max_length=16, choices=Source.choices)
    credits_granted = models.PositiveIntegerField()
    remaining = models.IntegerField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    expired_at = models.DateTimeField(null=True, blank=True, help_text="When the expiry job took the rest.")
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="Its redemption was cancelled: nothing is ever added to it again."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("credit lot")
        verbose_name_plural = gettext_lazy("credit lots")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(remaining=0), name="lot_closed_holds_nothing"
            ),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="lot_remaining_gte_0"),
            models.CheckConstraint(condition=Q(remaining__lte=F("credits_granted")), name="lot_remaining_lte_granted"),
            models.CheckConstraint(condition=Q(credits_granted__gt=0), name="lot_granted_gt_0"),
        ]
        indexes = [
            models.Index(fields=["member", "expires_at"]),
            models.Index(fields=["expires_at"]),
            # the credits report reads only lots with credits left: years of spent lots stay out
            models.Index(fields=["organization", "expires_at"], condition=Q(remaining__gt=0), name="lot_live_by_org"),
        ]

    def __str__(self) -> str:
        return f"{self.remaining} of {self.credits_granted} credits ({self.get_source_display().lower()})"


class CreditTransaction(models.Model):
    """One row per change of a member's balance. Append-only: never edited, never deleted."""

    class Type(models.TextChoices):
        PURCHASE = "PURCHASE", "Purchase"
        BONUS = "BONUS", "Bonus"
        BOOKING_PAYMENT = "BOOKING_PAYMENT", "Booking payment"
        BOOKING_REFUND = "BOOKING_REFUND", "Booking refund"
        MANUAL_ADD = "MANUAL_ADD", "Manual add"
        MANUAL_DEDUCT = "MANUAL_DEDUCT", "Manual deduct"
        EXPIRATION = "EXPIRATION", "Expiration"
        REDEMPTION_CANCELLED = "REDEMPTION_CANCELLED", "Redemption cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="credit_transactions")
    seq = models.PositiveIntegerField(help_text="Position in the member's ledger, from 1.")
    type = models.CharField(max_length=24, choices=Type.choices)
    amount = models.IntegerField()
    balance_before = models.IntegerField()
    balance_after = models.IntegerField()
    lot = models.ForeignKey(CreditLot, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    # Plain references (no FK): members_app may not import the apps that depend on it.
    booking_id = models.UUIDField(null=True, blank=True, db_index=True)
    redemption_id = models.UUIDField(null=True, blank=True, db_index=True)
    performed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("credit transaction")
        verbose_name_plural = gettext_lazy("credit transactions")
        ordering = ["-seq"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_0"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_gte_0"),
            models.CheckConstraint(
                condition=Q(balance_after=F("balance_before") + F("amount")), name="ledger_balance_arithmetic"
            ),
            models.UniqueConstraint(fields=["member", "seq"], name="ledger_member_seq_unique"),
            # One charge and at most one refund per booking and lot: a booking is never paid or
            # refunded twice, whatever the code above does.
            models.UniqueConstraint(
                fields=["booking_id", "lot"],
                condition=Q(type="BOOKING_PAYMENT"),
                name="ledger_one_charge_per_booking_lot",
            ),
            models.UniqueConstraint(
                fields=["booking_id", "lot"],
                condition=Q(type="BOOKING_REFUND"),
                name="ledger_one_refund_per_booking_lot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.amount:+d} credits, balance {self.balance_after}"


class IdempotencyRecord(models.Model):
    """A POST that created something under an `Idempotency-Key` (DOMAIN.md 12).

    Written in the same transaction as what it created, so a crash loses both; the unique
    constraint makes a concurrent duplicate wait for the first and then replay it.
    """

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=64, help_text="Which operation, e.g. 'redeem' or 'booking'.")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    resource_id = models.UUIDField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(default=201)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "scope", "key"], name="idempotency_key_unique"),
        ]


class AuditLogEntry(models.Model):
    """One staff action that changed something (DOMAIN.md 18). Append-only: nobody edits it.

    Written by the service that made the change, inside its transaction (`members_app.audit.
    log_action`), so a rolled-back change leaves no entry and a committed one always has its
    entry. The object is named by type and id (no foreign key): the log sits in members_app and
    must be able to name rows of every app. On PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Empty: the system."
    )
    action = models.CharField(max_length=64, help_text="What was done, e.g. 'redemption.confirm'.")
    object_type = models.CharField(max_length=64, help_text="The kind of row, e.g. 'redemption'.")
    object_id = models.UUIDField()
    object_repr = models.CharField(max_length=200, blank=True, help_text="How the row read when it was changed.")
    reason = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = gettext_lazy("audit log entry")
        verbose_name_plural = gettext_lazy("audit log")
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_created"),
            models.Index(fields=["organization", "object_id", "-created_at"], name="audit_org_object"),
            models.Index(fields=["organization", "actor", "-created_at"], name="audit_org_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr or self.object_id}"


class Notification(models.Model):
    """One email, written to this outbox in the same transaction as the change that causes it
    (DOMAIN.md 15) and delivered after the commit (members_app/notifications/, docs/NOTIFICATIONS.md).

    Rendered when written (subject, text, HTML in the recipient's language), so what staff see
    is what was sent. A worker claims a row with one conditional UPDATE (QUEUED -> SENDING, or a
    SENDING row whose lease ran out), so two workers never send it twice."""

    class Kind(models.TextChoices):
        PURCHASE_REQUESTED = "purchase_requested", gettext_lazy("Purchase requested")
        PURCHASE_CONFIRMED = "purchase_confirmed", gettext_lazy("Package activated")
        PURCHASE_REJECTED = "purchase_rejected", gettext_lazy("Purchase rejected")
        PURCHASE_EXPIRED = "purchase_expired", gettext_lazy("Purchase request expired")
        REDEMPTION_CANCELLED = "redemption_cancelled", gettext_lazy("Package cancelled")
        BOOKING_CONFIRMED = "booking_confirmed", gettext_lazy("Booking confirmed")
        BOOKING_CANCELLED = "booking_cancelled", gettext_lazy("Booking cancelled")
        BOOKING_NO_SHOW = "booking_no_show", gettext_lazy("No-show")
        SESSION_CANCELLED = "session_cancelled", gettext_lazy("Class cancelled by the studio")
        WAITLIST_PROMOTED = "waitlist_promoted", gettext_lazy("Booked from the waitlist")
        WAITLIST_SKIPPED = "waitlist_skipped", gettext_lazy("Waitlist entry skipped")
        WAITLIST_EXPIRED = "waitlist_expired", gettext_lazy("Waitlist entry expired")
        CREDITS_EXPIRING = "credits_expiring", gettext_lazy("Credits expiring")
        ALL_ACCESS_ENDING = "all_access_ending", gettext_lazy("All Access ending")
        PASSWORD_RESET = "password_reset", gettext_lazy("Password reset")
        MEMBER_ADDED = "member_added", gettext_lazy("Added to a studio")

    class Status(models.TextChoices):
        QUEUED = "QUEUED", gettext_lazy("Queued")
        SENDING = "SENDING", gettext_lazy("Sending")
        SENT = "SENT", gettext_lazy("Sent")
        FAILED = "FAILED", gettext_lazy("Failed")

    class Audience(models.TextChoices):
        MEMBER = "MEMBER", gettext_lazy("Member")
        STUDIO = "STUDIO", gettext_lazy("Studio")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Empty only for a password reset (an account's, not a studio's).
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications")
    audience = models.CharField(
        max_length=8, choices=Audience.choices, default=Audience.MEMBER, help_text="STUDIO: the studio's own copy."
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    language = models.CharField(max_length=2, choices=LANGUAGES)
    to_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A SENDING row's lease.")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # "Sent once each" (reminders): a second row with the same key in a studio is never written.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True)
    # Plain references (no FK): members_app may not import the apps that depend on it.
    booking_id = models.UUIDField(null=True, blank=True)
    redemption_id = models.UUIDField(null=True, blank=True)
    session_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("notification")
        verbose_name_plural = gettext_lazy("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="notification_dedupe_unique",
            ),
        ]
        indexes = [
            # the delivery sweep: what is due
            models.Index(
                fields=["next_attempt_at"], condition=Q(status__in=["QUEUED", "SENDING"]), name="notification_due"
            ),
            models.Index(fields=["member", "-created_at"], name="notification_member_created"),
            models.Index(fields=["organization", "-created_at"], name="notification_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.to_email} ({self.status})"
