"""Seed a benchmark studio fast: COPY in big batches, ledger rows that `check_ledger` accepts.

Run by bench.common.ensure_base_database as `python -m bench.seed` with DATABASE_URL pointing at
a freshly migrated database of the harness's own. What it writes:

- one studio (`bench`, Europe/Istanbul, TRY, credit price 1500), a staff ADMIN, a catalog;
- MEMBERS riders (ACTIVE) with a DRF token each, one credit package bought (a redemption, its
  lot and its PURCHASE ledger row) sized so that at least 10 credits are left after their past
  rides; a share of them (--all-access-share) also hold a current 30-day All Access pass;
- three rooms ("Arena" 8x16 positions: 125 bookable bikes, 4 of them EXCLUSIVE at 2 credits)
  with 24 sessions a day: FUTURE_DAYS days ahead from tomorrow (SCHEDULED, empty), the rest of
  SESSIONS in the past (COMPLETED) back from yesterday;
- PAST_BOOKINGS bookings spread over the past sessions, each on its own bike, paid by credits
  with its BOOKING_PAYMENT ledger row (5 % of them NO_SHOW);
- one rush session tomorrow in "Studio B" (a 4x6 layout of 24 bikes, capacity 24).

Rows are written with COPY through Django's own connection; columns the
seed does not name get the model field's default, so new nullable or defaulted fields need no
change here. `bench_meta` records the fingerprint and the studio-local seed date (the run copies
shift sessions by whole days to today).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bench import djangoenv

TIMES = ["07:00", "08:30", "10:00", "12:00", "14:30", "17:00", "18:30", "20:00"]
ROOMS = ["Arena Kadıköy", "Arena Beşiktaş", "Arena Nişantaşı"]
PACKAGE_SIZES = [10, 20, 30, 50, 100]
CLASSES = [
    ("Wake & Ride", "Uyan ve Sür", "House"),
    ("Rhythm Therapy", "Ritim Terapisi", "Pop"),
    ("SunSet Pulse", "Gün Batımı Nabzı", "Deep House"),
    ("Fire Pulse", "Ateş Nabzı", "EDM"),
    ("Moonlight Ride", "Ay Işığı Sürüşü", "Chill"),
    ("MainStage Ride", "Ana Sahne Sürüşü", "Festival"),
    ("Queen Energy", "Kraliçe Enerjisi", "Rock"),
    ("After party Flow", "After Parti Akışı", "Techno"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--past-bookings", type=int, default=200_000)
    parser.add_argument("--future-days", type=int, default=14)
    parser.add_argument("--all-access-share", type=float, default=0.0)
    parser.add_argument("--fingerprint", required=True)
    args = parser.parse_args()
    djangoenv.setup()
    from django.db import connection

    # The database is new and the harness's own; the fingerprint, written last, marks it done
    # (a seed that dies half-way leaves no fingerprint and is seeded again from scratch).
    summary = seed(args)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        cursor.execute("DELETE FROM bench_meta")
        for key, value in {
            "fingerprint": args.fingerprint,
            "anchor_date": summary["anchor_date"],
            "organization": "bench",
            "summary": json.dumps(summary),
        }.items():
            cursor.execute("INSERT INTO bench_meta (key, value) VALUES (%s, %s)", [key, value])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(json.dumps(summary))


# --- COPY ------------------------------------------------------------------------------------
def bench_token(user_id) -> str:
    """The seeded person's API token: 64 hex characters like knox's, derived from the user id."""
    return hashlib.sha256(f"spin-bench-token:{user_id}".encode()).hexdigest()


def copy_rows(model, names: list[str], rows, now: datetime) -> int:
    """COPY `rows` (tuples in the order of `names`, attnames) into the model's table.

    Every other concrete, non-generated column gets the field's default (or now for auto_now(_add), None for
    nullable fields, "" for blank text).
    """
    from django.db import connection
    from django.db.models import DateTimeField

    # generated columns (Member.search_key) are computed by the database, never written
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.generated}
    rest = [name for name in fields if name not in names]
    tail = []
    for name in rest:
        field = fields[name]
        if field.has_default():
            value = field.get_default()
        elif isinstance(field, DateTimeField) and (field.auto_now or field.auto_now_add):
            value = now
        elif field.null:
            value = None
        elif field.blank:
            value = ""
        else:
            raise SystemExit(f"bench.seed: {model.__name__}.{name} needs a value; teach the seed about it")
        tail.append(json.dumps(value) if isinstance(value, (list, dict)) else value)
    tail = tuple(tail)
    columns = ", ".join(f'"{fields[name].column}"' for name in [*names, *rest])
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(tuple(json.dumps(v) if isinstance(v, (list, dict)) else v for v in row) + tail)
                count += 1
    return count


# --- the studio ------------------------------------------------------------------------------
def seed(args) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone
    from knox.crypto import hash_token
    from knox.models import AuthToken

    from bookings_app.models import Booking, Instructor, Location, RideClass, Seat, SeatLayout, Session
    from members_app import seeds as member_seeds
    from members_app.models import CreditLot, CreditTransaction, Member, StaffRole, User
    from packages_app.models import Package, Redemption

    now = timezone.now()
    organization, _ = member_seeds.seed_studio(slug="bench", name="Bench Spin Studio")
    tz = ZoneInfo(organization.timezone)
    today = now.astimezone(tz).date()
    member_seeds.seed_staff(
        organization=organization,
        email="bench-admin@bench.example",
        password="bench-admin-2026",
        role=StaffRole.Role.ADMIN,
        first_name="Bench",
        last_name="Admin",
    )

    # catalog: one credit pack per size the seed hands out, and the All Access pass
    packages = {}
    for order, size in enumerate(PACKAGE_SIZES):
        packages[size] = Package.objects.create(
            organization=organization,
            code=f"BENCH-{size}",
            name=f"Bench {size} Pack",
            name_tr=f"Bench {size} Paket",
            type=Package.Type.CREDIT_PACK,
            price=Decimal(1200 * size),
            credits=size,
            display_order=order,
        )
    all_access = Package.objects.create(
        organization=organization,
        code="BENCH-ALL-ACCESS-30",
        name="All Access - 30 Days",
        name_tr="All Access - 30 Gün",
        type=Package.Type.ALL_ACCESS,
        price=Decimal("21000.00"),
        all_access_days=30,
        daily_ride_limit=1,
        display_order=len(PACKAGE_SIZES),
    )

    # rooms, layouts, bikes
    def layout_with_seats(location, name, rows, columns, special):
        layout = SeatLayout.objects.create(
            organization=organization, location=location, name=name, rows=rows, columns=columns
        )
        seats = []
        for r in range(1, rows + 1):
            for c in range(1, columns + 1):
                kind, cost = special.get((r, c), (Seat.Type.NORMAL, 1))
                seats.append(
                    Seat(
                        organization=organization,
                        layout=layout,
                        label=f"{chr(64 + r)}{c}",
                        row=r,
                        column=c,
                        type=kind,
                        credit_cost=cost,
                    )
                )
        Seat.objects.bulk_create(seats)
        bookable = [s for s in seats if s.type in Seat.BOOKABLE_TYPES]
        return layout, bookable

    arena_special = {(1, 8): (Seat.Type.PODIUM, 1), (1, 9): (Seat.Type.PODIUM, 1)}
    arena_special.update({(1, c): (Seat.Type.EXCLUSIVE, 2) for c in (1, 2, 15, 16)})
    arena_special[(5, 8)] = (Seat.Type.ARCHITECTURAL_COLUMN, 1)
    rooms = []
    for name in ROOMS:
        location = Location.objects.create(organization=organization, name=name, address="İstanbul")
        layout, bookable = layout_with_seats(location, "Arena 8x16", 8, 16, arena_special)
        rooms.append((location, layout, bookable))
    studio_b = Location.objects.create(organization=organization, name="Studio B", address="İstanbul")
    rush_layout, rush_seats = layout_with_seats(studio_b, "Rush 4x6", 4, 6, {})

    classes = [
        RideClass.objects.create(organization=organization, name=n, name_tr=tr, music_genre=g, duration_minutes=50)
        for n, tr, g in CLASSES
    ]
    instructors = [
        Instructor.objects.create(organization=organization, name=n)
        for n in ("Ece Aydın", "Burak Çelik", "Selin Öz", "Kerem Arslan", "Deniz Koç", "Ayşe Tan")
    ]

    # sessions: 24 a day (3 rooms x 8 times); future days from tomorrow, past days before today
    def starts(day: date, slot: int) -> datetime:
        hh, mm = TIMES[slot % len(TIMES)].split(":")
        return datetime.combine(day, time(int(hh), int(mm)), tzinfo=tz)

    per_day = len(ROOMS) * len(TIMES)
    future_count = min(args.sessions, args.future_days * per_day)
    past_count = args.sessions - future_count
    sessions = []
    past_sessions = []

    def make_session(day, k, status):
        location, layout, bookable = rooms[k % len(ROOMS)]
        start = starts(day, k // len(ROOMS))
        return Session(
            organization=organization,
            ride_class=classes[(k + day.toordinal()) % len(classes)],
            instructor=instructors[(k + day.toordinal()) % len(instructors)],
            location=location,
            seat_layout=layout,
            starts_at=start,
            ends_at=start + timedelta(minutes=50),
            capacity=len(bookable),
            status=status,
        )

    for k in range(future_count):
        sessions.append(make_session(today + timedelta(days=1 + k // per_day), k % per_day, Session.Status.SCHEDULED))
    for k in range(past_count):
        session = make_session(today - timedelta(days=1 + k // per_day), k % per_day, Session.Status.COMPLETED)
        sessions.append(session)
        past_sessions.append(session)
    rush_start = starts(today + timedelta(days=1), 3) + timedelta(minutes=15)
    rush = Session(
        organization=organization,
        ride_class=classes[0],
        instructor=instructors[0],
        location=studio_b,
        seat_layout=rush_layout,
        starts_at=rush_start,
        ends_at=rush_start + timedelta(minutes=50),
        capacity=len(rush_seats),
        status=Session.Status.SCHEDULED,
    )
    sessions.append(rush)

    # past bookings: booking b -> past session b % P, its j-th bike, a member distinct per session
    members_n = args.members
    capacity = len(rooms[0][2])
    if past_sessions:
        if args.past_bookings > len(past_sessions) * capacity:
            raise SystemExit("bench.seed: more past bookings than past seats")
    elif args.past_bookings:
        raise SystemExit("bench.seed: past bookings need past sessions")
    member_ids = [uuid.uuid4() for _ in range(members_n)]
    per_session = defaultdict(int)
    bookings = []  # (id, session, member index, seat, cost, status)
    for b in range(args.past_bookings):
        s = b % len(past_sessions)
        j = b // len(past_sessions)
        session = past_sessions[s]
        seat = rooms[ROOMS.index(session.location.name)][2][j]
        member = (s * 131 + j * 397) % members_n
        status = Booking.Status.NO_SHOW if j % 20 == 19 else Booking.Status.COMPLETED
        bookings.append((uuid.uuid4(), session, member, seat, seat.credit_cost, status))
        per_session[s] += 1
    for s, count in per_session.items():
        past_sessions[s].booked_count = count
    Session.objects.bulk_create(sessions, batch_size=1000)

    # people
    password = make_password(None)
    user_ids = [uuid.uuid4() for _ in range(members_n)]
    copy_rows(
        User,
        ["id", "email", "first_name", "last_name", "password", "date_joined", "is_active"],
        ((user_ids[i], f"rider{i}@bench.example", "Rider", f"No {i}", password, now, True) for i in range(members_n)),
        now,
    )
    # knox rows (only the digest is stored); the secrets are derived from the user ids so that
    # bench.prepare / bench.profile can hand them to the clients. Far expiry: a seeded database
    # is reused across runs, and the expiry is then never pushed out (no write on the hot path).
    expiry = now + timedelta(days=3650)
    copy_rows(
        AuthToken,
        ["digest", "token_key", "user_id", "created", "expiry"],
        ((hash_token(token), token[:15], uid, now, expiry) for uid, token in ((u, bench_token(u)) for u in user_ids)),
        now,
    )

    spent = [0] * members_n
    rides = defaultdict(list)
    for booking_id, session, member, _seat, cost, _status in bookings:
        spent[member] += cost
        rides[member].append((session.starts_at, booking_id, cost))
    sizes = [next(size for size in PACKAGE_SIZES if size >= spent[i] + 10) for i in range(members_n)]
    bought_at = [(min(r[0] for r in rides[i]) if rides[i] else now) - timedelta(days=2) for i in range(members_n)]
    lot_ids = [uuid.uuid4() for _ in range(members_n)]
    redemption_ids = [uuid.uuid4() for _ in range(members_n)]
    all_access_members = (
        set(range(0, members_n, round(1 / args.all_access_share))) if args.all_access_share > 0 else set()
    )
    aa_start = today - timedelta(days=5)
    aa_end = aa_start + timedelta(days=29)
    aa_expires = datetime.combine(aa_end + timedelta(days=1), time(0), tzinfo=tz)

    copy_rows(
        Member,
        [
            "id", "organization_id", "user_id", "first_name", "last_name", "status", "credit_balance",
            "ledger_seq", "created_at", "has_all_access", "all_access_expires_at",
        ],
        (
            (
                member_ids[i], organization.pk, user_ids[i], "Rider", f"No {i}", Member.Status.ACTIVE,
                sizes[i] - spent[i], 1 + len(rides[i]), now, i in all_access_members,
                aa_expires if i in all_access_members else None,
            )
            for i in range(members_n)
        ),
        now,
    )  # fmt: skip
    copy_rows(
        CreditLot,
        ["id", "organization_id", "member_id", "source", "credits_granted", "remaining", "expires_at", "created_at"],
        (
            (lot_ids[i], organization.pk, member_ids[i], CreditLot.Source.PACKAGE, sizes[i], sizes[i] - spent[i],
             None, bought_at[i])
            for i in range(members_n)
        ),
        now,
    )  # fmt: skip
    copy_rows(
        Redemption,
        [
            "id", "organization_id", "member_id", "package_id", "redemption_type", "status", "original_price",
            "discount_amount", "final_price", "currency", "credits_added", "credit_lot_id", "payment_method",
            "redeemed_at", "confirmed_at",
        ],
        (
            (redemption_ids[i], organization.pk, member_ids[i], packages[sizes[i]].pk,
             Redemption.Type.PACKAGE_DIRECT, Redemption.Status.ACTIVE, packages[sizes[i]].price, Decimal("0.00"),
             packages[sizes[i]].price, "TRY", sizes[i], lot_ids[i], Redemption.PaymentMethod.CARD, bought_at[i],
             bought_at[i])
            for i in range(members_n)
        ),
        now,
    )  # fmt: skip
    if all_access_members:
        copy_rows(
            Redemption,
            [
                "id", "organization_id", "member_id", "package_id", "redemption_type", "status", "original_price",
                "discount_amount", "final_price", "currency", "all_access_days", "daily_ride_limit",
                "all_access_starts_on", "all_access_ends_on", "all_access_expires_at", "payment_method",
                "redeemed_at", "confirmed_at",
            ],
            (
                (uuid.uuid4(), organization.pk, member_ids[i], all_access.pk, Redemption.Type.PACKAGE_DIRECT,
                 Redemption.Status.ACTIVE, all_access.price, Decimal("0.00"), all_access.price, "TRY", 30, 1,
                 aa_start, aa_end, aa_expires, Redemption.PaymentMethod.CARD, now, now)
                for i in sorted(all_access_members)
            ),
            now,
        )  # fmt: skip

    def ledger_rows():
        for i in range(members_n):
            balance = sizes[i]
            yield (uuid.uuid4(), organization.pk, member_ids[i], 1, CreditTransaction.Type.PURCHASE, sizes[i], 0,
                   sizes[i], lot_ids[i], None, redemption_ids[i], "Package purchase", bought_at[i])  # fmt: skip
            for seq, (start, booking_id, cost) in enumerate(sorted(rides[i]), start=2):
                yield (uuid.uuid4(), organization.pk, member_ids[i], seq, CreditTransaction.Type.BOOKING_PAYMENT,
                       -cost, balance, balance - cost, lot_ids[i], booking_id, None, "Booking",
                       start - timedelta(days=1))  # fmt: skip
                balance -= cost

    ledger_count = copy_rows(
        CreditTransaction,
        [
            "id", "organization_id", "member_id", "seq", "type", "amount", "balance_before", "balance_after",
            "lot_id", "booking_id", "redemption_id", "description", "created_at",
        ],
        ledger_rows(),
        now,
    )  # fmt: skip
    copy_rows(
        Booking,
        [
            "id", "organization_id", "session_id", "member_id", "seat_id", "status", "payment_type", "credit_cost",
            "credits_used", "credit_lot_id", "checked_in_at", "created_at",
        ],
        (
            (booking_id, organization.pk, session.pk, member_ids[m], seat.pk, status, Booking.PaymentType.CREDIT,
             cost, cost, lot_ids[m],
             session.starts_at - timedelta(minutes=5) if status == Booking.Status.COMPLETED else None,
             session.starts_at - timedelta(days=1))
            for booking_id, session, m, seat, cost, status in bookings
        ),
        now,
    )  # fmt: skip
    return {
        "anchor_date": today.isoformat(),
        "members": members_n,
        "sessions": len(sessions),
        "future_sessions": future_count,
        "past_sessions": past_count,
        "past_bookings": len(bookings),
        "ledger_rows": ledger_count,
        "all_access_members": len(all_access_members),
        "rush_session_id": str(rush.pk),
    }


if __name__ == "__main__":
    main()
