"""check_ledger (DOMAIN.md 11): exit 0 when every balance matches its ledger, non-zero on a breach."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from members_app import services
from members_app.models import CreditLot, CreditTransaction, Member
from members_app.tests.factories import MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_with_credits():
    member = MemberFactory()
    services.credit_adjustment_create(organization=member.organization, member_id=member.pk, amount=5, reason="gift")
    services.credit_adjustment_create(organization=member.organization, member_id=member.pk, amount=-2, reason="fix")
    return member


def run_command(*args) -> tuple[int, str, str]:
    """Run like `manage.py check_ledger ...` and return (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("check_ledger", *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(str(exc))
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_clean_ledger_exits_zero(member_with_credits):
    MemberFactory()  # a member with no ledger at all is fine too
    code, out, _ = run_command()
    assert code == 0
    assert "ledger check OK" in out


def test_clean_ledger_exits_zero_from_the_command_line(member_with_credits, capsys):
    execute_from_command_line(["manage.py", "check_ledger"])  # returns normally: exit status 0
    assert "ledger check OK" in capsys.readouterr().out


def test_corrupted_balance_exits_non_zero_and_prints_the_breach(member_with_credits, capsys):
    # given a cached balance changed behind the ledger's back
    Member.objects.filter(pk=member_with_credits.pk).update(credit_balance=7)
    # then the command line exits non-zero and names the member and the rules broken
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "check_ledger"])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert f"member {member_with_credits.pk}: sum_mismatch: ledger sum 3 != cached balance 7" in err
    assert "lots_mismatch" in err
    assert "last_row_mismatch" in err
    assert "ledger check FAILED" in err


def test_lot_changed_behind_the_ledger_is_a_breach(member_with_credits):
    CreditLot.objects.filter(member=member_with_credits).update(remaining=1)
    code, _, err = run_command()
    assert code != 0
    assert "lot_mismatch" in err and "lots_mismatch" in err


def test_a_missing_ledger_row_is_a_breach(member_with_credits):
    # a broken chain: the first row gone (in a real database nothing may delete ledger rows)
    CreditTransaction.objects.filter(member=member_with_credits, seq=1).delete()
    code, _, err = run_command()
    assert code != 0
    assert "seq_gap" in err and "broken_chain" in err


def test_organization_option_checks_one_studio(member_with_credits):
    other = MemberFactory(organization=OrganizationFactory(slug="other"))
    Member.objects.filter(pk=other.pk).update(credit_balance=1)
    assert run_command("--organization", member_with_credits.organization.slug)[0] == 0
    assert run_command("--organization", "other")[0] != 0
    code, _, err = run_command("--organization", "nope")
    assert code != 0 and "No organization" in err


def test_credits_put_back_on_a_closed_lot_are_a_breach(member_with_credits):
    # given the member's lot closed (its redemption was cancelled) with what was left taken back
    member = Member.objects.get(pk=member_with_credits.pk)
    lot = CreditLot.objects.get(member=member)
    closed_at = timezone.now()
    with transaction.atomic():
        services.credits_close_lot(
            member=services.member_lock(organization=member.organization, member_id=member.pk), lot=lot, now=closed_at
        )
    assert run_command()[0] == 0
    # when someone writes a refund into it by hand, behind the services and the lot constraint
    member.refresh_from_db()
    CreditTransaction.objects.create(
        organization_id=member.organization_id,
        member=member,
        seq=member.ledger_seq + 1,
        type=CreditTransaction.Type.BOOKING_REFUND,
        amount=1,
        balance_before=0,
        balance_after=1,
        lot=lot,
        created_at=closed_at + timedelta(minutes=5),
    )
    Member.objects.filter(pk=member.pk).update(credit_balance=1, ledger_seq=member.ledger_seq + 1)
    # then the check names it and exits non-zero
    code, _, err = run_command()
    assert code != 0
    assert f"credits_into_closed_lot: row {member.ledger_seq + 1} (BOOKING_REFUND +1) on closed lot {lot.pk}" in err


@pytest.mark.skipif(connection.vendor != "postgresql", reason="drops a constraint inside the test's transaction")
def test_a_closed_lot_holding_credits_is_a_breach(member_with_credits):
    # the database refuses it (lot_closed_holds_nothing); a copy restored without the constraint
    # would not, so the check looks too
    lot = CreditLot.objects.get(member=member_with_credits)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks before the ALTER
        cursor.execute(f"ALTER TABLE {CreditLot._meta.db_table} DROP CONSTRAINT lot_closed_holds_nothing")
    CreditLot.objects.filter(pk=lot.pk).update(closed_at=timezone.now())  # still holds 3
    code, _, err = run_command()
    assert code != 0
    assert f"credits_on_closed_lot: lot {lot.pk} closed at" in err
