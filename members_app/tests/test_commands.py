"""check_ledger (DOMAIN.md 11): exit 0 when every balance matches its ledger, non-zero on a breach."""

from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

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
