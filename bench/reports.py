"""Time the four staff reports in-process on the benchmark's data (`python -m bench.reports`,
run by bench.run's `reports` phase): each report over a month (the 30 studio-local days up to
yesterday, where the seed's past sessions, bookings and sales are), through the selectors the
API calls, with production settings.

For each report and grouping: the SQL query count, the best and median of --repeat timings
(after one warm-up), and the JSON's row count; then EXPLAIN (ANALYZE, BUFFERS) of every query,
written to bench/out/reports-explain.txt (docs/PERFORMANCE.md quotes them). Also checks that the
query count does not grow with the range: a week costs as many queries as a month.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta
from pathlib import Path

from bench import djangoenv

LIMIT_S = 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    djangoenv.setup()
    from django.db import connection
    from django.db.models import Max
    from django.test.utils import CaptureQueriesContext

    from members_app.models import Organization
    from packages_app.models import Redemption
    from reports_app.selectors import (
        ATTENDANCE_GROUPS,
        SALES_GROUPS,
        Period,
        attendance_report,
        coupons_report,
        credits_report,
        sales_report,
    )
    from spinning import clock

    organization = Organization.objects.get(slug="bench")
    yesterday = clock.local_date(clock.now(), organization.timezone) - timedelta(days=1)
    month = Period(organization=organization, first=yesterday - timedelta(days=args.days - 1), last=yesterday)
    week = Period(organization=organization, first=yesterday - timedelta(days=6), last=yesterday)
    # the seed's sales happened before each rider's first ride, i.e. further back than the
    # rides: sales and coupons are timed over the month that ends with the latest sale
    last_sale = Redemption.objects.filter(organization=organization).aggregate(last=Max("confirmed_at"))["last"]
    sales_last = clock.local_date(last_sale, organization.timezone) if last_sale else yesterday
    sales_month = Period(organization=organization, first=sales_last - timedelta(days=args.days - 1), last=sales_last)
    sales_week = Period(organization=organization, first=sales_last - timedelta(days=6), last=sales_last)

    by_sales = (sales_month, sales_week)
    by_rides = (month, week)
    cases = [(f"sales/{g}", by_sales, lambda p, g=g: sales_report(period=p, group_by=g)) for g in SALES_GROUPS]
    cases.append(("credits", by_rides, lambda p: credits_report(period=p)))
    cases.append(("coupons", by_sales, lambda p: coupons_report(period=p)))
    cases += [
        (f"attendance/{g}", by_rides, lambda p, g=g: attendance_report(period=p, group_by=g)) for g in ATTENDANCE_GROUPS
    ]

    results, explains = {}, []
    for name, (month, week), run in cases:
        run(month)  # warm-up: imports, plans, caches
        with CaptureQueriesContext(connection) as captured:
            report = run(month)
        with CaptureQueriesContext(connection) as captured_week:
            run(week)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            run(month)
            timings.append(time.perf_counter() - started)
        results[name] = {
            "queries": len(captured.captured_queries),
            "queries_for_a_week": len(captured_week.captured_queries),
            "best_ms": round(min(timings) * 1000, 1),
            "median_ms": round(statistics.median(timings) * 1000, 1),
            "rows": len(report["rows"]) if "rows" in report else None,
            "counted": report["totals"]["count"] if "totals" in report else None,
            "under_1s": max(timings) < LIMIT_S,
        }
        for query in captured.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            explains.append(f"=== {name}\n{query['sql']}\n\n{plan}\n")
    counts = {
        "members": organization.members.count(),
        "from": by_rides[0].first.isoformat(),
        "to": by_rides[0].last.isoformat(),
        "sales_from": sales_month.first.isoformat(),
        "sales_to": sales_month.last.isoformat(),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reports-explain.txt").write_text("\n".join(explains))
    summary = {
        "period": counts,
        "reports": results,
        "all_under_1s": all(r["under_1s"] for r in results.values()),
        "constant_queries": all(r["queries"] == r["queries_for_a_week"] for r in results.values()),
        "explain_file": str(out / "reports-explain.txt"),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
