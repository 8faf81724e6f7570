"""The waitlist phase of `make bench` (issue 11 item 5): N booked riders cancel at once on a
session with N riders waiting; how long until all N are promoted, and no bike held twice.

Three steps, the first and last in a Django subprocess on the run's database:

    python -m bench.waitlist prepare --riders 50   # a new session tomorrow, capacity N, N riders
                                                   # booked on N bikes, N more on its waitlist
    (bench.run) cancel_all(...)                    # N threads behind a Barrier, one cancel each,
                                                   # over HTTP against gunicorn; then poll
    python -m bench.waitlist check --session ID    # promoted entries, bikes twice, over capacity

Promotion runs in the cancelling request right after its commit (docs/waitlist.md), so a
rider is promoted by the time the cancel answers; the poll measures when the database shows all
N promoted.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

from bench import clients


def prepare(riders: int) -> dict:
    from datetime import timedelta

    from django.db.models import Q

    from bookings_app import services
    from bookings_app.models import LIVE, Booking, Seat, Session
    from members_app.models import Member, Organization
    from spinning import clock

    with _connection_cursor() as cursor:
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'organization'")
        slug = cursor.fetchone()[0]
    organization = Organization.objects.get(slug=slug)
    max_size_before = organization.waitlist_max_size
    if organization.waitlist_max_size is not None and organization.waitlist_max_size < riders:
        # The default policy keeps 20 waiting; the phase needs N.
        Organization.objects.filter(pk=organization.pk).update(waitlist_max_size=riders)
        organization.refresh_from_db()
    now = clock.now()
    # A room with enough bikes; a new session tomorrow (outside every cutoff, inside the window).
    template = (
        Session.objects.filter(organization=organization, status="SCHEDULED", starts_at__gt=now)
        .select_related("seat_layout")
        .order_by("-capacity", "starts_at")
        .first()
    )
    bikes = list(
        Seat.objects.filter(layout=template.seat_layout, is_active=True, type=Seat.Type.NORMAL)
        .order_by("row", "column")
        .values_list("pk", flat=True)
    )
    if len(bikes) < riders:
        raise SystemExit(f"the largest room has {len(bikes)} normal bikes, fewer than {riders}")
    starts_at = (now + timedelta(days=1)).replace(minute=7, second=0, microsecond=0)
    session = services.session_create(
        organization=organization,
        class_id=template.ride_class_id,
        instructor_id=template.instructor_id,
        location_id=template.location_id,
        seat_layout_id=template.seat_layout_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=50),
        capacity=riders,
    )
    # Riders with credits left, not booked around then; the last ones by email (the load phases
    # take members from the start of the list).
    busy = Booking.objects.filter(LIVE, session__starts_at__date=starts_at.date()).values("member_id")
    members = list(
        Member.objects.filter(organization=organization, status="ACTIVE", credit_balance__gte=2)
        .exclude(pk__in=busy)
        .filter(~Q(user__auth_token_set=None))  # a knox token (AuthToken.user, related_name auth_token_set)
        .order_by("-user__email")[: 2 * riders]
    )
    if len(members) < 2 * riders:
        raise SystemExit(f"only {len(members)} riders with credits for {2 * riders} places")
    booked, waiting = members[:riders], members[riders:]
    started = time.monotonic()
    bookings = [
        services.booking_create(organization=organization, session_id=session.pk, member_id=m.pk, seat_id=bike)
        for m, bike in zip(booked, bikes, strict=False)
    ]
    for member in waiting:
        services.waitlist_join(organization=organization, session_id=session.pk, member_id=member.pk)
    from bench.seed import bench_token

    tokens = {m.pk: bench_token(m.user_id) for m in booked}  # the seed's knox tokens
    return {
        "session_id": str(session.pk),
        "organization": slug,
        "riders": riders,
        "prepare_seconds": round(time.monotonic() - started, 1),
        "waitlist_max_size": {"before": max_size_before, "during": organization.waitlist_max_size},
        "cancels": [{"token": tokens[b.member_id], "booking_id": str(b.pk)} for b in bookings],
    }


def check(session_id: str) -> dict:
    from django.db.models import Count

    from bookings_app.models import LIVE, Booking, Session, WaitlistEntry

    session = Session.objects.get(pk=session_id)
    live = Booking.objects.filter(LIVE, session=session)
    entries = WaitlistEntry.objects.filter(session=session)
    promoted = entries.filter(status="PROMOTED")
    return {
        "capacity": session.capacity,
        "booked_count": session.booked_count,
        "live_bookings": live.count(),
        "bikes_held_twice": live.values("seat_id").annotate(n=Count("pk")).filter(n__gt=1).count(),
        "members_twice": live.values("member_id").annotate(n=Count("pk")).filter(n__gt=1).count(),
        "promoted": promoted.count(),
        "promoted_with_live_booking": promoted.filter(booking__status="CONFIRMED").count(),
        "statuses": dict(entries.values_list("status").annotate(n=Count("pk")).order_by()),
    }


def promoted_count(session_id: str) -> int:
    from bookings_app.models import WaitlistEntry

    return WaitlistEntry.objects.filter(session_id=session_id, status="PROMOTED").count()


def _watch_promotions(database: str, session_id: str, target: int, started: threading.Event, timeout: float) -> dict:
    """Poll the database (every 10 ms, one connection) from the release until `target` entries
    are PROMOTED; returns when each count was first seen."""
    import psycopg

    from bench.common import PG_HOST, PG_PORT, PG_USER

    seen: dict = {"all_promoted_after_ms": None, "last_count": 0}
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=database, autocommit=True) as conn:
        started.wait(timeout)
        released = seen["released"] = time.monotonic()
        while time.monotonic() - released < timeout:
            count = conn.execute(
                "SELECT count(*) FROM bookings_app_waitlistentry WHERE session_id = %s AND status = 'PROMOTED'",
                [session_id],
            ).fetchone()[0]
            if count != seen["last_count"] and seen["last_count"] == 0:
                seen["first_promoted_after_ms"] = round((time.monotonic() - released) * 1000, 1)
            seen["last_count"] = count
            if count >= target:
                seen["all_promoted_after_ms"] = round((time.monotonic() - released) * 1000, 1)
                break
            time.sleep(0.01)
    return seen


def cancel_all(port: int, prepared: dict, *, database: str, timeout: float = 60) -> dict:
    """Release every booked rider's cancel at once; report when they answered and when the
    database showed every waiting rider promoted."""
    cancels = prepared["cancels"]
    n = len(cancels)
    barrier = threading.Barrier(n + 1, timeout=timeout)
    answers: list = [None] * n
    go = threading.Event()
    watched: dict = {}
    watcher = threading.Thread(
        target=lambda: watched.update(_watch_promotions(database, prepared["session_id"], n, go, timeout)),
        daemon=True,
    )
    watcher.start()

    def rider(k: int) -> None:
        client = clients.Client(port, timeout=timeout)
        try:
            client.connect()
        except OSError:
            pass
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        answers[k] = client.request(
            "POST",
            f"/api/bookings/{cancels[k]['booking_id']}/cancel",
            token=cancels[k]["token"],
            body={},
            headers={"X-Organization": prepared["organization"]},
        )
        client.close()

    threads = [threading.Thread(target=rider, args=(k,), daemon=True) for k in range(n)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    released = time.monotonic()
    go.set()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=timeout)
    watcher.join(timeout=timeout)
    got = [a for a in answers if a is not None]
    codes: dict[str, int] = {}
    for a in got:
        key = str(a.status) if a.status == 200 else f"{a.status}:{a.code or a.error}"
        codes[key] = codes.get(key, 0) + 1
    latencies = sorted(a.finished - released for a in got)
    return {
        "cancels": n,
        "first_promoted_after_ms": watched.get("first_promoted_after_ms"),
        "all_promoted_after_ms": watched.get("all_promoted_after_ms"),
        "promoted_seen": watched.get("last_count"),
        "answered": len(got),
        "statuses": dict(sorted(codes.items())),
        "all_answered_after_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
    }


def _connection_cursor():
    from django.db import connection

    return connection.cursor()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["prepare", "check", "promoted"])
    parser.add_argument("--riders", type=int, default=50)
    parser.add_argument("--session")
    args = parser.parse_args()
    from bench import djangoenv

    djangoenv.setup()
    if args.step == "prepare":
        print(json.dumps(prepare(args.riders)))
    elif args.step == "check":
        print(json.dumps(check(args.session)))
    else:
        print(json.dumps({"promoted": promoted_count(args.session)}))


if __name__ == "__main__":
    main()
