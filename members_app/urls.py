from django.urls import re_path

from members_app import api, api_auth, audit_api, notifications_api
from spinning.routers import ApiRouter

router = ApiRouter()
router.register("members", api.MemberViewSet, basename="member")
router.register("notifications", notifications_api.NotificationViewSet, basename="notification")
router.register("audit-log", audit_api.AuditLogViewSet, basename="audit-log")
router.register("organization/price-history", api.PriceHistoryViewSet, basename="price-history")

urlpatterns = [
    re_path(r"^auth/register/?$", api.RegisterView.as_view(), name="auth-register"),
    re_path(r"^auth/token/?$", api_auth.TokenView.as_view(), name="auth-token"),
    re_path(r"^auth/logout/?$", api_auth.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/password-change/?$", api_auth.PasswordChangeView.as_view(), name="auth-password-change"),
    re_path(r"^auth/password-reset/?$", api_auth.PasswordResetView.as_view(), name="auth-password-reset"),
    re_path(
        r"^auth/password-reset/confirm/?$",
        api_auth.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    re_path(r"^organization/?$", api.OrganizationView.as_view(), name="organization"),
    *router.urls,
]
