"""Redemption lifecycle (DOMAIN.md 5): grants, ledger rows, dates, flags, confirm/reject/cancel."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from members_app.errors import MemberInactive
from members_app.models import CreditLot, Member
from members_app.tests.factories import MemberFactory, OrganizationFactory
from packages_app import services
from packages_app.errors import PackageNotFound, PackageUnavailable
from packages_app.models import Redemption
from packages_app.tests.factories import AllAccessPackageFactory, BonusCouponFactory, EliteFactory, PackageFactory
from packages_app.tests.helpers import balance_is_consistent, ledger, sell
from spinning.errors import Invalid, InvalidState

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
IST = ZoneInfo("Europe/Istanbul")
S = Redemption.Status


def test_staff_sale_is_active_at_once_with_a_purchase_lot_expiring_at_end_of_the_nth_local_day(org, member, now):
    # given a 10-credit pack whose credits are valid 30 days
    package = PackageFactory(organization=org, credits=10, price=Decimal("8000"), credit_validity_days=30)
    # when the desk records the sale
    redemption = sell(org, member, package, now=now)
    # then it is ACTIVE, with one lot of 10 valid through the 30th studio-local day (counting today)
    assert redemption.status == S.ACTIVE
    assert redemption.redemption_type == "PACKAGE_DIRECT"
    assert (redemption.original_price, redemption.discount_amount, redemption.final_price) == (
        Decimal("8000.00"),
        Decimal("0.00"),
        Decimal("8000.00"),
    )
    lot = redemption.credit_lot
    assert (lot.source, lot.credits_granted, lot.remaining) == (CreditLot.Source.PACKAGE, 10, 10)
    assert lot.expires_at == datetime(2026, 4, 9, 0, 0, tzinfo=IST) == redemption.credits_expire_at
    assert ledger(member) == [("PURCHASE", 10, 10)]
    assert redemption.confirmed_at == now
    assert balance_is_consistent(member)


def test_member_request_is_pending_and_grants_nothing_until_confirmed(org, member, admin_user, now):
    package = PackageFactory(organization=org, credits=5, credit_validity_days=10)
    # when the member asks to buy
    redemption = sell(org, member, package, now=now, by_staff=False, payment_method="BANK_TRANSFER")
    # then nothing is granted yet
    assert redemption.status == S.PENDING
    assert redemption.credit_lot is None
    assert ledger(member) == []
    # when staff confirm two days later, credits are granted and their validity counts from then
    later = now + timedelta(days=2)
    confirmed = services.redemption_confirm(
        organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=later
    )
    assert confirmed.status == S.ACTIVE
    assert confirmed.confirmed_at == later
    assert confirmed.credit_lot.expires_at == datetime(2026, 3, 22, 0, 0, tzinfo=IST)
    assert ledger(member) == [("PURCHASE", 5, 5)]
    # and a second confirm is refused
    with pytest.raises(InvalidState):
        services.redemption_confirm(organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=later)
    assert ledger(member) == [("PURCHASE", 5, 5)]


def test_reject_cancels_a_pending_request_and_gives_the_coupon_use_back(org, member, admin_user, now):
    package = PackageFactory(organization=org)
    coupon = BonusCouponFactory(organization=org, max_redemptions=1)
    redemption = sell(org, member, package, coupon=coupon, now=now, by_staff=False)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1
    rejected = services.redemption_reject(
        organization=org, redemption_id=redemption.pk, performed_by=admin_user, reason="No transfer", now=now
    )
    assert (rejected.status, rejected.cancel_reason) == (S.CANCELLED, "No transfer")
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
    assert coupon.member_uses.get(member=member).uses == 0
    assert ledger(member) == []
    # an ACTIVE or CANCELLED one cannot be rejected
    with pytest.raises(InvalidState):
        services.redemption_reject(organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=now)


def test_bonus_credits_are_a_separate_lot_with_the_package_expiry(org, member, now):
    package = PackageFactory(organization=org, credits=5, credit_validity_days=60)
    coupon = BonusCouponFactory(organization=org, bonus_credits=2)
    redemption = sell(org, member, package, coupon=coupon, now=now)
    assert (redemption.redemption_type, redemption.credits_added, redemption.bonus_credits) == ("COUPON_BONUS", 5, 2)
    assert redemption.bonus_lot.source == CreditLot.Source.BONUS
    assert redemption.bonus_lot.expires_at == redemption.credit_lot.expires_at
    assert ledger(member) == [("PURCHASE", 5, 5), ("BONUS", 2, 7)]
    assert redemption.credits_remaining_at(now) == 7


def test_cancel_takes_back_remaining_credits_of_both_lots_spent_credits_stay_spent(org, member, admin_user, now):
    from members_app.services import credits_spend

    package = PackageFactory(organization=org, credits=5, credit_validity_days=60)
    coupon = BonusCouponFactory(organization=org, bonus_credits=2)
    redemption = sell(org, member, package, coupon=coupon, now=now)
    member.refresh_from_db()
    credits_spend(member=member, amount=3, now=now, description="three rides")
    outcome = services.redemption_cancel(
        organization=org, redemption_id=redemption.pk, performed_by=admin_user, reason="refund", now=now
    )
    assert outcome.redemption.status == S.CANCELLED
    assert (outcome.effects.credits_removed, outcome.effects.booking_ids_cancelled) == (4, [])
    for lot in CreditLot.objects.filter(member=member):
        assert (lot.remaining, lot.closed_at) == (0, now)
    rows = ledger(member)
    # both lots share an expiry, so which one paid the rides is the ledger's choice; what is left
    # of the two (4 credits) is taken back, one row per lot that still held credits
    taken_back = [r for r in rows if r[0] == "REDEMPTION_CANCELLED"]
    assert sum(r[1] for r in taken_back) == -4 and rows[-1][2] == 0
    assert sum(r[1] for r in rows if r[0] == "BOOKING_PAYMENT") == -3
    member.refresh_from_db()
    assert member.credit_balance == 0
    assert balance_is_consistent(member)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
    # cancelling twice, or cancelling a PENDING one, is invalid_state
    with pytest.raises(InvalidState):
        services.redemption_cancel(organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=now)
    pending = sell(org, member, package, now=now, by_staff=False)
    with pytest.raises(InvalidState):
        services.redemption_cancel(organization=org, redemption_id=pending.pk, performed_by=admin_user, now=now)


def test_cancel_expires_overdue_credits_first_rather_than_cancelling_them(org, member, admin_user, now):
    package = PackageFactory(organization=org, credits=5, credit_validity_days=1)
    redemption = sell(org, member, package, now=now)
    later = now + timedelta(days=3)
    services.redemption_cancel(organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=later)
    assert ledger(member) == [("PURCHASE", 5, 5), ("EXPIRATION", -5, 0)]


# --- All Access ----------------------------------------------------------------------------------
def test_all_access_runs_n_local_days_counting_the_first(org, member, now):
    package = AllAccessPackageFactory(organization=org, all_access_days=30)
    redemption = sell(org, member, package, now=now)
    assert (redemption.all_access_starts_on, redemption.all_access_ends_on) == (date(2026, 3, 10), date(2026, 4, 8))
    assert redemption.all_access_expires_at == datetime(2026, 4, 9, tzinfo=IST)
    assert redemption.credit_lot is None and ledger(member) == []
    member.refresh_from_db()
    assert member.has_all_access is True
    assert member.all_access_expires_at == redemption.all_access_expires_at


@pytest.mark.parametrize(
    "utc_moment, first_day",
    [
        (datetime(2026, 3, 10, 20, 59, tzinfo=UTC), date(2026, 3, 10)),  # 23:59 in Istanbul
        (datetime(2026, 3, 10, 21, 0, tzinfo=UTC), date(2026, 3, 11)),  # 00:00 in Istanbul, still the 10th in UTC
    ],
)
def test_all_access_first_day_is_the_studio_local_date_across_midnight(org, member, utc_moment, first_day):
    package = AllAccessPackageFactory(organization=org, all_access_days=1)
    redemption = sell(org, member, package, now=utc_moment)
    assert redemption.all_access_starts_on == redemption.all_access_ends_on == first_day
    assert redemption.all_access_expires_at == datetime.combine(first_day + timedelta(days=1), datetime.min.time(), IST)


def test_all_access_and_credit_expiry_in_a_daylight_saving_time_zone():
    # given a studio in Berlin; clocks go forward on 2026-03-29 (a 23-hour day)
    berlin = ZoneInfo("Europe/Berlin")
    org = OrganizationFactory(timezone="Europe/Berlin")
    member = MemberFactory(organization=org)
    bought = datetime(2026, 3, 20, 22, 30, tzinfo=berlin)  # 21:30 UTC
    all_access = sell(org, member, AllAccessPackageFactory(organization=org, all_access_days=30), now=bought)
    pack = sell(org, member, PackageFactory(organization=org, credit_validity_days=10), now=bought)
    # then 30 days from the 20th end at local midnight after 18 April, in summer time (UTC+2)
    assert all_access.all_access_ends_on == date(2026, 4, 18)
    assert all_access.all_access_expires_at == datetime(2026, 4, 18, 22, 0, tzinfo=UTC)
    # and 10 days from the 20th end at local midnight after 29 March: 22:00 UTC, not 23:00
    assert pack.credit_lot.expires_at == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_a_second_all_access_stacks_after_the_current_one(org, member, now):
    package = AllAccessPackageFactory(organization=org, all_access_days=30)
    first = sell(org, member, package, now=now)
    second = sell(org, member, package, now=now + timedelta(days=5))
    third = sell(org, member, package, now=now + timedelta(days=6))
    assert second.all_access_starts_on == first.all_access_ends_on + timedelta(days=1) == date(2026, 4, 9)
    assert second.all_access_ends_on == date(2026, 5, 8)
    assert third.all_access_starts_on == date(2026, 5, 9)
    member.refresh_from_db()
    assert member.all_access_expires_at == third.all_access_expires_at


def test_staff_may_choose_a_later_start_but_not_one_inside_the_current_pass(org, member, now):
    package = AllAccessPackageFactory(organization=org, all_access_days=10)
    chosen = sell(org, member, package, now=now, starts_on=date(2026, 3, 15))
    assert (chosen.all_access_starts_on, chosen.all_access_ends_on) == (date(2026, 3, 15), date(2026, 3, 24))
    inside = sell(org, member, package, now=now, starts_on=date(2026, 3, 20))
    assert inside.all_access_starts_on == date(2026, 3, 25)


def test_starts_on_is_refused_in_the_past_and_for_credit_packages(org, member, now):
    with pytest.raises(Invalid):
        sell(org, member, AllAccessPackageFactory(organization=org), now=now, starts_on=date(2026, 3, 9))
    with pytest.raises(Invalid):
        sell(org, member, PackageFactory(organization=org), now=now, starts_on=date(2026, 3, 12))


def test_starts_on_whose_pass_would_end_past_the_calendar_is_a_field_error(org, member, now):
    package = AllAccessPackageFactory(organization=org, all_access_days=30)
    with pytest.raises(Invalid) as refused:
        sell(org, member, package, now=now, starts_on=date(9999, 12, 31))
    assert "starts_on" in refused.value.fields
    assert not Redemption.objects.filter(member=member).exists()


def test_a_pending_all_access_does_not_count_for_stacking(org, member, now):
    package = AllAccessPackageFactory(organization=org, all_access_days=10)
    sell(org, member, package, now=now, by_staff=False)
    active = sell(org, member, package, now=now)
    assert active.all_access_starts_on == date(2026, 3, 10)


def test_cancel_ends_all_access_from_today_and_clears_the_flag(org, member, admin_user, now):
    package = AllAccessPackageFactory(organization=org, all_access_days=30)
    redemption = sell(org, member, package, now=now)
    later = now + timedelta(days=4)  # 14 March
    outcome = services.redemption_cancel(
        organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=later
    )
    cancelled = outcome.redemption
    assert cancelled.all_access_ends_on == date(2026, 3, 13)
    assert (outcome.effects.all_access_ends_on, outcome.effects.all_access_days_removed) == (date(2026, 3, 13), 26)
    assert cancelled.all_access_expires_at == datetime(2026, 3, 14, tzinfo=IST)
    member.refresh_from_db()
    assert (member.has_all_access, member.all_access_expires_at) == (False, None)


def test_cancel_of_a_stacked_pass_leaves_the_other_in_place(org, member, admin_user, now):
    package = AllAccessPackageFactory(organization=org, all_access_days=10)
    first = sell(org, member, package, now=now)
    second = sell(org, member, package, now=now)
    services.redemption_cancel(organization=org, redemption_id=second.pk, performed_by=admin_user, now=now)
    member.refresh_from_db()
    assert member.has_all_access is True
    assert member.all_access_expires_at == first.all_access_expires_at


# --- Elite: benefits, friend pass --------------------------------------------------------------------
def test_elite_sets_the_badge_and_a_friend_pass_valid_30_local_days(org, member, now):
    redemption = sell(org, member, EliteFactory(organization=org, friend_pass_days=30), now=now)
    assert redemption.friend_pass_granted is True
    assert redemption.friend_pass_expires_at == datetime(2026, 4, 9, tzinfo=IST)
    assert redemption.friend_pass_available_at(now)
    assert not redemption.friend_pass_available_at(datetime(2026, 4, 9, tzinfo=IST))
    member.refresh_from_db()
    assert (member.is_elite_member, member.friend_passes_available, member.credit_balance) == (True, 1, 30)


def test_benefits_are_copied_at_sale_so_a_catalog_edit_changes_nothing_bought(org, member, now):
    package = EliteFactory(organization=org)
    redemption = sell(org, member, package, now=now)
    services.package_update(organization=org, package_id=package.pk, data={"benefits": []})
    redemption.refresh_from_db()
    assert redemption.has_benefit("elite_badge") and redemption.has_benefit("priority_booking")


def test_cancel_voids_the_friend_pass_and_clears_the_elite_badge(org, member, admin_user, now):
    redemption = sell(org, member, EliteFactory(organization=org), now=now)
    services.redemption_cancel(organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=now)
    redemption.refresh_from_db()
    assert not redemption.friend_pass_available_at(now)
    member.refresh_from_db()
    assert (member.is_elite_member, member.friend_passes_available, member.credit_balance) == (False, 0, 0)


# --- refusals ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [Member.Status.INACTIVE, Member.Status.SUSPENDED])
def test_only_active_members_buy(org, now, status):
    member = MemberFactory(organization=org, status=status)
    with pytest.raises(MemberInactive):
        sell(org, member, PackageFactory(organization=org), now=now)


def test_confirm_refuses_a_member_who_is_no_longer_active(org, member, admin_user, now):
    redemption = sell(org, member, PackageFactory(organization=org), now=now, by_staff=False)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    with pytest.raises(MemberInactive):
        services.redemption_confirm(organization=org, redemption_id=redemption.pk, performed_by=admin_user, now=now)


@pytest.mark.parametrize(
    "fields",
    [
        {"is_active": False},
        {"valid_from": datetime(2026, 3, 11, tzinfo=UTC)},
        {"valid_until": datetime(2026, 3, 10, 9, 0, tzinfo=UTC)},
    ],
    ids=["inactive", "not-yet-on-sale", "sale-ended"],
)
def test_package_unavailable(org, member, now, fields):
    package = PackageFactory(organization=org, **fields)
    with pytest.raises(PackageUnavailable):
        sell(org, member, package, now=now)
    with pytest.raises(PackageUnavailable):
        services.package_quote(organization=org, package_id=package.pk, member=member, now=now)


def test_another_studios_package_is_not_found(org, member, now):
    other = PackageFactory()
    with pytest.raises(PackageNotFound):
        sell(org, member, other, now=now)


def test_another_studios_redemption_is_not_found(org, admin_user, now):
    other_member = MemberFactory()
    theirs = sell(
        other_member.organization, other_member, PackageFactory(organization=other_member.organization), now=now
    )
    from packages_app.errors import RedemptionNotFound

    for service in (services.redemption_confirm, services.redemption_reject, services.redemption_cancel):
        with pytest.raises(RedemptionNotFound):
            service(organization=org, redemption_id=theirs.pk, performed_by=admin_user, now=now)
