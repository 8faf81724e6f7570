"""Schedule and bookings (DOMAIN.md 7-10)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members_app.models import CreditLot, Member, Organization
from packages_app.models import Redemption


class Location(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="location_name_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class SeatLayout(models.Model):
    """A grid of seats at a location (rows lettered A.., columns numbered 1..)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="seat_layouts")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="seat_layouts")
    name = models.CharField(max_length=200)
    rows = models.PositiveIntegerField(default=5)
    columns = models.PositiveIntegerField(default=6)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("seat layout")
        verbose_name_plural = _("seat layouts")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="layout_name_unique_per_location")]

    def __str__(self) -> str:
        return f"{self.location} · {self.name}"


class Seat(models.Model):
    class Type(models.TextChoices):
        NORMAL = "NORMAL", "Normal bike"
        EXCLUSIVE = "EXCLUSIVE", "Exclusive bike"
        INSTRUCTOR = "INSTRUCTOR", "Instructor"
        PODIUM = "PODIUM", "Podium"
        ARCHITECTURAL_COLUMN = "ARCHITECTURAL_COLUMN", "Column"

    BOOKABLE_TYPES = (Type.NORMAL, Type.EXCLUSIVE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    layout = models.ForeignKey(SeatLayout, on_delete=models.CASCADE, related_name="seats")
    label = models.CharField(max_length=16)
    row = models.PositiveIntegerField()
    column = models.PositiveIntegerField()
    type = models.CharField(max_length=24, choices=Type.choices, default=Type.NORMAL)
    credit_cost = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True, help_text="Off: out of order, not bookable.")

    class Meta:
        ordering = ["row", "column"]
        constraints = [
            models.UniqueConstraint(fields=["layout", "row", "column"], name="seat_position_unique"),
            models.UniqueConstraint(fields=["layout", "label"], name="seat_label_unique"),
            models.CheckConstraint(condition=Q(credit_cost__gte=1), name="seat_credit_cost_gte_1"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_bookable(self) -> bool:
        return self.is_active and self.type in self.BOOKABLE_TYPES


class RideClass(models.Model):
    """A class format on the timetable (API: /api/classes)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="ride_classes")
    name = models.CharField(max_length=200)
    name_tr = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    description_tr = models.TextField(blank=True)
    music_genre = models.CharField(max_length=200, blank=True)
    music_genre_tr = models.CharField(max_length=200, blank=True)
    duration_minutes = models.PositiveIntegerField(default=50)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="class_name_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class Instructor(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="instructors")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    bio = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("instructor")
        verbose_name_plural = _("instructors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TimetableSlot(models.Model):
    """One class on the studio's weekly timetable (issue 12 item 6): every `weekday` at the
    studio-local `start_time`, in one room (a seat layout, at its location), with one instructor.
    `sessions_generate` turns it into sessions for the dates staff pick, skipping closed days."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="timetable_slots")
    ride_class = models.ForeignKey(
        RideClass, on_delete=models.PROTECT, related_name="timetable_slots", verbose_name=_("class")
    )
    instructor = models.ForeignKey(Instructor, on_delete=models.PROTECT, related_name="timetable_slots")
    seat_layout = models.ForeignKey(
        SeatLayout, on_delete=models.PROTECT, related_name="timetable_slots", verbose_name=_("room")
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(_("starts at"), help_text=_("Studio-local time, e.g. 18:30."))
    duration_minutes = models.PositiveIntegerField(
        _("minutes"), null=True, blank=True, help_text=_("Empty: the class's duration.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    valid_from = models.DateField(_("from"), null=True, blank=True, help_text=_("Empty: from now on."))
    valid_until = models.DateField(_("until"), null=True, blank=True, help_text=_("Empty: no end."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name = _("weekly class")
        verbose_name_plural = _("weekly classes")
        constraints = [
            models.UniqueConstraint(
                fields=["seat_layout", "weekday", "start_time", "ride_class"],
                name="timetable_slot_unique",
                violation_error_message=_("This class is already on the timetable in this room at that time."),
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6),
                name="timetable_weekday_0_6",
                violation_error_message=_("Choose a day of the week."),
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__gte=1),
                name="timetable_duration_gte_1",
                violation_error_message=_("A class lasts at least a minute."),
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="timetable_valid_until_after_from",
                violation_error_message=_("The last day is before the first day."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M} {self.ride_class}"

    @property
    def minutes(self) -> int:
        return self.duration_minutes or self.ride_class.duration_minutes


class ClosedDate(models.Model):
    """A studio-local day the studio is closed (a holiday): the timetable makes no session then."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="closed_dates")
    date = models.DateField(_("day"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, help_text=_("E.g. New Year's Day."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date"],
                name="closed_date_unique_per_org",
                violation_error_message=_("This day is already closed."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%a %d %b %Y}" + (f" ({self.reason})" if self.reason else "")


class Session(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED", "Scheduled"
        CANCELLED = "CANCELLED", "Cancelled"
        COMPLETED = "COMPLETED", "Completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sessions")
    ride_class = models.ForeignKey(RideClass, on_delete=models.PROTECT, related_name="sessions")
    instructor = models.ForeignKey(Instructor, on_delete=models.PROTECT, related_name="sessions")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="sessions")
    seat_layout = models.ForeignKey(SeatLayout, on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    # Live bookings (riders and guests) held on this session; moved with conditional F() updates
    # while the session row is locked. The check constraint refuses an oversell in the database.
    booked_count = models.PositiveIntegerField(default=0, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The weekly timetable's slot this session was generated from (None: scheduled by hand). With
    # the start it makes a generation idempotent: one session per slot and start, ever.
    timetable_slot = models.ForeignKey(
        TimetableSlot, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
            models.UniqueConstraint(fields=["timetable_slot", "starts_at"], name="session_one_per_slot_and_start"),
            models.CheckConstraint(condition=Q(booked_count__lte=F("capacity")), name="session_not_over_capacity"),
        ]
        indexes = [models.Index(fields=["organization", "starts_at"]), models.Index(fields=["status", "ends_at"])]

    def __str__(self) -> str:
        # Studio-local wall time: that is what staff and riders read on the timetable.
        from zoneinfo import ZoneInfo

        local = self.starts_at.astimezone(ZoneInfo(self.organization.timezone))
        return f"{self.ride_class}, {local:%a %d %b %Y, %H:%M}"


LIVE_BOOKING_STATUSES = ("CONFIRMED", "COMPLETED", "NO_SHOW")
LIVE = Q(status__in=LIVE_BOOKING_STATUSES)


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "CONFIRMED", "Confirmed"
        CANCELLED = "CANCELLED", "Cancelled"
        LATE_CANCELLED = "LATE_CANCELLED", "Late cancelled"
        NO_SHOW = "NO_SHOW", "No-show"
        COMPLETED = "COMPLETED", "Completed"

    class PaymentType(models.TextChoices):
        ALL_ACCESS = "ALL_ACCESS", "All Access"
        CREDIT = "CREDIT", "Credits"
        FRIEND_PASS = "FRIEND_PASS", "Friend pass"
        FREE = "FREE", "Free (comp)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="bookings")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="bookings")
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    payment_type = models.CharField(max_length=16, choices=PaymentType.choices)
    credit_cost = models.PositiveIntegerField(default=0)
    credits_used = models.PositiveIntegerField(default=0)
    redemption = models.ForeignKey(
        Redemption,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        help_text="The All Access or friend-pass redemption that paid.",
    )
    credit_lot = models.ForeignKey(CreditLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_guest = models.BooleanField(default=False)
    guest_name = models.CharField(max_length=200, blank=True)
    host_booking = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="guest_bookings"
    )
    refunded = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "seat"], condition=LIVE & Q(seat__isnull=False), name="booking_one_live_per_seat"
            ),
            models.UniqueConstraint(
                fields=["session", "member"], condition=LIVE & Q(is_guest=False), name="booking_one_live_per_member"
            ),
            models.UniqueConstraint(
                fields=["host_booking"], condition=LIVE & Q(is_guest=True), name="booking_one_live_guest_per_host"
            ),
            models.CheckConstraint(
                condition=Q(is_guest=False) | (Q(host_booking__isnull=False) & Q(payment_type="FRIEND_PASS")),
                name="booking_guest_has_host",
            ),
            models.CheckConstraint(
                condition=Q(credits_used__lte=F("credit_cost")), name="booking_credits_used_lte_cost"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "session", "status"]),
            models.Index(fields=["member", "status"]),
        ]

    def __str__(self) -> str:
        # Words, not ids (issue 12 item 8): who, which class when, which bike, what state.
        who = f"{self.guest_name} (guest)" if self.is_guest else self.member.full_name
        bike = f", bike {self.seat.label}" if self.seat_id else ""
        return f"{who}: {self.session}{bike} ({self.get_status_display().lower()})"


class AllAccessUsage(models.Model):
    """One ride taken on an All Access pass on one studio-local date (the session's start date).

    Freed (deleted) when the booking is cancelled on time; kept, `was_no_show`, when the rider
    does not come: the day stays used.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    redemption = models.ForeignKey(Redemption, on_delete=models.PROTECT, related_name="all_access_usages")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    usage_date = models.DateField()
    slot = models.PositiveIntegerField(default=1, help_text="1..daily_ride_limit")
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="all_access_usage")
    was_no_show = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["usage_date", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["redemption", "usage_date", "slot"], name="all_access_one_use_per_date_slot"
            ),
            models.CheckConstraint(condition=Q(slot__gte=1), name="all_access_slot_gte_1"),
        ]


class WaitlistEntry(models.Model):
    """A member waiting for a spot on a full session (DOMAIN.md 14), first come first served.

    Only WAITING entries are live: they hold a place in the queue (`sequence`, per session) and
    at most one per member per session. Every other state is final. A PROMOTED entry names the
    booking the promotion made; no other state does. Rows change only by conditional UPDATEs
    (`... WHERE status = 'WAITING'`), so two writers can never both move one entry.
    """

    class Status(models.TextChoices):
        WAITING = "WAITING", "Waiting"
        PROMOTED = "PROMOTED", "Promoted"
        SKIPPED = "SKIPPED", "Skipped"
        LEFT = "LEFT", "Left"
        REMOVED = "REMOVED", "Removed"
        EXPIRED = "EXPIRED", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="waitlist_entries")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="waitlist_entries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    # Place in the session's queue: 1, 2, 3 ... in the order members joined (written under the
    # session lock). Positions shown to people count WAITING entries only.
    sequence = models.PositiveIntegerField()
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entry"
    )
    # Why an entry was SKIPPED (the booking refusal code: insufficient_credits, ...).
    reason = models.CharField(max_length=40, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    joined_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "sequence"]
        verbose_name = "waitlist entry"
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "member"], condition=Q(status="WAITING"), name="waitlist_one_waiting_per_member"
            ),
            models.UniqueConstraint(fields=["session", "sequence"], name="waitlist_sequence_unique_per_session"),
            models.CheckConstraint(
                condition=(Q(status="PROMOTED") & Q(booking__isnull=False))
                | (~Q(status="PROMOTED") & Q(booking__isnull=True)),
                name="waitlist_promoted_has_booking",
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="waitlist_sequence_gte_1"),
        ]
        indexes = [
            models.Index(fields=["session", "status", "sequence"]),
            models.Index(fields=["member", "status"]),
        ]

    def __str__(self) -> str:
        # Words, not ids (issue 12 item 7): who, which class when, what state.
        return f"{self.member.full_name}, waitlist of {self.session} ({self.get_status_display()})"
