"""Make a fresh copy of the seeded studio ready for one run (`python -m bench.prepare`).

- Shifts the schedule (and All Access passes) by whole days so that "tomorrow" of the seed is
  tomorrow again: a seeded database stays usable for weeks.
- Writes the load files for wrk into bench/out: PAIRS (token, bookable session) with each
  member once and sessions round-robin, so every booking request is a different (member,
  session) pair; TOKENS for the session list; the rush clients (token, bike) as JSON.
Prints one JSON line with the paths and the numbers the run needs.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import djangoenv
from bench.seed import bench_token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--rush-clients", type=int, default=300)
    parser.add_argument("--list-members", type=int, default=2000)
    parser.add_argument("--list-page-size", type=int, default=0, help="0: the API's default page")
    args = parser.parse_args()
    djangoenv.setup()
    from django.db import connection, transaction
    from django.db.models import F
    from django.utils import timezone

    from bookings_app.models import Seat, Session
    from members_app.models import Member, Organization
    from packages_app.models import Redemption

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, value FROM bench_meta")
        meta = dict(cursor.fetchall())
    organization = Organization.objects.get(slug=meta["organization"])
    tz = ZoneInfo(organization.timezone)
    now = timezone.now()
    today = now.astimezone(tz).date()
    shift = (today - date.fromisoformat(meta["anchor_date"])).days
    if shift:
        delta = timedelta(days=shift)
        with transaction.atomic():
            Session.objects.filter(organization=organization).update(
                starts_at=F("starts_at") + delta, ends_at=F("ends_at") + delta
            )
            Redemption.objects.filter(organization=organization, all_access_starts_on__isnull=False).update(
                all_access_starts_on=F("all_access_starts_on") + delta,
                all_access_ends_on=F("all_access_ends_on") + delta,
                all_access_expires_at=F("all_access_expires_at") + delta,
            )
            Member.objects.filter(organization=organization, all_access_expires_at__isnull=False).update(
                all_access_expires_at=F("all_access_expires_at") + delta
            )
            cursor = connection.cursor()
            cursor.execute("UPDATE bench_meta SET value = %s WHERE key = 'anchor_date'", [today.isoformat()])

    rush = Session.objects.get(pk=json.loads(meta["summary"])["rush_session_id"])
    window_end = now + timedelta(days=organization.booking_window_days) - timedelta(hours=1)
    bookable = list(
        Session.objects.filter(
            organization=organization,
            status=Session.Status.SCHEDULED,
            starts_at__gt=now + timedelta(minutes=30),
            starts_at__lt=window_end,
        )
        .exclude(pk=rush.pk)
        .order_by("starts_at", "pk")
        .values_list("pk", "capacity")
    )
    tokens = [
        (bench_token(user_id), member_id)
        for user_id, member_id in Member.objects.filter(organization=organization)
        .order_by("user__email")
        .values_list("user_id", "pk")
    ]
    rush_tokens = tokens[: args.rush_clients]
    load_tokens = tokens[args.rush_clients :]
    pairs_path = out / "pairs.tsv"
    with pairs_path.open("w") as fh:
        for i, (key, _member) in enumerate(load_tokens):
            fh.write(f"{key}\t{bookable[i % len(bookable)][0]}\n")
    tokens_path = out / "list-tokens.txt"
    tokens_path.write_text("".join(f"{key}\n" for key, _ in load_tokens[: args.list_members]))
    seats = [
        str(pk)
        for pk, kind, active in Seat.objects.filter(layout=rush.seat_layout).values_list("pk", "type", "is_active")
        if active and kind in Seat.BOOKABLE_TYPES
    ]
    rush_path = out / "rush.json"
    rush_path.write_text(
        json.dumps(
            {
                "session_id": str(rush.pk),
                "capacity": rush.capacity,
                "clients": [{"token": key, "seat_id": seats[k % len(seats)]} for k, (key, _) in enumerate(rush_tokens)],
            }
        )
    )
    week_to = today + timedelta(days=6)
    list_path = f"/api/sessions?from={today.isoformat()}&to={week_to.isoformat()}"
    if args.list_page_size:
        list_path += f"&page_size={args.list_page_size}"
    week_sessions = Session.objects.filter(
        organization=organization,
        starts_at__gte=timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()), tz),
        starts_at__lt=timezone.make_aware(
            timezone.datetime.combine(week_to + timedelta(days=1), timezone.datetime.min.time()), tz
        ),
    ).count()
    print(
        json.dumps(
            {
                "shifted_days": shift,
                "bookable_sessions": len(bookable),
                "bookable_capacity": sum(c for _, c in bookable),
                "load_pairs": len(load_tokens),
                "pairs_file": str(pairs_path),
                "tokens_file": str(tokens_path),
                "rush_file": str(rush_path),
                "rush_session_id": str(rush.pk),
                "rush_capacity": rush.capacity,
                "rush_bikes": len(seats),
                "list_path": list_path,
                "week_sessions": week_sessions,
                "sample_session_id": str(bookable[0][0]) if bookable else None,
                "organization": organization.slug,
                "started_at": now.isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()
