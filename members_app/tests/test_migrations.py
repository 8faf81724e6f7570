"""Data migrations do what they say on existing rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("members_app", "0003_organization_policy_language_contact")]
AFTER = [("members_app", "0004_member_names_language_search")]


@pytest.mark.django_db(transaction=True)
def test_each_member_record_gets_the_names_its_account_had():
    executor = MigrationExecutor(connection)
    # every app's latest state, to put back at the end
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        Organization = old.get_model("members_app", "Organization")
        User = old.get_model("members_app", "User")
        Member = old.get_model("members_app", "Member")
        one, two = (Organization.objects.create(slug=f"s{i}", name=f"S{i}") for i in (1, 2))
        elif_ = User.objects.create(email="elif@example.com", first_name="Elif", last_name="Yılmaz")
        can = User.objects.create(email="can@example.com", first_name="Can", last_name="")
        for organization in (one, two):
            Member.objects.create(organization=organization, user=elif_, phone="+90 555")
        Member.objects.create(organization=one, user=can)

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        rows = new.get_model("members_app", "Member").objects.order_by("user__email", "organization__slug")
        assert [(m.user.email, m.first_name, m.last_name, m.language) for m in rows] == [
            ("can@example.com", "Can", "", None),
            ("elif@example.com", "Elif", "Yılmaz", None),
            ("elif@example.com", "Elif", "Yılmaz", None),
        ]
        assert all("yilmaz" in m.search_key for m in rows if m.user.email.startswith("elif"))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
