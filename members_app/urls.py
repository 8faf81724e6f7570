from django.urls import re_path

from members_app import api
from spinning.routers import ApiRouter

router = ApiRouter()
router.register("members", api.MemberViewSet, basename="member")
router.register("organization/price-history", api.PriceHistoryViewSet, basename="price-history")

urlpatterns = [
    re_path(r"^auth/register/?$", api.RegisterView.as_view(), name="auth-register"),
    re_path(r"^auth/token/?$", api.TokenView.as_view(), name="auth-token"),
    re_path(r"^organization/?$", api.OrganizationView.as_view(), name="organization"),
    *router.urls,
]
