"""The admin is scoped to the staff user's studio and role; the ledger is read-only there."""

import pytest
from django.contrib import admin as django_admin
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from members_app import services
from members_app.admin_base import TenantScopedAdmin
from members_app.models import CreditPriceChange, CreditTransaction
from members_app.tests.factories import MemberFactory, UserFactory, staff_user

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def credited_a(member_a, org_a):
    services.credit_adjustment_create(organization=org_a, member_id=member_a.pk, amount=4, reason="Welcome gift")
    member_a.refresh_from_db()
    return member_a


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


# --- members: each studio's staff see their own --------------------------------------------------
@pytest.mark.parametrize("role", ["admin", "desk"])
def test_staff_of_a_see_only_a_members_in_the_changelist(admin_a, desk_a, member_a, member_b, role):
    client = logged_in(admin_a if role == "admin" else desk_a)
    response = client.get(url("members_app_member_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [member_a]
    content = response.content.decode()
    assert member_a.user.email in content
    assert member_b.user.email not in content
    # not even the other studio's name leaks (e.g. through the list filter)
    assert "Studio B" not in content


def test_staff_of_a_cannot_open_a_studio_b_member(admin_a, member_b):
    response = logged_in(admin_a).get(url("members_app_member_change", member_b.pk))
    assert response.status_code == 302
    assert response.url == url("index")


def test_superuser_sees_every_studio(member_a, member_b):
    root = UserFactory(is_staff=True, is_superuser=True)
    response = logged_in(root).get(url("members_app_member_changelist"))
    assert set(response.context["cl"].result_list) == {member_a, member_b}


def test_member_page_shows_lots_and_ledger_to_the_front_desk(desk_a, credited_a):
    response = logged_in(desk_a).get(url("members_app_member_change", credited_a.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Welcome gift" in content  # the ledger row
    assert "Adjust credits" in content
    assert url("members_app_member_credit_adjustment", credited_a.pk) in content


def member_change_data(member, **overrides) -> dict:
    """What the member change form posts: the member's fields and the read-only inlines'
    management forms (their rows are shown, never posted back)."""
    lots = member.credit_lots.count()
    rows = member.credit_transactions.count()
    data = {
        "organization": member.organization_id,
        "user": member.user_id,
        "phone": member.phone,
        "status": member.status,
        "credit_lots-TOTAL_FORMS": lots,
        "credit_lots-INITIAL_FORMS": lots,
        "credit_transactions-TOTAL_FORMS": rows,
        "credit_transactions-INITIAL_FORMS": rows,
    }
    data.update(overrides)
    return data


def test_front_desk_changes_a_members_status_and_phone_in_the_admin(desk_a, credited_a):
    response = logged_in(desk_a).post(
        url("members_app_member_change", credited_a.pk),
        member_change_data(credited_a, status="SUSPENDED", phone="+90 212"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    credited_a.refresh_from_db()
    assert (credited_a.status, credited_a.phone, credited_a.credit_balance) == ("SUSPENDED", "+90 212", 4)


def test_saving_a_member_in_the_admin_never_writes_back_a_stale_balance(admin_a, credited_a, monkeypatch):
    # given the balance changes while the admin's save is under way (a booking at the same moment)
    from django.contrib.admin import ModelAdmin

    original = ModelAdmin.get_object

    def get_object_then_a_booking_spends(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "POST" and obj is not None:
            with transaction.atomic():  # what a concurrent booking commits meanwhile
                member = services.member_lock(organization=obj.organization, member_id=obj.pk)
                services.credits_spend(member=member, amount=1)
        return obj

    monkeypatch.setattr(ModelAdmin, "get_object", get_object_then_a_booking_spends)
    response = logged_in(admin_a).post(url("members_app_member_change", credited_a.pk), member_change_data(credited_a))
    assert response.status_code == 302
    # then the spend is not undone by the admin's save
    credited_a.refresh_from_db()
    assert credited_a.credit_balance == 3
    from members_app.ledger_check import ledger_breaches

    assert ledger_breaches() == []


def test_a_members_studio_and_person_cannot_be_changed_in_the_admin(org_a, org_b, credited_a):
    root = UserFactory(is_staff=True, is_superuser=True)
    other = UserFactory()
    response = logged_in(root).post(
        url("members_app_member_change", credited_a.pk),
        member_change_data(credited_a, organization=org_b.pk, user=other.pk, phone="1"),
    )
    assert response.status_code == 302
    credited_a.refresh_from_db()
    assert (credited_a.organization_id, credited_a.user_id, credited_a.phone) == (org_a.pk, credited_a.user_id, "1")
    assert credited_a.user_id != other.pk


def test_staff_of_a_add_a_member_of_a_in_the_admin(admin_a, org_a, org_b):
    person = UserFactory()
    client = logged_in(admin_a)
    data = {
        "organization": org_a.pk,
        "email": person.email.upper(),
        "first_name": person.first_name,
        "last_name": person.last_name,
        "phone": "",
        "password": "",
    }
    assert client.post(url("members_app_member_add"), {**data, "organization": org_b.pk}).status_code == 200  # refused
    assert client.post(url("members_app_member_add"), data).status_code == 302
    assert person.memberships.get().organization == org_a
    # the same person again is refused with a message, not a crash
    response = client.post(url("members_app_member_add"), data)
    assert response.status_code == 200
    assert "already a member" in response.content.decode()


def test_staff_add_a_new_person_as_member_by_email(admin_a, org_a):
    client = logged_in(admin_a)
    data = {
        "organization": org_a.pk,
        "email": "New.Rider@Example.com",
        "first_name": "New",
        "last_name": "Rider",
        "phone": "+90555",
        "password": "",
    }
    assert client.post(url("members_app_member_add"), data).status_code == 302
    member = org_a.members.get(user__email="new.rider@example.com")
    assert member.phone == "+90555" and not member.user.has_usable_password()


# --- roles: the front desk does members, not studio settings or the catalog ---------------------
def test_front_desk_cannot_open_the_organization_admin(desk_a, org_a):
    client = logged_in(desk_a)
    assert client.get(url("members_app_organization_change", org_a.pk)).status_code == 403
    assert client.get(url("members_app_organization_changelist")).status_code == 403
    assert client.post(url("members_app_organization_change", org_a.pk), {"name": "X"}).status_code == 403
    org_a.refresh_from_db()
    assert org_a.name == "Studio A"


def test_front_desk_admin_index_shows_members_but_not_policy_screens(desk_a):
    response = logged_in(desk_a).get(url("index"))
    assert response.status_code == 200
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert "Member" in models
    assert not models & {"Organization", "CreditPriceChange", "StaffRole", "User"}
    # nor any catalog screen (packages, coupons)
    assert not models & {"Package", "Coupon"}


def test_catalog_screens_are_admin_only_for_the_front_desk(org_a, desk_a, admin_a):
    """Screens built on TenantScopedAdmin are ADMIN-only unless they say otherwise; the catalog
    (packages_app) keeps that default. Checked on the registered catalog admins when they exist."""
    from packages_app.models import Coupon, Package

    request = RequestFactory().get("/admin/")
    for model in (Package, Coupon):
        model_admin = django_admin.site._registry.get(model) or TenantScopedAdmin(model, django_admin.site)
        request.user = desk_a
        assert not model_admin.has_module_permission(request), model
        assert not model_admin.has_view_permission(request), model
        assert not model_admin.has_add_permission(request), model
        request = RequestFactory().get("/admin/")
        request.user = admin_a
        assert model_admin.has_module_permission(request), model
        request = RequestFactory().get("/admin/")


def test_admin_of_a_edits_only_their_own_studio(admin_a, org_a, org_b):
    client = logged_in(admin_a)
    assert client.get(url("members_app_organization_change", org_a.pk)).status_code == 200
    assert client.get(url("members_app_organization_change", org_b.pk)).status_code == 302
    response = client.get(url("members_app_organization_changelist"))
    assert list(response.context["cl"].result_list) == [org_a]


def test_admin_changing_the_credit_price_in_the_admin_writes_price_history(admin_a, org_a):
    client = logged_in(admin_a)
    data = {
        "slug": org_a.slug,
        "name": org_a.name,
        "timezone": org_a.timezone,
        "currency": org_a.currency,
        "credit_price": "1600.00",
        "booking_window_days": 7,
        "priority_booking_hours": 24,
        "cancellation_window_hours": 12,
        "no_show_grace_minutes": 15,
        "check_in_opens_minutes": 60,
        "waitlist_cutoff_minutes": 60,
        "waitlist_max_size": 20,
        "pending_request_hours": 72,
        "language": "tr",
    }
    response = client.post(url("members_app_organization_change", org_a.pk), data)
    assert response.status_code == 302, response.content[:2000]
    org_a.refresh_from_db()
    assert str(org_a.credit_price) == "1600.00"
    change = CreditPriceChange.objects.get(organization=org_a)
    assert (str(change.credit_price_before), str(change.credit_price_after), change.changed_by) == (
        "1500.00",
        "1600.00",
        admin_a,
    )


# --- the ledger is append-only -------------------------------------------------------------------
@pytest.mark.parametrize("who", ["admin", "superuser"])
def test_ledger_rows_have_no_add_change_or_delete_in_the_admin(admin_a, credited_a, who):
    user = admin_a if who == "admin" else UserFactory(is_staff=True, is_superuser=True)
    client = logged_in(user)
    row = CreditTransaction.objects.get(member=credited_a)
    # the list and the row are readable
    changelist = client.get(url("members_app_credittransaction_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 1
    assert not changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)  # no bulk delete
    view = client.get(url("members_app_credittransaction_change", row.pk))
    assert view.status_code == 200
    assert not view.context["has_change_permission"] and not view.context["has_delete_permission"]
    # but nothing can be added, changed or deleted
    assert client.get(url("members_app_credittransaction_add")).status_code == 403
    assert client.post(url("members_app_credittransaction_add"), {"amount": 5}).status_code == 403
    assert client.post(url("members_app_credittransaction_change", row.pk), {"amount": 500}).status_code == 403
    assert client.get(url("members_app_credittransaction_delete", row.pk)).status_code == 403
    assert client.post(url("members_app_credittransaction_delete", row.pk), {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.amount == 4
    # lots are read-only too
    lot = row.lot
    assert client.post(url("members_app_creditlot_change", lot.pk), {"remaining": 100}).status_code == 403
    assert client.post(url("members_app_creditlot_delete", lot.pk), {"post": "yes"}).status_code == 403
    lot.refresh_from_db()
    assert lot.remaining == 4


def test_ledger_changelist_is_scoped_to_the_studio(admin_b, credited_a):
    response = logged_in(admin_b).get(url("members_app_credittransaction_changelist"))
    assert response.context["cl"].result_count == 0
    row = CreditTransaction.objects.get(member=credited_a)
    assert logged_in(admin_b).get(url("members_app_credittransaction_change", row.pk)).status_code == 302


# --- "Adjust credits" ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["admin", "desk"])
def test_adjust_credits_in_the_admin(admin_a, desk_a, credited_a, role):
    staff = admin_a if role == "admin" else desk_a
    client = logged_in(staff)
    page = url("members_app_member_credit_adjustment", credited_a.pk)
    # the form shows the balance
    response = client.get(page)
    assert response.status_code == 200
    assert "Current balance: <strong>4</strong>" in response.content.decode()
    # when staff add 3 credits that expire
    response = client.post(page, {"amount": 3, "reason": "Apology", "expires_at": "01.01.2099"})  # a day (issue 12)
    # then they go back to the member with a message, and the ledger has the row
    assert response.status_code == 302
    assert response.url == url("members_app_member_change", credited_a.pk)
    credited_a.refresh_from_db()
    assert credited_a.credit_balance == 7
    row = CreditTransaction.objects.filter(member=credited_a).order_by("-seq").first()
    assert (row.type, row.amount, row.description, row.performed_by) == ("MANUAL_ADD", 3, "Apology", staff)
    assert row.lot.expires_at is not None
    # and a deduct works too
    assert client.post(page, {"amount": -5, "reason": "Correction"}).status_code == 302
    credited_a.refresh_from_db()
    assert credited_a.credit_balance == 2


def test_adjust_credits_below_zero_shows_the_refusal(admin_a, credited_a):
    response = logged_in(admin_a).post(
        url("members_app_member_credit_adjustment", credited_a.pk), {"amount": -10, "reason": "Too much"}
    )
    assert response.status_code == 200
    assert "insufficient_credits" not in response.content.decode()  # words, not codes (issue 12 item 8)
    assert "does not have enough credits" in response.content.decode()
    credited_a.refresh_from_db()
    assert credited_a.credit_balance == 4


def test_adjust_credits_form_validation(admin_a, credited_a):
    response = logged_in(admin_a).post(url("members_app_member_credit_adjustment", credited_a.pk), {"amount": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"amount", "reason"}


def test_adjust_credits_of_another_studios_member_is_refused(admin_b, credited_a):
    response = logged_in(admin_b).post(
        url("members_app_member_credit_adjustment", credited_a.pk), {"amount": -4, "reason": "steal"}
    )
    assert response.status_code == 302
    assert response.url == url("members_app_member_changelist")
    credited_a.refresh_from_db()
    assert credited_a.credit_balance == 4


def test_instructor_cannot_adjust_credits(org_a, credited_a):
    instructor = staff_user(org_a, "INSTRUCTOR")
    response = logged_in(instructor).post(
        url("members_app_member_credit_adjustment", credited_a.pk), {"amount": 4, "reason": "x"}
    )
    assert response.status_code == 302
    credited_a.refresh_from_db()
    assert credited_a.credit_balance == 4


def test_people_without_a_staff_role_cannot_use_the_admin(member_a):
    response = logged_in(member_a.user).get(url("members_app_member_changelist"))
    assert response.status_code == 302
    assert "/login/" in response.url


def test_admin_of_a_gives_a_staff_role_in_the_admin(admin_a, org_a, org_b):
    person = MemberFactory(organization=org_a).user
    client = logged_in(admin_a)
    data = {"organization": org_a.pk, "person_email": person.email.upper(), "role": "FRONT_DESK"}
    # not in another studio
    assert client.post(url("members_app_staffrole_add"), {**data, "organization": org_b.pk}).status_code == 200
    assert not person.staff_roles.exists()
    response = client.post(url("members_app_staffrole_add"), data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.is_staff  # may now log in to the admin
    assert person.staff_roles.get().organization == org_a


def test_front_desk_cannot_give_staff_roles(desk_a, org_a):
    person = MemberFactory(organization=org_a).user
    data = {"organization": org_a.pk, "person_email": person.email, "role": "ADMIN"}
    assert logged_in(desk_a).post(url("members_app_staffrole_add"), data).status_code == 403
    assert not person.staff_roles.exists()
