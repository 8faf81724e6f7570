"""HTTP contract of API.md "Packages", "Coupons", "Redemptions": who may call, shapes, codes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user
from packages_app.models import Package, Redemption
from packages_app.seeds import seed_catalog
from packages_app.tests.factories import (
    AllAccessPackageFactory,
    BonusCouponFactory,
    CouponFactory,
    PackageFactory,
)
from spinning import clock

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def admin(api, org, admin_user):
    return api(user=admin_user, org=org)


@pytest.fixture
def desk(api, org, desk_user):
    return api(user=desk_user, org=org)


@pytest.fixture
def rider(api, org, member):
    return api(user=member.user, org=org)


# --- packages ----------------------------------------------------------------------------------------
def test_public_list_is_active_packages_in_their_window_by_display_order(api, org):
    seed_catalog(organization=org)
    PackageFactory(organization=org, code="OFF", is_active=False)
    PackageFactory(organization=org, code="LATER", valid_from=timezone.now() + timedelta(days=1))
    PackageFactory(organization=org, code="GONE", valid_until=timezone.now() - timedelta(days=1))
    response = api(org=org).get("/api/packages")
    assert response.status_code == 200
    codes = [p["code"] for p in response.json()["results"]]
    assert codes == ["SINGLE-RIDE", "EXPLORER-5", "CORE-10", "ELITE-20", "ELITE-30", "ALL-ACCESS-30"]


def test_package_shape_with_calculated_pricing_and_turkish_names(api, org):
    seed_catalog(organization=org)
    explorer = api(org=org).get("/api/packages/").json()["results"][1]
    assert explorer["code"] == "EXPLORER-5"
    assert explorer["name_tr"] == "Explorer Paket"
    assert (explorer["price"], explorer["currency"], explorer["credits"]) == ("5000.00", "TRY", 5)
    assert (explorer["price_per_credit"], explorer["base_price"]) == ("1000.00", "7500.00")
    assert (explorer["discount_amount"], explorer["discount_percentage"]) == ("2500.00", "33.33")
    all_access = api(org=org).get("/api/packages").json()["results"][5]
    assert all_access["price_per_credit"] is None and all_access["discount_percentage"] is None
    assert (all_access["all_access_days"], all_access["daily_ride_limit"]) == (30, 1)
    assert set(explorer) >= {"benefits", "credit_validity_days", "friend_pass_days", "valid_from", "display_order"}


def test_anonymous_needs_the_studio_header(api, org):
    assert api().get("/api/packages").json()["code"] == "organization_required"


def test_staff_see_every_package_and_filter(desk, org):
    PackageFactory(organization=org, is_active=False)
    AllAccessPackageFactory(organization=org)
    assert desk.get("/api/packages").json()["count"] == 2
    assert desk.get("/api/packages?is_active=false").json()["count"] == 1
    assert desk.get("/api/packages?type=ALL_ACCESS").json()["results"][0]["type"] == "ALL_ACCESS"
    assert desk.get("/api/packages?type=NOPE").status_code == 400


def test_admin_creates_updates_and_deletes_a_package(admin):
    body = {"code": "CORE-12", "name": "Core 12", "type": "CREDIT_PACK", "price": "9000", "credits": 12}
    created = admin.post("/api/packages", body, format="json")
    assert created.status_code == 201, created.json()
    package_id = created.json()["id"]
    assert created.json()["price"] == "9000.00" and created.json()["base_price"] == "18000.00"
    patched = admin.patch(f"/api/packages/{package_id}/", {"display_order": 3, "name_tr": "Çekirdek"}, format="json")
    assert (patched.status_code, patched.json()["name_tr"]) == (200, "Çekirdek")
    assert admin.delete(f"/api/packages/{package_id}").status_code == 204


def test_package_validation_errors_are_400_with_fields(admin):
    response = admin.post(
        "/api/packages", {"code": "AA", "name": "AA", "type": "ALL_ACCESS", "price": "-5", "credits": 3}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert {"price", "credits", "all_access_days"} <= set(body["fields"])
    garbage = admin.post("/api/packages", {"code": "X", "type": "NOPE", "price": "abc"}, format="json")
    assert garbage.status_code == 400 and {"type", "price", "name"} <= set(garbage.json()["fields"])


def test_deleting_a_redeemed_package_is_package_in_use(admin, org, member):
    package = PackageFactory(organization=org)
    admin.post("/api/packages/redeem", {"package_id": str(package.pk), "member_id": str(member.pk)}, format="json")
    response = admin.delete(f"/api/packages/{package.pk}")
    assert (response.status_code, response.json()["code"]) == (409, "package_in_use")


@pytest.mark.parametrize("who", ["desk", "rider"])
def test_only_admins_write_the_catalog(request, org, who):
    client = request.getfixturevalue(who)
    package = PackageFactory(organization=org)
    assert client.post("/api/packages", {}, format="json").status_code == 403
    assert client.patch(f"/api/packages/{package.pk}", {"name": "x"}, format="json").status_code == 403
    assert client.delete(f"/api/packages/{package.pk}").status_code == 403


def test_ids_that_are_not_uuids_or_of_another_studio_are_404(admin, org):
    foreign = PackageFactory()
    assert admin.get("/api/packages/not-a-uuid").status_code == 404
    assert admin.get(f"/api/packages/{foreign.pk}").status_code == 404
    assert admin.patch(f"/api/packages/{foreign.pk}", {"name": "x"}, format="json").status_code == 404
    assert admin.get("/api/redemptions/123").status_code == 404
    assert admin.post("/api/redemptions/123/confirm").status_code == 404
    assert admin.get("/api/coupons/xyz").status_code == 404


# --- quote and redeem ---------------------------------------------------------------------------------
def test_quote_has_no_side_effect(rider, org):
    seed_catalog(organization=org)
    package = Package.objects.get(organization=org, code="EXPLORER-5")
    response = rider.post(
        "/api/packages/quote", {"package_id": str(package.pk), "coupon_code": "summer2024"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "package_id": str(package.pk),
        "original_price": "5000.00",
        "discount_amount": "750.00",
        "final_price": "4250.00",
        "currency": "TRY",
        "credits": 5,
        "bonus_credits": 0,
        "redemption_type": "COUPON_DISCOUNT",
        "coupon": {"id": response.json()["coupon"]["id"], "code": "SUMMER2024", "name": "Summer Discount"},
    }
    assert not Redemption.objects.exists()


def test_member_asks_to_buy_pending_staff_sells_active(rider, admin, org, member):
    package = PackageFactory(organization=org)
    pending = rider.post(
        "/api/packages/redeem",
        {"package_id": str(package.pk), "payment_method": "BANK_TRANSFER", "payment_reference": "TR-1"},
        format="json",
    )
    assert pending.status_code == 201, pending.json()
    assert (pending.json()["status"], pending.json()["credits_remaining"]) == ("PENDING", 0)
    sold = admin.post(
        "/api/packages/redeem",
        {"package_id": str(package.pk), "member_id": str(member.pk), "payment_method": "CASH"},
        format="json",
    )
    assert sold.status_code == 201
    body = sold.json()
    assert (body["status"], body["credits_added"], body["credits_remaining"]) == ("ACTIVE", 5, 5)
    assert body["package"] == {"id": str(package.pk), "code": package.code, "name": package.name, "type": "CREDIT_PACK"}
    assert body["final_price"] == "5000.00" and body["currency"] == "TRY" and body["coupon"] is None
    assert body["redeemed_by"]
    assert set(body) >= {
        "all_access_starts_on",
        "friend_pass_available",
        "friend_pass_used",
        "friend_pass_booking_id",
        "confirmed_at",
        "credits_expire_at",
    }


def test_redeem_refusals_each_have_their_code(admin, org, member):
    package = PackageFactory(organization=org)

    def redeem(**extra):
        return admin.post(
            "/api/packages/redeem", {"package_id": str(package.pk), "member_id": str(member.pk), **extra}, format="json"
        )

    CouponFactory(organization=org, code="OFF", is_active=False)
    CouponFactory(organization=org, code="SOON", valid_from=timezone.now() + timedelta(days=1))
    CouponFactory(organization=org, code="OLD", valid_until=timezone.now() - timedelta(days=1))
    CouponFactory(organization=org, code="ELSE").applicable_packages.set([PackageFactory(organization=org)])
    CouponFactory(organization=org, code="FIRST", first_purchase_only=True, max_redemptions_per_member=None)
    assert redeem(coupon_code="nope").json()["code"] == "coupon_not_found"
    assert redeem(coupon_code="nope").status_code == 404
    expected = {
        "OFF": "coupon_inactive",
        "SOON": "coupon_not_yet_valid",
        "OLD": "coupon_expired",
        "ELSE": "coupon_not_applicable",
    }
    for code, error in expected.items():
        response = redeem(coupon_code=code)
        assert (response.status_code, response.json()["code"]) == (409, error)
    once = redeem(coupon_code="FIRST")
    assert once.status_code == 201
    assert redeem(coupon_code="FIRST").json()["code"] == "coupon_first_purchase_only"
    limited = CouponFactory(organization=org, code="ONCE")
    redeem(coupon_code="ONCE")
    assert redeem(coupon_code="ONCE").json()["code"] == "coupon_member_limit"
    CouponFactory(organization=org, code="ONE", max_redemptions=1, times_redeemed=1)
    assert redeem(coupon_code="ONE").json()["code"] == "coupon_exhausted"
    Package.objects.filter(pk=package.pk).update(is_active=False)
    assert redeem().json()["code"] == "package_unavailable"
    assert limited.pk


def test_redeem_for_an_inactive_member_is_member_inactive(admin, org):
    member = MemberFactory(organization=org, status="SUSPENDED")
    package = PackageFactory(organization=org)
    response = admin.post(
        "/api/packages/redeem", {"package_id": str(package.pk), "member_id": str(member.pk)}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "member_inactive")


def test_redeem_input_errors(admin, rider, org, member):
    package = PackageFactory(organization=org)
    assert admin.post("/api/packages/redeem", {"package_id": "x"}, format="json").status_code == 400
    no_member = admin.post("/api/packages/redeem", {"package_id": str(package.pk)}, format="json")
    assert (no_member.status_code, list(no_member.json()["fields"])) == (400, ["member_id"])
    other = MemberFactory()
    assert (
        admin.post(
            "/api/packages/redeem", {"package_id": str(package.pk), "member_id": str(other.pk)}, format="json"
        ).status_code
        == 404
    )
    # a member cannot buy for another member nor choose a start day
    stranger = MemberFactory(organization=org)
    assert (
        rider.post(
            "/api/packages/redeem", {"package_id": str(package.pk), "member_id": str(stranger.pk)}, format="json"
        ).status_code
        == 404
    )
    aa = AllAccessPackageFactory(organization=org)
    refused = rider.post("/api/packages/redeem", {"package_id": str(aa.pk), "starts_on": "2099-01-01"}, format="json")
    assert refused.status_code == 400 and "starts_on" in refused.json()["fields"]
    assert admin.post("/api/packages/redeem", ["not", "a", "dict"], format="json").status_code == 400
    bad_method = admin.post(
        "/api/packages/redeem",
        {"package_id": str(package.pk), "member_id": str(member.pk), "payment_method": "BITCOIN"},
        format="json",
    )
    assert bad_method.status_code == 400


def test_idempotency_key_replays_the_first_redemption(admin, org, member):
    package = PackageFactory(organization=org)
    body = {"package_id": str(package.pk), "member_id": str(member.pk)}
    first = admin.post("/api/packages/redeem", body, format="json", HTTP_IDEMPOTENCY_KEY="sale-1")
    again = admin.post("/api/packages/redeem", body, format="json", HTTP_IDEMPOTENCY_KEY="sale-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Redemption.objects.count() == 1
    member.refresh_from_db()
    assert member.credit_balance == 5
    other_body = admin.post(
        "/api/packages/redeem", {**body, "notes": "changed"}, format="json", HTTP_IDEMPOTENCY_KEY="sale-1"
    )
    assert (other_body.status_code, other_body.json()["code"]) == (409, "idempotency_key_reused")


def test_a_refused_redeem_does_not_burn_the_idempotency_key(admin, org, member):
    package = PackageFactory(organization=org, is_active=False)
    body = {"package_id": str(package.pk), "member_id": str(member.pk)}
    assert admin.post("/api/packages/redeem", body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 409
    Package.objects.filter(pk=package.pk).update(is_active=True)
    assert admin.post("/api/packages/redeem", body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


# --- coupons -------------------------------------------------------------------------------------------
def test_coupon_crud_for_admin_reads_for_desk_nothing_for_members(admin, desk, rider, org):
    package = PackageFactory(organization=org)
    body = {
        "code": "Spring25",
        "name": "Spring",
        "coupon_type": "DISCOUNT",
        "discount_type": "FIXED_AMOUNT",
        "discount_value": "250",
        "applicable_package_ids": [str(package.pk)],
        "max_redemptions": 10,
    }
    created = admin.post("/api/coupons", body, format="json")
    assert created.status_code == 201, created.json()
    coupon = created.json()
    assert (coupon["discount_value"], coupon["applicable_package_ids"], coupon["times_redeemed"]) == (
        "250.00",
        [str(package.pk)],
        0,
    )
    assert admin.post("/api/coupons", {**body, "code": "SPRING25"}, format="json").json()["fields"] == {
        "code": ["A coupon with this code already exists in this studio."]
    }
    assert desk.get("/api/coupons").json()["count"] == 1
    assert desk.get("/api/coupons?coupon_type=CREDIT_BONUS").json()["count"] == 0
    assert desk.post("/api/coupons", body, format="json").status_code == 403
    assert rider.get("/api/coupons").status_code == 403
    patched = admin.patch(f"/api/coupons/{coupon['id']}", {"is_active": False}, format="json")
    assert patched.json()["is_active"] is False
    assert admin.delete(f"/api/coupons/{coupon['id']}").status_code == 204


def test_deleting_a_used_coupon_is_coupon_in_use(admin, org, member):
    coupon = BonusCouponFactory(organization=org)
    package = PackageFactory(organization=org)
    admin.post(
        "/api/packages/redeem",
        {"package_id": str(package.pk), "member_id": str(member.pk), "coupon_code": coupon.code},
        format="json",
    )
    response = admin.delete(f"/api/coupons/{coupon.pk}")
    assert (response.status_code, response.json()["code"]) == (409, "coupon_in_use")


def test_code_lookup_staff_get_the_coupon_members_the_public_part_while_usable(admin, rider, org, member):
    coupon = CouponFactory(organization=org, code="Summer2024", max_redemptions=10)
    staff_view = admin.get("/api/coupons/code/summer2024")
    assert staff_view.status_code == 200 and staff_view.json()["times_redeemed"] == 0
    member_view = rider.get("/api/coupons/code/SUMMER2024/")
    assert member_view.status_code == 200
    assert "times_redeemed" not in member_view.json() and "max_redemptions" not in member_view.json()
    assert member_view.json()["discount_value"] == "10.00"
    # once the member has used it (once per member), it is no longer theirs to see
    package = PackageFactory(organization=org)
    admin.post(
        "/api/packages/redeem",
        {"package_id": str(package.pk), "member_id": str(member.pk), "coupon_code": "summer2024"},
        format="json",
    )
    assert rider.get("/api/coupons/code/summer2024").json()["code"] == "coupon_not_found"
    coupon.is_active = False
    coupon.save()
    assert admin.get("/api/coupons/code/summer2024").status_code == 200
    assert rider.get("/api/coupons/code/nope").status_code == 404


def test_code_lookup_is_throttled_for_members_not_for_staff(admin, rider, org):
    statuses = [rider.get(f"/api/coupons/code/GUESS{i}").status_code for i in range(21)]
    assert statuses[:20] == [404] * 20
    assert statuses[20] == 429
    throttled = rider.get("/api/coupons/code/GUESS")
    assert throttled.json()["code"] == "throttled" and "Retry-After" in throttled
    # quote with a coupon code shares the budget
    package = PackageFactory(organization=org)
    assert (
        rider.post(
            "/api/packages/quote", {"package_id": str(package.pk), "coupon_code": "x"}, format="json"
        ).status_code
        == 429
    )
    assert rider.post("/api/packages/quote", {"package_id": str(package.pk)}, format="json").status_code == 200
    assert all(admin.get(f"/api/coupons/code/G{i}").status_code == 404 for i in range(25))


# --- redemptions -----------------------------------------------------------------------------------
def _sell(client, package, member, **extra):
    response = client.post(
        "/api/packages/redeem", {"package_id": str(package.pk), "member_id": str(member.pk), **extra}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_confirm_reject_cancel_endpoints(admin, rider, org, member):
    package = PackageFactory(organization=org)
    pending = rider.post("/api/packages/redeem", {"package_id": str(package.pk)}, format="json").json()
    # a member cannot confirm their own request
    assert rider.post(f"/api/redemptions/{pending['id']}/confirm").status_code == 403
    confirmed = admin.post(f"/api/redemptions/{pending['id']}/confirm/")
    assert (confirmed.status_code, confirmed.json()["status"], confirmed.json()["credits_remaining"]) == (
        200,
        "ACTIVE",
        5,
    )
    again = admin.post(f"/api/redemptions/{pending['id']}/confirm")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert admin.post(f"/api/redemptions/{pending['id']}/reject").json()["code"] == "invalid_state"
    cancelled = admin.post(f"/api/redemptions/{pending['id']}/cancel", {"reason": "refund"}, format="json")
    assert (cancelled.json()["status"], cancelled.json()["credits_remaining"]) == ("CANCELLED", 0)
    second = rider.post("/api/packages/redeem", {"package_id": str(package.pk)}, format="json").json()
    assert admin.post(f"/api/redemptions/{second['id']}/cancel").json()["code"] == "invalid_state"
    assert admin.post(f"/api/redemptions/{second['id']}/reject").json()["status"] == "CANCELLED"


def test_confirm_with_a_start_day_for_all_access(admin, rider, org):
    package = AllAccessPackageFactory(organization=org, all_access_days=5)
    pending = rider.post("/api/packages/redeem", {"package_id": str(package.pk)}, format="json").json()
    starts = (timezone.now() + timedelta(days=10)).date().isoformat()
    confirmed = admin.post(f"/api/redemptions/{pending['id']}/confirm", {"starts_on": starts}, format="json").json()
    assert confirmed["all_access_starts_on"] == starts


def test_members_see_only_their_own_redemptions(admin, rider, org, member):
    package = PackageFactory(organization=org)
    mine = _sell(admin, package, member)
    other = MemberFactory(organization=org)
    theirs = _sell(admin, package, other)
    assert [r["id"] for r in rider.get("/api/redemptions").json()["results"]] == [mine["id"]]
    assert rider.get(f"/api/redemptions/{theirs['id']}").status_code == 404
    assert rider.get(f"/api/redemptions/{mine['id']}").status_code == 200
    assert rider.get(f"/api/members/{member.pk}/redemptions").json()["count"] == 1
    assert rider.get(f"/api/members/{other.pk}/redemptions").status_code == 404
    assert admin.get(f"/api/members/{other.pk}/redemptions/").json()["results"][0]["id"] == theirs["id"]
    assert admin.get("/api/members/not-a-uuid/redemptions").status_code == 404


def test_staff_filter_redemptions(admin, org, member):
    explorer, aa = PackageFactory(organization=org), AllAccessPackageFactory(organization=org)
    coupon = BonusCouponFactory(organization=org)
    _sell(admin, explorer, member, coupon_code=coupon.code)
    _sell(admin, aa, MemberFactory(organization=org))
    assert admin.get(f"/api/redemptions?package_id={aa.pk}").json()["count"] == 1
    assert admin.get(f"/api/redemptions?coupon_id={coupon.pk}").json()["count"] == 1
    assert admin.get(f"/api/redemptions?member_id={member.pk}").json()["count"] == 1
    assert admin.get("/api/redemptions?redemption_type=COUPON_BONUS").json()["count"] == 1
    assert admin.get("/api/redemptions?status=ACTIVE").json()["count"] == 2
    assert admin.get("/api/redemptions?status=PENDING").json()["count"] == 0
    today = clock.local_date(timezone.now(), org.timezone).isoformat()
    assert admin.get(f"/api/redemptions?redeemed_from={today}&redeemed_to={today}").json()["count"] == 2
    assert admin.get("/api/redemptions?redeemed_from=2000-01-01&redeemed_to=2000-01-02").json()["count"] == 0
    assert admin.get("/api/redemptions?redeemed_from=2000-01-01T00:00:00%2B03:00").json()["count"] == 2
    for bad in (
        "member_id=xyz",
        "redeemed_from=yesterday",
        "redeemed_to=2026-13-01",
        "status=WHAT",
        "redeemed_from=0001-01-01",  # past the calendar once in UTC
        "redeemed_to=9999-12-31",  # its end of day is past the calendar
    ):
        response = admin.get(f"/api/redemptions?{bad}")
        assert (response.status_code, response.json()["code"]) == (400, "validation_error"), bad


def test_another_studio_cannot_see_or_act(api, org, member, admin):
    package = PackageFactory(organization=org)
    sold = _sell(admin, package, member)
    other_org = OrganizationFactory()
    stranger = api(user=staff_user(other_org, StaffRole.Role.ADMIN), org=other_org)
    assert stranger.get(f"/api/redemptions/{sold['id']}").status_code == 404
    assert stranger.post(f"/api/redemptions/{sold['id']}/cancel").status_code == 404
    assert stranger.get("/api/redemptions").json()["count"] == 0
    # and naming this studio without a role in it is forbidden
    assert api(user=staff_user(other_org), org=org).get("/api/redemptions").status_code == 403


def test_instructor_is_not_staff_for_redemptions(api, org):
    instructor = api(user=staff_user(org, StaffRole.Role.INSTRUCTOR), org=org)
    assert instructor.get("/api/redemptions").status_code == 403
    assert instructor.get("/api/coupons").status_code == 403


def test_schema_is_served(admin):
    response = admin.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/packages/redeem" in response.content and b"/api/coupons/code/{code}" in response.content
