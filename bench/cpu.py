"""CPU per request, in-process (`python -m bench.cpu`): a quick, load-independent look.

Through Django's test client (the whole middleware and DRF stack, no network, production
settings) against a copy of the benchmark's seed: the Python CPU time (`time.thread_time` of
the requesting thread: the delivery thread and PostgreSQL are not counted) and the SQL statements
of a health check, a booking and a timetable page. The ratio of a health check's CPU to a
booking's is roughly what `make bench` measures as "x floor" when the workers are the
bottleneck, but it does not move with the neighbours' load: use it while changing code, and
`make bench` on an idle machine for the figures.

    python -m bench.cpu --db spin_bench_run [--bookings 200] [--pages 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from datetime import timedelta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="spin_bench_run", help="a seeded copy (spin_bench_* only); it is written to")
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="measure each this many times, keep the median")
    parser.add_argument("--profile", choices=["health", "booking", "timetable"], help="pyinstrument one of them")
    args = parser.parse_args()
    if not args.db.startswith("spin_bench"):
        parser.error("--db must be a spin_bench_* database")

    from bench.common import server_env

    os.environ.update(server_env(args.db))
    os.environ.setdefault("NOTIFY_DELIVERY", "off")  # the web process's own cost; delivery is a worker's
    from bench import djangoenv

    djangoenv.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.seed import bench_token
    from bookings_app.models import Session
    from members_app.models import Member, Organization

    organization = Organization.objects.get(slug="bench")
    now = timezone.now()
    sessions = [
        str(pk)
        for pk in Session.objects.filter(
            organization=organization,
            status=Session.Status.SCHEDULED,
            starts_at__gt=now + timedelta(minutes=30),
            starts_at__lt=now + timedelta(days=organization.booking_window_days) - timedelta(hours=1),
        ).values_list("pk", flat=True)
    ]
    needed = args.bookings * (args.rounds + 1) + 50
    users = list(
        Member.objects.filter(organization=organization)
        .order_by("-user__email")
        .values_list("user_id", flat=True)[:needed]
    )
    tokens = [bench_token(user_id) for user_id in users]
    client = Client(SERVER_NAME="127.0.0.1")
    state = {"i": 0}
    today = timezone.localdate()
    week = f"/api/sessions?from={today.isoformat()}&to={(today + timedelta(days=6)).isoformat()}"

    def book():
        i = state["i"]
        state["i"] += 1
        return client.post(
            "/api/bookings",
            data=json.dumps({"session_id": sessions[i % len(sessions)]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[i % len(tokens)]}",
            HTTP_IDEMPOTENCY_KEY=f"cpu-{uuid.uuid4()}",
        )

    def page(k=[0]):  # noqa: B006 - a counter
        k[0] += 1
        return client.get(week, HTTP_AUTHORIZATION=f"Bearer {tokens[k[0] % 50]}")

    def health():
        return client.get("/api/health")

    def measure(fn, n):
        statuses: dict[int, int] = {}
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        for _ in range(n):
            status = fn().status_code
            statuses[status] = statuses.get(status, 0) + 1
        return (time.thread_time() - cpu0) / n * 1000, (time.perf_counter() - wall0) / n * 1000, statuses

    def queries(fn):
        with CaptureQueriesContext(connection) as captured:
            fn()
        return [q["sql"][:160] for q in captured.captured_queries]

    for fn in (health, book, page):  # warm up
        for _ in range(20):
            fn()
    result = {}
    for name, fn, n in (("health", health, 500), ("booking", book, args.bookings), ("timetable", page, args.pages)):
        rounds = [measure(fn, n) for _ in range(args.rounds)]
        result[name] = {
            "cpu_ms": round(statistics.median(r[0] for r in rounds), 3),
            "wall_ms": round(statistics.median(r[1] for r in rounds), 3),
            "statuses": rounds[-1][2],
            "queries": queries(fn),
        }
    if args.profile:
        from pyinstrument import Profiler

        fn = {"health": health, "booking": book, "timetable": page}[args.profile]
        profiler = Profiler(interval=0.0002)
        with profiler:
            for _ in range(100):
                fn()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    floor = result["health"]["cpu_ms"]
    for name in ("health", "booking", "timetable"):
        r = result[name]
        print(
            f"{name:10} cpu {r['cpu_ms']:7.2f} ms  wall {r['wall_ms']:7.2f} ms  "
            f"health/this {floor / r['cpu_ms']:.3f}  queries {len(r['queries']):2}  {r['statuses']}"
        )
    if os.environ.get("BENCH_CPU_QUERIES"):
        for name in ("booking", "timetable"):
            print(f"-- {name}")
            for sql in result[name]["queries"]:
                print("  ", sql)


if __name__ == "__main__":
    main()
