"""The admin's choices and saves follow what the user may WRITE (issue 8 item 4): organization
dropdowns, related rows, and people picked by email within the studio's own members and staff."""

import pytest
from django.contrib import admin as django_admin
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.urls import reverse

from bookings_app.models import Instructor, RideClass, Session
from bookings_app.tests.factories import InstructorFactory, RideClassFactory
from members_app import services
from members_app.models import Member, StaffRole
from members_app.tests.factories import MemberFactory, StaffRoleFactory, UserFactory
from spinning.errors import Invalid

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def two_hats(org_a, org_b):
    """ADMIN of studio A, only an INSTRUCTOR in studio B."""
    user = StaffRoleFactory(organization=org_a, role=StaffRole.Role.ADMIN).user
    StaffRoleFactory(organization=org_b, user=user, role=StaffRole.Role.INSTRUCTOR)
    return user


def org_choices(response) -> set:
    field = response.context["adminform"].form.fields["organization"]
    return {str(pk) for pk in field.queryset.values_list("pk", flat=True)}


@pytest.mark.parametrize(
    "screen", ["bookings_app_session_add", "bookings_app_rideclass_add", "bookings_app_instructor_add"]
)
def test_organization_dropdowns_offer_only_writable_studios(two_hats, org_a, org_b, screen):
    response = logged_in(two_hats).get(url(screen))
    assert response.status_code == 200
    assert org_choices(response) == {str(org_a.pk)}


def test_member_form_offers_studios_where_the_front_desk_writes(org_a, org_b):
    user = StaffRoleFactory(organization=org_a, role=StaffRole.Role.FRONT_DESK).user
    StaffRoleFactory(organization=org_b, user=user, role=StaffRole.Role.INSTRUCTOR)
    assert org_choices(logged_in(user).get(url("members_app_member_add"))) == {str(org_a.pk)}


def test_related_rows_come_only_from_writable_studios(two_hats, org_a, org_b):
    mine, theirs = RideClassFactory(organization=org_a), RideClassFactory(organization=org_b)
    form = logged_in(two_hats).get(url("bookings_app_session_add")).context["adminform"].form
    classes = set(form.fields["ride_class"].queryset)
    assert mine in classes and theirs not in classes


def test_a_forged_post_into_a_studio_where_one_only_teaches_is_refused(two_hats, org_b):
    response = logged_in(two_hats).post(
        url("bookings_app_rideclass_add"), {"organization": org_b.pk, "name": "Forged", "duration_minutes": 45}
    )
    assert response.status_code == 200 and "organization" in response.context["adminform"].form.errors
    assert not RideClass.objects.filter(name="Forged").exists()


def test_every_save_rechecks_the_studio_even_past_the_form(two_hats, org_b):
    # the last line of defence: whatever a form let through, save_form refuses a studio not writable
    request = RequestFactory().post("/")
    request.user = two_hats
    model_admin = django_admin.site.get_model_admin(RideClass)
    with pytest.raises(PermissionDenied):
        model_admin.check_writable(request, RideClass(organization=org_b, name="x"))
    session_admin = django_admin.site.get_model_admin(Session)
    with pytest.raises(PermissionDenied):
        session_admin.check_writable(request, Session(organization=org_b))


def test_a_forged_post_moving_a_row_into_another_studio_is_refused(two_hats, org_a, org_b):
    ride_class = RideClassFactory(organization=org_a, name="Mine")
    data = {"organization": org_b.pk, "name": "Mine", "duration_minutes": 45}
    logged_in(two_hats).post(url("bookings_app_rideclass_change", ride_class.pk), data)
    ride_class.refresh_from_db()
    assert ride_class.organization_id == org_a.pk


# --- people are picked by email within the studio ---------------------------------------------
@pytest.fixture
def outsider():
    """A rider of some other studio: studio A's admin must never see or pick her."""
    return MemberFactory(user=UserFactory(email="outsider@example.com")).user


@pytest.mark.parametrize("screen", ["bookings_app_instructor_add", "members_app_staffrole_add"])
def test_person_pickers_list_nobody_and_show_no_ids(admin_a, member_a, outsider, screen):
    response = logged_in(admin_a).get(url(screen))
    form = response.context["adminform"].form
    assert "user" not in form.fields and "person_email" in form.fields
    page = response.content.decode()
    assert "outsider@example.com" not in page and str(outsider.pk) not in page
    assert member_a.user.email not in page and str(member_a.user.pk) not in page


def test_instructor_is_linked_by_email_to_one_of_the_studios_people(admin_a, org_a, member_a, outsider):
    client = logged_in(admin_a)
    data = {"organization": org_a.pk, "name": "Coach", "bio": "", "is_active": "on"}
    response = client.post(url("bookings_app_instructor_add"), {**data, "person_email": outsider.email})
    assert response.status_code == 200 and "person_email" in response.context["adminform"].form.errors
    assert not Instructor.objects.filter(name="Coach").exists()
    assert (
        client.post(url("bookings_app_instructor_add"), {**data, "person_email": member_a.user.email}).status_code
        == 302
    )
    assert Instructor.objects.get(name="Coach").user == member_a.user
    # and without a login at all
    assert (
        client.post(url("bookings_app_instructor_add"), {**data, "name": "Guest", "person_email": ""}).status_code
        == 302
    )
    assert Instructor.objects.get(name="Guest").user is None


def test_instructor_change_form_shows_the_linked_email(admin_a, org_a, member_a, instructor_a):
    coach = InstructorFactory(organization=org_a, user=member_a.user)
    response = logged_in(admin_a).get(url("bookings_app_instructor_change", coach.pk))
    assert response.context["adminform"].form["person_email"].value() == member_a.user.email
    # the studio's instructor sees the screen read-only, without a crash
    assert logged_in(instructor_a).get(url("bookings_app_instructor_change", coach.pk)).status_code == 200


def test_a_role_is_never_granted_to_someone_outside_the_studio(admin_a, org_a, outsider):
    response = logged_in(admin_a).post(
        url("members_app_staffrole_add"), {"organization": org_a.pk, "person_email": outsider.email, "role": "ADMIN"}
    )
    assert response.status_code == 200 and "person_email" in response.context["adminform"].form.errors
    assert not outsider.staff_roles.exists()
    # nor through the service
    with pytest.raises(Invalid):
        services.staff_role_set(organization=org_a, user=outsider, role="ADMIN", granted_by=admin_a)
    assert not outsider.staff_roles.exists()


def test_a_platform_superuser_may_give_a_new_studio_its_first_admin(org_a, outsider):
    root = UserFactory(is_staff=True, is_superuser=True)
    response = logged_in(root).post(
        url("members_app_staffrole_add"), {"organization": org_a.pk, "person_email": outsider.email, "role": "ADMIN"}
    )
    assert response.status_code == 302
    assert outsider.staff_roles.get().organization == org_a


def test_the_role_change_form_keeps_whose_role_it_is(admin_a, org_a, member_a):
    role = StaffRoleFactory(organization=org_a, user=member_a.user, role="FRONT_DESK")
    response = logged_in(admin_a).post(url("members_app_staffrole_change", role.pk), {"role": "INSTRUCTOR"})
    assert response.status_code == 302
    role.refresh_from_db()
    assert (role.user, role.role) == (member_a.user, "INSTRUCTOR")


@pytest.mark.parametrize(("app_label", "model_name"), [("members_app", "staffrole"), ("bookings_app", "instructor")])
def test_the_autocomplete_endpoint_leaks_no_users(admin_a, outsider, app_label, model_name):
    response = logged_in(admin_a).get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": "user", "term": "out"},
    )
    assert response.status_code == 403
    assert b"outsider" not in response.content


def test_any_remaining_user_choice_holds_only_the_studios_people(admin_a, org_a, member_a, outsider):
    request = RequestFactory().get("/")
    request.user = admin_a
    model_admin = django_admin.site.get_model_admin(Member)
    field = model_admin.formfield_for_foreignkey(Member._meta.get_field("user"), request)
    assert set(field.queryset) == {member_a.user, admin_a}
