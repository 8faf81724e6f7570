"""Profile the booking path in-process (`python -m bench.profile`, run by bench.run at the end).

Runs POST /api/bookings through Django's test client (the whole middleware and DRF stack, no
network) against the run database with production settings: counts the SQL queries of one
booking (and of one week's session list), times N bookings without a profiler, then N with
pyinstrument, and writes bench/out/profile-booking.{txt,html} and the top items as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from bench import djangoenv
from bench.seed import bench_token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--out", required=True)
    parser.add_argument("--list-path", default="")
    args = parser.parse_args()
    djangoenv.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from pyinstrument import Profiler

    from bookings_app.models import Session
    from members_app.models import Member, Organization

    out = Path(args.out)
    organization = Organization.objects.get(slug="bench")
    now = timezone.now()
    sessions = list(
        Session.objects.filter(
            organization=organization,
            status=Session.Status.SCHEDULED,
            starts_at__gt=now + timedelta(minutes=30),
            starts_at__lt=now + timedelta(days=organization.booking_window_days) - timedelta(hours=1),
            booked_count__lt=10,  # plenty of room: the profile measures a plain success
        ).values_list("pk", flat=True)
    ) or list(
        Session.objects.filter(
            organization=organization,
            status=Session.Status.SCHEDULED,
            starts_at__gt=now + timedelta(minutes=30),
            starts_at__lt=now + timedelta(days=organization.booking_window_days) - timedelta(hours=1),
        ).values_list("pk", flat=True)
    )
    needed = 2 * args.bookings + 40
    # members from the end of the list: the load phase starts from the front
    tokens = [
        bench_token(user_id)
        for user_id in Member.objects.filter(organization=organization)
        .order_by("-user__email")
        .values_list("user_id", flat=True)[:needed]
    ]
    client = Client()
    cursor = {"i": 0}

    def book():
        i = cursor["i"]
        cursor["i"] += 1
        response = client.post(
            "/api/bookings",
            data=json.dumps({"session_id": str(sessions[i % len(sessions)])}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[i % len(tokens)]}",
            HTTP_IDEMPOTENCY_KEY=f"profile-{uuid.uuid4()}",
        )
        return response

    statuses: dict[str, int] = defaultdict(int)
    for _ in range(20):  # warm up: imports, caches, connection
        statuses[str(book().status_code)] += 1

    with CaptureQueriesContext(connection) as captured:
        response = book()
    statuses[str(response.status_code)] += 1
    booking_queries = [q["sql"] for q in captured.captured_queries]

    list_queries = None
    list_ms = None
    if args.list_path:
        with CaptureQueriesContext(connection) as captured_list:
            client.get(args.list_path, HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
        list_queries = len(captured_list.captured_queries)
        started = time.perf_counter()
        for k in range(50):
            client.get(args.list_path, HTTP_AUTHORIZATION=f"Bearer {tokens[k]}")
        list_ms = (time.perf_counter() - started) / 50 * 1000
        list_profiler = Profiler(interval=0.0005)
        list_profiler.start()
        for k in range(50):
            client.get(args.list_path, HTTP_AUTHORIZATION=f"Bearer {tokens[k]}")
        list_profiler.stop()
        (out / "profile-session-list.txt").write_text(
            list_profiler.output_text(unicode=False, color=False, show_all=False, timeline=False)
        )

    started = time.perf_counter()
    n_plain = args.bookings
    for _ in range(n_plain):
        statuses[str(book().status_code)] += 1
    ms_per_booking = (time.perf_counter() - started) / n_plain * 1000

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.bookings):
        statuses[str(book().status_code)] += 1
    profiler.stop()
    (out / "profile-booking.txt").write_text(
        profiler.output_text(unicode=False, color=False, show_all=False, timeline=False)
    )
    (out / "profile-booking.html").write_text(profiler.output_html())
    root = profiler.last_session.root_frame()
    total = root.time if root else 0.0

    self_time: dict[str, float] = defaultdict(float)
    app_inclusive: dict[str, float] = defaultdict(float)

    def walk(frame, seen: frozenset, parent_key: str) -> None:
        children = frame.children
        key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        if frame.is_synthetic:  # pyinstrument's "[self]" / "[await]" leaves: the caller's own time
            key = parent_key
        own = frame.time - sum(child.time for child in children)
        self_time[key] += own
        if frame.is_application_code and key not in seen and not frame.is_synthetic:
            app_inclusive[key] += frame.time
            seen = seen | {key}
        for child in children:
            walk(child, seen, key)

    if root is not None:
        walk(root, frozenset(), "")

    def top(table, n):
        return [
            {"item": key, "ms_per_booking": round(value / args.bookings * 1000, 3), "share": round(value / total, 3)}
            for key, value in sorted(table.items(), key=lambda kv: -kv[1])[:n]
        ]

    print(
        json.dumps(
            {
                "bookings_profiled": args.bookings,
                "statuses": dict(statuses),
                "queries_per_booking": len(booking_queries),
                "booking_queries": [q[:300] for q in booking_queries],
                "queries_per_session_list": list_queries,
                "ms_per_session_list": round(list_ms, 2) if list_ms else None,
                "ms_per_booking": round(ms_per_booking, 2),
                "ms_per_booking_profiled": round(total / args.bookings * 1000, 2),
                "top_self": top(self_time, 15),
                "top_app_inclusive": top(app_inclusive, 25),
                "text": str(out / "profile-booking.txt"),
            }
        )
    )


if __name__ == "__main__":
    main()
