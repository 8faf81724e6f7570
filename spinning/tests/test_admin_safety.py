"""The admin never answers 500 for bad input (issue 8 item 7): filters, NUL, refused deletes."""

import pytest
from django.contrib import admin
from django.test import Client

from members_app.models import StaffRole, User
from members_app.tests.factories import OrganizationFactory, UserFactory, staff_user
from packages_app.models import Package
from packages_app.tests.factories import CouponFactory, PackageFactory
from spinning.admin_safety import SafeAdminMixin

pytestmark = pytest.mark.django_db

OUR_APPS = {"members_app", "packages_app", "bookings_app"}


def test_every_admin_screen_of_ours_is_safe():
    ours = {
        model: model_admin for model, model_admin in admin.site._registry.items() if model._meta.app_label in OUR_APPS
    }
    assert User in ours and len(ours) > 10
    unsafe = [model.__name__ for model, model_admin in ours.items() if not isinstance(model_admin, SafeAdminMixin)]
    assert unsafe == []


@pytest.fixture
def org():
    return OrganizationFactory(timezone="Europe/Istanbul")


@pytest.fixture
def superuser():
    return UserFactory(is_superuser=True, is_staff=True)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _changelists():
    return [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
        if model._meta.app_label in OUR_APPS
    ]


@pytest.mark.parametrize(
    "query",
    [
        "day=9999-12-31",
        "day=0001-01-01",
        "day=yesterday",
        "session_day=9999-12-31",
        "created_at__year=99999999999",
        "created_at__gte=99999-01-01",
        "starts_at__year=-5",
        "id=not-a-uuid",
        "organization__id__exact=nope",
        "capacity__gt=99999999999999999999999",
    ],
)
def test_a_filter_the_database_cannot_use_shows_the_list_unfiltered(org, superuser, query):
    client = logged_in(superuser)
    for changelist in _changelists():
        response = client.get(f"{changelist}?{query}")
        assert response.status_code in (200, 302), (changelist, query, response.status_code)
        if response.status_code == 302:
            assert response["Location"].endswith("?e=1"), (changelist, query)
            assert client.get(response["Location"]).status_code == 200


def test_the_day_filter_past_the_calendar_says_so(org):
    client = logged_in(staff_user(org, StaffRole.Role.ADMIN))
    response = client.get("/admin/bookings_app/session/?day=9999-12-31", follow=True)
    assert response.status_code == 200
    assert "not valid" in response.content.decode()


@pytest.mark.parametrize("query", ["status=%00", "q=a%00", "day=%00", "o=%00"])
def test_nul_in_an_admin_filter_is_a_400(org, superuser, query):
    for changelist in ("/admin/bookings_app/session/", "/admin/members_app/member/"):
        response = logged_in(superuser).get(f"{changelist}?{query}")
        assert response.status_code == 400
        assert response.content.decode().startswith("null_character")


def test_nul_in_an_admin_form_is_a_400(org, superuser):
    response = logged_in(superuser).post(
        "/admin/bookings_app/location/add/", {"name": "a\x00b", "organization": org.pk}
    )
    assert response.status_code == 400
    assert response.content.decode().startswith("null_character")


def test_deleting_a_package_a_coupon_names_is_a_message(org):
    """PackageInUse escaped the admin's delete view: a 500."""
    package = PackageFactory(organization=org)
    CouponFactory(organization=org).applicable_packages.set([package])  # a list: no PROTECT
    client = logged_in(staff_user(org, StaffRole.Role.ADMIN))
    response = client.post(f"/admin/packages_app/package/{package.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "package_in_use" in response.content.decode()
    assert Package.objects.filter(pk=package.pk).exists()


def test_deleting_it_from_the_list_is_a_message(org):
    package = PackageFactory(organization=org)
    CouponFactory(organization=org).applicable_packages.set([package])
    client = logged_in(staff_user(org, StaffRole.Role.ADMIN))
    response = client.post(
        "/admin/packages_app/package/",
        {"action": "delete_selected", "_selected_action": [str(package.pk)], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert Package.objects.filter(pk=package.pk).exists()
