"""The read replica router: only when a replica is configured, only for the reads that may lag,
never inside a write transaction (docs/SCALING.md)."""

from datetime import date

import pytest
from django.db import transaction
from django.test import override_settings

from bookings_app.models import Location
from members_app.tests.factories import OrganizationFactory
from reports_app.selectors import Period, coupons_report
from spinning.db_router import ReadReplicaRouter, replica_reads, replica_settings

ROUTER = "spinning.db_router.ReadReplicaRouter"
DEFAULT = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "spin",
    "CONN_MAX_AGE": 60,
    "CONN_HEALTH_CHECKS": True,
    "OPTIONS": {"options": "-c lock_timeout=3000 -c statement_timeout=30000"},
}


def test_without_a_replica_url_nothing_changes():
    databases, routers = replica_settings({"default": DEFAULT}, {})
    assert databases == {"default": DEFAULT} and routers == []
    assert replica_settings({"default": DEFAULT}, {"DATABASE_REPLICA_URL": "  "})[1] == []


def test_a_replica_url_adds_the_alias_with_defaults_options_and_the_router():
    databases, routers = replica_settings(
        {"default": DEFAULT}, {"DATABASE_REPLICA_URL": "postgres://ro@10.0.0.2:5433/spin"}
    )
    replica = databases["replica"]
    assert routers == [ROUTER]
    assert (replica["HOST"], replica["PORT"], replica["USER"], replica["NAME"]) == ("10.0.0.2", 5433, "ro", "spin")
    assert replica["OPTIONS"]["options"] == DEFAULT["OPTIONS"]["options"]  # the same timeouts
    assert replica["CONN_MAX_AGE"] == 60 and replica["TEST"] == {"MIRROR": "default"}
    assert databases["default"] is DEFAULT


def test_router_sends_only_marked_reads_outside_transactions_to_the_replica():
    router = ReadReplicaRouter()
    assert router.db_for_read(Location) is None
    with replica_reads():
        assert router.db_for_read(Location) == "replica"
        assert router.db_for_write(Location) is None
    assert router.db_for_read(Location) is None
    assert router.allow_migrate("replica", "bookings_app") is False
    assert router.allow_migrate("default", "bookings_app") is True


@pytest.mark.django_db
def test_inside_a_write_transaction_reads_stay_on_default():
    router = ReadReplicaRouter()
    with transaction.atomic(), replica_reads():
        assert router.db_for_read(Location) is None


class RecordingRouter(ReadReplicaRouter):
    """Asks the real router and keeps its answer, but reads from default (no replica in tests)."""

    answers: list = []

    def db_for_read(self, model, **hints):
        self.answers.append(super().db_for_read(model, **hints))


@override_settings(DATABASE_ROUTERS=[ROUTER])
def test_querysets_follow_the_router():
    assert Location.objects.all().db == "default"
    with replica_reads():
        assert Location.objects.all().db == "replica"


@pytest.mark.django_db(transaction=True)  # no test transaction around it: a request's reads
@override_settings(DATABASE_ROUTERS=["spinning.tests.test_db_router.RecordingRouter"])
def test_the_reports_read_from_the_replica():
    RecordingRouter.answers = []
    organization = OrganizationFactory()
    coupons_report(period=Period(organization, date(2026, 3, 1), date(2026, 3, 31)))
    assert RecordingRouter.answers and set(RecordingRouter.answers) == {"replica"}
