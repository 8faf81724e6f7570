"""Races on one member's credits (PostgreSQL only: SQLite serializes writers).

Ten riders' requests spend the member's last credit at the same instant: the member lock lets
exactly one through. The control tests switch the lock off to show the race is real, and that
the database constraints still refuse what the missing lock lets through.
"""

import threading
import time
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from members_app import services
from members_app.errors import InsufficientCredits
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditLot, CreditTransaction, Member
from members_app.tests.factories import MemberFactory
from spinning.locking import locks_disabled, pause_hook

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]
THREADS = 10


def run_at_once(target, n: int = THREADS) -> list:
    """Run target(i) in n threads released together; [(outcome, value)] with outcome ok/error."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = ("ok", target(i))
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def errors_of(results) -> list:
    return [value for outcome, value in results if outcome == "error"]


class CheckCounter:
    """A pause hook that counts the threads that got past the balance check, then waits."""

    def __init__(self, point: str = "credits_checked", sleep: float = 0.2):
        self.point, self.sleep = point, sleep
        self.passed = 0
        self._lock = threading.Lock()

    def __call__(self, point: str) -> None:
        if point != self.point:
            return
        with self._lock:
            self.passed += 1
        time.sleep(self.sleep)


@pytest.fixture
def member_with_one_credit():
    member = MemberFactory()
    services.credit_adjustment_create(organization=member.organization, member_id=member.pk, amount=1, reason="last")
    return member


def deduct_one(member):
    def target(i):
        return services.credit_adjustment_create(
            organization=member.organization, member_id=member.pk, amount=-1, reason=f"thread {i}"
        )

    return target


def spend_one_for_a_booking(member):
    """The booking path: the caller's transaction locks the member, then spends."""

    def target(i):
        with transaction.atomic(durable=True):
            locked = services.member_lock(organization=member.organization, member_id=member.pk)
            return services.credits_spend(member=locked, amount=1, booking_id=uuid.uuid4())

    return target


def assert_ledger_sound(member, balance: int):
    member.refresh_from_db()
    assert member.credit_balance == balance
    assert min(CreditLot.objects.filter(member=member).values_list("remaining", flat=True)) >= 0
    assert ledger_breaches() == []


@pytest.mark.parametrize("spend", [deduct_one, spend_one_for_a_booking])
def test_ten_threads_spend_the_last_credit_exactly_one_wins(member_with_one_credit, spend):
    member = member_with_one_credit
    counter = CheckCounter(sleep=0.02)
    with pause_hook(counter):
        results = run_at_once(spend(member))
    wins = [value for outcome, value in results if outcome == "ok"]
    assert len(wins) == 1
    assert all(isinstance(exc, InsufficientCredits) for exc in errors_of(results)), errors_of(results)
    assert len(errors_of(results)) == THREADS - 1
    # the lock let exactly one thread reach the point after the balance check
    assert counter.passed == 1
    assert_ledger_sound(member, balance=0)
    assert CreditTransaction.objects.filter(member=member, amount__lt=0).count() == 1


@pytest.mark.parametrize("spend", [deduct_one, spend_one_for_a_booking])
def test_control_without_the_lock_the_race_is_real_and_the_database_still_refuses(member_with_one_credit, spend):
    member = member_with_one_credit
    counter = CheckCounter(sleep=0.2)
    with locks_disabled(), pause_hook(counter):
        results = run_at_once(spend(member))
    # the race is real: several threads saw the one credit and went on to spend it
    assert counter.passed > 1
    # and the database refused every extra spend. In practice the lot's conditional update
    # (`remaining >= n`, re-checked by PostgreSQL once the winner commits) finds nothing left and
    # the service answers insufficient_credits; were it to slip, the (member, seq) unique
    # constraint and the lot check constraint refuse the row (IntegrityError).
    wins = [value for outcome, value in results if outcome == "ok"]
    assert len(wins) == 1
    refused = errors_of(results)
    assert all(isinstance(exc, InsufficientCredits | IntegrityError) for exc in refused), refused
    assert_ledger_sound(member, balance=0)


def test_concurrent_grants_with_the_lock_all_count(member_with_one_credit):
    member = member_with_one_credit

    def grant(i):
        return services.credit_adjustment_create(
            organization=member.organization, member_id=member.pk, amount=1, reason=f"gift {i}"
        )

    results = run_at_once(grant)
    assert errors_of(results) == []
    assert_ledger_sound(member, balance=1 + THREADS)
    assert sorted(CreditTransaction.objects.filter(member=member).values_list("seq", flat=True)) == list(
        range(1, THREADS + 2)
    )


def test_control_concurrent_grants_without_the_lock_hit_the_seq_constraint(member_with_one_credit):
    # Without the lock every writer reads the same balance and seq: all but one would be lost
    # updates. The (member, seq) unique constraint refuses them instead.
    member = member_with_one_credit
    counter = CheckCounter(point="member_locked", sleep=0.2)

    def grant(i):
        return services.credit_adjustment_create(
            organization=member.organization, member_id=member.pk, amount=1, reason=f"gift {i}"
        )

    with locks_disabled(), pause_hook(counter):
        results = run_at_once(grant)
    assert counter.passed == THREADS
    refused = errors_of(results)
    assert len(refused) == THREADS - 1
    assert all(isinstance(exc, IntegrityError) and "ledger_member_seq_unique" in str(exc) for exc in refused), refused
    assert_ledger_sound(member, balance=2)
    assert Member.objects.get(pk=member.pk).ledger_seq == 2
