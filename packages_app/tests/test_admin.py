"""Admin for staff (issue 3, item 8): scoped screens, actions through services, the sale form."""

import pytest
from django.test import Client

from members_app.models import StaffRole
from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user
from packages_app.models import Coupon, Package, Redemption
from packages_app.seeds import seed_catalog
from packages_app.tests.factories import CouponFactory, PackageFactory
from packages_app.tests.helpers import sell

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    return login(admin_user)


@pytest.fixture
def desk_client(desk_user):
    return login(desk_user)


def test_package_changelist_shows_pricing_and_only_this_studio(admin_client, org):
    seed_catalog(organization=org)
    PackageFactory(code="FOREIGN-PACK")
    response = admin_client.get("/admin/packages_app/package/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "EXPLORER-5" in html and "1000.00" in html and "33.33" in html  # per credit, discount %
    assert "FOREIGN-PACK" not in html
    assert admin_client.get("/admin/packages_app/package/?type__exact=ALL_ACCESS").status_code == 200


def test_front_desk_cannot_open_the_catalog_but_can_open_redemptions(desk_client):
    assert desk_client.get("/admin/packages_app/package/").status_code == 403
    assert desk_client.get("/admin/packages_app/coupon/").status_code == 403
    assert desk_client.get("/admin/packages_app/redemption/").status_code == 200


def test_admin_adds_a_package_through_the_service_and_sees_validation(admin_client, org):
    form = {
        "organization": org.pk,
        "code": "AA-7",
        "name": "Week pass",
        "type": "ALL_ACCESS",
        "price": "4000",
        "credits": "3",
        "daily_ride_limit": "1",
        "friend_pass_days": "30",
        "display_order": "9",
        "is_active": "on",
    }
    refused = admin_client.post("/admin/packages_app/package/add/", form)
    assert refused.status_code == 200 and "An ALL_ACCESS package has no credits." in refused.content.decode()
    form.update(credits="", all_access_days="7")
    created = admin_client.post("/admin/packages_app/package/add/", form)
    assert created.status_code == 302, created.content.decode()[:3000]
    package = Package.objects.get(code="AA-7")
    assert (package.organization, package.all_access_days, package.credits) == (org, 7, None)


def test_redeemed_package_has_no_delete_and_can_be_deactivated(admin_client, org, member, now):
    package = PackageFactory(organization=org)
    sell(org, member, package, now=now)
    assert admin_client.get(f"/admin/packages_app/package/{package.pk}/delete/").status_code == 403
    admin_client.post("/admin/packages_app/package/", {"action": "deactivate", "_selected_action": [str(package.pk)]})
    assert Package.objects.get(pk=package.pk).is_active is False


def test_coupon_changelist_shows_times_redeemed_and_remaining_uses(admin_client, org, member, now):
    coupon = CouponFactory(organization=org, code="TEN", max_redemptions=10)
    sell(org, member, PackageFactory(organization=org), coupon=coupon, now=now)
    html = admin_client.get("/admin/packages_app/coupon/").content.decode()
    assert "TEN" in html and "10.00 % off" not in html  # percentages shown normalized
    assert "10 % off" in html
    row = html[html.index("TEN") :]
    assert ">1<" in row and ">9<" in row


def test_admin_adds_a_coupon_with_applicable_packages(admin_client, org):
    package = PackageFactory(organization=org)
    form = {
        "organization": org.pk,
        "code": "WINTER",
        "name": "Winter",
        "coupon_type": "DISCOUNT",
        "discount_type": "PERCENTAGE",
        "discount_value": "120",
        "max_redemptions_per_member": "1",
        "applicable_packages": [str(package.pk)],
        "is_active": "on",
    }
    refused = admin_client.post("/admin/packages_app/coupon/add/", form)
    assert "A percentage above 0 and at most 100." in refused.content.decode()
    form["discount_value"] = "20"
    assert admin_client.post("/admin/packages_app/coupon/add/", form).status_code == 302
    coupon = Coupon.objects.get(code="WINTER")
    assert list(coupon.applicable_packages.all()) == [package]


def test_redemption_actions_call_the_services(desk_client, org, now):
    package = PackageFactory(organization=org)
    pending = [sell(org, MemberFactory(organization=org), package, now=now, by_staff=False) for _ in range(3)]
    response = desk_client.post(
        "/admin/packages_app/redemption/",
        {"action": "confirm_selected", "_selected_action": [str(pending[0].pk), str(pending[1].pk)]},
        follow=True,
    )
    assert "Confirmed 2 redemption(s)." in response.content.decode()
    desk_client.post(
        "/admin/packages_app/redemption/", {"action": "reject_selected", "_selected_action": [str(pending[2].pk)]}
    )
    selected = [str(pending[0].pk), str(pending[2].pk)]
    preview = desk_client.post(
        "/admin/packages_app/redemption/", {"action": "cancel_selected", "_selected_action": selected}
    )
    page = preview.content.decode()
    assert "Cannot be cancelled: Only an ACTIVE redemption" in page and "invalid_state" not in page  # the rejected one
    assert Redemption.objects.get(pk=pending[0].pk).status == "ACTIVE"  # the preview changed nothing
    desk_client.post(
        "/admin/packages_app/redemption/",
        {"action": "cancel_selected", "_selected_action": selected, "confirm_cancel": "yes"},
        follow=True,
    )
    statuses = {r.pk: r.status for r in Redemption.objects.all()}
    assert [statuses[p.pk] for p in pending] == ["CANCELLED", "ACTIVE", "CANCELLED"]
    pending[0].member.refresh_from_db()
    assert pending[0].member.credit_balance == 0


def test_redemption_changelist_filters_and_scope(desk_client, org, member, now):
    package = PackageFactory(organization=org, code="MINE")
    sell(org, member, package, now=now)
    elsewhere = MemberFactory()
    sell(elsewhere.organization, elsewhere, PackageFactory(organization=elsewhere.organization, code="THEIRS"), now=now)
    for query in ("", "?status__exact=ACTIVE", f"?package__id__exact={package.pk}", "?redeemed_at__gte=2026-01-01"):
        response = desk_client.get(f"/admin/packages_app/redemption/{query}")
        assert response.status_code == 200, query
    html = desk_client.get("/admin/packages_app/redemption/").content.decode()
    assert "MINE" in html and "THEIRS" not in html


def test_sell_form_shows_the_quote_before_saving_then_sells_once(desk_client, org, member):
    seed_catalog(organization=org)
    explorer = Package.objects.get(organization=org, code="EXPLORER-5")
    url = f"/admin/packages_app/redemption/sell/{member.pk}/"
    assert f'href="{url}"' in desk_client.get(f"/admin/members_app/member/{member.pk}/change/").content.decode()
    assert desk_client.get(url).status_code == 200
    form = {"package": explorer.pk, "coupon_code": "summer2024", "payment_method": "CARD", "_preview": "1"}
    preview = desk_client.post(url, form)
    html = preview.content.decode()
    assert "4250.00" in html and "Confirm sale" in html
    assert not Redemption.objects.exists()  # nothing saved on preview
    hidden = preview.context["form"].data
    confirm = {**form, "token": hidden["token"], "quoted_final_price": hidden["quoted_final_price"], "_confirm": "1"}
    confirm.pop("_preview")
    assert desk_client.post(url, confirm).status_code == 302
    assert desk_client.post(url, confirm).status_code == 302  # pressed twice: still one sale
    redemption = Redemption.objects.get()
    assert (redemption.status, redemption.final_price, redemption.payment_method) == ("ACTIVE", 4250, "CARD")
    member.refresh_from_db()
    assert member.credit_balance == 5


def test_sell_form_refusals_and_changed_price(desk_client, org, member):
    seed_catalog(organization=org)
    single = Package.objects.get(organization=org, code="SINGLE-RIDE")
    url = f"/admin/packages_app/redemption/sell/{member.pk}/"
    refused = desk_client.post(
        url, {"package": single.pk, "coupon_code": "summer2024", "payment_method": "CASH", "_preview": "1"}
    )
    page = refused.content.decode()
    assert "This coupon does not apply to this package." in page and "coupon_not_applicable" not in page
    stale = desk_client.post(
        url,
        {"package": single.pk, "payment_method": "CASH", "quoted_final_price": "1.00", "token": "t1", "_confirm": "1"},
    )
    assert "The price changed since the preview" in stale.content.decode()
    assert not Redemption.objects.exists()


def test_sell_form_is_scoped_to_the_staff_studio(desk_client):
    stranger = MemberFactory(organization=OrganizationFactory())
    response = desk_client.get(f"/admin/packages_app/redemption/sell/{stranger.pk}/")
    assert response.status_code == 302
    instructor = login(staff_user(stranger.organization, StaffRole.Role.INSTRUCTOR))
    assert instructor.get(f"/admin/packages_app/redemption/sell/{stranger.pk}/").status_code == 302


def test_change_pages_render(admin_client, org, member, now):
    package = PackageFactory(organization=org, benefits=["elite_badge"])
    coupon = CouponFactory(organization=org)
    redemption = sell(org, member, package, coupon=coupon, now=now)
    for url in (
        f"/admin/packages_app/package/{package.pk}/change/",
        f"/admin/packages_app/coupon/{coupon.pk}/change/",
        f"/admin/packages_app/redemption/{redemption.pk}/change/",
        "/admin/packages_app/package/add/",
        "/admin/packages_app/coupon/add/",
    ):
        assert admin_client.get(url).status_code == 200, url
    # an edit through the form goes through the service
    response = admin_client.post(
        f"/admin/packages_app/package/{package.pk}/change/",
        {
            "organization": org.pk,
            "code": package.code,
            "name": "Renamed",
            "type": "CREDIT_PACK",
            "price": "4900",
            "credits": "5",
            "daily_ride_limit": "1",
            "friend_pass_days": "30",
            "display_order": "0",
            "benefits": ["elite_badge", "priority_booking"],
        },
    )
    assert response.status_code == 302
    package.refresh_from_db()
    assert (package.name, package.benefits, package.is_active) == (
        "Renamed",
        ["elite_badge", "priority_booking"],
        False,
    )
