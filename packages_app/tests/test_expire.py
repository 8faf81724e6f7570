"""The expiry job (DOMAIN.md 11) and the command around it."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from members_app.ledger_check import ledger_breaches
from members_app.models import Member
from members_app.services import credits_spend
from members_app.tests.factories import MemberFactory
from packages_app import services
from packages_app.models import Redemption
from packages_app.tests.factories import AllAccessPackageFactory, EliteFactory, PackageFactory
from packages_app.tests.helpers import balance_is_consistent, ledger, sell

pytestmark = pytest.mark.django_db
S = Redemption.Status


def status_of(redemption):
    redemption.refresh_from_db()
    return redemption.status


def test_expired_credits_get_an_expiration_row_and_the_redemption_expires(org, member, now):
    redemption = sell(org, member, PackageFactory(organization=org, credits=5, credit_validity_days=3), now=now)
    later = now + timedelta(days=3)
    report = services.packages_expire(now=later)
    assert (report.lots_expired, report.credits_expired, report.to_expired) == (1, 5, 1)
    assert ledger(member) == [("PURCHASE", 5, 5), ("EXPIRATION", -5, 0)]
    assert status_of(redemption) == S.EXPIRED
    assert balance_is_consistent(member)


def test_not_yet_due_nothing_changes(org, member, now):
    redemption = sell(org, member, PackageFactory(organization=org, credits=5, credit_validity_days=3), now=now)
    report = services.packages_expire(now=now + timedelta(days=2))
    assert (report.lots_expired, report.members_changed) == (0, 0)
    assert status_of(redemption) == S.ACTIVE


def test_all_credits_spent_makes_it_used_and_a_refund_makes_it_active_again(org, member, now):
    from members_app.services import credits_refund_booking

    redemption = sell(org, member, PackageFactory(organization=org, credits=2), now=now)
    member.refresh_from_db()
    booking_id = "00000000-0000-0000-0000-00000000b00c"
    credits_spend(member=member, amount=2, now=now, booking_id=booking_id)
    assert services.packages_expire(now=now).to_used == 1
    assert status_of(redemption) == S.USED
    member.refresh_from_db()
    credits_refund_booking(member=member, booking_id=booking_id, now=now)
    assert services.packages_expire(now=now).to_active == 1
    assert status_of(redemption) == S.ACTIVE


def test_all_access_ends_expired_and_the_flag_is_cleared(org, member, now):
    redemption = sell(org, member, AllAccessPackageFactory(organization=org, all_access_days=2), now=now)
    report = services.packages_expire(now=redemption.all_access_expires_at)
    assert (report.to_expired, report.flags_updated) == (1, 1)
    member.refresh_from_db()
    assert (member.has_all_access, member.all_access_expires_at) == (False, None)


def test_friend_pass_lapses_and_the_elite_redemption_expires_when_nothing_is_left(org, member, now):
    redemption = sell(org, member, EliteFactory(organization=org, credits=30, friend_pass_days=30), now=now)
    member.refresh_from_db()
    credits_spend(member=member, amount=30, now=now)
    # credits are gone but the friend pass is still usable: ACTIVE, elite
    assert services.packages_expire(now=now).members_changed == 0
    assert status_of(redemption) == S.ACTIVE
    # once the pass lapses unused, nothing is left and time took something: EXPIRED
    report = services.packages_expire(now=redemption.friend_pass_expires_at)
    assert (report.friend_passes_lapsed, report.to_expired) == (1, 1)
    member.refresh_from_db()
    assert (member.friend_passes_available, member.is_elite_member) == (0, False)


def test_used_friend_pass_and_spent_credits_make_it_used(org, member, now):
    redemption = sell(org, member, EliteFactory(organization=org, credits=1), now=now)
    member.refresh_from_db()
    credits_spend(member=member, amount=1, now=now)
    # the bookings app marks the pass used and refreshes the flags (member locked)
    Redemption.objects.filter(pk=redemption.pk).update(friend_pass_used_at=now)
    assert services.packages_expire(now=now).to_used == 1
    assert status_of(redemption) == S.USED


def test_expire_twice_in_a_row_changes_nothing_the_second_time(org, now):
    # given a studio with a bit of everything due
    for _ in range(3):
        member = MemberFactory(organization=org)
        sell(org, member, PackageFactory(organization=org, credit_validity_days=1), now=now)
        sell(org, member, AllAccessPackageFactory(organization=org, all_access_days=1), now=now)
        sell(org, member, EliteFactory(organization=org, credit_validity_days=1, friend_pass_days=1), now=now)
    later = now + timedelta(days=2)
    first = services.packages_expire(now=later)
    assert first.members_changed == 3 and first.lots_expired == 6 and first.to_expired == 9
    rows_after_first = sorted(ledger(m) for m in Member.objects.filter(organization=org))
    statuses = sorted(Redemption.objects.values_list("status", flat=True))
    # when it runs again
    second = services.packages_expire(now=later)
    # then it changes nothing
    assert (second.members_changed, second.lots_expired, second.to_expired, second.flags_updated) == (0, 0, 0, 0)
    assert sorted(ledger(m) for m in Member.objects.filter(organization=org)) == rows_after_first
    assert sorted(Redemption.objects.values_list("status", flat=True)) == statuses
    assert ledger_breaches() == []


def test_dry_run_reports_and_writes_nothing(org, member, now):
    redemption = sell(org, member, PackageFactory(organization=org, credit_validity_days=1), now=now)
    later = now + timedelta(days=2)
    report = services.packages_expire(now=later, dry_run=True)
    assert (report.lots_expired, report.to_expired) == (1, 1)
    assert status_of(redemption) == S.ACTIVE
    assert ledger(member) == [("PURCHASE", 5, 5)]


def test_expire_only_one_studio(org, member, now):
    sell(org, member, PackageFactory(organization=org, credit_validity_days=1), now=now)
    elsewhere = MemberFactory()
    theirs = sell(
        elsewhere.organization,
        elsewhere,
        PackageFactory(organization=elsewhere.organization, credit_validity_days=1),
        now=now,
    )
    services.packages_expire(organization=org, now=now + timedelta(days=2))
    assert status_of(theirs) == S.ACTIVE


def test_command_prints_what_it_did_and_honours_dry_run(org, member, now):
    sell(org, member, PackageFactory(organization=org, credits=4, credit_validity_days=1), now=now)
    when = (now + timedelta(days=2)).isoformat()
    out = StringIO()
    call_command("expire_packages", "--dry-run", "--now", when, stdout=out)
    assert "Dry run" in out.getvalue() and "Would expire 1 credit lots (4 credits)" in out.getvalue()
    out = StringIO()
    call_command("expire_packages", "--now", when, "--organization", org.slug, stdout=out)
    assert "Expired 1 credit lots (4 credits)" in out.getvalue()
    assert "1 -> EXPIRED" in out.getvalue()
    out = StringIO()
    call_command("expire_packages", "--now", when, stdout=out)
    assert "Expired 0 credit lots (0 credits)" in out.getvalue()


def test_command_refuses_an_unknown_studio_and_a_naive_time():
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("expire_packages", "--organization", "nope", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("expire_packages", "--now", "2026-03-10T10:00:00", stdout=StringIO())
