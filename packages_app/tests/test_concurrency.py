"""Races (issue 3, item 5), on PostgreSQL: N threads behind a Barrier, each closing its connection.

Each race has a test that exactly one request wins, and a control that switches the row locks
off (`locks_disabled`) and widens the window (`pause_hook`) to show the race is real: without
the lock both requests get past the check. Where a database backstop exists (conditional F()
updates, unique constraints) the control also shows the backstop alone still keeps one winner;
where the lock is the only guard (first purchase, All Access stacking) the control shows the
wrong outcome the lock prevents.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from members_app.idempotency import IdempotencyRequest, IdempotentReplay
from members_app.models import CreditTransaction
from members_app.tests.factories import MemberFactory, OrganizationFactory
from packages_app import services
from packages_app.models import Coupon, CouponMemberUse, Redemption
from packages_app.tests.factories import AllAccessPackageFactory, BonusCouponFactory, CouponFactory, PackageFactory
from spinning import clock
from spinning.errors import DomainError
from spinning.locking import locks_disabled, pause_hook

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


class Window:
    """A pause hook: counts the threads that reach `point` and holds each there for a moment."""

    def __init__(self, point: str, delay: float = 0.6):
        self.point, self.delay, self.hits = point, delay, 0
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        if name == self.point:
            with self._lock:
                self.hits += 1
            time.sleep(self.delay)


def race(*calls):
    """Run the calls at once; each outcome is ("ok", value), ("refused", code), ("replay", id) or ("error", repr)."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = ("ok", call())
        except IdempotentReplay as replay:
            outcomes[index] = ("replay", replay.resource_id)
        except DomainError as exc:
            outcomes[index] = ("refused", exc.code)
        except Exception as exc:  # noqa: BLE001 - the control tests want to see it
            outcomes[index] = ("error", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def kinds(outcomes):
    return sorted(kind for kind, _ in outcomes)


def sale(org, member, package, coupon=None, by_staff=True, idem=None):
    return lambda: services.redemption_create(
        organization=org,
        package_id=package.pk,
        member_id=member.pk,
        by_staff=by_staff,
        performed_by=None,
        coupon_code=coupon.code if coupon else None,
        idem=idem,
    )


@pytest.fixture
def org():
    return OrganizationFactory()


# --- two buyers, the last use of a coupon ----------------------------------------------------------
def test_two_buyers_race_for_the_last_use_exactly_one_wins(org):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=1)
    a, b = MemberFactory(organization=org), MemberFactory(organization=org)
    window = Window("coupon_checked")
    with pause_hook(window):
        outcomes = race(sale(org, a, package, coupon), sale(org, b, package, coupon))
    assert kinds(outcomes) == ["ok", "refused"]
    assert ("refused", "coupon_exhausted") in outcomes
    assert window.hits == 1  # the second buyer waited for the coupon row, then saw it used up
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 1
    assert Redemption.objects.count() == 1


def test_control_last_use_without_the_lock_both_pass_the_check_the_conditional_update_holds(org):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=1)
    a, b = MemberFactory(organization=org), MemberFactory(organization=org)
    window = Window("coupon_checked")
    with locks_disabled(), pause_hook(window):
        outcomes = race(sale(org, a, package, coupon), sale(org, b, package, coupon))
    assert window.hits == 2  # the race is real: both saw a use left
    # the backstop: `UPDATE ... WHERE times_redeemed < max_redemptions` lets one through
    assert ("refused", "coupon_exhausted") in outcomes
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 1
    assert Redemption.objects.count() == 1


def test_many_buyers_for_three_uses(org):
    package = PackageFactory(organization=org)
    coupon = BonusCouponFactory(organization=org, max_redemptions=3)
    buyers = [MemberFactory(organization=org) for _ in range(8)]
    outcomes = race(*(sale(org, m, package, coupon) for m in buyers))
    assert kinds(outcomes).count("ok") == 3
    assert [o for o in outcomes if o[0] != "ok"] == [("refused", "coupon_exhausted")] * 5
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 3


# --- one member, a once-per-member coupon, twice at once -------------------------------------------
def test_same_member_once_per_member_coupon_twice_at_once(org):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions_per_member=1)
    member = MemberFactory(organization=org)
    window = Window("coupon_checked")
    with pause_hook(window):
        outcomes = race(sale(org, member, package, coupon), sale(org, member, package, coupon))
    assert kinds(outcomes) == ["ok", "refused"]
    assert ("refused", "coupon_member_limit") in outcomes
    assert window.hits == 1
    assert CouponMemberUse.objects.get(coupon=coupon, member=member).uses == 1


def test_control_same_member_without_the_lock_both_pass_the_check_the_use_counter_holds(org):
    package = PackageFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions_per_member=1)
    member = MemberFactory(organization=org)
    window = Window("coupon_checked")
    with locks_disabled(), pause_hook(window):
        outcomes = race(
            sale(org, member, package, coupon, by_staff=False), sale(org, member, package, coupon, by_staff=False)
        )
    assert window.hits == 2
    assert ("refused", "coupon_member_limit") in outcomes
    assert CouponMemberUse.objects.get(coupon=coupon, member=member).uses == 1
    assert Redemption.objects.count() == 1


# --- first purchase only: the member lock is the only guard ---------------------------------------
def test_two_first_purchase_coupons_at_once_only_one_is_a_first_purchase(org):
    package = PackageFactory(organization=org)
    one = BonusCouponFactory(organization=org, first_purchase_only=True)
    two = BonusCouponFactory(organization=org, first_purchase_only=True)
    member = MemberFactory(organization=org)
    window = Window("coupon_checked")
    with pause_hook(window):
        outcomes = race(
            sale(org, member, package, one, by_staff=False), sale(org, member, package, two, by_staff=False)
        )
    assert kinds(outcomes) == ["ok", "refused"]
    assert ("refused", "coupon_first_purchase_only") in outcomes


def test_control_first_purchase_without_the_lock_both_win(org):
    package = PackageFactory(organization=org)
    one = BonusCouponFactory(organization=org, first_purchase_only=True)
    two = BonusCouponFactory(organization=org, first_purchase_only=True)
    member = MemberFactory(organization=org)
    window = Window("coupon_checked")
    with locks_disabled(), pause_hook(window):
        outcomes = race(
            sale(org, member, package, one, by_staff=False), sale(org, member, package, two, by_staff=False)
        )
    assert kinds(outcomes) == ["ok", "ok"]  # two "first" purchases: what the member lock prevents
    assert Redemption.objects.filter(member=member).count() == 2


# --- All Access stacking: the member lock is the only guard ---------------------------------------
def test_two_all_access_sales_at_once_stack(org):
    package = AllAccessPackageFactory(organization=org, all_access_days=30)
    member = MemberFactory(organization=org)
    with pause_hook(Window("all_access_start_chosen", 0.3)):
        outcomes = race(sale(org, member, package), sale(org, member, package))
    assert kinds(outcomes) == ["ok", "ok"]
    first, second = Redemption.objects.filter(member=member).order_by("all_access_starts_on")
    assert second.all_access_starts_on == first.all_access_ends_on + timedelta(days=1)
    member.refresh_from_db()
    assert member.all_access_expires_at == second.all_access_expires_at


def test_control_all_access_without_the_lock_overlaps(org):
    package = AllAccessPackageFactory(organization=org, all_access_days=30)
    member = MemberFactory(organization=org)
    with locks_disabled(), pause_hook(Window("all_access_start_chosen", 0.3)):
        race(sale(org, member, package), sale(org, member, package))
    starts = set(Redemption.objects.filter(member=member).values_list("all_access_starts_on", flat=True))
    assert len(starts) == 1  # both start today: 30 days paid twice, covered once


# --- the same Idempotency-Key twice at once ---------------------------------------------------------
def test_same_idempotency_key_twice_at_once_one_redemption(org):
    from members_app.tests.factories import staff_user

    package = PackageFactory(organization=org)
    member = MemberFactory(organization=org)
    staff = staff_user(org)

    def idem():
        return IdempotencyRequest(user_id=staff.pk, scope="redeem", key="retry-1", request_hash="same-body")

    with pause_hook(Window("member_locked", 0.3)):
        outcomes = race(sale(org, member, package, idem=idem()), sale(org, member, package, idem=idem()))
    assert kinds(outcomes) == ["ok", "replay"]
    created = next(value for kind, value in outcomes if kind == "ok")
    replayed = next(value for kind, value in outcomes if kind == "replay")
    assert replayed == created.pk
    assert Redemption.objects.count() == 1
    assert CreditTransaction.objects.filter(member=member).count() == 1


def test_control_without_an_idempotency_key_a_retry_sells_twice(org):
    package = PackageFactory(organization=org)
    member = MemberFactory(organization=org)
    with pause_hook(Window("member_locked", 0.3)):
        outcomes = race(sale(org, member, package), sale(org, member, package))
    assert kinds(outcomes) == ["ok", "ok"]
    assert Redemption.objects.count() == 2  # what the key exists to prevent


# --- confirm pressed twice at once ---------------------------------------------------------------------
def _pending(org):
    member = MemberFactory(organization=org)
    redemption = services.redemption_create(
        organization=org,
        package_id=PackageFactory(organization=org).pk,
        member_id=member.pk,
        by_staff=False,
        performed_by=None,
    )
    return member, redemption


def confirm(org, redemption):
    return lambda: services.redemption_confirm(organization=org, redemption_id=redemption.pk, performed_by=None)


def test_confirm_pressed_twice_at_once_grants_once(org):
    member, redemption = _pending(org)
    window = Window("confirm_checked")
    with pause_hook(window):
        outcomes = race(confirm(org, redemption), confirm(org, redemption))
    assert kinds(outcomes) == ["ok", "refused"]
    assert ("refused", "invalid_state") in outcomes
    assert window.hits == 1
    assert list(CreditTransaction.objects.filter(member=member).values_list("type", "amount")) == [("PURCHASE", 5)]
    member.refresh_from_db()
    assert member.credit_balance == 5


def test_control_confirm_without_the_lock_both_pass_the_check_the_conditional_transition_holds(org):
    member, redemption = _pending(org)
    window = Window("confirm_checked")
    with locks_disabled(), pause_hook(window):
        outcomes = race(confirm(org, redemption), confirm(org, redemption))
    assert window.hits == 2  # both saw PENDING
    # `UPDATE ... WHERE status = 'PENDING'` moves it once; the other is refused before granting
    assert ("refused", "invalid_state") in outcomes
    assert CreditTransaction.objects.filter(member=member).count() == 1


# --- expire_packages beside itself and beside traffic ---------------------------------------------
def _due(org):
    now = clock.now()
    member = MemberFactory(organization=org)
    services.redemption_create(
        organization=org,
        package_id=PackageFactory(organization=org, credit_validity_days=1).pk,
        member_id=member.pk,
        by_staff=True,
        performed_by=None,
        now=now - timedelta(days=3),
    )
    return member


def test_two_copies_of_the_expiry_job_expire_each_lot_once(org):
    member = _due(org)
    window = Window("expire_member_locked", 0.5)
    with pause_hook(window):
        outcomes = race(lambda: services.packages_expire(), lambda: services.packages_expire())
    assert kinds(outcomes) == ["ok", "ok"]
    reports = [value for _, value in outcomes]
    assert sorted(r.lots_expired for r in reports) == [0, 1]
    assert sorted(r.members_skipped for r in reports) == [0, 1]  # the other copy skipped the busy member
    assert CreditTransaction.objects.filter(member=member, type="EXPIRATION").count() == 1
    assert window.hits == 1


def test_control_two_copies_without_the_lock_collide(org):
    member = _due(org)
    window = Window("expire_member_locked", 0.5)
    settled = Window("member_settled", 1.0)  # the first copy holds its writes uncommitted a moment

    def hook(point):
        window(point)
        settled(point)

    with locks_disabled(), pause_hook(hook):
        outcomes = race(lambda: services.packages_expire(), lambda: services.packages_expire())
    assert window.hits == 2  # both copies worked on the same member at once
    expirations = CreditTransaction.objects.filter(member=member, type="EXPIRATION").count()
    assert "error" in kinds(outcomes) or expirations == 2


def test_expiry_job_skips_a_member_held_by_traffic_and_settles_them_next_run(org):
    from django.db import transaction

    member = _due(org)
    held, release = threading.Event(), threading.Event()

    def traffic():
        try:
            with transaction.atomic():
                from members_app.services import member_lock

                member_lock(organization=org, member_id=member.pk)
                held.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=traffic)
    thread.start()
    assert held.wait(timeout=10)
    try:
        started = time.monotonic()
        report = services.packages_expire()
        assert time.monotonic() - started < 2  # it did not wait for the lock
        assert (report.members_skipped, report.lots_expired) == (1, 0)
    finally:
        release.set()
        thread.join()
    assert services.packages_expire().lots_expired == 1


# --- unpaid requests (issue 8 item 2): the job beside itself and beside traffic ---------------------
def _unpaid(org):
    """A member's PENDING request with a once-per-member coupon, made 80 hours ago (policy: 72)."""
    member = MemberFactory(organization=org)
    coupon = CouponFactory(organization=org, max_redemptions=1, max_redemptions_per_member=1)
    redemption = services.redemption_create(
        organization=org,
        package_id=PackageFactory(organization=org).pk,
        member_id=member.pk,
        by_staff=False,
        performed_by=None,
        coupon_code=coupon.code,
        now=clock.now() - timedelta(hours=80),
    )
    return member, coupon, redemption


def test_two_copies_of_the_job_cancel_an_unpaid_request_once_and_give_the_use_back_once(org):
    member, coupon, redemption = _unpaid(org)
    window = Window("unpaid_checked", 0.5)
    with pause_hook(window):
        outcomes = race(lambda: services.packages_expire(), lambda: services.packages_expire())
    assert kinds(outcomes) == ["ok", "ok"]
    assert sorted(value.requests_unpaid for _, value in outcomes) == [0, 1]
    assert window.hits == 1  # the other copy skipped the member (SKIP LOCKED) or found it done
    redemption.refresh_from_db()
    assert (redemption.status, redemption.cancel_reason) == ("CANCELLED", "not paid in time")
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
    assert CouponMemberUse.objects.get(coupon=coupon, member=member).uses == 0


def test_control_two_copies_without_the_lock_both_pass_the_check_the_conditional_transition_holds(org):
    member, coupon, redemption = _unpaid(org)
    window = Window("unpaid_checked", 0.5)
    with locks_disabled(), pause_hook(window):
        outcomes = race(lambda: services.packages_expire(), lambda: services.packages_expire())
    assert window.hits == 2  # both copies saw it PENDING and late
    # `UPDATE ... WHERE status = 'PENDING'` cancels it once; the other copy is refused before it
    # gives the coupon use back a second time
    assert ("refused", "invalid_state") in outcomes
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0


def test_the_job_skips_a_requester_held_by_traffic_and_cancels_next_run(org):
    from django.db import transaction

    from members_app.services import member_lock

    member, coupon, redemption = _unpaid(org)
    held, release = threading.Event(), threading.Event()

    def traffic():
        try:
            with transaction.atomic():
                member_lock(organization=org, member_id=member.pk)
                held.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=traffic)
    thread.start()
    assert held.wait(timeout=10)
    try:
        started = time.monotonic()
        report = services.packages_expire()
        assert time.monotonic() - started < 2  # it did not wait for the lock
        assert (report.members_skipped, report.requests_unpaid) == (1, 0)
    finally:
        release.set()
        thread.join()
    assert services.packages_expire().requests_unpaid == 1
    redemption.refresh_from_db()
    assert redemption.status == "CANCELLED"
