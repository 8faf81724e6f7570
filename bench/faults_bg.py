"""`make faults`, the background parts (issue 14): Redis stopped, a Celery worker SIGKILLed in
the middle of delivering, the SMTP server refusing connections. Called by bench/faults.py:

    make faults FAULTS_ARGS="--only redis,worker,smtp"          # these three drills only
    make faults FAULTS_ARGS="--only smtp --short"               # SMTP down 15 s instead of 60 s

Each drill runs on its own copy of the seeded studio (`spin_faults_bg`, from the base database
of bench/faults.py), with everything it breaks started by the drill itself on free ports:

- a Redis of the drill (`redis-server --save ''`; REDIS_URL = the cache and throttles,
  CELERY_BROKER_URL = the broker), never the machine's Redis on 6379;
- a local SMTP sink (aiosmtpd, in this process) that records every message it takes, by its
  `X-Spinning-Notification` (the outbox row) and `Message-ID`, and can be slowed;
- gunicorn (2 workers) and one Celery worker (`--pool=solo`, with the beat, sweeping every
  NOTIFY_SWEEP_SECONDS=5; lease NOTIFY_LEASE_SECONDS=20; backoff NOTIFY_RETRY_BASE_SECONDS=3).

Under booking load (a few client threads, each booking a different member and session; every
booking writes a `booking_confirmed` message), plus a timetable reader (GET /api/sessions, the
timetable cache) and wrong logins (the login throttle):

1. redis: Redis is stopped for 10 s, then started again on the same port (empty: the broker's
   queued tasks are gone, the sweep sends their rows); 5 s later it is frozen for 10 s
   (SIGSTOP, then SIGCONT): it takes connections and answers nothing, as a hung Redis or a
   partitioned network does, where every call waits for its socket timeout unless the circuit
   breaker skips it (spinning/breaker.py). Booking latency is reported per window.
2. worker: the Celery worker is SIGKILLed twice, each time while the sink holds a conversation
   open: once before the message was transferred (RCPT), once after the sink took the message
   but before it answered 250 (the at-least-once window, docs/NOTIFICATIONS.md). It is started
   again 2 s later; the rows it held come back to the sweep after their lease.
3. smtp: the sink stops listening (connection refused) for 60 s (--short: 15 s), then listens
   again on the same port.

Afterwards the drill waits until every message written since it started is SENT (or a time
limit), and counts at the sink: expected (rows written), delivered (distinct rows taken),
missing, doubled (rows taken more than once; whether the copies share their Message-ID).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psycopg

from bench import clients, common
from bench.common import OUT, PYTHON, REPO, Server, log

RUN_DB = "spin_faults_bg"
DRILLS = ("redis", "worker", "smtp")


# --- the SMTP sink --------------------------------------------------------------------------
class Sink:
    """aiosmtpd on 127.0.0.1:port. `received[notification id]` lists the Message-ID of every
    copy taken. A message counts as taken once its DATA is complete (a real MTA queues it then,
    whether or not the client is still there to read the 250). `delay_rcpt` / `delay_data` slow
    the conversation before the message is transferred / after it was taken."""

    def __init__(self, port: int | None = None):
        self.port = port or common.free_port()
        self.received: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()
        self.delay_rcpt = 0.0
        self.delay_data = 0.0
        self.in_rcpt = threading.Event()
        self.in_data = threading.Event()
        self.in_data_id: str | None = None
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd
        envelope.rcpt_tos.append(address)
        if self.delay_rcpt:
            self.in_rcpt.set()
            await asyncio.sleep(self.delay_rcpt)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        notification = str(message.get("X-Spinning-Notification", "?"))
        with self.lock:
            self.received[notification].append(str(message.get("Message-ID", "")))
        if self.delay_data:
            self.in_data_id = notification
            self.in_data.set()
            await asyncio.sleep(self.delay_data)
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def counts(self) -> dict[str, list[str]]:
        with self.lock:
            return {k: list(v) for k, v in self.received.items()}


# --- the helper processes -------------------------------------------------------------------
class Redis:
    def __init__(self, workdir: Path):
        self.port = common.free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.workdir)]
        sink = (OUT / "faults-redis.log").open("ab")
        self.process = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"redis-server did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one could not act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


class CeleryWorker:
    """`celery -A spinning worker --pool=solo -B` on the drill's database, broker and sink."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self.env, self.workdir = env, workdir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        args = [PYTHON, "-m", "celery", "-A", "spinning", "worker", "-B", "-l", "info", "--pool=solo"]
        args += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"faults-{self.starts}@%h"]
        args += ["-s", str(self.workdir / "beat-schedule")]
        sink = (OUT / "faults-celery.log").open("ab")
        self.process = subprocess.Popen(
            args, cwd=REPO, env=self.env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self) -> int:
        pid = self.process.pid
        os.killpg(pid, signal.SIGKILL)  # the worker and its embedded beat: the group we started
        self.process.wait(timeout=10)
        return pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


# --- load -----------------------------------------------------------------------------------
def side_load(port: int, token: str, t0: float, duration: float) -> list[dict]:
    """A timetable reader (the cache) and wrong logins (the throttle), a few a second."""
    records: list[dict] = []
    deadline = t0 + duration

    def reader() -> None:
        client = clients.Client(port, timeout=15)
        while time.monotonic() < deadline:
            answer = client.request("GET", "/api/sessions", token=token, headers={"X-Organization": "bench"})
            records.append({"what": "timetable", "t": round(answer.started - t0, 2), "status": answer.status})
            time.sleep(0.2)
        client.close()

    def logins() -> None:
        client = clients.Client(port, timeout=15)
        n = 0
        while time.monotonic() < deadline:
            body = {"email": f"nobody-{n % 7}@example.com", "password": "wrong-password"}
            answer = client.request("POST", "/api/auth/token", body=body)
            records.append({"what": "login", "t": round(answer.started - t0, 2), "status": answer.status})
            n += 1
            time.sleep(0.5)
        client.close()

    threads = [threading.Thread(target=f, daemon=True) for f in (reader, logins)]
    for thread in threads:
        thread.start()
    return records, threads


def messages_since(database: str, since) -> dict[str, tuple[str, int]]:
    """{id: (status, attempts)} of every message written since `since`."""
    with psycopg.connect(host=common.PG_HOST, port=common.PG_PORT, user=common.PG_USER, dbname=database) as conn:
        rows = conn.execute(
            "SELECT id::text, status, attempts FROM members_app_notification WHERE created_at >= %s", [since]
        ).fetchall()
    return {i: (status, attempts) for i, status, attempts in rows}


def db_now(database: str):
    with psycopg.connect(host=common.PG_HOST, port=common.PG_PORT, user=common.PG_USER, dbname=database) as conn:
        return conn.execute("SELECT now()").fetchone()[0]


# --- one drill ------------------------------------------------------------------------------
def run_drill(name: str, args, pairs: list[tuple[str, str]], spare_token: str) -> dict:
    from bench.faults import load

    workdir = Path(tempfile.mkdtemp(prefix=f"faults-{name}-"))
    redis = Redis(workdir)
    sink = Sink()
    redis.start()
    sink.start()
    broker = f"redis://127.0.0.1:{redis.port}/0"
    mail_env = {
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/1",
        "CELERY_BROKER_URL": broker,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "5",
        "NOTIFY_LEASE_SECONDS": str(args.lease),
        "NOTIFY_SWEEP_SECONDS": "5",
        "NOTIFY_RETRY_BASE_SECONDS": "3",
    }
    server = Server(RUN_DB, workers=2, env_extra=mail_env)
    worker = CeleryWorker(common.server_env(RUN_DB, LOG_LEVEL="INFO", **mail_env), workdir)
    events: list[dict] = []
    outage = 15 if args.short else 60
    duration = {"redis": 45, "worker": 60, "smtp": outage + 25}[name]
    try:
        server.start()
        worker.start()
        time.sleep(3)  # the worker connects to the broker
        since = db_now(RUN_DB)
        log_offset = server.log_path.stat().st_size
        t0 = time.monotonic()

        def event(text: str) -> None:
            events.append({"t": round(time.monotonic() - t0, 1), "event": text})
            log(f"[{name}] {text}")

        def redis_outage() -> None:
            time.sleep(10)
            redis.stop()
            event("Redis stopped")
            time.sleep(10)
            redis.start()
            event("Redis started again (empty)")
            time.sleep(5)
            redis.freeze()
            event("Redis frozen (SIGSTOP): connections taken, nothing answered")
            time.sleep(10)
            redis.thaw()
            event("Redis thawed (SIGCONT)")

        def worker_kills() -> None:
            for at, phase in ((12, "rcpt"), (32, "data")):
                time.sleep(max(0.0, at - (time.monotonic() - t0)))
                flag = sink.in_rcpt if phase == "rcpt" else sink.in_data
                flag.clear()
                if phase == "rcpt":
                    sink.delay_rcpt = 3.0
                else:
                    sink.delay_data = 3.0
                landed = flag.wait(timeout=15)
                time.sleep(0.5)
                pid = worker.kill()
                sink.delay_rcpt = sink.delay_data = 0.0
                what = (
                    "before the message was transferred (RCPT)"
                    if phase == "rcpt"
                    else (f"after the sink took message {sink.in_data_id}, before its 250 (the at-least-once window)")
                )
                event(f"SIGKILL worker {pid} {what if landed else '(the sink saw no conversation)'}")
                time.sleep(2)
                worker.start()
                event("worker started again")

        def smtp_outage() -> None:
            time.sleep(5)
            sink.stop()
            event(f"SMTP sink stopped: connections refused for {outage} s")
            time.sleep(outage)
            sink.start()
            event("SMTP sink listening again")

        fault = threading.Thread(
            target={"redis": redis_outage, "worker": worker_kills, "smtp": smtp_outage}[name], daemon=True
        )
        side, side_threads = side_load(server.port, spare_token, t0, duration)
        fault.start()
        records = load(server.port, pairs, args.bg_clients, duration, t0, pause=args.pause)
        fault.join(timeout=120)
        for thread in side_threads:
            thread.join(timeout=20)
        event(f"load over: {len(records)} booking requests")

        # every message written since the start must be SENT; wait for the sweep
        deadline = time.monotonic() + args.settle
        while True:
            rows = messages_since(RUN_DB, since)
            pending = [i for i, (status, _) in rows.items() if status != "SENT"]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(2)
        time.sleep(1)
        event(f"settled: {len(rows) - len(pending)} of {len(rows)} messages SENT")
    finally:
        worker.stop()
        server.stop()
        sink.stop()
        redis.stop()

    with server.log_path.open("rb") as fh:
        fh.seek(log_offset)
        server_log = fh.read().decode(errors="replace")
    taken = sink.counts()
    expected = set(rows)
    delivered = expected & set(taken)
    doubled = {k: v for k, v in taken.items() if k in expected and len(v) > 1}
    doubled_other_id = [k for k, v in doubled.items() if len(set(v)) > 1]
    statuses: dict[str, int] = {}
    for record in records:
        label = faults_classify(record)
        statuses[label] = statuses.get(label, 0) + 1
    side_statuses: dict[str, int] = {}
    for record in side:
        label = f"{record['what']} {record['status'] or 'no answer'}"
        side_statuses[label] = side_statuses.get(label, 0) + 1
    five_xx = sum(1 for r in records + side if r["status"] is not None and r["status"] >= 500)
    no_answer = sum(1 for r in records + side if r["status"] is None)
    latencies = sorted(r["latency"] for r in records if r["status"] == 201)
    result = {
        "drill": name,
        "duration_s": duration,
        "events": events,
        "bookings_ok": statuses.get("201", 0),
        "booking_answers": dict(sorted(statuses.items())),
        "side_answers": dict(sorted(side_statuses.items())),
        "5xx": five_xx,
        "no_answer": no_answer,
        "booking_p50_s": latencies[len(latencies) // 2] if latencies else None,
        "booking_max_s": latencies[-1] if latencies else None,
        "expected": len(expected),
        "delivered": len(delivered),
        "missing": len(expected - delivered),
        "not_sent_in_db": len(pending),
        "doubled": len(doubled),
        "doubled_with_another_message_id": len(doubled_other_id),
        "doubled_ids": sorted(doubled),
        "sent_after_retries": sum(1 for _, attempts in rows.values() if attempts > 1),
        "most_attempts": max((attempts for _, attempts in rows.values()), default=0),
        # what the web processes logged: a failed hand-off leaves the row to the sweep; a cache
        # that failed was read around (timetable) or counted in the database (throttles)
        "hand_offs_failed": server_log.count("hand-off (celery) failed"),
        "hand_offs_skipped": server_log.count("hand-off (celery) skipped"),
        "breaker_opened": server_log.count("skipped by this process for"),
        "timetable_cache_errors": server_log.count("timetable cache unavailable"),
        "throttle_cache_errors": server_log.count("throttle cache unavailable"),
    }
    if name == "redis":
        result["booking_latency_windows"] = latency_windows(records, events, duration)
    ok = five_xx == 0 and no_answer == 0 and result["missing"] == 0 and not pending and result["bookings_ok"] > 0
    if name != "worker":
        ok = ok and not doubled
    else:
        ok = ok and not doubled_other_id  # a copy with the same Message-ID: the documented window
    result["verdict"] = "PASS" if ok else "FAIL"
    return result


def latency_windows(records: list[dict], events: list[dict], duration: float) -> list[dict]:
    """Booking latency (successful bookings, by when they were sent) between the drill's events."""
    edges = [0.0] + [e["t"] for e in events if e["event"].startswith("Redis")] + [float(duration)]
    names = ["before", "Redis stopped", "Redis back", "Redis frozen", "after"]
    windows = []
    for i, (start, end) in enumerate(zip(edges, edges[1:], strict=False)):
        latencies = sorted(r["latency"] for r in records if r["status"] == 201 and start <= r["t"] < end)
        windows.append(
            {
                "window": names[i] if i < len(names) else f"window {i}",
                "from_s": start,
                "to_s": end,
                "bookings": len(latencies),
                "p50_s": common.percentile(latencies, 50) if latencies else None,
                "p95_s": common.percentile(latencies, 95) if latencies else None,
                "max_s": latencies[-1] if latencies else None,
            }
        )
    return windows


def faults_classify(record: dict) -> str:
    from bench.faults import classify

    return classify(record)


def run(args, base_db: str, selected: list[str]) -> list[dict]:
    results = []
    for name in selected:
        common.create_database(RUN_DB, template=base_db)
        prepared = common.run_json("bench.prepare", RUN_DB, "--out", str(OUT / "faults-bg"), "--rush-clients", "5")
        pairs = [tuple(line.split("\t")) for line in Path(prepared["pairs_file"]).read_text().splitlines()]
        spare = json.loads(Path(prepared["rush_file"]).read_text())["clients"]
        log(f"drill {name}: {args.bg_clients} booking clients, pause {args.pause} s")
        results.append(run_drill(name, args, pairs, spare[0]["token"]))
        common.drop_database(RUN_DB)
    return results


def render(results: list[dict], args) -> str:
    lines = ["", "background drills (bench/faults_bg.py):"]
    for result in results:
        lines.append(f"  {result['drill']}:")
        for event in result["events"]:
            lines.append(f"    {event['t']:>6} s  {event['event']}")
        lines.append(
            f"    bookings: {result['booking_answers']}; p50 {result['booking_p50_s']} s, max {result['booking_max_s']} s"
        )
        lines.append(f"    timetable and logins: {result['side_answers']}")
        for w in result.get("booking_latency_windows", []):
            lines.append(
                f"    {w['window']:<14} {w['from_s']:>5.1f}-{w['to_s']:<5.1f} s: {w['bookings']:>4} bookings, "
                f"p50 {w['p50_s']} s, p95 {w['p95_s']} s, max {w['max_s']} s"
            )
        lines.append(
            f"    web processes logged: {result['hand_offs_failed']} hand-offs failed and "
            f"{result.get('hand_offs_skipped', 0)} skipped (left to the sweep), "
            f"{result.get('breaker_opened', 0)} circuit-breaker openings, "
            f"{result['timetable_cache_errors']} timetable reads around the cache, "
            f"{result['throttle_cache_errors']} throttle counts in the database"
        )
        lines.append(
            f"    messages: {result['sent_after_retries']} sent after more than one attempt "
            f"(most attempts {result['most_attempts']})"
        )
        if result["doubled"]:
            lines.append(
                f"    doubled: {result['doubled_ids']} "
                f"({result['doubled_with_another_message_id']} with another Message-ID)"
            )
    header = f"  {'drill':<8} {'bookings ok':>11} {'5xx':>4} {'no answer':>9} {'expected':>8} {'delivered':>9} {'missing':>7} {'doubled':>7}  verdict"
    lines += ["", header, "  " + "-" * (len(header) - 2)]
    for r in results:
        lines.append(
            f"  {r['drill']:<8} {r['bookings_ok']:>11} {r['5xx']:>4} {r['no_answer']:>9} {r['expected']:>8} "
            f"{r['delivered']:>9} {r['missing']:>7} {r['doubled']:>7}  {r['verdict']}"
            + (" (each copy with the same Message-ID: the at-least-once window)" if r["doubled"] else "")
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit("run through bench/faults.py: python -m bench.faults --only redis,worker,smtp")
