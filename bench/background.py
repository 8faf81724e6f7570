"""The background half of a `make bench` run, as production runs it (docs/PERFORMANCE.md).

`--background celery` (the default): a Redis of the run on a free port (`--save ''`; db 0 the
Celery broker, db 1 the cache and throttles through `REDIS_URL`, as production sets both) and one
Celery worker (`--pool=solo` with the beat, `-l warning`) on the run's database, delivering to
Django's file backend in a temporary directory (cheap: no mail server on the two cores). gunicorn
hands each message to the worker after its commit (`deliver_notification.apply_async`).
`--background celery-after`: the same hand-off (each booking's `apply_async` is paid by the web
request), but the worker starts only after the load phases and then drains the queue: the web
tier measured on the two cores as it would run beside workers on their own machine (the worker's
CPU is still reported, per message). `--background sweep`: like `celery`, but the web processes publish nothing (`NOTIFY_DELIVERY=off`) and
the worker's beat sweeps the outbox every second. `--background thread`: the setup before this
module (no broker, no Redis: each message is sent by a thread inside the web workers).

After the load: `wait_all_sent` waits until every message written since the run began is SENT
(the check line of the table; a problem when one is not), and the worker's CPU is reported
apart from the web workers'.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench import common
from bench.common import OUT, PYTHON, REPO

MODES = ("celery", "celery-after", "sweep", "thread")


class Background:
    def __init__(self, mode: str, database: str):
        if mode not in MODES:
            raise ValueError(mode)
        self.mode, self.database = mode, database
        self.workdir: Path | None = None
        self.redis = None
        self.worker: subprocess.Popen | None = None
        self.cpu_at_start = 0.0

    @property
    def enabled(self) -> bool:
        return self.mode != "thread"

    def start(self) -> dict[str, str]:
        """Start Redis and the worker; returns the environment gunicorn needs to use them."""
        if not self.enabled:
            return {}
        from bench.scale import start_redis

        self.workdir = Path(tempfile.mkdtemp(prefix="spin-bench-bg-"))
        self.redis = start_redis(self.workdir)
        env = {
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis.port}/0",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis.port}/1",
        }
        worker_env = {**env, "MAIL_DIR": str(self.workdir / "mail"), "LOG_LEVEL": "WARNING"}
        if self.mode == "sweep":
            env["NOTIFY_DELIVERY"] = "off"
            worker_env["NOTIFY_SWEEP_SECONDS"] = "1"
        (self.workdir / "mail").mkdir()
        self._worker_env = worker_env
        if self.mode != "celery-after":
            self.start_worker()
        return env

    def start_worker(self) -> None:
        if self.worker is not None or not self.enabled:
            return
        worker_env = self._worker_env
        args = [PYTHON, "-m", "celery", "-A", "spinning", "worker", "-B", "-l", "warning", "--pool=solo"]
        args += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-n", "bench@%h"]
        args += ["-s", str(self.workdir / "beat-schedule")]
        with (OUT / "bench-celery.log").open("ab") as sink:
            self.worker = subprocess.Popen(
                args,
                cwd=REPO,
                env=common.server_env(self.database, **worker_env),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def describe(self) -> str:
        if not self.enabled:
            return "no broker: each message sent by a thread of the web worker that wrote it"
        handoff = {
            "celery": "apply_async after each commit",
            "celery-after": "apply_async after each commit; the worker starts after the load phases",
            "sweep": "no publish; the beat sweeps every 1 s",
        }[self.mode]
        return f"Redis :{self.redis.port} (broker, cache, throttles), 1 Celery worker (solo + beat), {handoff}"

    def pids(self) -> list[int]:
        """The worker and its children (the embedded beat)."""
        if self.worker is None or self.worker.poll() is not None:
            return []
        found, todo = [], [self.worker.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                pass
        return found

    def cpu_seconds(self) -> float:
        return common.process_cpu_seconds(self.pids())

    def mark(self) -> None:
        """Start counting the worker's CPU here (after its start-up; what gunicorn handed off
        before the worker listened waits in the broker's queue)."""
        if self.enabled and self.worker is not None and self.worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited with {self.worker.returncode}; see {OUT}/bench-celery.log")
        self.cpu_at_start = self.cpu_seconds()

    def wait_all_sent(self, since: str, timeout: float = 300) -> dict:
        """Wait until every message written since `since` is SENT (the worker's backlog drains)."""
        self.start_worker()  # celery-after: the queue drains now
        started = time.monotonic()
        while True:
            counts = notification_counts(self.database, since)
            pending = counts["written"] - counts.get("SENT", 0)
            if not pending or time.monotonic() - started > timeout or (self.enabled and self.worker.poll() is not None):
                break
            time.sleep(1)
        result = {
            "mode": self.mode,
            "written": counts["written"],
            "sent": counts.get("SENT", 0),
            "not_sent": pending,
            "by_status": {k: v for k, v in counts.items() if k != "written"},
            "waited_s": round(time.monotonic() - started, 1),
        }
        if self.enabled:
            cpu = self.cpu_seconds() - self.cpu_at_start
            result["worker_cpu_s"] = round(cpu, 2)
            result["worker_cpu_ms_per_message"] = round(cpu / result["sent"] * 1000, 2) if result["sent"] else None
        return result

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)  # the worker and its beat: the group we started
            try:
                self.worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait(timeout=5)
        if self.redis is not None:
            self.redis.stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def notification_counts(database: str, since: str) -> dict[str, int]:
    """{status: n, "written": total} of the outbox rows written since `since`."""
    with psycopg.connect(host=common.PG_HOST, port=common.PG_PORT, user=common.PG_USER, dbname=database) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM members_app_notification WHERE created_at >= %s GROUP BY status", [since]
        ).fetchall()
    counts: dict[str, int] = dict(rows)
    counts["written"] = sum(counts.values())
    return counts
