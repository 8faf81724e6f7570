"""docs/SCALING.md's table-by-table Citus check is true to the models (spinning/sharding.py)."""

from pathlib import Path

from bookings_app.models import Booking, Location
from members_app.models import Organization, User
from packages_app.models import CouponMemberUse
from spinning.sharding import check_all, check_model, markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "SCALING.md"


def test_the_documented_table_is_the_one_the_models_give():
    text = DOC.read_text()
    documented = text.split("<!-- shard-check:begin -->\n", 1)[1].split("<!-- shard-check:end -->", 1)[0].strip()
    assert documented == markdown(check_all()), (
        "docs/SCALING.md disagrees with the models: paste the output of `python -m spinning.sharding` "
        "between the shard-check markers (and read what changed)"
    )


def test_every_table_of_ours_is_in_the_check():
    tables = {row.table for row in check_all()}
    assert {"bookings_app_booking", "members_app_credittransaction", "packages_app_couponmemberuse"} <= tables


def test_a_booking_needs_the_organization_in_its_keys_and_foreign_keys():
    row = check_model(Booking)
    assert row.citus == "distributed" and row.has_organization
    assert any(key.startswith("booking_one_live_per_seat (session, seat)") for key in row.unique_without_org)
    assert "session_id -> bookings_app_session" in row.fks_without_org
    # the links to global tables are fine: users and studios are reference tables
    assert not any("members_app_user" in fk or "members_app_organization" in fk for fk in row.fks_without_org)


def test_keys_that_lead_with_the_organization_pass():
    row = check_model(Location)  # unique (organization, name); no foreign key to a studio table
    assert row.unique_without_org == [] and row.fks_without_org == []
    assert row.changes == ["primary key (id) -> (organization_id, id)"]


def test_global_tables_are_reference_tables_and_studio_rows_without_organization_are_found():
    assert check_model(User).citus == "reference" and check_model(Organization).citus == "reference"
    uses = check_model(CouponMemberUse)
    assert not uses.has_organization and uses.citus.startswith("distributed, once")
    assert uses.changes[0].startswith("add organization_id")
