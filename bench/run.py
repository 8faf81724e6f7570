"""`make bench`: the product under gunicorn + PostgreSQL with production settings, measured.

    make bench                                   # the issue's sizes (50,000 members ...)
    make bench BENCH_ARGS="--members 2000 --duration 5"   # a quick look
    make bench BENCH_ARGS="--reseed"             # seed again even if the fingerprint matches

Steps: install wrk if missing; seed `spin_bench` unless it already holds this exact seed
(fingerprint of sizes, seed code and migrations); copy it to `spin_bench_run` (a template copy:
every run starts from the same data); start gunicorn on 127.0.0.1; measure the health floor,
bookings, the session list (wrk + Lua) and the schedule-drop rush (Python threads behind a
Barrier); stop gunicorn; check the invariants; profile the booking path in-process; print a
table and write bench/results.json.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import clients, common
from bench import waitlist as waitlist_phase
from bench.background import MODES, Background
from bench.common import OUT, Server, log

# BENCH_DB (a name starting with spin_bench) keeps two people's runs on one server apart.
BASE_DB = os.environ.get("BENCH_DB", "spin_bench")
RUN_DB = f"{BASE_DB}_run"
TARGETS = {"booking": 0.12, "session_list": 0.35}  # issue 14: x the health floor
RUSH_P99_MS = 1000.0  # issue 14: every rider answered within 1.0 s of the release


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--past-bookings", type=int, help="default: 4 per member, at most 200,000")
    parser.add_argument("--duration", type=int, default=20, help="seconds of each wrk phase (default 20)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--rush-clients", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument(
        "--background",
        default="celery-after",
        choices=MODES,
        help="celery-after (default): Redis + one Celery worker, each booking's apply_async paid by the web "
        "request, the worker started after the load phases to drain the queue (the web tier alone on the two "
        "cores, as beside workers on their own machine); celery: the worker delivering during the load, on the "
        "same cores; sweep: no publish, the worker sweeping every 1 s; thread: no broker, a thread in each web "
        "worker (bench/background.py)",
    )
    parser.add_argument("--list-page-size", type=int, default=0, help="0: the API's default page size")
    parser.add_argument("--reseed", action="store_true", help="seed again even if the fingerprint matches")
    parser.add_argument("--keep-db", action="store_true", help=f"keep {RUN_DB} after the run")
    parser.add_argument("--no-profile", action="store_true", help="skip the in-process booking profile")
    parser.add_argument("--profile-bookings", type=int, default=300)
    parser.add_argument(
        "--waitlist-riders", type=int, default=50, help="booked riders who cancel at once (and as many waiting)"
    )
    parser.add_argument("--only", default="", help="comma list of phases: health,booking,list,rush,waitlist,reports")
    parser.add_argument("--base-db", default="", help=f"the seeded database (default {BASE_DB}, spin_bench_* only)")
    parser.add_argument("--run-db", default=RUN_DB, help=f"the per-run copy (default {RUN_DB}, spin_bench_* only)")
    parser.add_argument("--report-repeat", type=int, default=5, help="timings per report (reports phase)")
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="2: two gunicorn instances behind HAProxy with a shared Redis (bench/scale.py); no other phase",
    )
    parser.add_argument("--pgbouncer", action="store_true", help="with --scale: PgBouncer in transaction mode")
    parser.add_argument("--pgbouncer-pool", type=int, default=20, help="PgBouncer's server connections")
    parser.add_argument(
        "--wait-idle",
        type=int,
        default=0,
        help="wait up to this many seconds for the 1-minute load average to drop below half the cores",
    )
    args = parser.parse_args(argv)
    if args.past_bookings is None:
        args.past_bookings = min(200_000, 4 * args.members)
    return args


def booking_endpoint_ready(server: Server, prepared: dict) -> tuple[bool, str]:
    """POST /api/bookings exists when an unauthenticated POST gets 401/403, not 404/405."""
    client = clients.Client(server.port)
    answer = client.request("POST", "/api/bookings", body={"session_id": prepared["sample_session_id"]})
    client.close()
    if answer.status in (401, 403):
        return True, ""
    return False, f"POST /api/bookings answered {answer.status} {answer.code}: not there yet"


def sessions_endpoint_ready(server: Server) -> tuple[bool, str]:
    client = clients.Client(server.port)
    answer = client.request("GET", "/api/sessions", headers={"X-Organization": "bench"})
    client.close()
    if answer.status == 200:
        return True, ""
    return False, f"GET /api/sessions answered {answer.status} {answer.code}: not there yet"


def main(argv=None) -> int:
    args = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    phases = set(filter(None, args.only.split(","))) or {"health", "booking", "list", "rush", "waitlist", "reports"}
    run_db = args.run_db
    wrk = common.ensure_wrk()
    sizes = {
        "members": args.members,
        "sessions": args.sessions,
        "past_bookings": args.past_bookings,
        "future_days": 14,
        "all_access_share": 0.0,
    }
    seed_args = [f"--{k.replace('_', '-')}={v}" for k, v in sizes.items()]
    # the sizes live in spin_bench; smaller trial sizes get a database of their own, so
    # switching between a quick look and the real run does not seed again each time
    default_sizes = (args.members, args.sessions, args.past_bookings) == (50_000, 2_000, 200_000)
    base_db = args.base_db or (BASE_DB if default_sizes else f"{BASE_DB}_{args.members}")
    seed_seconds = common.ensure_base_database(base_db, sizes, reseed=args.reseed, seed_args=seed_args)

    started = time.monotonic()
    common.create_database(run_db, template=base_db)
    log(f"copied {base_db} -> {run_db} in {time.monotonic() - started:.1f} s")
    prepared = common.run_json(
        "bench.prepare",
        run_db,
        "--out",
        str(OUT),
        "--rush-clients",
        str(args.rush_clients),
        "--list-page-size",
        str(args.list_page_size),
    )

    if args.wait_idle:
        wait_for_idle(args.wait_idle)
    if phases <= {"reports"}:
        return reports_only(args, run_db, base_db, sizes, seed_seconds)
    if args.scale > 1:
        return scale_only(args, run_db, prepared, wrk, sizes)
    background = Background(args.background, run_db)
    atexit.register(background.stop)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = Server(
        run_db, workers=args.workers, worker_class=args.worker_class, threads=args.threads,
        env_extra=background.start(),
    )  # fmt: skip
    atexit.register(server.stop)
    server.start()
    log(f"started {server.describe()}; background: {background.describe()}")
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            # the machine is shared: a load average well above 0 before the run means other work
            # competed for the two cores and the absolute numbers are low
            "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        },
        "sizes": sizes,
        "seed_seconds": round(seed_seconds, 1),
        "server": server.describe(),
        "background": background.describe(),
        "wrk": {"connections": args.connections, "threads": args.wrk_threads, "duration_s": args.duration},
        "prepared": {k: v for k, v in prepared.items() if not k.endswith("_file")},
        "skipped": {},
    }
    run_id = f"b{int(time.time())}"
    try:
        # warm every worker (imports, connections) before measuring anything
        common.run_wrk(
            wrk,
            server.base_url,
            common.lua_script("health", NTHREADS=args.wrk_threads),
            connections=args.connections,
            seconds=2,
            threads=args.wrk_threads,
        )
        background.mark()
        if "health" in phases:
            log("health floor ...")
            results["health"] = common.run_wrk(
                wrk,
                server.base_url,
                common.lua_script("health", NTHREADS=args.wrk_threads),
                connections=args.connections,
                seconds=args.duration,
                threads=args.wrk_threads,
                server=server,
            ).as_dict()
        ready, why = booking_endpoint_ready(server, prepared)
        if "booking" in phases and ready:
            log("booking ...")
            worker_cpu, phase_started = background.cpu_seconds(), time.monotonic()
            results["booking"] = common.run_wrk(
                wrk,
                server.base_url,
                common.lua_script(
                    "booking", NTHREADS=args.wrk_threads, PAIRS_FILE=prepared["pairs_file"], RUN_ID=run_id
                ),
                connections=args.connections,
                seconds=args.duration,
                threads=args.wrk_threads,
                server=server,
            ).as_dict()
            # the Celery worker delivering this phase's messages, in cores (apart from the web workers)
            results["booking"]["background_cpu_share"] = round(
                (background.cpu_seconds() - worker_cpu) / (time.monotonic() - phase_started), 2
            )
        elif "booking" in phases:
            results["skipped"]["booking"] = why
        list_ready, list_why = sessions_endpoint_ready(server)
        if "list" in phases and list_ready:
            log("session list ...")
            results["session_list"] = common.run_wrk(
                wrk,
                server.base_url,
                common.lua_script(
                    "sessions",
                    NTHREADS=args.wrk_threads,
                    TOKENS_FILE=prepared["tokens_file"],
                    LIST_PATH=prepared["list_path"],
                ),
                connections=args.connections,
                seconds=args.duration,
                threads=args.wrk_threads,
                server=server,
            ).as_dict()
            results["session_list"]["path"] = prepared["list_path"]
            results["session_list"]["items_per_response"] = list_page_items(server, prepared)
        elif "list" in phases:
            results["skipped"]["session_list"] = list_why
        if "rush" in phases and ready:
            log(f"rush: {args.rush_clients} riders at one session of {prepared['rush_capacity']} bikes ...")
            rush_data = json.loads(Path(prepared["rush_file"]).read_text())
            results["rush"] = clients.rush(server.port, rush_data["session_id"], rush_data["clients"])
        elif "rush" in phases:
            results["skipped"]["rush"] = why
        if "waitlist" in phases and ready:
            log(f"waitlist: {args.waitlist_riders} booked riders cancel at once, {args.waitlist_riders} waiting ...")
            prepared_wl = common.run_json("bench.waitlist", run_db, "prepare", "--riders", str(args.waitlist_riders))
            results["waitlist"] = waitlist_phase.cancel_all(server.port, prepared_wl, database=run_db)
            results["waitlist"]["session_id"] = prepared_wl["session_id"]
            results["waitlist"]["prepare_seconds"] = prepared_wl["prepare_seconds"]
            results["waitlist"]["waitlist_max_size"] = prepared_wl["waitlist_max_size"]
        elif "waitlist" in phases:
            results["skipped"]["waitlist"] = why
    finally:
        server.stop()
        log("gunicorn stopped")

    if background.enabled:
        log("waiting until every message written in the run is SENT ...")
    results["notifications"] = background.wait_all_sent(
        prepared["started_at"], timeout=300 if background.enabled else 0
    )
    background.stop()

    results["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    log("checking invariants ...")
    results["checks"] = common.run_json(
        "bench.checks", run_db, "--since", prepared["started_at"], "--session", prepared["rush_session_id"]
    )
    if "waitlist" in results:
        results["waitlist"]["after"] = common.run_json(
            "bench.waitlist", run_db, "check", "--session", results["waitlist"]["session_id"]
        )
    if not args.no_profile and ready:
        log("profiling the booking path in-process ...")
        results["profile"] = common.run_json(
            "bench.profile",
            run_db,
            "--bookings",
            str(args.profile_bookings),
            "--out",
            str(OUT),
            "--list-path",
            prepared["list_path"],
            timeout=900,
            ALLOWED_HOSTS="testserver",
            NOTIFY_DELIVERY="off",  # the web process's own cost; delivery is the worker's (reported above)
        )
    if "reports" in phases:
        log("timing the reports in-process ...")
        results["reports"] = run_reports(run_db, args)
    if not args.keep_db:
        common.drop_database(run_db)
    summarize(results)
    (common.BENCH / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(render_table(results))
    log(f"wrote {common.BENCH / 'results.json'}")
    return 0 if results["verdict"]["ok"] else 1


def run_reports(run_db: str, args) -> dict:
    """The four staff reports over a month, in-process (bench/reports.py)."""
    return common.run_json("bench.reports", run_db, "--out", str(OUT), "--repeat", str(args.report_repeat), timeout=900)


def reports_only(args, run_db: str, base_db: str, sizes: dict, seed_seconds: float) -> int:
    """`--only reports`: no server, no load; the reports timed on a copy of the seed."""
    results = {
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in os.getloadavg()]},
        "sizes": sizes,
        "database": base_db,
        "seed_seconds": round(seed_seconds, 1),
    }
    log("timing the reports in-process ...")
    results["reports"] = run_reports(run_db, args)
    results["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if not args.keep_db:
        common.drop_database(run_db)
    (OUT / "reports-results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(render_reports(results["reports"]))
    ok = results["reports"]["all_under_1s"] and results["reports"]["constant_queries"]
    return 0 if ok else 1


def scale_only(args, run_db: str, prepared: dict, wrk: str, sizes: dict) -> int:
    """`--scale N`: N instances behind HAProxy, a shared Redis (bench/scale.py), then the checks."""
    from bench import scale

    results = {"machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in os.getloadavg()]}}
    results["sizes"] = sizes
    results["wrk"] = {"connections": args.connections, "threads": args.wrk_threads, "duration_s": args.duration}
    results["scale"] = scale.run(args, run_db, prepared, wrk)
    results["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    results["checks"] = common.run_json(
        "bench.checks", run_db, "--since", prepared["started_at"], "--session", prepared["rush_session_id"]
    )
    if not args.keep_db:
        common.drop_database(run_db)
    name = "scale-pgbouncer-results.json" if args.pgbouncer else "scale-results.json"
    (OUT / name).write_text(json.dumps(results, indent=2, default=str) + "\n")
    checks = results["checks"]
    print(scale.render(results["scale"]))
    print(
        f"  after: check_ledger {checks.get('check_ledger')}, bikes twice {checks.get('bikes_taken_twice')}, "
        f"members twice {checks.get('members_twice_on_a_session')}, over capacity {checks.get('sessions_over_capacity')}"
        f"; load average {results['machine']['loadavg_before'][0]} -> {results['machine']['loadavg_after'][0]}"
    )
    clean = checks.get("check_ledger") == "clean" and not any(
        checks.get(key) for key in ("bikes_taken_twice", "members_twice_on_a_session", "sessions_over_capacity")
    )
    return 0 if scale.ok(results["scale"]) and clean else 1


def render_notifications(results: dict) -> list[str]:
    notes = results.get("notifications")
    if not notes:
        return []
    line = (
        f"notifications: {notes['written']} written in the run, {notes['sent']} SENT "
        f"({'all' if not notes['not_sent'] else str(notes['not_sent']) + ' NOT'}; waited {notes['waited_s']} s)"
    )
    if "worker_cpu_s" in notes:
        share = (results.get("booking") or {}).get("background_cpu_share")
        line += (
            f"; Celery worker CPU {notes['worker_cpu_s']} s = {notes['worker_cpu_ms_per_message']} ms per message"
            + (f", {share * 100:.0f}% of a core during the booking phase" if share is not None else "")
        )
    return [f"background: {results.get('background')}", line]


def render_reports(reports: dict) -> str:
    period = reports["period"]
    lines = [
        "",
        f"reports over {period['from']} .. {period['to']} (sales and coupons: {period.get('sales_from')} .. "
        f"{period.get('sales_to')}), {period['members']:,} members, in-process:",
        f"{'report':<26}{'queries':>8}{'(a week)':>9}{'best ms':>9}{'median ms':>11}{'rows':>6}  < 1 s",
    ]
    for name, r in reports["reports"].items():
        lines.append(
            f"{name:<26}{r['queries']:>8}{r['queries_for_a_week']:>9}{r['best_ms']:>9.1f}{r['median_ms']:>11.1f}"
            f"{'' if r['rows'] is None else r['rows']:>6}  {'yes' if r['under_1s'] else 'NO'}"
        )
    lines.append(f"plans: {reports['explain_file']}")
    return "\n".join(lines)


def wait_for_idle(limit: int) -> None:
    """On a shared machine, start measuring when the others have (mostly) stopped."""
    threshold = 0.5 * (os.cpu_count() or 1)
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] > threshold and time.monotonic() < deadline:
        log(f"load average {os.getloadavg()[0]:.2f} > {threshold}: waiting for the machine to calm down")
        time.sleep(15)


def list_page_items(server: Server, prepared: dict) -> int | None:
    token = Path(prepared["tokens_file"]).read_text().split("\n", 1)[0].strip()
    client = clients.Client(server.port)
    answer = client.request("GET", prepared["list_path"], token=token)
    client.close()
    if answer.body and isinstance(answer.body.get("results"), list):
        return len(answer.body["results"])
    return None


def _count(statuses: dict, predicate) -> int:
    return sum(n for key, n in statuses.items() if predicate(int(key.split(":")[0])))


def summarize(results: dict) -> None:
    """`problems` break a rule (5xx, oversell, ledger): the run fails. `missed` are throughput
    targets not reached: reported, the run still succeeds (they depend on the machine)."""
    floor = results.get("health", {}).get("rps") or 0
    verdict: dict = {"problems": [], "missed": []}
    for name in ("booking", "session_list"):
        phase = results.get(name)
        if not phase:
            verdict["missed"].append(f"{name}: not measured ({results['skipped'].get(name, 'skipped')})")
            continue
        phase["ratio_to_floor"] = round(phase["rps"] / floor, 3) if floor else None
        phase["count_5xx"] = _count(phase["statuses"], lambda s: s >= 500)
        phase["count_2xx"] = _count(phase["statuses"], lambda s: 200 <= s < 300)
        if phase["ratio_to_floor"] is not None and phase["ratio_to_floor"] < TARGETS[name]:
            verdict["missed"].append(f"{name}: {phase['ratio_to_floor']} of the floor < target {TARGETS[name]}")
        if phase["count_5xx"]:
            verdict["problems"].append(f"{name}: {phase['count_5xx']} 5xx")
        if phase["socket_errors"]:
            verdict["problems"].append(f"{name}: socket errors {phase['socket_errors']}")
    if "health" in results:
        results["health"]["count_5xx"] = _count(results["health"]["statuses"], lambda s: s >= 500)
    # gunicorn CPU per request: what a request costs the workers, whatever else ran on the machine
    for name in ("health", "booking", "session_list"):
        phase = results.get(name)
        if phase and phase["rps"]:
            phase["server_cpu_ms_per_request"] = round(phase["server_cpu_share"] / phase["rps"] * 1000, 2)
    rush = results.get("rush")
    if rush:
        capacity = results["prepared"]["rush_capacity"]
        if rush["successes"] != capacity:
            verdict["problems"].append(f"rush: {rush['successes']} successes for {capacity} bikes")
        if any(key.startswith("5") or key.startswith("None") for key in rush["statuses"]):
            verdict["problems"].append(f"rush: 5xx or no answer {rush['statuses']}")
        rush_p99 = (rush.get("latency_ms") or {}).get("p99")
        if rush_p99 is not None and rush_p99 > RUSH_P99_MS:
            verdict["missed"].append(f"rush: p99 {rush_p99:.0f} ms > target {RUSH_P99_MS:.0f} ms")
    wl = results.get("waitlist")
    if wl:
        after = wl.get("after", {})
        if wl["statuses"].get("200") != wl["cancels"]:
            verdict["problems"].append(f"waitlist: cancels answered {wl['statuses']}")
        if after.get("promoted") != wl["cancels"] or after.get("promoted_with_live_booking") != wl["cancels"]:
            verdict["problems"].append(f"waitlist: {after.get('promoted')} promoted for {wl['cancels']} freed spots")
        if after.get("bikes_held_twice") or after.get("members_twice"):
            verdict["problems"].append(f"waitlist: bikes twice {after.get('bikes_held_twice')}")
        if after.get("live_bookings") != after.get("booked_count") or after.get("booked_count", 0) > after.get(
            "capacity", 0
        ):
            verdict["problems"].append(f"waitlist: counter {after.get('booked_count')} vs {after.get('live_bookings')}")
    notes = results.get("notifications")
    if notes and notes["mode"] != "thread" and notes["not_sent"]:
        verdict["problems"].append(
            f"notifications: {notes['not_sent']} of {notes['written']} not SENT {notes['by_status']}"
        )
    checks = results.get("checks", {})
    if checks.get("check_ledger") != "clean":
        verdict["problems"].append(f"check_ledger: {checks.get('check_ledger')}")
    for key in (
        "sessions_over_capacity",
        "bikes_taken_twice",
        "members_twice_on_a_session",
        "sessions_counter_drift",
        "credit_bookings_without_ledger_row",
        "credit_bookings_charge_mismatch",
        "all_access_bookings_without_usage",
    ):
        if checks.get(key):
            verdict["problems"].append(f"{key}: {checks[key]}")
    verdict["ok"] = not verdict["problems"]
    verdict["targets_met"] = not verdict["missed"]
    reports = results.get("reports")
    if reports and not reports["all_under_1s"]:
        verdict["missed"].append("reports: some report over a month took 1 s or more")
    if reports and not reports["constant_queries"]:
        verdict["problems"].append("reports: the query count grows with the range")
    verdict["ok"] = not verdict["problems"]
    results["verdict"] = verdict


def render_table(results: dict) -> str:
    floor = results.get("health", {}).get("rps") or 0
    lines = [
        "",
        f"server: {results['server']}   load: wrk {results['wrk']['connections']} connections, "
        f"{results['wrk']['threads']} threads, {results['wrk']['duration_s']} s per phase",
        f"data: {results['sizes']['members']:,} members, {results['sizes']['sessions']:,} sessions, "
        f"{results['sizes']['past_bookings']:,} past bookings   load average before/after: "
        f"{results['machine']['loadavg_before'][0]}/{results['machine'].get('loadavg_after', ['-'])[0]}",
        "",
        f"{'scenario':<14}{'rps':>9}{'x floor':>9}{'target':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'wrk cpu':>9}{'srv cpu':>9}{'cpu ms/r':>9}  statuses",
    ]
    for name, label in (("health", "health floor"), ("booking", "booking"), ("session_list", "session list")):
        phase = results.get(name)
        if not phase:
            lines.append(f"{label:<14}{'—':>9}  {results['skipped'].get(name, 'not run')}")
            continue
        ratio = f"{phase['rps'] / floor:.3f}" if floor else "-"
        target = f"{TARGETS[name]:.2f}" if name in TARGETS else ""
        lat = phase["latency_ms"]
        statuses = " ".join(f"{k}={v}" for k, v in phase["statuses"].items())
        if phase["socket_errors"]:
            statuses += f" socket-errors={phase['socket_errors']}"
        lines.append(
            f"{label:<14}{phase['rps']:>9.1f}{ratio:>9}{target:>8}{lat['p50']:>9.1f}{lat['p95']:>9.1f}"
            f"{lat['p99']:>9.1f}{phase['wrk_cpu_share'] * 100:>8.0f}%{phase['server_cpu_share'] * 100:>8.0f}%"
            f"{phase.get('server_cpu_ms_per_request', 0):>9.2f}  {statuses}"
        )
    rush = results.get("rush")
    if rush:
        lines += [
            "",
            f"rush: {rush['clients']} riders, one session of {results['prepared']['rush_capacity']} bikes: "
            f"{rush['successes']} successes on {rush['distinct_bikes_won']} bikes, sold out after "
            f"{rush['sold_out_after_ms']} ms, all answered after {rush['all_answered_after_ms']} ms, "
            f"p50/p95/p99 {rush['latency_ms']['p50']}/{rush['latency_ms']['p95']}/{rush['latency_ms']['p99']} ms",
            f"      answers: {' '.join(f'{k}={v}' for k, v in rush['statuses'].items())}; "
            f"the riders' own CPU {rush.get('client_cpu_ms')} ms",
        ]
    else:
        lines += ["", f"rush: {results['skipped'].get('rush', 'not run')}"]
    wl = results.get("waitlist")
    if wl:
        after = wl.get("after", {})
        lines += [
            "",
            f"waitlist: {wl['cancels']} booked riders cancel at once, {wl['cancels']} waiting: first promoted after "
            f"{wl['first_promoted_after_ms']} ms, all {after.get('promoted')} promoted after "
            f"{wl['all_promoted_after_ms']} ms (cancels all answered after {wl['all_answered_after_ms']} ms, "
            f"p50 {wl['p50_ms']} ms)",
            f"      bikes held twice {after.get('bikes_held_twice')}, members twice {after.get('members_twice')}, "
            f"booked {after.get('booked_count')}/{after.get('capacity')} (live {after.get('live_bookings')}), "
            f"answers: {' '.join(f'{k}={v}' for k, v in wl['statuses'].items())}",
        ]
    else:
        lines += ["", f"waitlist: {results['skipped'].get('waitlist', 'not run')}"]
    checks = results.get("checks", {})
    lines += [
        "",
        f"after: check_ledger {checks.get('check_ledger')} ({checks.get('check_ledger_seconds')} s), "
        f"sessions over capacity {checks.get('sessions_over_capacity')}, bikes twice {checks.get('bikes_taken_twice')}, "
        f"members twice {checks.get('members_twice_on_a_session')}, counter drift {checks.get('sessions_counter_drift')}, "
        f"credit bookings without ledger row {checks.get('credit_bookings_without_ledger_row')}",
        f"       bookings made in this run: {checks.get('bookings_since_start')}",
    ]
    lines += render_notifications(results)
    if results.get("reports"):
        lines.append(render_reports(results["reports"]))
    profile = results.get("profile")
    if profile:
        lines.append(
            f"profile: {profile.get('queries_per_booking')} queries per booking, "
            f"{profile.get('ms_per_booking')} ms per booking in-process (see docs/PERFORMANCE.md)"
        )
    verdict = results["verdict"]
    load = results["machine"]["loadavg_before"][0]
    if load > 0.5 * (results["machine"]["cpus"] or 1):
        lines.append(f"warning: load average {load} before the run: other work shared the CPUs")
    lines += [
        "",
        "invariants: " + ("all held (zero 5xx, zero oversells)" if verdict["ok"] else "; ".join(verdict["problems"])),
        "targets: " + ("all met" if verdict["targets_met"] else "; ".join(verdict["missed"])),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.stderr.write((exc.stdout or "")[-3000:] + (exc.stderr or "")[-3000:])
        raise
