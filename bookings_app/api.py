"""HTTP endpoints of API.md "Schedule" and "Bookings". Thin: parse, call one service or selector,
render. Reference data (locations, classes, instructors, seat layouts and seats) is CRUD through its
services (bookings_app/services/reference.py, schedule.py), which write the audit log."""

import json
import uuid

from django.http import HttpResponse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, status
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings_app import selectors, services, timetable_cache
from bookings_app.filters import BookingFilter, SessionFilter, WaitlistFilter
from bookings_app.models import Instructor, Location, RideClass, Seat
from bookings_app.serializers import (
    AllAccessUsageSerializer,
    BookingCancelSerializer,
    BookingCreateSerializer,
    BookingSerializer,
    InstructorSerializer,
    LocationSerializer,
    RideClassSerializer,
    RosterEntrySerializer,
    SeatLayoutCreateSerializer,
    SeatLayoutSerializer,
    SeatLayoutUpdateSerializer,
    SeatSerializer,
    SessionCreateSerializer,
    SessionDetailSerializer,
    SessionSerializer,
    SessionUpdateSerializer,
    WaitlistEntrySerializer,
    WaitlistJoinSerializer,
    seat_rows,
    session_rows,
    session_values,
    time_renderer,
)
from members_app.api import member_for_caller
from members_app.idempotency import IdempotentReplay, idempotency_from_request
from packages_app.models import Redemption
from spinning import clock
from spinning.errors import Forbidden, Invalid, NotFound
from spinning.permissions import (
    IsMemberOrStaff,
    IsStaff,
    IsStaffOrInstructor,
    PublicReadAdminWrite,
)
from spinning.schema import IDEMPOTENCY_KEY, crud_schema, operation
from spinning.views import ORGANIZATION_HEADER, TenantMixin, TenantViewSet

UUID_REGEX = "[0-9a-fA-F-]{36}"


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


BOOKING_REFUSALS = [
    "session_not_bookable",
    "booking_not_open",
    "member_inactive",
    "already_booked",
    "daily_limit_reached",
    "insufficient_credits",
]
WAITLIST_JOIN_REFUSALS = [*BOOKING_REFUSALS, "already_waitlisted", "session_not_full", "waitlist_full"]


# --- reference data ---------------------------------------------------------------------------------
class _OrganizationCrud(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    permission_classes = [PublicReadAdminWrite]
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    model = None

    def get_queryset(self):
        return self.model.objects.filter(organization=self.organization)

    # the model's services: each writes the row and its audit entry in one transaction
    create_service = update_service = delete_service = None
    id_argument = ""

    def perform_create(self, serializer):
        serializer.instance = self.create_service(
            organization=self.organization, data=dict(serializer.validated_data), performed_by=self.request.user
        )

    def perform_update(self, serializer):
        serializer.instance = self.update_service(
            organization=self.organization,
            **{self.id_argument: serializer.instance.pk},
            data=dict(serializer.validated_data),
            performed_by=self.request.user,
        )

    def perform_destroy(self, instance):
        self.delete_service(
            organization=self.organization, **{self.id_argument: instance.pk}, performed_by=self.request.user
        )


@extend_schema(tags=["schedule"])
@crud_schema("location", "locations")
class LocationViewSet(_OrganizationCrud):
    serializer_class = LocationSerializer
    model = Location
    create_service = staticmethod(services.location_create)
    update_service = staticmethod(services.location_update)
    delete_service = staticmethod(services.location_delete)
    id_argument = "location_id"


@extend_schema(tags=["schedule"])
@crud_schema("class", "classes")
class RideClassViewSet(_OrganizationCrud):
    serializer_class = RideClassSerializer
    model = RideClass
    create_service = staticmethod(services.ride_class_create)
    update_service = staticmethod(services.ride_class_update)
    delete_service = staticmethod(services.ride_class_delete)
    id_argument = "class_id"


@extend_schema(tags=["schedule"])
@crud_schema("instructor", "instructors")
class InstructorViewSet(_OrganizationCrud):
    serializer_class = InstructorSerializer
    model = Instructor
    create_service = staticmethod(services.instructor_create)
    update_service = staticmethod(services.instructor_update)
    delete_service = staticmethod(services.instructor_delete)
    id_argument = "instructor_id"


@extend_schema(tags=["schedule"])
@extend_schema_view(
    retrieve=operation("Get one seat", "Public."),
    partial_update=operation(
        "Change a seat",
        "Staff ADMIN: its label, type, credit cost, or take it out of order (`is_active: false`). "
        "A label another seat of the layout has: 400.",
    ),
)
class SeatViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantViewSet):
    """One seat of a layout: ADMIN changes its label, type, credit cost or takes it out of order."""

    permission_classes = [PublicReadAdminWrite]
    serializer_class = SeatSerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return Seat.objects.filter(organization=self.organization)

    def perform_update(self, serializer):
        serializer.instance = services.seat_update(
            organization=self.organization,
            seat_id=serializer.instance.pk,
            data=dict(serializer.validated_data),
            performed_by=self.request.user,
        )


@extend_schema(tags=["schedule"])
@extend_schema_view(
    list=operation("List seat layouts", "Public. Each with its seats, by row and column."),
    retrieve=operation("Get one seat layout", "Public. With its seats, by row and column."),
    destroy=operation(
        "Delete a seat layout",
        "Staff ADMIN. Refused (409 `in_use`) while a session uses it.",
        errors=[(409, ["in_use"])],
    ),
)
class SeatLayoutViewSet(_OrganizationCrud):
    serializer_class = SeatLayoutSerializer
    delete_service = staticmethod(services.seat_layout_delete)
    id_argument = "layout_id"

    def get_queryset(self):
        return selectors.seat_layout_list(organization=self.organization)

    @operation(
        "Create a seat layout",
        "Staff ADMIN. A grid of `rows` x `columns`; without `seats`, every position is a NORMAL bike "
        "(A1, A2, ...); with `seats`, only the positions listed.",
        request=SeatLayoutCreateSerializer,
        responses={201: SeatLayoutSerializer},
    )
    def create(self, request):
        """A grid of seats; without `seats`, every position is a NORMAL bike (A1, A2, ...)."""
        serializer = SeatLayoutCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        layout = services.seat_layout_create(
            organization=self.organization, performed_by=request.user, **serializer.validated_data
        )
        layout = self.get_queryset().get(pk=layout.pk)
        return Response(SeatLayoutSerializer(layout).data, status=status.HTTP_201_CREATED)

    @operation(
        "Rename a seat layout",
        "Staff ADMIN. Its seats change one by one (`PATCH /api/seats/{id}`).",
        request=SeatLayoutUpdateSerializer,
        responses={200: SeatLayoutSerializer},
    )
    def partial_update(self, request, pk=None):
        layout = self.get_object()
        serializer = SeatLayoutUpdateSerializer(layout, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.seat_layout_update(
            organization=self.organization,
            layout_id=layout.pk,
            name=serializer.validated_data.get("name"),
            performed_by=request.user,
        )
        return Response(SeatLayoutSerializer(self.get_queryset().get(pk=layout.pk)).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)


# --- sessions ---------------------------------------------------------------------------------------
@extend_schema(tags=["schedule"])
class SessionViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    lookup_value_regex = UUID_REGEX

    def get_permissions(self):
        if self.action == "cancel":
            return [IsStaff()]
        if self.action == "roster":
            return [IsStaffOrInstructor()]
        if self.action == "waitlist":
            return [IsStaff()] if self.request.method == "GET" else [IsMemberOrStaff()]
        return [PublicReadAdminWrite()]

    def _member(self):
        if getattr(self, "swagger_fake_view", False) or not self.request.user.is_authenticated:
            return None
        return self.tenant.member

    def get_queryset(self):
        return selectors.session_list(organization=self.organization, member=self._member())

    def _opens_at(self, member):
        """When booking opens for the caller, per session start (priority holders earlier)."""
        priority = selectors.member_has_priority(member=member, now=clock.now())
        organization = self.organization

        def opens_at(starts_at):
            return selectors.booking_opens_at_for(starts_at, organization=organization, priority=priority)

        return opens_at

    @operation(
        "The timetable",
        "Public (send `X-Organization`). Sessions by start time with availability, when booking opens for "
        "the caller (`booking_opens_at`; priority holders earlier) and, for a member, their booking and "
        "waitlist entry. `from`/`to`: a studio-local date (inclusive) or an ISO-8601 timestamp.",
        responses=SessionSerializer(many=True),
    )
    def list(self, request, *args, **kwargs):
        """The timetable with availability, when booking opens for the caller, and the caller's booking."""
        # The studio's settings the rows depend on are in the key, so changing them (PATCH
        # /api/organization) needs no bump; the scheme too (the pagination links are absolute).
        org = self.organization
        request_key = (
            f"{request.scheme}|{request.get_host()}|{request.get_full_path()}|"
            f"{org.timezone}|{org.booking_window_days}|{org.priority_booking_hours}"
        )
        page, mine, priority = timetable_cache.personal_page(
            organization_id=org.pk, request_key=request_key, member=self._member(), build=self._shared_page
        )
        body = page.body(mine, priority)
        renderer = request.accepted_renderer
        if type(renderer) is JSONRenderer and "indent" not in (request.accepted_media_type or ""):
            # The page is already JSON, rendered as JSONRenderer renders it: sent as it is.
            return HttpResponse(body, content_type=renderer.media_type)
        return Response(json.loads(body))  # the browsable API, or JSON asked to be indented

    def _shared_page(self) -> timetable_cache.Page:
        """What every caller of this page sees alike (timetable_cache), rendered: the rows as
        anyone but a priority holder sees them, without the caller's own ids, each row's opening
        for a priority holder, and the page's links."""
        rows = session_values(self.filter_queryset(self.get_queryset_shared()), member=None)
        page = self.paginate_queryset(rows)
        shown = page if page is not None else list(rows)
        rendered = session_rows(shown, opens_at=self._opens_at(None))
        organization, render_time = self.organization, time_renderer()
        priority_opens = [
            render_time(selectors.booking_opens_at_for(row["starts_at"], organization=organization, priority=True))
            for row in shown
        ]
        paginated = None
        if page is not None:
            paginated = {k: v for k, v in self.get_paginated_response([]).data.items() if k != "results"}
        return timetable_cache.render_page(
            rendered, starts=[row["starts_at"] for row in shown], priority_opens=priority_opens, paginated=paginated
        )

    def get_queryset_shared(self):
        return selectors.session_list(organization=self.organization, member=None)

    def _detail(self, pk, status_code=status.HTTP_200_OK):
        """The timetable row of one session (the list's renderer) with its seat map."""
        member = self._member()
        row = session_values(self.get_queryset(), member=member).filter(pk=pk).first() if _is_uuid(pk) else None
        if row is None:
            raise NotFound(gettext_lazy("No such session."))
        seats = selectors.session_seats(
            session_id=row["id"], seat_layout_id=row["seat_layout_id"], status=row["status"]
        )
        (data,) = session_rows([row], opens_at=self._opens_at(member))
        return Response({**data, "seats": seat_rows(seats)}, status=status_code)

    @operation(
        "One session with its seat map",
        "Public. The timetable row and every seat of its layout: whether it can be booked at all "
        "(`is_bookable`; such a seat has no `credit_cost`) and is free now (`is_available`).",
        responses={200: SessionDetailSerializer},
    )
    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @operation(
        "Schedule a session",
        "Staff ADMIN. `capacity` defaults to the layout's bookable bikes (and may not exceed them).",
        request=SessionCreateSerializer,
        responses={201: SessionDetailSerializer},
    )
    def create(self, request):
        serializer = SessionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_create(
            organization=self.organization, performed_by=request.user, **serializer.validated_data
        )
        return self._detail(session.pk, status.HTTP_201_CREATED)

    @operation(
        "Change a session's capacity, instructor or class",
        "Staff ADMIN. `capacity`: 1 to the layout's bookable bikes (400 otherwise), never below "
        "the live bookings (409 `capacity_below_bookings`); raising it books waiting riders from the "
        "waitlist onto the new spots (DOMAIN.md 14) before this answers.",
        request=SessionUpdateSerializer,
        responses={200: SessionDetailSerializer},
        errors=[(409, ["capacity_below_bookings"])],
    )
    def partial_update(self, request, pk=None):
        serializer = SessionUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.session_update(
            organization=self.organization, session_id=pk, data=serializer.validated_data, performed_by=request.user
        )
        return self._detail(pk)

    @operation(
        "Cancel a session",
        "Staff. Every booking on it is cancelled with a full refund and the riders are told; the "
        "waitlist ends. A session already cancelled or completed: 409 `invalid_state`.",
        request=None,
        responses={200: SessionDetailSerializer},
        errors=[(409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Staff cancel the session: every booking on it is cancelled with a full refund."""
        services.session_cancel(organization=self.organization, session_id=pk, cancelled_by=request.user)
        return self._detail(pk)

    @operation(
        "Join a full session's waitlist",
        "A member joins for themselves; staff add a member (`member_id`). Only a session "
        "without a free spot; the member must be able to book it now and to pay its cheapest bike "
        "(All Access with a free ride that day, or enough credits); nothing is taken until a spot "
        "frees and the entry is promoted (DOMAIN.md 14).",
        methods=["POST"],
        request=WaitlistJoinSerializer,
        responses={201: WaitlistEntrySerializer},
        errors=[(409, WAITLIST_JOIN_REFUSALS)],
    )
    @operation(
        "A session's waitlist",
        "Staff: every entry of the session, first come first (WAITING ones carry their 1-based `position`).",
        methods=["GET"],
        request=None,
        responses={200: WaitlistEntrySerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"])
    def waitlist(self, request, pk=None):
        if request.method == "GET":
            session = selectors.session_get(organization=self.organization, session_id=pk)
            queryset = selectors.waitlist_list(organization=self.organization).filter(session=session)
            page = self.paginate_queryset(queryset.order_by("sequence"))
            return self.get_paginated_response(WaitlistEntrySerializer(page, many=True).data)
        serializer = WaitlistJoinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member_id = _member_for_request(self.tenant, serializer.validated_data.get("member_id"))
        entry = services.waitlist_join(
            organization=self.organization,
            session_id=pk,
            member_id=member_id,
            added_by=request.user if self.tenant.is_staff else None,
        )
        rendered = selectors.waitlist_get(organization=self.organization, entry_id=entry.pk)
        return Response(WaitlistEntrySerializer(rendered).data, status=status.HTTP_201_CREATED)

    @operation(
        "A session's roster",
        "Staff or the session's instructor. Live bookings (riders and guests) with names, bikes and "
        "check-in state, by bike.",
        responses={200: RosterEntrySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def roster(self, request, pk=None):
        """Live bookings of the session (riders and guests) with names, bikes and check-in state."""
        session = selectors.session_get(organization=self.organization, session_id=pk)
        queryset = selectors.session_roster(organization=self.organization, session=session)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RosterEntrySerializer(page, many=True).data)


def _member_for_request(tenant, member_id):
    """Who a booking-like request is for: staff name `member_id` (or act for their own member
    record); a member acts only for themselves (403 when naming another)."""
    if tenant.is_staff:
        if member_id is None:
            if tenant.member is None:
                raise Invalid({"member_id": gettext_lazy("Name the member.")})
            return tenant.member.pk
        return member_id
    if member_id is not None and member_id != tenant.member.pk:
        raise Forbidden(gettext_lazy("Members act for themselves; staff act for others."))
    return tenant.member.pk


# --- waitlist ---------------------------------------------------------------------------------------
@extend_schema(tags=["waitlist"])
class WaitlistViewSet(mixins.ListModelMixin, TenantViewSet):
    """API.md "Waitlist": staff see every entry (filters), a member their own."""

    serializer_class = WaitlistEntrySerializer
    filterset_class = WaitlistFilter
    lookup_value_regex = UUID_REGEX
    permission_classes = [IsMemberOrStaff]

    def get_queryset(self):
        queryset = selectors.waitlist_list(organization=self.organization).order_by("-joined_at", "pk")
        if getattr(self, "swagger_fake_view", False) or self.tenant.is_staff:
            return queryset
        return queryset.filter(member=self.tenant.member)

    @operation(
        "Waitlist entries",
        "Staff: every entry of the studio (`session_id`, `member_id`, `status`); a member: their "
        "own. Newest first; `position` is 1-based among the session's WAITING entries, null otherwise.",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @operation(
        "One waitlist entry",
        "Staff, or the member whose entry it is (another member's answers 404).",
        responses={200: WaitlistEntrySerializer},
    )
    def retrieve(self, request, pk=None):
        entry = self.get_queryset().filter(pk=pk).first()
        if entry is None:
            raise NotFound(gettext_lazy("No such waitlist entry."))
        return Response(WaitlistEntrySerializer(entry).data)

    @operation(
        "Leave a waitlist (member) or remove an entry (staff)",
        "A member's own entry becomes LEFT; staff make any entry REMOVED. Only a WAITING entry.",
        request=None,
        responses={200: WaitlistEntrySerializer},
        errors=[(409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        tenant = self.tenant
        entry = services.waitlist_leave(
            organization=self.organization,
            entry_id=pk,
            member=None if tenant.is_staff else tenant.member,
            by_staff=tenant.is_staff,
            performed_by=request.user,
        )
        return Response(
            WaitlistEntrySerializer(selectors.waitlist_get(organization=self.organization, entry_id=entry.pk)).data
        )


# --- bookings ---------------------------------------------------------------------------------------
@extend_schema(tags=["bookings"])
@extend_schema_view(
    list=operation(
        "Bookings",
        "Staff: every booking of the studio (`session_id`, `member_id`, `status`, `payment_type`, `from`/`to` "
        "on the session's start); a member: their own. By session start, latest first; `upcoming=true`: "
        "CONFIRMED bookings not started yet, soonest first (a member's coming rides).",
    )
)
class BookingViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    lookup_value_regex = UUID_REGEX

    def get_permissions(self):
        if self.action in ("check_in", "undo_check_in"):
            return [IsStaffOrInstructor()]
        if self.action == "no_show":
            return [IsStaff()]
        return [IsMemberOrStaff()]

    def get_queryset(self):
        queryset = selectors.booking_list(organization=self.organization)
        if getattr(self, "swagger_fake_view", False) or self.tenant.is_staff:
            return queryset
        return queryset.filter(member=self.tenant.member)

    def _render(self, booking_id, status_code=status.HTTP_200_OK):
        booking = selectors.booking_get(organization=self.organization, booking_id=booking_id)
        return Response(BookingSerializer(booking).data, status=status_code)

    @operation(
        "Book a bike",
        "Member (for themselves) or staff (`member_id`). Payment `AUTO`: All Access for the session's day, "
        "else credits (the bike's credit cost, 1 without a bike). Staff may make `FREE` comps; "
        "`FRIEND_PASS` brings a guest on the member's own booking (`host_booking_id`, `guest_name`). "
        "Send an `Idempotency-Key` to retry safely: the same key and body answer the same booking.",
        request=BookingCreateSerializer,
        responses={201: BookingSerializer},
        parameters=[IDEMPOTENCY_KEY],
        errors=[
            (403, ["permission_denied"]),
            (404, ["not_found"]),
            (
                409,
                [
                    *BOOKING_REFUSALS,
                    "seat_unavailable",
                    "seat_taken",
                    "session_full",
                    "friend_pass_unavailable",
                    "host_booking_required",
                    "idempotency_key_reused",
                ],
            ),
        ],
    )
    def create(self, request):
        """Book a bike. Payment AUTO: All Access for the session's day, else credits (the bike's
        credit cost, 1 without a bike). Staff may book for `member_id` and make FREE comps;
        FRIEND_PASS brings a guest on the member's own booking (`host_booking_id`, `guest_name`)."""
        serializer = BookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = self.tenant
        member_id = data.get("member_id")
        if tenant.is_staff:
            if member_id is None and tenant.member is not None and data["payment_method"] != "FRIEND_PASS":
                member_id = tenant.member.pk
        else:
            if member_id is not None and member_id != tenant.member.pk:
                raise Forbidden(gettext_lazy("Members book for themselves; staff book for others."))
            member_id = tenant.member.pk
        idem = idempotency_from_request(request, scope="booking", data=request.data)
        try:
            booking = services.booking_create(
                organization=self.organization,
                session_id=data["session_id"],
                member_id=member_id,
                seat_id=data.get("seat_id"),
                payment_method=data["payment_method"],
                guest_name=data.get("guest_name", ""),
                host_booking_id=data.get("host_booking_id"),
                booked_by=request.user,
                by_staff=tenant.is_staff,
                idem=idem,
            )
        except IdempotentReplay as replay:
            return self._render(replay.resource_id, replay.status)
        # Rendered from the service's objects (session with its class, instructor and location,
        # seat, All Access usage in hand), not read back: the same JSON as GET /api/bookings/{id}
        # (a test compares them).
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)

    @operation("One booking", "Staff, or the member whose booking it is (another's answers 404).")
    def retrieve(self, request, pk=None):
        booking = self.get_queryset().filter(pk=pk).first()
        if booking is None:
            raise NotFound(gettext_lazy("No such booking."))
        return Response(BookingSerializer(booking).data)

    @operation(
        "Cancel a booking",
        "Staff, or the member whose booking it is. On time (before the cancellation window) everything "
        "that paid goes back; late, nothing does (`LATE_CANCELLED`). Staff may pass `refund` to decide. "
        "A booking that is not CONFIRMED: 409 `invalid_state`.",
        request=BookingCancelSerializer,
        responses={200: BookingSerializer},
        errors=[(409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel; on time (cancellation window) everything that paid goes back, late nothing does.
        Staff may pass `refund` to decide."""
        serializer = BookingCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = self.tenant
        booking = services.booking_cancel(
            organization=self.organization,
            booking_id=pk,
            cancelled_by=request.user,
            by_staff=tenant.is_staff,
            refund=serializer.validated_data.get("refund") if tenant.is_staff else None,
            member=None if tenant.is_staff else tenant.member,
        )
        return self._render(booking.pk)

    @operation(
        "Check a rider in",
        "Staff or the session's instructor check a confirmed booking in, inside the "
        "check-in window: from `check_in_opens_minutes` before the start until the no-show time "
        "(`ends_at + no_show_grace_minutes`). Checking in twice changes nothing.",
        request=None,
        responses={200: BookingSerializer},
        errors=[(409, ["check_in_not_open", "invalid_state"])],
    )
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        booking = services.booking_check_in(organization=self.organization, booking_id=pk, performed_by=request.user)
        return self._render(booking.pk)

    @operation(
        "Undo a check-in",
        "Staff or the session's instructor undo a check-in made by mistake, until "
        "the session is closed; the booking answers with `checked_in_at` null.",
        request=None,
        responses={200: BookingSerializer},
        errors=[(409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"], url_path="undo-check-in")
    def undo_check_in(self, request, pk=None):
        booking = services.booking_undo_check_in(
            organization=self.organization, booking_id=pk, performed_by=request.user
        )
        return self._render(booking.pk)

    @operation(
        "Mark a no-show",
        "Staff. A confirmed booking whose rider did not come; what paid for it stays spent. "
        "Not CONFIRMED: 409 `invalid_state`.",
        request=None,
        responses={200: BookingSerializer},
        errors=[(409, ["invalid_state"])],
    )
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        booking = services.booking_mark_no_show(
            organization=self.organization, booking_id=pk, performed_by=request.user
        )
        return self._render(booking.pk)


@extend_schema(tags=["members"], parameters=[ORGANIZATION_HEADER])
@extend_schema_view(
    get=operation(
        "A member's bookings",
        "Staff, or the member themself (another member: 404). Filters and order as `GET /api/bookings`.",
    )
)
class MemberBookingsView(TenantMixin, generics.ListAPIView):
    """GET /api/members/{id}/bookings: the member's bookings (staff, or the member themself)."""

    permission_classes = [IsMemberOrStaff]
    serializer_class = BookingSerializer
    filterset_class = BookingFilter

    def get_queryset(self):
        queryset = selectors.booking_list(organization=self.organization)
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(member=member_for_caller(self.tenant, self.kwargs["member_id"]))


@extend_schema(tags=["packages"], parameters=[ORGANIZATION_HEADER])
@extend_schema_view(
    get=operation(
        "The days an All Access was ridden",
        "Staff, or the member whose redemption it is. A plain array (at most all_access_days x "
        "daily_ride_limit rows), by date.",
        responses={200: AllAccessUsageSerializer(many=True)},
    )
)
class RedemptionAllAccessUsageView(TenantMixin, APIView):
    """GET /api/redemptions/{id}/all-access-usage: the days an All Access was ridden (a plain list,
    as API.md shows it; at most all_access_days x daily_ride_limit rows)."""

    permission_classes = [IsMemberOrStaff]

    def get(self, request, redemption_id):
        tenant = self.tenant
        redemption = Redemption.objects.filter(organization=self.organization, pk=redemption_id).first()
        if redemption is None or not (tenant.is_staff or (tenant.member and redemption.member_id == tenant.member.pk)):
            raise NotFound(gettext_lazy("No such redemption."))
        usages = selectors.all_access_usage_list(organization=self.organization, redemption=redemption)
        return Response(AllAccessUsageSerializer(usages, many=True).data)
