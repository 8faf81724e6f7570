"""Cancelling (refunding) a redemption takes everything it granted (DOMAIN.md 5, issue 8 item 1):
the future rides it paid for are cancelled giving nothing back, and its lots are closed for good,
so a later booking refund can never bring its credits back."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from bookings_app import services
from bookings_app.models import Booking
from bookings_app.tests.conftest import IST, NOW
from bookings_app.tests.factories import all_access, give_credits, make_session
from members_app.ledger_check import ledger_breaches
from members_app.models import CreditLot, CreditTransaction, StaffRole
from members_app.tests.factories import staff_user
from packages_app.models import Redemption
from packages_app.tests.factories import BonusCouponFactory, PackageFactory

pytestmark = pytest.mark.django_db
S = Booking.Status
T = CreditTransaction.Type


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk(org):
    return staff_user(org, StaffRole.Role.FRONT_DESK)


def evening(org, day: int, hour: int = 19):
    return make_session(org, datetime(2026, 3, day, hour, 0, tzinfo=IST))


def balance(api, member, org) -> int:
    return api(user=member.user, org=org).get("/api/members/me").json()["credit_balance"]


def sell(api, desk, org, member, package, coupon=None):
    body = {"package_id": str(package.pk), "member_id": str(member.pk)}
    if coupon is not None:
        body["coupon_code"] = coupon.code
    response = api(user=desk, org=org).post("/api/packages/redeem", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def book_rides(api, org, member, days):
    ids = []
    for day in days:
        day, hour = day if isinstance(day, tuple) else (day, 19)
        response = api(user=member.user, org=org).post(
            "/api/bookings", {"session_id": str(evening(org, day, hour).pk)}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert response.json()["payment_type"] == "CREDIT"
        ids.append(response.json()["id"])
    return ids


def check_ledger_exit_code() -> int:
    try:
        call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
    except SystemExit as exc:  # pragma: no cover - call_command raises CommandError instead
        return exc.code
    except Exception:  # noqa: BLE001 - CommandError: a breach
        return 1
    return 0


def test_the_probe_story_credits_of_a_refunded_package_never_come_back(api, org, member, desk):
    # given EXPLORER-5 sold at the desk, and the member books 5 future rides with its credits
    package = PackageFactory(organization=org, code="EXPLORER-5", credits=5, credit_validity_days=60)
    redemption = sell(api, desk, org, member, package)
    booking_ids = book_rides(api, org, member, [4, 5, 6, 7, 8])
    assert balance(api, member, org) == 0
    # when staff cancel the redemption ("full refund": nothing is left on it to take)
    response = api(user=desk, org=org).post(
        f"/api/redemptions/{redemption['id']}/cancel", {"reason": "full refund"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "CANCELLED"
    effects = response.json()["cancel_effects"]
    assert effects["credits_removed"] == 0 and effects["all_access_ends_on"] is None
    assert sorted(effects["booking_ids_cancelled"]) == sorted(booking_ids)
    # then the 5 bookings are already cancelled, with nothing given back
    member_api = api(user=member.user, org=org)
    for booking_id in booking_ids:
        booking = member_api.get(f"/api/bookings/{booking_id}").json()
        assert (booking["status"], booking["refunded"]) == ("CANCELLED", False)
        # and the member cancelling them "on time" gets nothing: they are no longer confirmed
        refused = member_api.post(f"/api/bookings/{booking_id}/cancel", {}, format="json")
        assert (refused.status_code, refused.json()["code"]) == (409, "invalid_state")
    assert balance(api, member, org) == 0
    assert not CreditTransaction.objects.filter(member=member, type=T.BOOKING_REFUND).exists()
    lot = CreditLot.objects.get(pk=Redemption.objects.get(pk=redemption["id"]).credit_lot_id)
    assert (lot.remaining, lot.closed_at) == (0, NOW)
    assert ledger_breaches() == []
    assert check_ledger_exit_code() == 0
    # and the bikes are free again for others
    assert Booking.objects.filter(pk__in=booking_ids, status=S.CONFIRMED).count() == 0


def test_bonus_lot_and_a_ride_paid_partly_by_another_lot(api, org, member, desk):
    # given 2 manual credits that expire first, then a 5-credit pack with a 2-credit coupon bonus
    give_credits(member, 1, now=NOW, expires_at=NOW + timedelta(days=3))
    package = PackageFactory(organization=org, credits=5, credit_validity_days=60)
    coupon = BonusCouponFactory(organization=org, bonus_credits=2)
    redemption = sell(api, desk, org, member, package, coupon=coupon)
    assert balance(api, member, org) == 8
    # the first ride takes the manual credit (it expires first), the next ones the pack's lots
    first, *rest = book_rides(api, org, member, [3, 4, 5, 6, 7, 8, (3, 9), (4, 9)])
    assert balance(api, member, org) == 0
    # when staff cancel the pack
    outcome = api(user=desk, org=org).post(f"/api/redemptions/{redemption['id']}/cancel", {}, format="json").json()
    # then the 7 rides the pack (package lot and bonus lot) paid for are cancelled, nothing back;
    # the ride the manual lot paid for stays booked
    assert sorted(outcome["cancel_effects"]["booking_ids_cancelled"]) == sorted(rest)
    assert Booking.objects.get(pk=first).status == S.CONFIRMED
    assert set(Booking.objects.filter(pk__in=rest).values_list("status", "refunded")) == {(S.CANCELLED, False)}
    assert balance(api, member, org) == 0
    assert ledger_breaches() == []


def test_a_dry_run_changes_nothing_and_tells_what_the_cancel_takes(api, org, member, desk):
    package = PackageFactory(organization=org, credits=5, credit_validity_days=60)
    redemption = sell(api, desk, org, member, package)
    booking_ids = book_rides(api, org, member, [4, 5])
    rows_before = list(CreditTransaction.objects.order_by("pk").values_list("pk", flat=True))
    # when staff ask for a dry run
    response = api(user=desk, org=org).post(
        f"/api/redemptions/{redemption['id']}/cancel", {"dry_run": True, "reason": "x"}, format="json"
    )
    assert response.status_code == 200, response.json()
    preview = response.json()
    # then it answers what the cancel would take, and nothing changed
    assert preview["status"] == "ACTIVE" and preview["credits_remaining"] == 3
    assert preview["cancel_effects"]["credits_removed"] == 3
    assert sorted(preview["cancel_effects"]["booking_ids_cancelled"]) == sorted(booking_ids)
    assert list(CreditTransaction.objects.order_by("pk").values_list("pk", flat=True)) == rows_before
    assert set(Booking.objects.filter(pk__in=booking_ids).values_list("status", flat=True)) == {S.CONFIRMED}
    assert CreditLot.objects.filter(member=member, closed_at__isnull=False).count() == 0
    assert balance(api, member, org) == 3
    # and the real cancel does exactly what the preview said
    done = api(user=desk, org=org).post(f"/api/redemptions/{redemption['id']}/cancel", {}, format="json").json()
    assert done["cancel_effects"] == preview["cancel_effects"]
    assert balance(api, member, org) == 0
    # a cancelled one cannot be previewed again: 409 invalid_state
    again = api(user=desk, org=org).post(
        f"/api/redemptions/{redemption['id']}/cancel", {"dry_run": True}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


def test_all_access_variant_rides_paid_by_the_pass_are_cancelled_rides_taken_stay(api, org, member, desk):
    # given an All Access from 1 March that paid for a ride this morning (taken) and two to come
    from datetime import date

    pass_ = all_access(member, starts_on=date(2026, 3, 1), daily_ride_limit=2)
    taken = services.booking_create(
        organization=org,
        session_id=make_session(org, datetime(2026, 3, 2, 8, 0, tzinfo=IST)).pk,
        member_id=member.pk,
        now=NOW - timedelta(hours=5),
    )
    coming = [
        services.booking_create(organization=org, session_id=evening(org, day).pk, member_id=member.pk, now=NOW)
        for day in (2, 8)
    ]
    # when staff cancel the pass
    response = api(user=desk, org=org).post(f"/api/redemptions/{pass_.pk}/cancel", {}, format="json")
    assert response.status_code == 200, response.json()
    effects = response.json()["cancel_effects"]
    # then it covers days up to yesterday, and the rides to come are cancelled with nothing back
    assert effects["all_access_ends_on"] == "2026-03-01"
    assert sorted(effects["booking_ids_cancelled"]) == sorted(str(b.pk) for b in coming)
    for booking in coming:
        booking.refresh_from_db()
        assert (booking.status, booking.refunded) == (S.CANCELLED, False)
    taken.refresh_from_db()
    assert taken.status == S.CONFIRMED
    me = api(user=member.user, org=org).get("/api/members/me").json()
    assert (me["has_all_access"], me["all_access_expires_at"]) == (False, None)


def test_admin_shows_the_preview_before_staff_confirm(org, member, desk):
    # given a pack whose credits paid for two rides
    package = PackageFactory(organization=org, code="EXPLORER-5", credits=5, credit_validity_days=60)
    from packages_app.services import redemption_create

    redemption = redemption_create(
        organization=org, package_id=package.pk, member_id=member.pk, by_staff=True, performed_by=desk, now=NOW
    )
    rides = [
        services.booking_create(organization=org, session_id=evening(org, day).pk, member_id=member.pk, now=NOW)
        for day in (4, 5)
    ]
    client = Client()
    client.force_login(desk)
    # when staff pick "Cancel and refund" on it
    page = client.post(
        "/admin/packages_app/redemption/", {"action": "cancel_selected", "_selected_action": [str(redemption.pk)]}
    )
    # then a confirmation page says what it takes: credits, the bookings with their dates
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="credits-removed">3<' in html
    assert 'class="bookings-cancelled">2<' in html
    assert "04.03.2026 19:00" in html and "05.03.2026 19:00" in html  # studio-local times
    assert Redemption.objects.get(pk=redemption.pk).status == "ACTIVE"
    assert set(Booking.objects.filter(pk__in=[r.pk for r in rides]).values_list("status", flat=True)) == {S.CONFIRMED}
    # and confirming cancels it as the preview said
    client.post(
        "/admin/packages_app/redemption/",
        {"action": "cancel_selected", "_selected_action": [str(redemption.pk)], "confirm_cancel": "yes"},
    )
    assert Redemption.objects.get(pk=redemption.pk).status == "CANCELLED"
    assert set(Booking.objects.filter(pk__in=[r.pk for r in rides]).values_list("status", flat=True)) == {S.CANCELLED}
    assert ledger_breaches() == []
