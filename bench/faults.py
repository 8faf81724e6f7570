"""`make faults`: bookings under load while things break; then prove nothing was lost.

    make faults                                  # every drill: the ones below and bench/faults_bg.py
    make faults FAULTS_ARGS="--only gunicorn"    # kill a worker, restart PostgreSQL, hold locks
    make faults FAULTS_ARGS="--no-pg-restart"    # everything but the PostgreSQL restart
    make faults FAULTS_ARGS="--only redis,worker,smtp [--short]"   # Redis, Celery, SMTP drills

Drills, all against gunicorn on 127.0.0.1 with production settings and a database of our own
(`spin_faults`, copied from the seeded `spin_faults_base`):

1. Load: 16 client threads book (each request a different member and session, paid by credits
   or All Access, each with an Idempotency-Key) for --duration seconds. Meanwhile
   (a) one gunicorn worker gets SIGKILL at --kill-at seconds;
   (b) PostgreSQL is restarted at --pg-restart-at seconds
       (`pg_ctlcluster --skip-systemctl-redirect <version> main restart`; it drops every
       connection on the machine, so it runs once per `make faults`).
   A poller reads /api/health every 0.2 s. Every answer is kept: a failed request must carry a
   5xx with the JSON error shape {"code", "detail"}; a request whose connection died with its
   worker has no answer at all and is counted apart.
2. Retries: every request that failed or got no answer is sent again with the same
   Idempotency-Key: it must come back as the first booking or a clean refusal, never twice.
3. Locks: a psycopg connection holds the session row (then a member row) FOR UPDATE; a booking
   that needs it must answer 409 `busy` (or 503) within the lock timeout, not hang.
4. Afterwards: check_ledger clean; no CREDIT booking without its ledger row, no ALL_ACCESS
   booking without its daily usage; no session over capacity, no bike twice; health 200.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from bench import clients, common
from bench.common import OUT, Server, log

BASE_DB = "spin_faults_base"
RUN_DB = "spin_faults"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=40)
    parser.add_argument("--kill-at", type=float, default=8)
    parser.add_argument("--pg-restart-at", type=float, default=20)
    parser.add_argument("--no-pg-restart", action="store_true", help="skip the PostgreSQL restart drill")
    parser.add_argument("--recover-within", type=float, default=30, help="seconds allowed to answer 200 again")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--lock-timeout-ms", type=int, default=3000, help="LOCK_TIMEOUT_MS for the server")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--only",
        default="gunicorn,redis,worker,smtp",
        help="drills to run, comma-separated: gunicorn (worker kill, PostgreSQL restart, locks), "
        "redis, worker (Celery), smtp (bench/faults_bg.py)",
    )
    parser.add_argument("--short", action="store_true", help="smtp drill: refuse connections 15 s, not 60 s")
    parser.add_argument("--bg-clients", type=int, default=3, help="booking threads of the background drills")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between a client's bookings (background)")
    parser.add_argument("--settle", type=float, default=150, help="seconds allowed for every message to be SENT")
    parser.add_argument("--lease", type=int, default=20, help="NOTIFY_LEASE_SECONDS of the background drills")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - {"gunicorn", "redis", "worker", "smtp"}
    if unknown:
        parser.error(f"unknown drill(s): {', '.join(sorted(unknown))}")
    return args


def pg_version() -> str:
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        raise SystemExit("no PostgreSQL cluster under /etc/postgresql")
    return versions[-1]


class HealthPoller(threading.Thread):
    def __init__(self, url: str, t0: float, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.t0, self.stop_event = url, t0, stop
        self.samples: list[tuple[float, int | None]] = []

    def run(self) -> None:
        while not self.stop_event.is_set():
            # a generous timeout: under load the poll queues behind bookings, which is not an outage;
            # the sample is stamped when the answer came (a poll sent just before an event may be
            # answered after it)
            status = common.http_status(self.url, timeout=5)
            self.samples.append((time.monotonic() - self.t0, status))
            self.stop_event.wait(0.2)


def load(
    port: int, pairs: list[tuple[str, str]], n_clients: int, duration: float, t0: float, pause: float = 0.0
) -> list[dict]:
    """n_clients threads booking for `duration` seconds (`pause` s between a client's requests);
    every request and its answer."""
    records: list[dict] = []
    lock = threading.Lock()
    deadline = t0 + duration

    def worker(k: int) -> None:
        client = clients.Client(port, timeout=15)
        n = 0
        mine = pairs[k::n_clients]
        while time.monotonic() < deadline and n < len(mine):
            token, session_id = mine[n]
            key = f"fault-{k}-{n}"
            body = {"session_id": session_id}
            answer = client.request("POST", "/api/bookings", token=token, body=body, headers={"Idempotency-Key": key})
            with lock:
                records.append(
                    {
                        "t": round(answer.started - t0, 3),
                        "latency": round(answer.latency, 3),
                        "status": answer.status,
                        "code": answer.code,
                        "json_ok": answer.json_ok,
                        "error": answer.error,
                        "key": key,
                        "token": token,
                        "body": body,
                        "booking_id": (answer.body or {}).get("id") if answer.status == 201 else None,
                    }
                )
            n += 1
            if answer.status is None or (answer.status >= 500):
                time.sleep(0.1)  # a real client backs off a little
            elif pause:
                time.sleep(pause)
        client.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(n_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 60)
    return records


def classify(record: dict) -> str:
    status = record["status"]
    if status is None:
        return f"no answer ({record['error']})"
    if status >= 500:
        return f"{status} {record['code']}" + ("" if record["json_ok"] else " NOT-JSON")
    if status >= 400:
        return f"{status} {record['code']}"
    return str(status)


def lock_drill(port: int, database: str, *, what: str, token: str, session_id: str, lock_timeout_s: float) -> dict:
    """Hold a row FOR UPDATE in another transaction; the booking must give up in bounded time."""
    conn = psycopg.connect(host=common.PG_HOST, port=common.PG_PORT, user=common.PG_USER, dbname=database)
    try:
        if what == "session":
            conn.execute("SELECT id FROM bookings_app_session WHERE id = %s FOR UPDATE", [session_id])
        else:
            conn.execute(
                "SELECT m.id FROM members_app_member m JOIN knox_authtoken t ON t.user_id = m.user_id "
                "WHERE t.token_key = %s FOR UPDATE OF m",
                [token[:15]],
            )
        client = clients.Client(port, timeout=lock_timeout_s + 20)
        key = f"lock-{what}-{int(time.time())}"
        answer = client.request(
            "POST", "/api/bookings", token=token, body={"session_id": session_id}, headers={"Idempotency-Key": key}
        )
    finally:
        conn.rollback()
        conn.close()
    retry = client.request(
        "POST", "/api/bookings", token=token, body={"session_id": session_id}, headers={"Idempotency-Key": key}
    )
    client.close()
    return {
        "held": f"{what} row FOR UPDATE",
        "status": answer.status,
        "code": answer.code,
        "json_ok": answer.json_ok,
        "seconds": round(answer.latency, 2),
        "bounded": answer.status in (409, 503) and answer.latency < lock_timeout_s + 2,
        "retry_after_release": f"{retry.status} {retry.code if retry.status != 201 else ''}".strip(),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    code = 0
    if "gunicorn" in args.only:
        code = classic(args)
    background = [name for name in ("redis", "worker", "smtp") if name in args.only]
    if background:
        from bench import faults_bg

        ensure_base(args)
        results = faults_bg.run(args, BASE_DB, background)
        (OUT / "faults-bg.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(faults_bg.render(results, args))
        if any(r["verdict"] != "PASS" for r in results):
            code = 1
    return code


def ensure_base(args) -> None:
    sizes = {
        "members": args.members,
        "sessions": 500,
        "past_bookings": 2 * args.members,
        "future_days": 14,
        "all_access_share": 0.25,
    }
    seed_args = [f"--{k.replace('_', '-')}={v}" for k, v in sizes.items()]
    common.ensure_base_database(BASE_DB, sizes, reseed=args.reseed, seed_args=seed_args)


def classic(args) -> int:
    """The first drills: a gunicorn worker SIGKILLed, PostgreSQL restarted, rows held locked."""
    ensure_base(args)
    common.create_database(RUN_DB, template=BASE_DB)
    prepared = common.run_json("bench.prepare", RUN_DB, "--out", str(OUT / "faults"), "--rush-clients", "20")
    pairs = [tuple(line.split("\t")) for line in Path(prepared["pairs_file"]).read_text().splitlines()]
    spare = json.loads(Path(prepared["rush_file"]).read_text())["clients"]  # members the load does not use

    server = Server(RUN_DB, workers=args.workers, env_extra={"LOCK_TIMEOUT_MS": str(args.lock_timeout_ms)})
    atexit.register(server.stop)
    server.start()
    log(f"started {server.describe()}; load for {args.duration:.0f} s with {args.clients} clients")

    events: list[dict] = []
    t0 = time.monotonic()
    stop = threading.Event()
    poller = HealthPoller(server.base_url + "/api/health", t0, stop)
    poller.start()

    def kill_worker() -> None:
        pids = server.worker_pids()
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            events.append({"t": round(time.monotonic() - t0, 2), "event": f"SIGKILL worker {pids[0]}"})
            log(f"killed worker {pids[0]}")

    def restart_pg() -> None:
        version = pg_version()
        started = time.monotonic()
        log("restarting PostgreSQL ...")
        proc = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        events.append(
            {
                "t": round(started - t0, 2),
                "event": f"PostgreSQL {version} restart (exit {proc.returncode}, {time.monotonic() - started:.1f} s)",
                "done_at": round(time.monotonic() - t0, 2),
            }
        )
        log(f"PostgreSQL restarted (exit {proc.returncode}) in {time.monotonic() - started:.1f} s")

    timers = [threading.Timer(args.kill_at, kill_worker)]
    if not args.no_pg_restart:
        timers.append(threading.Timer(args.pg_restart_at, restart_pg))
    for timer in timers:
        timer.start()
    try:
        records = load(server.port, pairs, args.clients, args.duration, t0)
        for timer in timers:
            timer.join(timeout=130)
        # recovery: health 200 again, by itself
        deadline = time.monotonic() + args.recover_within
        while time.monotonic() < deadline and common.http_status(server.base_url + "/api/health") != 200:
            time.sleep(0.2)
        time.sleep(0.5)
        stop.set()
        poller.join(timeout=5)

        log("retrying every request that failed, with its Idempotency-Key ...")
        retries: dict[str, int] = {}
        retry_client = clients.Client(server.port)
        for record in records:
            if record["status"] is not None and record["status"] < 500:
                continue
            answer = retry_client.request(
                "POST",
                "/api/bookings",
                token=record["token"],
                body=record["body"],
                headers={"Idempotency-Key": record["key"]},
            )
            label = str(answer.status) if answer.status == 201 else f"{answer.status} {answer.code or answer.error}"
            retries[label] = retries.get(label, 0) + 1
        # a replay must give the same booking as the first answer when there was one
        replay_mismatch = 0
        for record in [r for r in records if r["status"] == 201][:50]:
            answer = retry_client.request(
                "POST",
                "/api/bookings",
                token=record["token"],
                body=record["body"],
                headers={"Idempotency-Key": record["key"]},
            )
            if answer.status != 201 or (answer.body or {}).get("id") != record["booking_id"]:
                replay_mismatch += 1
        retry_client.close()

        log("lock drills ...")
        lock_timeout_s = args.lock_timeout_ms / 1000
        session_for_lock = pairs[-1][1]
        drills = [
            lock_drill(
                server.port,
                RUN_DB,
                what="session",
                token=spare[0]["token"],
                session_id=session_for_lock,
                lock_timeout_s=lock_timeout_s,
            ),
            lock_drill(
                server.port,
                RUN_DB,
                what="member",
                token=spare[1]["token"],
                session_id=session_for_lock,
                lock_timeout_s=lock_timeout_s,
            ),
        ]
        final_health = common.http_status(server.base_url + "/api/health")
    finally:
        for timer in timers:
            timer.cancel()
        stop.set()
        server.stop()
    log("checking invariants ...")
    checks = common.run_json("bench.checks", RUN_DB, "--since", prepared["started_at"])

    outcome: dict[str, int] = {}
    for record in records:
        label = classify(record)
        outcome[label] = outcome.get(label, 0) + 1
    failed = [r for r in records if r["status"] is None or r["status"] >= 500]
    bad_bodies = [r for r in records if r["status"] is not None and r["status"] >= 400 and not r["json_ok"]]
    health = poller.samples
    recovery = {}
    events.sort(key=lambda e: e["t"])
    for index, event in enumerate(events):
        since = event.get("done_at", event["t"])
        # each event is judged until the next one starts (or recover_within after it is over)
        until = since + args.recover_within
        if index + 1 < len(events):
            until = min(until, events[index + 1]["t"])
        window = [(t, st) for t, st in health if event["t"] <= t <= until]
        bad = [t for t, st in window if st != 200]
        back = next((t for t, st in window if st == 200 and (not bad or t > bad[-1])), None)
        first_201 = min(
            (r["t"] + r["latency"] for r in records if r["status"] == 201 and r["t"] >= since), default=None
        )
        polls: dict[str, int] = {}
        for _, st in window:
            polls[str(st) if st else "timeout"] = polls.get(str(st) if st else "timeout", 0) + 1
        recovery[event["event"]] = {
            "health_polls": polls,
            "health_200_for_good_after_s": round(back - event["t"], 2) if back is not None else None,
            "first_booking_after_s": round(first_201 - event["t"], 2) if first_201 is not None else None,
        }
    results = {
        "server": server.describe(),
        "lock_timeout_ms": args.lock_timeout_ms,
        "duration_s": args.duration,
        "events": events,
        "requests": len(records),
        "outcomes": dict(sorted(outcome.items())),
        "failed_requests": len(failed),
        "error_bodies_not_json": len(bad_bodies),
        "retries_with_same_key": retries,
        "replays_not_matching_first_booking": replay_mismatch,
        "recovery": recovery,
        "final_health": final_health,
        "lock_drills": drills,
        "checks": checks,
        "health_samples": [(round(t, 2), st) for t, st in health],
    }
    problems = []
    if bad_bodies:
        problems.append(f"{len(bad_bodies)} error answers without the JSON error shape")
    if any(r["status"] is not None and r["status"] >= 500 and r["status"] not in (500, 502, 503) for r in records):
        problems.append("unexpected 5xx codes")
    if replay_mismatch:
        problems.append(f"{replay_mismatch} replays differ from the first booking")
    if final_health != 200:
        problems.append(f"health {final_health} at the end")
    for name, data in recovery.items():
        if data["health_200_for_good_after_s"] is None:
            problems.append(f"{name}: no recovery within {args.recover_within} s")
    for drill in drills:
        if not drill["bounded"]:
            problems.append(f"lock drill ({drill['held']}): {drill['status']} {drill['code']} in {drill['seconds']} s")
    if checks.get("check_ledger") != "clean":
        problems.append(f"check_ledger: {checks.get('check_ledger')}")
    for key in (
        "sessions_over_capacity",
        "bikes_taken_twice",
        "members_twice_on_a_session",
        "sessions_counter_drift",
        "credit_bookings_without_ledger_row",
        "credit_bookings_charge_mismatch",
        "all_access_bookings_without_usage",
        "ledger_rows_for_missing_bookings",
    ):
        if checks.get(key):
            problems.append(f"{key}: {checks[key]}")
    results["verdict"] = {"ok": not problems, "problems": problems}
    (OUT / "faults.json").write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    common.drop_database(RUN_DB)
    return 0 if not problems else 1


def render(results: dict) -> str:
    lines = ["", f"server: {results['server']}, LOCK_TIMEOUT_MS={results['lock_timeout_ms']}", ""]
    lines.append(f"{'t (s)':>7}  event")
    for event in results["events"]:
        lines.append(f"{event['t']:>7}  {event['event']}")
    lines += ["", f"{results['requests']} booking requests under load, answers:"]
    for label, n in results["outcomes"].items():
        lines.append(f"  {n:>6}  {label}")
    lines.append(
        f"  failed (5xx or no answer): {results['failed_requests']}; error answers without the JSON shape: "
        f"{results['error_bodies_not_json']}"
    )
    lines.append(
        f"  retried with the same Idempotency-Key: {results['retries_with_same_key'] or 'none needed'}; "
        f"replays of 50 successes that differ: {results['replays_not_matching_first_booking']}"
    )
    lines += ["", "recovery (by itself, nothing restarted by hand):"]
    for name, data in results["recovery"].items():
        lines.append(
            f"  {name}: health 200 for good after {data['health_200_for_good_after_s']} s "
            f"(polls {data['health_polls']}), first booking after {data['first_booking_after_s']} s"
        )
    lines += ["", "lock drills (another transaction holds a row):"]
    for drill in results["lock_drills"]:
        lines.append(
            f"  {drill['held']:<26} -> {drill['status']} {drill['code']} in {drill['seconds']} s "
            f"({'bounded' if drill['bounded'] else 'NOT BOUNDED'}); same key after release: "
            f"{drill['retry_after_release']}"
        )
    checks = results["checks"]
    lines += [
        "",
        f"after: check_ledger {checks['check_ledger']}; CREDIT bookings without ledger row "
        f"{checks['credit_bookings_without_ledger_row']}; charge mismatches {checks['credit_bookings_charge_mismatch']}; "
        f"ALL_ACCESS bookings without daily usage {checks['all_access_bookings_without_usage']}; ledger rows for "
        f"missing bookings {checks['ledger_rows_for_missing_bookings']}; sessions over capacity "
        f"{checks['sessions_over_capacity']}; bikes twice {checks['bikes_taken_twice']}; final health "
        f"{results['final_health']}",
        f"       bookings made: {checks.get('bookings_since_start')}",
        "",
        "verdict: "
        + ("all fault checks passed" if results["verdict"]["ok"] else "; ".join(results["verdict"]["problems"])),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
