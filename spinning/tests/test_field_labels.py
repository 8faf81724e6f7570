"""Every field label of our models has a Turkish translation and shows in the admin in the staff
user's language (issue 10 item 5)."""

import pytest
from django.apps import apps
from django.utils import translation
from django.utils.functional import Promise

from spinning.field_labels import LABELS


def our_fields():
    for app_label in ("members_app", "packages_app", "bookings_app"):
        for model in apps.get_app_config(app_label).get_models():
            for field in model._meta.get_fields():
                if getattr(field, "verbose_name", None) is not None:
                    yield model, field


def test_every_field_label_is_listed_for_translation():
    listed = set(LABELS)
    missing = {
        f"{model.__name__}.{field.name}: {field.verbose_name}"
        for model, field in our_fields()
        # Django's own labels (AbstractUser's) come lazy, with Django's catalogs
        if not isinstance(getattr(field, "_verbose_name", None), Promise) and str(field.verbose_name) not in listed
    }
    assert not missing, (
        f"add these labels to spinning/field_labels.py and their Turkish to locale/tr: {sorted(missing)}"
    )


def test_field_labels_are_turkish_when_the_language_is():
    from members_app.models import Member

    label = Member._meta.get_field("first_name").verbose_name
    with translation.override("tr"):
        assert str(label) == "ad"
    with translation.override("en"):
        assert str(label) == "first name"


@pytest.mark.django_db
def test_the_member_form_speaks_turkish_to_a_staff_user_who_chose_it(client):
    from members_app.tests.factories import MemberFactory, OrganizationFactory, staff_user

    org = OrganizationFactory()
    member = MemberFactory(organization=org)
    admin = staff_user(org)
    admin.language = "tr"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    page = client.get(f"/admin/members_app/member/{member.pk}/change/").content.decode()
    assert "Soyad" in page and "Telefon" in page
    assert "Last name" not in page
