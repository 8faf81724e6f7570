"""Routes of API.md "Schedule" and "Bookings".

Two routes live under other apps' prefixes and are explicit `re_path`s so they cannot collide
with those apps' routers: /api/members/{id}/bookings (members_app's router has no such action)
and /api/redemptions/{id}/all-access-usage (packages_app's `redemptions` router must not define
it either; spinning/urls.py includes packages_app before bookings_app).
"""

from django.urls import re_path

from bookings_app import api
from spinning.routers import ApiRouter

router = ApiRouter()
router.register("locations", api.LocationViewSet, basename="location")
router.register("seat-layouts", api.SeatLayoutViewSet, basename="seat-layout")
router.register("seats", api.SeatViewSet, basename="seat")
router.register("classes", api.RideClassViewSet, basename="class")
router.register("instructors", api.InstructorViewSet, basename="instructor")
router.register("sessions", api.SessionViewSet, basename="session")
router.register("bookings", api.BookingViewSet, basename="booking")
router.register("waitlist", api.WaitlistViewSet, basename="waitlist")

UUID = "[0-9a-fA-F-]{36}"

urlpatterns = [
    re_path(rf"^members/(?P<member_id>{UUID})/bookings/?$", api.MemberBookingsView.as_view(), name="member-bookings"),
    re_path(
        rf"^redemptions/(?P<redemption_id>{UUID})/all-access-usage/?$",
        api.RedemptionAllAccessUsageView.as_view(),
        name="redemption-all-access-usage",
    ),
    *router.urls,
]
