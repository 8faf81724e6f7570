"""After a run: the invariants, checked in the database (`python -m bench.checks`).

check_ledger (DOMAIN.md 6) for every member; no session over capacity (by its counter and by
counting live bookings); the counter equal to the live count; no bike twice and no member twice
on a session among live bookings; every CREDIT booking with its BOOKING_PAYMENT ledger row and
every ALL_ACCESS booking with its daily usage; bookings made since --since by payment type.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import time

from bench import djangoenv

LIVE = ("CONFIRMED", "COMPLETED", "NO_SHOW")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--since", help="ISO timestamp: count bookings created after it")
    parser.add_argument("--session", action="append", default=[], help="a session to report on (repeatable)")
    args = parser.parse_args()
    djangoenv.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connection
    from django.db.models import Count

    from bookings_app.models import AllAccessUsage, Booking, Session
    from members_app.models import CreditTransaction

    result: dict = {}
    started = time.monotonic()
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_ledger", stdout=out, stderr=err)
        result["check_ledger"] = "clean"
    except CommandError as exc:
        result["check_ledger"] = f"FAILED: {exc}"
        result["check_ledger_breaches"] = err.getvalue().splitlines()[:20]
    result["check_ledger_seconds"] = round(time.monotonic() - started, 1)

    booking = Booking._meta.db_table
    session = Session._meta.db_table
    ledger = CreditTransaction._meta.db_table
    usage = AllAccessUsage._meta.db_table
    live = "('CONFIRMED', 'COMPLETED', 'NO_SHOW')"
    queries = {
        "sessions_over_capacity": f"""
            SELECT count(*) FROM {session} s
            WHERE s.booked_count > s.capacity
               OR (SELECT count(*) FROM {booking} b WHERE b.session_id = s.id AND b.status IN {live}) > s.capacity""",
        "sessions_counter_drift": f"""
            SELECT count(*) FROM {session} s
            WHERE s.booked_count <> (SELECT count(*) FROM {booking} b
                                     WHERE b.session_id = s.id AND b.status IN {live})""",
        "bikes_taken_twice": f"""
            SELECT count(*) FROM (SELECT 1 FROM {booking} WHERE status IN {live} AND seat_id IS NOT NULL
                                  GROUP BY session_id, seat_id HAVING count(*) > 1) t""",
        "members_twice_on_a_session": f"""
            SELECT count(*) FROM (SELECT 1 FROM {booking} WHERE status IN {live} AND NOT is_guest
                                  GROUP BY session_id, member_id HAVING count(*) > 1) t""",
        "credit_bookings_without_ledger_row": f"""
            SELECT count(*) FROM {booking} b
            WHERE b.payment_type = 'CREDIT' AND b.credits_used > 0 AND NOT EXISTS (
                SELECT 1 FROM {ledger} t WHERE t.booking_id = b.id AND t.type = 'BOOKING_PAYMENT')""",
        "credit_bookings_charge_mismatch": f"""
            SELECT count(*) FROM {booking} b
            WHERE b.payment_type = 'CREDIT' AND b.status IN {live} AND b.credits_used <> COALESCE((
                SELECT -sum(t.amount) FROM {ledger} t WHERE t.booking_id = b.id AND t.type = 'BOOKING_PAYMENT'), 0)""",
        "all_access_bookings_without_usage": f"""
            SELECT count(*) FROM {booking} b
            WHERE b.payment_type = 'ALL_ACCESS' AND b.status IN {live} AND NOT EXISTS (
                SELECT 1 FROM {usage} u WHERE u.booking_id = b.id)""",
        "ledger_rows_for_missing_bookings": f"""
            SELECT count(*) FROM {ledger} t
            WHERE t.booking_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {booking} b WHERE b.id = t.booking_id)""",
    }
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql)
            result[name] = cursor.fetchone()[0]
    if args.since:
        made = Booking.objects.filter(created_at__gte=args.since).values("payment_type", "status")
        result["bookings_since_start"] = {
            f"{row['payment_type']}/{row['status']}": row["n"] for row in made.annotate(n=Count("id")).order_by()
        }
    result["sessions"] = {}
    for pk in args.session:
        s = Session.objects.get(pk=pk)
        live_rows = Booking.objects.filter(session=s, status__in=LIVE)
        result["sessions"][pk] = {
            "capacity": s.capacity,
            "booked_count": s.booked_count,
            "live_bookings": live_rows.count(),
            "distinct_bikes": live_rows.exclude(seat=None).values("seat").distinct().count(),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
