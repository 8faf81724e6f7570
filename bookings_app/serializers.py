"""Shapes of API.md "Schedule" and "Bookings". No business rule here: services decide."""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from bookings_app.models import (
    AllAccessUsage,
    Booking,
    Instructor,
    Location,
    RideClass,
    Seat,
    SeatLayout,
    Session,
    WaitlistEntry,
)
from bookings_app.services import PAYMENT_METHODS
from spinning.limits import LONG_TEXT_MAX_LENGTH


# --- schedule ---------------------------------------------------------------------------------------
class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "address", "created_at"]
        read_only_fields = ["id", "created_at"]


class RideClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = RideClass
        fields = [
            "id",
            "name",
            "name_tr",
            "description",
            "description_tr",
            "music_genre",
            "music_genre_tr",
            "duration_minutes",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "description": {"max_length": LONG_TEXT_MAX_LENGTH},
            "description_tr": {"max_length": LONG_TEXT_MAX_LENGTH},
        }


class InstructorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instructor
        fields = ["id", "name", "bio", "is_active"]
        read_only_fields = ["id"]
        extra_kwargs = {"bio": {"max_length": LONG_TEXT_MAX_LENGTH}, "is_active": {"default": True}}


class SeatSerializer(serializers.ModelSerializer):
    is_bookable = serializers.BooleanField(read_only=True)
    layout_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Seat
        fields = ["id", "layout_id", "label", "row", "column", "type", "credit_cost", "is_active", "is_bookable"]
        read_only_fields = ["id", "layout_id", "row", "column", "is_bookable"]

    def validate_credit_cost(self, value):
        if value < 1:
            raise serializers.ValidationError(gettext_lazy("At least 1."))
        return value


class SeatLayoutSerializer(serializers.ModelSerializer):
    location_id = serializers.UUIDField(read_only=True)
    seats = SeatSerializer(many=True, read_only=True)

    class Meta:
        model = SeatLayout
        fields = ["id", "location_id", "name", "rows", "columns", "seats", "created_at"]
        read_only_fields = fields


class SeatSpecSerializer(serializers.Serializer):
    row = serializers.IntegerField(min_value=1)
    column = serializers.IntegerField(min_value=1)
    label = serializers.CharField(max_length=16, required=False)
    type = serializers.ChoiceField(choices=Seat.Type.choices, default=Seat.Type.NORMAL)
    credit_cost = serializers.IntegerField(min_value=1, default=1)
    is_active = serializers.BooleanField(default=True)


class SeatLayoutCreateSerializer(serializers.Serializer):
    location_id = serializers.UUIDField()
    name = serializers.CharField(max_length=200)
    rows = serializers.IntegerField(min_value=1, max_value=26)
    columns = serializers.IntegerField(min_value=1, max_value=50)
    seats = SeatSpecSerializer(many=True, required=False, help_text="Omit for a full grid of NORMAL bikes.")


class SeatLayoutUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = SeatLayout
        fields = ["name"]


class _Ref(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class _ClassRef(_Ref):
    name_tr = serializers.CharField()


class SessionSerializer(serializers.Serializer):
    """The timetable row, as the schema documents it. It only declares the shape: the rows are
    rendered by `session_rows` from `.values()` (list and detail alike; a test checks the keys)."""

    id = serializers.UUIDField()
    class_ = _ClassRef()
    instructor = _Ref()
    location = _Ref()
    seat_layout_id = serializers.UUIDField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Session.Status.choices)
    capacity = serializers.IntegerField()
    booked_count = serializers.IntegerField()
    available_spots = serializers.IntegerField()
    booking_opens_at = serializers.DateTimeField(help_text="When the caller may book (priority holders earlier).")
    my_booking_id = serializers.UUIDField(allow_null=True, help_text="The caller's live booking, if any.")
    waitlist_count = serializers.IntegerField(help_text="Riders WAITING for a spot.")
    my_waitlist_entry_id = serializers.UUIDField(allow_null=True, help_text="The caller's WAITING entry, if any.")

    def get_fields(self):
        fields = super().get_fields()
        return {("class" if name == "class_" else name): field for name, field in fields.items()}


# One field to render timestamps exactly as DRF does (ISO-8601 in the active zone, `Z` for UTC);
# unbound, it holds no per-request state.
_DATETIME = serializers.DateTimeField()


def time_renderer():
    """`_DATETIME.to_representation` with the active zone looked up once (per page, not per value):
    DRF's ISO-8601 rendering of an aware datetime is `astimezone(active zone).isoformat()` with
    `+00:00` written `Z`. Anything else (another DATETIME_FORMAT, a naive or out-of-range value)
    goes to DRF's field itself."""
    if str(api_settings.DATETIME_FORMAT).lower() != ISO_8601:
        return _DATETIME.to_representation
    zone = timezone.get_current_timezone()

    def render(value):
        if not value:
            return None
        if value.utcoffset() is None:
            return _DATETIME.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return _DATETIME.to_representation(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


# The columns of a timetable row, read with `.values()` (`my_booking_id` and
# `my_waitlist_entry_id` when the caller is a member).
SESSION_LIST_VALUES = (
    "id",
    "ride_class_id",
    "ride_class__name",
    "ride_class__name_tr",
    "instructor_id",
    "instructor__name",
    "location_id",
    "location__name",
    "seat_layout_id",
    "starts_at",
    "ends_at",
    "status",
    "capacity",
    "booked_count",
    "waitlist_count",
)
MEMBER_SESSION_VALUES = ("my_booking_id", "my_waitlist_entry_id")


def session_values(queryset, *, member) -> QuerySet:
    """`queryset` (from `selectors.session_list`) as the `.values()` rows `session_rows` renders."""
    return queryset.values(*SESSION_LIST_VALUES, *(MEMBER_SESSION_VALUES if member is not None else ()))


def session_rows(rows, *, opens_at) -> list[dict]:
    """The one renderer of timetable rows (GET /api/sessions and /api/sessions/{id}), as plain
    dicts in the shape SessionSerializer documents, without a serializer and its fields per row.
    `rows` come from `session_values`; `opens_at(starts_at)` is when booking opens for the caller."""
    render_time = time_renderer()
    out = []
    for row in rows:
        my_booking_id = row.get("my_booking_id")
        my_entry_id = row.get("my_waitlist_entry_id")
        out.append(
            {
                "id": str(row["id"]),
                "class": {
                    "id": str(row["ride_class_id"]),
                    "name": row["ride_class__name"],
                    "name_tr": row["ride_class__name_tr"],
                },
                "instructor": {"id": str(row["instructor_id"]), "name": row["instructor__name"]},
                "location": {"id": str(row["location_id"]), "name": row["location__name"]},
                "seat_layout_id": str(row["seat_layout_id"]),
                "starts_at": render_time(row["starts_at"]),
                "ends_at": render_time(row["ends_at"]),
                "status": row["status"],
                "capacity": row["capacity"],
                "booked_count": row["booked_count"],
                "available_spots": max(0, row["capacity"] - row["booked_count"]),
                "booking_opens_at": render_time(opens_at(row["starts_at"])),
                "my_booking_id": str(my_booking_id) if my_booking_id else None,
                "waitlist_count": row["waitlist_count"] or 0,
                "my_waitlist_entry_id": str(my_entry_id) if my_entry_id else None,
            }
        )
    return out


def seat_rows(seats) -> list[dict]:
    """A session's seat map (`selectors.session_seats`) in the shape SessionSeatSerializer
    documents. A seat that cannot be booked (out of order, instructor's bike) has no price."""
    return [
        {
            "id": str(seat.pk),
            "label": seat.label,
            "row": seat.row,
            "column": seat.column,
            "type": seat.type,
            "credit_cost": seat.credit_cost if seat.is_bookable else None,
            "is_bookable": seat.is_bookable,
            "is_available": seat.is_available,
        }
        for seat in seats
    ]


class SessionSeatSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()
    row = serializers.IntegerField()
    column = serializers.IntegerField()
    type = serializers.ChoiceField(choices=Seat.Type.choices)
    credit_cost = serializers.IntegerField(allow_null=True, help_text="Null for a seat that cannot be booked.")
    is_bookable = serializers.BooleanField()
    is_available = serializers.BooleanField()


class SessionDetailSerializer(SessionSerializer):
    """A timetable row with its seat map (schema only: rendered by `session_rows` + `seat_rows`)."""

    seats = SessionSeatSerializer(many=True)


class SessionCreateSerializer(serializers.Serializer):
    class_id = serializers.UUIDField()
    instructor_id = serializers.UUIDField()
    location_id = serializers.UUIDField()
    seat_layout_id = serializers.UUIDField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class SessionUpdateSerializer(serializers.Serializer):
    class_id = serializers.UUIDField(required=False)
    instructor_id = serializers.UUIDField(required=False)
    capacity = serializers.IntegerField(min_value=1, required=False)


# --- bookings ---------------------------------------------------------------------------------------
class _SeatRef(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()
    credit_cost = serializers.IntegerField()


class BookingSessionSerializer(serializers.Serializer):
    """What a member app shows of a booking's session without a second call."""

    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    class_name = serializers.CharField(source="ride_class.name")
    class_name_tr = serializers.CharField(source="ride_class.name_tr")
    instructor_name = serializers.CharField(source="instructor.name")
    location_name = serializers.CharField(source="location.name")


class BookingSerializer(serializers.Serializer):
    """The one renderer of a booking (every booking endpoint, the POST answer included). Declared
    fields only, no model introspection: a list builds them once, a single booking once per call.
    The booking needs its session's class, instructor and location loaded
    (`selectors.booking_list`; `services.booking_create` hands them over)."""

    id = serializers.UUIDField()
    session_id = serializers.UUIDField()
    session = BookingSessionSerializer()
    member_id = serializers.UUIDField()
    seat = _SeatRef(allow_null=True)
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    payment_type = serializers.ChoiceField(choices=Booking.PaymentType.choices)
    credit_cost = serializers.IntegerField()
    credits_used = serializers.IntegerField()
    package_redemption_id = serializers.UUIDField(source="redemption_id", allow_null=True)
    all_access_usage_id = serializers.SerializerMethodField()
    is_guest = serializers.BooleanField()
    guest_name = serializers.CharField(allow_blank=True)
    host_booking_id = serializers.UUIDField(allow_null=True)
    refunded = serializers.BooleanField()
    checked_in_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_all_access_usage_id(self, obj):
        if obj.payment_type != Booking.PaymentType.ALL_ACCESS:
            return None
        try:
            return str(obj.all_access_usage.pk)
        except AllAccessUsage.DoesNotExist:  # freed by an on-time cancel
            return None


class RosterEntrySerializer(BookingSerializer):
    member_name = serializers.CharField(source="member.full_name")
    member_email = serializers.CharField(source="member.email")
    checked_in = serializers.SerializerMethodField()

    def get_checked_in(self, obj) -> bool:
        return obj.checked_in_at is not None


class BookingCreateSerializer(serializers.Serializer):
    session_id = serializers.UUIDField()
    seat_id = serializers.UUIDField(required=False, allow_null=True)
    payment_method = serializers.ChoiceField(choices=PAYMENT_METHODS, default="AUTO")
    member_id = serializers.UUIDField(required=False, allow_null=True, help_text="Staff: the member to book for.")
    guest_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    host_booking_id = serializers.UUIDField(required=False, allow_null=True)


class BookingCancelSerializer(serializers.Serializer):
    refund = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Staff only: override the on-time rule."
    )


class AllAccessUsageSerializer(serializers.ModelSerializer):
    booking_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = AllAccessUsage
        fields = ["id", "usage_date", "slot", "booking_id", "was_no_show"]
        read_only_fields = fields


# --- waitlist ---------------------------------------------------------------------------------------
class WaitlistEntrySerializer(serializers.ModelSerializer):
    """API.md "Waitlist": `position` is 1-based among the session's WAITING entries, null otherwise
    (annotated by `selectors.waitlist_list`)."""

    session_id = serializers.UUIDField(read_only=True)
    member_id = serializers.UUIDField(read_only=True)
    booking_id = serializers.UUIDField(read_only=True, allow_null=True)
    position = serializers.SerializerMethodField()

    class Meta:
        model = WaitlistEntry
        fields = ["id", "session_id", "member_id", "status", "position", "booking_id", "joined_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_position(self, obj):
        return getattr(obj, "position", None)


class WaitlistJoinSerializer(serializers.Serializer):
    member_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Staff: the member to add (members join for themselves)."
    )
