from django.urls import re_path

from packages_app import api
from spinning.routers import ApiRouter

router = ApiRouter()
router.register("packages", api.PackageViewSet, basename="package")
router.register("coupons", api.CouponViewSet, basename="coupon")
router.register("redemptions", api.RedemptionViewSet, basename="redemption")

urlpatterns = [
    re_path(
        r"^members/(?P<member_id>[0-9a-fA-F-]{36})/redemptions/?$",
        api.MemberRedemptionList.as_view(),
        name="member-redemptions",
    ),
    *router.urls,
]
